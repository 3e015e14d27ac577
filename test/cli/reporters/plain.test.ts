/** The plain reporter: one line per state change, no cursor movement, colour only when asked. */
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { PlainReporter } from "../../../src/cli/reporters/plain.js";
import type { RunEvent } from "../../../src/events/event.js";

function sink(): Writable & { text: string } {
  const w = new Writable({
    write(chunk, _enc, done) {
      w.text += chunk.toString();
      done();
    },
  }) as Writable & { text: string };
  w.text = "";
  return w;
}

const runId = "r1";
const ts = 0;
const usage = { inputTokens: 1, outputTokens: 2 };
const error = { reason: "model-error" as const, message: "HTTP 429 Too Many Requests" };

const cases: [RunEvent, string | undefined][] = [
  [{ type: "run.started", runId, ts, pipeline: "triage", hash: "h", steps: ["a", "b"] }, "run r1 (triage, 2 steps)"],
  [{ type: "run.started", runId, ts, pipeline: "triage", hash: "h", steps: ["a"], resumedFrom: "r0" }, "run r1 (triage, 1 step) resuming r0"],
  [{ type: "step.queued", runId, ts, stepId: "a" }, undefined],
  [{ type: "step.started", runId, ts, stepId: "a", model: "m", attempt: 1 }, undefined],
  [{ type: "step.started", runId, ts, stepId: "a", model: "m", attempt: 2, item: 3 }, "  ▸ a[3] attempt 2 on m"],
  [{ type: "step.cache", runId, ts, stepId: "a", model: "m", hit: true, source: "replay" }, "  ↺ a served from replay (m)"],
  [{ type: "step.cache", runId, ts, stepId: "a", model: "m", hit: false, source: "cache" }, undefined],
  [{ type: "step.attempt_failed", runId, ts, stepId: "a", model: "m", attempt: 1, error, retryInMs: 1500 }, "  ! a attempt 1 on m failed: HTTP 429 Too Many Requests; retrying in 1.50s"],
  [{ type: "step.attempt_failed", runId, ts, stepId: "a", model: "m", attempt: 3, error }, "  ! a attempt 3 on m failed: HTTP 429 Too Many Requests"],
  [{ type: "step.fell_back", runId, ts, stepId: "a", from: "m", to: "n", error }, "  ↪ a falls back from m to n"],
  [{ type: "step.finished", runId, ts, stepId: "a", model: "n", durationMs: 42, attempts: 1, usage, cost: 0, cached: true, output: 1 }, "  ✓ a n 42ms cached"],
  [{ type: "step.finished", runId, ts, stepId: "a", model: "n", durationMs: 42, attempts: 1, usage, cost: 0, cached: false, resumed: true, output: 1 }, "  ✓ a n resumed"],
  [{ type: "step.skipped", runId, ts, stepId: "b", reason: "when: false" }, "  - b skipped (when: false)"],
  [{ type: "step.failed", runId, ts, stepId: "b", error, durationMs: 5, attempts: 3, continued: true }, "  ✗ b HTTP 429 Too Many Requests (onError: continue)"],
  [{ type: "step.aborted", runId, ts, stepId: "b" }, "  ■ b aborted"],
  [{ type: "step.iteration", runId, ts, stepId: "refine", iteration: 2, max: 3, done: false, durationMs: 1500, output: {} }, "  ⟳ refine iteration 2/3 1.50s"],
  [{ type: "step.iteration", runId, ts, stepId: "refine", iteration: 3, max: 3, done: true, durationMs: 20, output: {} }, "  ⟳ refine iteration 3/3 20ms until holds"],
  [{ type: "step.iteration", runId, ts, stepId: "refine", iteration: 3, max: 3, done: false, durationMs: 0, resumed: true, output: {} }, "  ⟳ refine iteration 3/3 resumed max reached"],
  [{ type: "step.progress", runId, ts, stepId: "b", model: "tool", progress: 2, total: 5, message: "reading" }, "  … b 2/5 reading"],
  [{ type: "model.throttled", runId, ts, model: "m", concurrency: 2 }, "  ⇣ m rate limited: concurrency now 2"],
  [{ type: "run.finished", runId, ts, status: "success", durationMs: 10 }, undefined],
];

describe("PlainReporter", () => {
  it.each(cases.map(([e, line]) => [e.type, e, line] as const))("prints %s as one line (or nothing)", (_type, e, line) => {
    const out = sink();
    new PlainReporter(out, false).onEvent(e);
    expect(out.text).toBe(line === undefined ? "" : `${line}\n`);
  });

  it("paints marks only when colour is on", () => {
    const e: RunEvent = { type: "step.aborted", runId, ts, stepId: "b" };
    const plain = sink();
    const color = sink();
    new PlainReporter(plain, false).onEvent(e);
    new PlainReporter(color, true).onEvent(e);
    expect(plain.text).not.toContain("\u001b[");
    expect(color.text).toBe("  \u001b[33m■\u001b[0m b aborted\n");
  });
});
