import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { TaskOrchestrator } from "../../src/orchestrator/orchestrator.js";
import { ModelRegistry } from "../../src/registry/model-registry.js";
import { eventsFromRecords } from "../../src/report/events-from-records.js";
import { buildRunView, RunViewBuilder } from "../../src/report/run-view.js";
import { markdownSummary } from "../../src/report/markdown-summary.js";
import { graphModel } from "../../src/report/graph-model.js";
import { layoutGraph } from "../../src/report/graph-layout.js";
import { compileYaml, eventLog } from "../helpers/pipelines.js";

const FIXTURE = readFileSync(new URL("../fixtures/ui/retry-fallback.yaml", import.meta.url), "utf8");

async function run() {
  const pipeline = compileYaml(FIXTURE);
  const log = eventLog();
  const orchestrator = new TaskOrchestrator(new ModelRegistry());
  try {
    const report = await orchestrator.runPipeline(pipeline, { text: "hi" }, { observer: log.observer });
    return { pipeline, events: log.events, report };
  } finally {
    await orchestrator.close();
  }
}

const kinds = (bars: { kind: string }[]) => bars.map((b) => b.kind).filter((k) => k !== "queued");

describe("the run view", () => {
  it("folds a real run's events into one bar per attempt: retried, fell back, success, skipped", async () => {
    const { events, report } = await run();
    const view = buildRunView(events, report);
    expect(view.status).toBe("success");
    expect(view.order).toEqual(["draft", "polish", "check", "fanout", "never"]);
    expect(kinds(view.steps.draft!.bars)).toEqual(["success"]);
    // flaky: attempt 1 retried, attempt 2 spent (fell back), then steady succeeds.
    expect(kinds(view.steps.polish!.bars)).toEqual(["retried", "fellback", "success"]);
    expect(view.steps.polish!.fallbacks).toEqual([{ from: "flaky", to: "steady", reason: expect.stringContaining("mock failure") }]);
    expect(kinds(view.steps.check!.bars)).toEqual(["retried", "success"]);
    expect(
      view.steps
        .fanout!.bars.filter((b) => b.kind === "success")
        .map((b) => b.item)
        .sort(),
    ).toEqual([0, 1, 2]);
    expect(kinds(view.steps.never!.bars)).toEqual(["skipped"]);
    expect(view.steps.draft!.input).toEqual({ prompt: "hi" });
    expect(view.steps.draft!.output).toMatchObject({ text: "ok hi" });
    for (const s of Object.values(view.steps)) for (const b of s.bars) expect(b.end, `${s.id} ${b.kind}`).toBeGreaterThanOrEqual(b.start);
  });

  it("shows running bars while a run is live and closes them when the step ends", async () => {
    const { events } = await run();
    const b = new RunViewBuilder();
    const firstFinish = events.findIndex((e) => e.type === "step.finished");
    b.applyAll(events.slice(0, firstFinish));
    expect(b.view.status).toBe("running");
    expect(b.view.steps.draft!.bars.some((x) => x.kind === "running" && x.end === undefined)).toBe(true);
    b.applyAll(events.slice(firstFinish));
    expect(
      Object.values(b.view.steps)
        .flatMap((s) => s.bars)
        .filter((x) => x.end === undefined),
    ).toEqual([]);
  });

  it("rebuilds the same bars from the journal's step records", async () => {
    const { report } = await run();
    const events = eventsFromRecords({ ...report, startedAt: Date.parse(report.startedAt) });
    const view = buildRunView(events, report);
    expect(kinds(view.steps.polish!.bars)).toEqual(["retried", "fellback", "success"]);
    expect(kinds(view.steps.check!.bars)).toEqual(["retried", "success"]);
    expect(kinds(view.steps.never!.bars)).toEqual(["skipped"]);
    expect(view.status).toBe("success");
  });

  it("writes a Markdown summary with the status, every step, tokens, cost and the mermaid graph", async () => {
    const { pipeline, events, report } = await run();
    const md = markdownSummary(buildRunView(events, report), report, "flowchart TD\n  draft --> polish");
    expect(md).toContain("mcp run `retry-fallback`: success");
    for (const id of ["draft", "polish", "check", "fanout", "never"]) expect(md).toMatch(new RegExp(`^\\| ${id} \\|`, "m"));
    expect(md).toContain("fell back flaky → steady");
    expect(md).toContain(`${report.totals.inputTokens} in / ${report.totals.outputTokens} out tokens`);
    expect(md).toContain("```mermaid\nflowchart TD");
    expect(pipeline.name).toBe("retry-fallback");
  });

  it("tells needs edges from $steps edges and marks forEach and when", async () => {
    const { pipeline } = await run();
    const g = graphModel(pipeline);
    expect(g.edges).toEqual([
      { from: "draft", to: "polish", kind: "ref" },
      { from: "draft", to: "check", kind: "needs" },
      { from: "polish", to: "fanout", kind: "needs" },
      { from: "check", to: "never", kind: "needs" },
    ]);
    expect(g.nodes.find((n) => n.id === "fanout")).toMatchObject({ forEach: "[1, 2, 3]", kind: "mock" });
    expect(g.nodes.find((n) => n.id === "never")).toMatchObject({ when: "false" });
    const laid = await layoutGraph(g);
    expect(laid.layout.nodes).toHaveLength(5);
    expect(laid.layout.edges.every((e) => e.points.length >= 2)).toBe(true);
  });
});
