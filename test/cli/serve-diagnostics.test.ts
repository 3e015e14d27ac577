/**
 * `mcp serve DIR` (the real binary) says on the terminal why a pipeline is not served: the
 * diagnostics of the files that are broken at start, and of a saved edit that breaks one
 * (while its last good version keeps serving), as `mcp validate` prints them.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { serve } from "../helpers/mcp-serve.js";
import { tempProject } from "../helpers/project.js";

const GOOD = `version: 1
name: good
models:
  m: { provider: mock, capabilities: [t], options: { reply: { text: "ok" } } }
steps:
  a: { model: m, input: { prompt: hi } }
`;

async function until(check: () => boolean, what: () => string): Promise<void> {
  const end = Date.now() + 20_000;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting; stderr:\n${what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("mcp serve diagnostics on the terminal", () => {
  it("prints the errors of a pipeline broken at start, and of an edit that breaks a served one", { timeout: 60_000 }, async () => {
    const dir = tempProject({ "pipelines/good.yaml": GOOD, "pipelines/broken.yaml": GOOD.replace("name: good", "name: broken").replace("a: { model: m,", "a: { model: mm,") });
    const s = await serve(join(dir, "pipelines"), { cwd: dir });
    try {
      await until(
        () => s.stderr().includes("error MCP401"),
        () => s.stderr(),
      );
      expect(s.stderr()).toContain("(1 pipeline from ");
      expect(s.stderr()).toContain("mcp serve: pipelines/broken.yaml has errors; it is not served\npipelines/broken.yaml:6:15: error MCP401: unknown model 'mm' (did you mean 'm'?)\n");
      // Break the served one: its errors, and the last good version keeps serving.
      const file = join(dir, "pipelines/good.yaml");
      writeFileSync(file, readFileSync(file, "utf8").replace("steps:", "steps:\n  b: { model: m, needs: [zz] }"));
      await until(
        () => s.stderr().includes("pipelines/good.yaml has errors"),
        () => s.stderr(),
      );
      await until(
        () => s.stderr().includes("error MCP012"),
        () => s.stderr(),
      );
      expect(s.stderr()).toMatch(/\nmcp serve: pipelines\/good\.yaml has errors; its last good version keeps serving\npipelines\/good\.yaml:6:\d+: error MCP012: unknown step 'zz' in needs/);
      expect(s.stderr()).not.toMatch(/\n\s+at .*\.js:\d+/);
    } finally {
      await s.stop();
    }
  });
});
