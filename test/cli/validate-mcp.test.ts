/**
 * `mcp validate` and tool steps (the real binary): online it starts the reference server
 * (@modelcontextprotocol/server-everything over stdio), lists its tools, keeps the listing
 * in the project's store and checks step inputs against them; `--offline` starts nothing and
 * checks against the listing kept.
 */
import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempProject } from "../helpers/project.js";

const require = createRequire(import.meta.url);
const EVERYTHING = join(require.resolve("@modelcontextprotocol/server-everything/package.json"), "..", "dist", "index.js");

const CONFIG = `version: 1
mcpServers:
  everything:
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(EVERYTHING)}, stdio]
models:
  sum: { provider: mcp, server: everything, tool: get-sum }
`;

const PIPELINE = `version: 1
steps:
  add:
    model: sum
    input: { a: "two", b: 2 }
`;

describe("mcp validate with MCP tool steps", () => {
  it("checks tool inputs against the listing it makes, and offline against the listing kept", async () => {
    const dir = tempProject({ "mcp.yaml": CONFIG, "pipelines/add.yaml": PIPELINE });
    // Nothing listed yet: offline there is nothing to check against.
    const before = await runCli(["validate", "--offline", "pipelines"], { cwd: dir });
    expect(before).toMatchObject({ code: 0, stdout: "1 file valid\n" });

    const online = await runCli(["validate", "--list-tools", "pipelines"], { cwd: dir, timeoutMs: 60_000 });
    expect(online.code).toBe(2);
    expect(online.stdout).toContain("pipelines/add.yaml:5:17: error MCP421: step 'add' input for tool 'get-sum' (model 'sum'): argument 'a' must be number");

    const offline = await runCli(["validate", "--offline", "pipelines"], { cwd: dir });
    expect(offline.code).toBe(2);
    expect(offline.stdout).toContain("error MCP421");
  }, 90_000);

  it("warns (MCP423) when a server cannot be listed, and still validates the file", async () => {
    const dir = tempProject({
      "mcp.yaml": `version: 1\nmcpServers:\n  gone: { command: ${JSON.stringify(join("/nonexistent", "tool-server"))} }\nmodels:\n  t: { provider: mcp, server: gone, tool: x }\n`,
      "pipelines/t.yaml": "version: 1\nsteps:\n  s: { model: t, input: { a: 1 } }\n",
    });
    const r = await runCli(["validate", "--list-tools", "pipelines"], { cwd: dir, timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/warning MCP423: cannot list the tools of MCP server 'gone'/);
  }, 90_000);
});
