/**
 * `mcp serve` (the real binary) that cannot start says why in one line, with what to change,
 * and exits 2: a port another process holds, a --port that is not a port.
 */
import { createServer, type Server } from "node:net";
import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { runCli } from "../helpers/cli.js";
import { serve } from "../helpers/mcp-serve.js";
import { tempProject } from "../helpers/project.js";

const PIPELINE = `version: 1
name: p
models:
  m: { provider: mock, capabilities: [t] }
steps:
  a: { model: m, input: { prompt: hi } }
`;

describe("mcp serve start errors", () => {
  it("a port in use names the address and the way out (--port, --port 0), no stack", { timeout: 30_000 }, async () => {
    const dir = tempProject({ "pipelines/p.yaml": PIPELINE });
    const holder: Server = createServer();
    await new Promise<void>((r) => holder.listen(0, "127.0.0.1", r));
    const port = (holder.address() as { port: number }).port;
    try {
      const r = await runCli(["serve", "pipelines", "--port", String(port), "--log-level", "silent"], { cwd: dir });
      expect(r.code).toBe(2);
      expect(r.stderr.trim()).toBe(`mcp serve: cannot listen on 127.0.0.1:${port}: the address is in use (another process listens there); pick another with --port, or --port 0 for any free port`);
    } finally {
      holder.close();
    }
  });

  it("a --port that is not a port says the range, 0 included", { timeout: 30_000 }, async () => {
    const dir = tempProject({ "pipelines/p.yaml": PIPELINE });
    for (const bad of ["abc", "70000", "8080.5"]) {
      const r = await runCli(["serve", "pipelines", "--port", bad], { cwd: dir });
      expect(r.code).toBe(2);
      expect(r.stderr.split("\n")[0]).toBe(`mcp serve: --port must be an integer from 0 to 65535 (0: any free port); got '${bad}'`);
    }
  });

  it("the start line counts the pipelines and mcp.yaml's models, in good English", { timeout: 60_000 }, async () => {
    const dir = tempProject({ "mcp.yaml": "version: 1\nmodels:\n  fast: { provider: mock, capabilities: [t] }\n", "pipelines/p.yaml": PIPELINE });
    const s = await serve(join(dir, "pipelines"), { cwd: dir });
    try {
      expect(s.stderr()).toMatch(/^mcp serve: listening on http:\/\/127\.0\.0\.1:\d+ \(1 pipeline from \S+; 1 model in mcp\.yaml; no API keys: loopback only\)$/m);
    } finally {
      await s.stop();
    }
  });
});
