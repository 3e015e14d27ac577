/**
 * `mcp models --watch URL` against a real `mcp serve` with a key: a wrong key, no key and a
 * URL that is not the server's base each say what to change, in one line, exit 2.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { serve, type Served } from "../helpers/mcp-serve.js";
import { tempProject } from "../helpers/project.js";

const KEY = "watch-key-0123456789";
let s: Served;

beforeAll(async () => {
  const dir = tempProject({ "pipelines/p.yaml": "version: 1\nname: p\nmodels:\n  m: { provider: mock }\nsteps:\n  a: { model: m, input: { prompt: hi } }\n" });
  s = await serve(join(dir, "pipelines"), { cwd: dir, env: { MCP_API_KEYS: `me:${KEY}` } });
}, 60_000);
afterAll(() => s?.stop());

describe("mcp models --watch errors", { timeout: 30_000 }, () => {
  it("a wrong key, no key, and a route given as the URL", async () => {
    const wrong = await runCli(["models", "--watch", s.url, "--count", "1"], { env: { MCP_API_KEY: "not-the-key-000" } });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toBe(`mcp models --watch: cannot read ${s.url}/v1/deployments: HTTP 401 (the key in MCP_API_KEY is not a key of the server)\n`);
    const none = await runCli(["models", "--watch", s.url, "--count", "1"], { env: { MCP_API_KEY: "" } });
    expect(none.code).toBe(2);
    expect(none.stderr).toBe(`mcp models --watch: cannot read ${s.url}/v1/deployments: HTTP 401 (set MCP_API_KEY to a key of the server)\n`);
    const route = await runCli(["models", "--watch", `${s.url}/v1`, "--count", "1"], { env: { MCP_API_KEY: KEY } });
    expect(route.code).toBe(2);
    expect(route.stderr).toBe(`mcp models --watch: cannot read ${s.url}/v1/v1/deployments: HTTP 404 (give the server's base URL, as 'mcp serve' prints it: http://HOST:PORT)\n`);
    const ok = await runCli(["models", "--watch", s.url, "--count", "1"], { env: { MCP_API_KEY: KEY } });
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
  });
});
