/**
 * "attempts" means the tries of one call (retries and fallbacks), in every view of a run:
 * the terminal table, the events (`--progress json`, SSE), the run view behind the HTML
 * report and the web UI, and the Markdown summary. A `repeat` step's iterations and a
 * `forEach` step's items are not attempts: they are counted apart (docs/loops.md).
 */
import { describe, expect, it } from "vitest";
import { formatReport } from "../../src/cli/reporters/format.js";
import { TaskOrchestrator } from "../../src/orchestrator/orchestrator.js";
import { ModelRegistry } from "../../src/registry/model-registry.js";
import { markdownSummary } from "../../src/report/markdown-summary.js";
import { eventsFromRecords } from "../../src/report/events-from-records.js";
import { buildRunView } from "../../src/report/run-view.js";
import { compileYaml, eventLog } from "../helpers/pipelines.js";

const PIPELINE = `version: 1
name: attempts
models:
  drafter: { provider: mock, capabilities: [t], options: { reply: { text: "v\${{ $request.n }}" } } }
  hiccup: { provider: mock, capabilities: [t], options: { failFirst: 1, reply: { text: "v\${{ $request.n }}" } } }
steps:
  loop:
    model: drafter
    input: { n: "\${{ $iteration }}" }
    repeat: { until: '$last.text = "v3"', max: 5 }
  loopRetried:
    model: hiccup
    input: { n: "\${{ $iteration }}" }
    retry: { attempts: 3, initialDelay: 1ms }
    repeat: { until: '$last.text = "v3"', max: 5 }
  fan: { model: drafter, forEach: "[1, 2, 3]", input: { n: "\${{ $item }}" } }
`;

/** Attempts, per step, as each reporter shows them. */
const EXPECTED = { loop: 1, loopRetried: 2, fan: 1 };

async function run() {
  const log = eventLog();
  const orchestrator = new TaskOrchestrator(new ModelRegistry());
  try {
    const report = await orchestrator.runPipeline(compileYaml(PIPELINE), {}, { observer: log.observer });
    expect(report.status, JSON.stringify(report.error)).toBe("success");
    return { events: log.events, report };
  } finally {
    await orchestrator.close();
  }
}

describe("the attempts of a step", () => {
  it("count the tries of one call, not a loop's iterations nor forEach items, in every reporter", async () => {
    const { events, report } = await run();
    // The report keeps every try (the JSON of --json), and each iteration's own.
    expect(report.steps.loop!.attempts).toHaveLength(3);
    expect(report.steps.loop!.iterations!.map((i) => i.attempts.length)).toEqual([1, 1, 1]);
    expect(report.steps.loopRetried!.iterations!.map((i) => i.attempts.length)).toEqual([2, 1, 1]);

    // The events.
    const finished = Object.fromEntries(events.flatMap((e) => (e.type === "step.finished" ? [[e.stepId, e.attempts]] : [])));
    expect(finished).toEqual(EXPECTED);

    // The terminal table: attempts, and the iterations and items in columns of their own.
    const table = formatReport(report).split("\n");
    const header = table[0]!.trim().split(/\s{2,}/);
    expect(header).toEqual(["step", "model", "items", "iterations", "attempts", "time", "tokens in/out", "cost", "cache"]);
    const row = (id: string) =>
      table
        .map((l) => l.split(/\s{2,}/))
        .find((cells) => cells[1] === id)!
        .slice(2, 6);
    expect(row("loop")).toEqual(["drafter", "-", "3", "1"]);
    expect(row("loopRetried")).toEqual(["hiccup", "-", "3", "2 (1 failed)"]);
    expect(row("fan")).toEqual(["drafter", "3", "-", "1"]);

    // The run view of the HTML report and the web UI: live from the events, with the report, and rebuilt from the journal.
    const rebuilt = eventsFromRecords({ ...report, startedAt: Date.parse(report.startedAt) });
    for (const view of [buildRunView(events), buildRunView(events, report), buildRunView(rebuilt, report), buildRunView(rebuilt)]) {
      expect(Object.fromEntries(Object.values(view.steps).map((s) => [s.id, s.attempts]))).toEqual(EXPECTED);
      expect(view.steps.loop!.iterations).toBe(3);
      expect(view.steps.loopRetried!.iterations).toBe(3);
      expect(view.steps.fan!.iterations).toBeUndefined();
    }

    // The Markdown summary (GitHub job summary).
    const md = markdownSummary(buildRunView(events, report), report);
    expect(md).toMatch(/^\| loop \| .* \| drafter \| 1 \|/m);
    expect(md).toMatch(/^\| loopRetried \| .* \| hiccup \| 2 \|/m);
    expect(md).toMatch(/^\| loop \| .*3 iterations/m);
  });
});
