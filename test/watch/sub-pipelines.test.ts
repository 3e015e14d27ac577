/**
 * Hot reload of sub-pipelines: editing a child file reloads every parent that runs it (also
 * when the child is outside the watched folder), a broken child makes its parents invalid
 * while their last good version stays live, and fixing it brings them back.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { TaskOrchestrator } from "../../src/orchestrator/orchestrator.js";
import { LivePipelineSet } from "../../src/watch/live-pipeline-set.js";
import { record, removeDir, tempDir, waitFor } from "./helpers.js";

const open: LivePipelineSet[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
  for (const d of dirs.splice(0)) removeDir(d);
});

const child = (word: string) => `version: 1
name: shout
models:
  m: { provider: mock, capabilities: [t], options: { reply: { text: "${word} \${{ $request.p }}" } } }
steps:
  say: { model: m, input: { p: "\${{ $input.text }}" } }
output: \${{ $steps.say.output.text }}
`;

const parent = (name: string) => `version: 1
name: ${name}
steps:
  sub:
    pipeline: ../shared/shout.yaml
    input: { text: "\${{ $input.text }}" }
output: \${{ $steps.sub.output }}
`;

describe("LivePipelineSet: sub-pipelines", () => {
  it("reloads every parent when a child outside the folder changes, keeps the last good version while it is broken", async () => {
    const dir = tempDir({ "shared/shout.yaml": child("one"), "pipelines/a.yaml": parent("a"), "pipelines/b.yaml": parent("b") });
    dirs.push(dir);
    const at = (p: string) => join(dir, p);
    const set = new LivePipelineSet(at("pipelines"));
    open.push(set);
    const rec = record(set);
    await set.ready;
    expect(set.list().map((p) => [p.name, p.status, p.modules])).toEqual([
      ["a", "valid", [at("shared/shout.yaml")]],
      ["b", "valid", [at("shared/shout.yaml")]],
    ]);
    const orchestrator = new TaskOrchestrator();
    try {
      expect((await orchestrator.runPipeline(set.get("a")!, { text: "hi" })).output).toBe("one hi");

      writeFileSync(at("shared/shout.yaml"), child("two"));
      await waitFor(() => rec.of("updated").length === 2, "a and b updated");
      expect(rec.of("updated").map((e) => [e.name, e.causes])).toEqual([
        ["a", ["sub-pipeline"]],
        ["b", ["sub-pipeline"]],
      ]);
      expect((await orchestrator.runPipeline(set.get("a")!, { text: "hi" })).output).toBe("two hi");

      const good = set.get("a");
      writeFileSync(at("shared/shout.yaml"), child("three").replace("model: m", "model: nobody"));
      await waitFor(() => rec.of("invalid").length === 2, "a and b invalid");
      expect(
        rec
          .of("invalid")[0]!
          .diagnostics.map((d) => d.code)
          .sort(),
      ).toEqual(["MCP311", "MCP401"]);
      expect(set.get("a")).toBe(good);

      writeFileSync(at("shared/shout.yaml"), child("four"));
      await waitFor(() => rec.of("updated").length === 4, "a and b valid again");
      expect((await orchestrator.runPipeline(set.get("b")!, { text: "hi" })).output).toBe("four hi");
    } finally {
      await orchestrator.close();
    }
  });

  it("reloads a parent whose child was missing once the child is created", async () => {
    const dir = tempDir({ "pipelines/a.yaml": parent("a"), "shared/README.md": "children go here\n" });
    dirs.push(dir);
    const set = new LivePipelineSet(join(dir, "pipelines"));
    open.push(set);
    const rec = record(set);
    await set.ready;
    expect(set.list()[0]).toMatchObject({ name: "a", status: "invalid" });
    expect(set.list()[0]!.diagnostics.map((d) => d.code)).toEqual(["MCP311"]);
    writeFileSync(join(dir, "shared", "shout.yaml"), child("born"));
    await waitFor(() => rec.of("loaded").length === 1, "a loaded");
    expect(set.get("a")).toBeDefined();
  });
});
