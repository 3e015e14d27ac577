/**
 * Running sub-pipelines (nested runs) and bounded loops (`repeat`): reports, events and the
 * journal (a real SQLite file) show the nested steps and each iteration; budgets and
 * cancellation pass down; a resumed run continues inside children and loops.
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadPipelineFile } from "../../src/compiler/load.js";
import type { CompiledPipeline } from "../../src/compiler/types.js";
import { formatText } from "../../src/diagnostics/printer.js";
import { TaskOrchestrator } from "../../src/orchestrator/orchestrator.js";
import { resumableSteps } from "../../src/orchestrator/nested.js";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import { StoreJournal } from "../../src/store/run-journal.js";
import { eventLog } from "../helpers/pipelines.js";
import { tempProject } from "../helpers/project.js";

const stores: SqliteStore[] = [];
afterAll(() => {
  for (const s of stores) s.close();
});

/** Writes `files` to a temp project and compiles its `main.yaml`. */
function compile(files: Record<string, string>): { pipeline: CompiledPipeline; dir: string } {
  const dir = tempProject(files);
  const r = loadPipelineFile(join(dir, "main.yaml"), { configPath: null });
  if (!r.pipeline) throw new Error(formatText(r.diagnostics, r.sources));
  return { pipeline: r.pipeline, dir };
}

function store(dir: string): SqliteStore {
  const s = new SqliteStore(join(dir, ".mcp", "state.db"));
  stores.push(s);
  return s;
}

const SUMMARISE = `version: 1
name: summarise
inputs: { type: object, required: [text], properties: { text: { type: string } } }
models:
  sum: { provider: mock, capabilities: [t], options: { reply: { text: "sum(\${{ $request.prompt }})" }, latency: "\${{ $request.ms ? $request.ms : 5 }}", usage: { inputTokens: 10, outputTokens: 5 } } }
steps:
  first: { model: sum, input: { prompt: "\${{ $input.text }}", ms: "\${{ $input.ms }}" } }
  second: { model: sum, input: { prompt: "\${{ $steps.first.output.text }}" } }
output: \${{ $steps.second.output.text }}
`;

const DRAFTER = `  draft: { provider: mock, capabilities: [t], options: { reply: { text: "v\${{ $request.n }}", ok: "\${{ $request.n >= 3 }}" }, usage: { inputTokens: 1, outputTokens: 1 } } }
`;

describe("a sub-pipeline step", () => {
  it("runs the child as a nested run: nested in the report, the events and the journal", async () => {
    const { pipeline, dir } = compile({
      "child.yaml": SUMMARISE,
      "main.yaml": `version: 1
models:
  shout: { provider: mock, capabilities: [t], options: { reply: { text: "\${{ $uppercase($request.prompt) }}" } } }
steps:
  summary:
    pipeline: ./child.yaml
    input: { text: "\${{ $input.text }}" }
  loud: { model: shout, input: { prompt: "\${{ $steps.summary.output }}" } }
output: \${{ $steps.loud.output.text }}
`,
    });
    const s = store(dir);
    const log = eventLog();
    const report = await new TaskOrchestrator().runPipeline(pipeline, { text: "hi" }, { observer: log.observer, journal: new StoreJournal(s) });
    expect(report.status, JSON.stringify(report.error)).toBe("success");
    expect(report.output).toBe("SUM(SUM(HI))");
    expect(Object.keys(report.steps)).toEqual(["summary", "loud"]);
    expect(report.steps.summary).toMatchObject({ status: "success", output: "sum(sum(hi))", usage: { inputTokens: 20, outputTokens: 10 } });
    expect(Object.keys(report.steps.summary!.steps!)).toEqual(["first", "second"]);
    expect(report.steps.summary!.steps!.first).toMatchObject({ status: "success", model: "sum", output: { text: "sum(hi)" } });
    expect(report.totals.calls).toBe(3);
    expect(log.of("step.finished").map((e) => e.stepId)).toEqual(["summary/first", "summary/second", "summary", "loud"]);
    expect(log.of("step.started").map((e) => e.stepId)).toEqual(["summary/first", "summary/second", "loud"]);
    const journal = await s.getSteps(report.runId);
    expect(Object.keys(journal).sort()).toEqual(["loud", "summary", "summary/first", "summary/second"]);
  });

  it("fails the step with the child's reason and message; onError: continue lets the run go on", async () => {
    const child = `version: 1
models:
  broken: { provider: mock, capabilities: [t], options: { failRate: 1, reply: { text: x } } }
steps:
  only: { model: broken, retry: { attempts: 1 } }
`;
    const failing = compile({ "child.yaml": child, "main.yaml": "version: 1\nsteps:\n  sub: { pipeline: ./child.yaml }\n" });
    const report = await new TaskOrchestrator().runPipeline(failing.pipeline, {});
    expect(report.status).toBe("failed");
    expect(report.error).toMatchObject({ reason: "model-error" });
    expect(report.error!.message).toMatch(/^step 'sub': sub-pipeline \.\/child\.yaml failed: /);

    const going = compile({
      "child.yaml": child,
      "main.yaml": `version: 1
models:
  m: { provider: mock, capabilities: [t], options: { reply: { text: "status \${{ $request.s }}" } } }
steps:
  sub: { pipeline: ./child.yaml, onError: continue }
  after: { model: m, input: { s: "\${{ $steps.sub.status }}" } }
`,
    });
    const r2 = await new TaskOrchestrator().runPipeline(going.pipeline, {});
    expect(r2.status).toBe("success");
    expect(r2.steps.after!.output).toMatchObject({ text: "status failed" });
  });

  it("checks the input computed at run time against the child's inputs", async () => {
    const { pipeline } = compile({ "child.yaml": SUMMARISE, "main.yaml": 'version: 1\nsteps:\n  sub:\n    pipeline: ./child.yaml\n    input: { text: "${{ $input.n }}" }\n' });
    const report = await new TaskOrchestrator().runPipeline(pipeline, { n: 42 });
    expect(report.status).toBe("failed");
    expect(report.error).toMatchObject({ reason: "invalid-input" });
    expect(report.error!.message).toMatch(/^step 'sub': the input of sub-pipeline \.\/child\.yaml is invalid: .*input\.text must be string/);
  });

  it("passes the run's budget down: the child's calls count against the parent's budget", async () => {
    const { pipeline } = compile({ "child.yaml": SUMMARISE, "main.yaml": "version: 1\nbudget: { maxTokens: 20 }\nsteps:\n  sub:\n    pipeline: ./child.yaml\n    input: { text: hi }\n" });
    const report = await new TaskOrchestrator().runPipeline(pipeline, {});
    expect(report.status).toBe("failed");
    expect(report.error).toMatchObject({ reason: "budget-exceeded" });
    expect(report.totals.calls).toBe(1);
  });

  it("prices the child's calls against the parent's maxCost with the child's own models, which the parent does not have", async () => {
    const child = `version: 1
models:
  priced: { provider: mock, capabilities: [t], cost: { input: 1000, output: 1000 }, options: { usage: { inputTokens: 100, outputTokens: 100 } } }
steps:
  a: { model: priced }
  b: { model: priced, needs: a }
`;
    // a spends $0.2; b, estimated at ~100 output tokens (a's), would bring it past $0.25.
    const { pipeline } = compile({ "child.yaml": child, "main.yaml": "version: 1\nbudget: { maxCost: 0.25 }\nsteps:\n  sub:\n    pipeline: ./child.yaml\n" });
    const report = await new TaskOrchestrator().runPipeline(pipeline, {});
    expect(report.status).toBe("failed");
    expect(report.error?.reason).toBe("budget-exceeded");
    expect(report.error?.message).toMatch(/the call of step 'b' on 'priced' \(about \d+ tokens, \$0\.1\d*\) would pass maxCost \$0\.25 \(spent \$0\.2\)/);
    expect(report.totals).toMatchObject({ calls: 1, cost: 0.2 });
  });

  it("passes cancellation down: the child's running step is aborted", async () => {
    const { pipeline } = compile({ "child.yaml": SUMMARISE, "main.yaml": "version: 1\nsteps:\n  sub:\n    pipeline: ./child.yaml\n    input: { text: hi, ms: 5000 }\n" });
    const log = eventLog();
    const run = new TaskOrchestrator().startRun(pipeline, {}, { observer: log.observer });
    run.on((e) => {
      if (e.type === "step.started" && e.stepId === "sub/first") run.cancel();
    });
    const t0 = Date.now();
    const report = await run.done;
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(report.status).toBe("cancelled");
    // (sub/second never started: it is aborted without an event, as any waiting step.)
    expect(log.of("step.aborted").map((e) => e.stepId)).toEqual(["sub/first", "sub"]);
    expect(report.steps.sub!.status).toBe("aborted");
  });

  it("applies the step's timeout to the nested run: cancelled at the deadline, the step fails with reason timeout, journaled", async () => {
    const { pipeline, dir } = compile({ "child.yaml": SUMMARISE, "main.yaml": "version: 1\nsteps:\n  sub:\n    pipeline: ./child.yaml\n    input: { text: hi, ms: 5000 }\n    timeout: 200ms\n" });
    const s = store(dir);
    const log = eventLog();
    const t0 = Date.now();
    const report = await new TaskOrchestrator().runPipeline(pipeline, {}, { observer: log.observer, journal: new StoreJournal(s) });
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(report.status).toBe("failed");
    expect(report.error).toMatchObject({ reason: "timeout" });
    expect(report.error!.message).toMatch(/^step 'sub': sub-pipeline \.\/child\.yaml timed out after 200ms/);
    expect(log.of("step.aborted").map((e) => e.stepId)).toEqual(["sub/first"]);
    expect(log.of("step.failed").map((e) => [e.stepId, e.error.reason])).toEqual([["sub", "timeout"]]);
    // The report, and the journal's copy of it, show the child run cut at the deadline.
    expect(report.steps.sub).toMatchObject({ status: "failed", error: { reason: "timeout" }, steps: { first: { status: "aborted" }, second: { status: "aborted" } } });
    const stored = await s.getRun(report.runId);
    expect(stored).toMatchObject({ status: "failed", error: { reason: "timeout" } });
    expect(stored!.report!.steps.sub!.steps!.first!.status).toBe("aborted");
  });

  it("a child's retries stop at the parent step's deadline; onError: continue applies to the timeout", async () => {
    const { pipeline } = compile({
      "child.yaml": `version: 1
models:
  broken: { provider: mock, capabilities: [t], options: { failRate: 1, reply: { text: x } } }
steps:
  only: { model: broken, retry: { attempts: 5, backoff: fixed, initialDelay: 3s } }
`,
      "main.yaml": `version: 1
models:
  m: { provider: mock, capabilities: [t], options: { reply: { text: "after \${{ $request.s }}" } } }
steps:
  sub: { pipeline: ./child.yaml, timeout: 300ms, onError: continue }
  after: { model: m, input: { s: "\${{ $steps.sub.error.reason }}" } }
`,
    });
    const log = eventLog();
    const t0 = Date.now();
    const report = await new TaskOrchestrator().runPipeline(pipeline, {}, { observer: log.observer });
    expect(Date.now() - t0).toBeLessThan(2500);
    expect(report.status).toBe("success");
    expect(report.steps.sub).toMatchObject({ status: "failed", error: { reason: "timeout" } });
    expect(log.of("step.attempt_failed").filter((e) => e.stepId === "sub/only")).toHaveLength(1);
    expect(report.steps.after!.output).toMatchObject({ text: "after timeout" });
  });

  it("times each nested run of a forEach or repeat sub-pipeline step on its own, not the step's whole work", async () => {
    // Two nested runs of about 600 ms one after the other: each fits in 1 s, both do not.
    const { pipeline } = compile({
      "child.yaml": SUMMARISE,
      "main.yaml": `version: 1
steps:
  each:
    pipeline: ./child.yaml
    forEach: "[1, 2]"
    concurrency: 1
    input: { text: "\${{ $string($item) }}", ms: 600 }
    timeout: 1s
  loop:
    pipeline: ./child.yaml
    input: { text: "\${{ $string($iteration) }}", ms: 600 }
    repeat: { max: 2 }
    timeout: 1s
`,
    });
    const report = await new TaskOrchestrator().runPipeline(pipeline, {});
    expect(report.status, JSON.stringify(report.error)).toBe("success");
    expect(report.steps.each!.output).toEqual(["sum(sum(1))", "sum(sum(2))"]);
    expect(report.steps.loop!.iterations).toHaveLength(2);
    expect(report.steps.each!.durationMs).toBeGreaterThan(1000);
    expect(report.steps.loop!.durationMs).toBeGreaterThan(1000);
  });

  it("runs a forEach sub-pipeline step once per item, each a nested run of its own", async () => {
    const { pipeline, dir } = compile({
      "child.yaml": SUMMARISE,
      "main.yaml": 'version: 1\nsteps:\n  each:\n    pipeline: ./child.yaml\n    forEach: $input.texts\n    input: { text: "${{ $item }}" }\n',
    });
    const s = store(dir);
    const report = await new TaskOrchestrator().runPipeline(pipeline, { texts: ["a", "b"] }, { journal: new StoreJournal(s) });
    expect(report.status).toBe("success");
    expect(report.steps.each!.output).toEqual(["sum(sum(a))", "sum(sum(b))"]);
    expect(Object.keys(await s.getSteps(report.runId)).sort()).toEqual(["each", "each[0]/first", "each[0]/second", "each[1]/first", "each[1]/second"]);
  });

  it("resumes inside the child: its finished steps are not run again", async () => {
    const { pipeline } = compile({ "child.yaml": SUMMARISE, "main.yaml": "version: 1\nsteps:\n  sub:\n    pipeline: ./child.yaml\n    input: { text: hi }\n" });
    const first = await new TaskOrchestrator().runPipeline(pipeline, {});
    const journal = { "sub/first": first.steps.sub!.steps!.first! };
    const log = eventLog();
    const report = await new TaskOrchestrator().runPipeline(pipeline, {}, { resume: { fromRunId: first.runId, completed: resumableSteps(pipeline, journal) }, observer: log.observer });
    expect(report.status).toBe("success");
    expect(report.output).toEqual({ sub: "sum(sum(hi))" });
    expect(report.totals.calls).toBe(1);
    expect(report.steps.sub!.steps!.first!.resumed).toBe(true);
    expect(log.of("step.started").map((e) => e.stepId)).toEqual(["sub/second"]);
  });
});

describe("a repeat step", () => {
  it("runs until the condition holds, each iteration seeing $last and $iteration; events and report show each", async () => {
    const { pipeline, dir } = compile({
      "main.yaml": `version: 1
models:
${DRAFTER}steps:
  refine:
    model: draft
    input: { n: "\${{ $iteration }}", previous: "\${{ $last.text }}" }
    repeat: { until: "$last.ok", max: 5 }
`,
    });
    const s = store(dir);
    const log = eventLog();
    const report = await new TaskOrchestrator().runPipeline(pipeline, {}, { observer: log.observer, journal: new StoreJournal(s) });
    expect(report.status).toBe("success");
    expect(report.steps.refine!.output).toMatchObject({ text: "v3", ok: true });
    expect(report.steps.refine!.iterations!.map((r) => (r.output as { text: string }).text)).toEqual(["v1", "v2", "v3"]);
    expect(report.steps.refine!.attempts).toHaveLength(3);
    expect(report.steps.refine!.usage).toEqual({ inputTokens: 3, outputTokens: 3 });
    expect(log.of("step.started").map((e) => e.input)).toEqual([{ n: 1 }, { n: 2, previous: "v1" }, { n: 3, previous: "v2" }]);
    expect(log.of("step.iteration").map((e) => [e.iteration, e.max, e.done])).toEqual([
      [1, 5, false],
      [2, 5, false],
      [3, 5, true],
    ]);
    expect(Object.keys(await s.getSteps(report.runId)).sort()).toEqual(["refine", "refine#1", "refine#2", "refine#3"]);
  });

  it("fails when max is reached and until never held (onMax: fail, the default), or takes the last output (onMax: last)", async () => {
    const body = (onMax: string) => `version: 1
models:
${DRAFTER}steps:
  refine:
    model: draft
    input: { n: 0 }
    repeat: { until: "$last.ok", max: 2${onMax} }
`;
    const failed = await new TaskOrchestrator().runPipeline(compile({ "main.yaml": body("") }).pipeline, {});
    expect(failed.status).toBe("failed");
    expect(failed.error).toEqual({ reason: "repeat-exhausted", message: "step 'refine': repeat reached max 2 and until ($last.ok) still does not hold" });
    expect(failed.steps.refine!.attempts).toHaveLength(2);

    const last = await new TaskOrchestrator().runPipeline(compile({ "main.yaml": body(", onMax: last") }).pipeline, {});
    expect(last.status).toBe("success");
    expect(last.steps.refine!.output).toMatchObject({ text: "v0", ok: false });
    expect(last.steps.refine!.iterations).toHaveLength(2);
  });

  it("runs max times without until", async () => {
    const { pipeline } = compile({ "main.yaml": `version: 1\nmodels:\n${DRAFTER}steps:\n  three:\n    model: draft\n    input: { n: "\${{ $iteration }}" }\n    repeat: { max: 3 }\n` });
    const report = await new TaskOrchestrator().runPipeline(pipeline, {});
    expect(report.steps.three!.output).toMatchObject({ text: "v3" });
    expect(report.totals.calls).toBe(3);
  });

  it("loops a sub-pipeline, each iteration a nested run keyed by its number", async () => {
    const { pipeline, dir } = compile({
      "child.yaml": SUMMARISE,
      "main.yaml":
        'version: 1\nsteps:\n  again:\n    pipeline: ./child.yaml\n    input: { text: "${{ $exists($last) ? $last : $input.text }}" }\n    repeat: { until: "$length($last) > 20", max: 4 }\n',
    });
    const s = store(dir);
    const report = await new TaskOrchestrator().runPipeline(pipeline, { text: "x" }, { journal: new StoreJournal(s) });
    expect(report.status).toBe("success");
    expect(report.steps.again!.output).toBe("sum(sum(sum(sum(x))))");
    expect(Object.keys(await s.getSteps(report.runId)).sort()).toEqual(["again", "again#1", "again#1/first", "again#1/second", "again#2", "again#2/first", "again#2/second"]);
  });

  it("resumes after the last finished iteration", async () => {
    const { pipeline } = compile({
      "main.yaml": `version: 1\nmodels:\n${DRAFTER}steps:\n  refine:\n    model: draft\n    input: { n: "\${{ $iteration }}", previous: "\${{ $last.text }}" }\n    repeat: { until: "$last.ok", max: 5 }\n`,
    });
    const first = await new TaskOrchestrator().runPipeline(pipeline, {});
    const [one, two] = first.steps.refine!.iterations!;
    const log = eventLog();
    const report = await new TaskOrchestrator().runPipeline(
      pipeline,
      {},
      { resume: { fromRunId: first.runId, completed: resumableSteps(pipeline, { "refine#1": one!, "refine#2": two! }) }, observer: log.observer },
    );
    expect(report.steps.refine!.output).toMatchObject({ text: "v3" });
    expect(report.totals.calls).toBe(1);
    expect(log.of("step.started").map((e) => e.input)).toEqual([{ n: 3, previous: "v2" }]);
    expect(log.of("step.iteration").map((e) => [e.iteration, !!e.resumed])).toEqual([
      [1, true],
      [2, true],
      [3, false],
    ]);
  });
});

describe("plans and graphs of composed pipelines", () => {
  it("plans a sub-pipeline step with its child's plan, and says a loop's estimate is for one iteration", async () => {
    const { pipeline } = compile({
      "child.yaml": SUMMARISE,
      "main.yaml": `version: 1\nmodels:\n${DRAFTER}steps:\n  sub:\n    pipeline: ./child.yaml\n    input: { text: hello }\n  refine:\n    model: draft\n    input: { n: 1 }\n    repeat: { max: 4 }\n`,
    });
    const plan = await new TaskOrchestrator().plan(pipeline, {});
    expect(plan.steps[0]).toMatchObject({ id: "sub", model: null, pipeline: "./child.yaml", outputTokens: 10, notes: ["runs the sub-pipeline ./child.yaml (2 steps): its plan's estimate"] });
    expect(plan.steps[1]!.notes).toContain("repeat: up to 4 iterations; the estimate is for one");
  });
});
