/** The live terminal view: rows redrawn in place, failures printed above, never wider than the terminal. */
import { afterEach, describe, expect, it, vi } from "vitest";
import { LiveReporter } from "../../../src/cli/reporters/live.js";
import type { ErrorInfo, RunEvent } from "../../../src/events/event.js";
import { FakeTerminal } from "../../helpers/terminal.js";

const runId = "r1";
const usage = { inputTokens: 1, outputTokens: 1 };
const err: ErrorInfo = { reason: "model-error", message: "HTTP 500 Internal Server Error", kind: "retryable" };

function events(ts: number): RunEvent[] {
  return [
    { type: "run.started", runId, ts, pipeline: "triage", hash: "h", steps: ["classify", "summarize", "notify"] },
    { type: "step.queued", runId, ts, stepId: "classify" },
    { type: "step.started", runId, ts, stepId: "classify", model: "fast", attempt: 1 },
    { type: "step.started", runId, ts, stepId: "summarize", model: "big", attempt: 1 },
    { type: "step.finished", runId, ts, stepId: "classify", model: "fast", durationMs: 120, attempts: 1, usage, cost: 0, cached: false, output: {} },
    { type: "step.attempt_failed", runId, ts, stepId: "summarize", model: "big", attempt: 1, error: err, retryInMs: 500 },
    { type: "step.started", runId, ts, stepId: "summarize", model: "big", attempt: 2 },
    { type: "step.finished", runId, ts, stepId: "summarize", model: "big", durationMs: 2500, attempts: 2, usage, cost: 0, cached: true, output: {} },
    { type: "step.skipped", runId, ts, stepId: "notify", reason: "when: $steps.classify.output.urgent" },
    { type: "run.finished", runId, ts, status: "success", durationMs: 3000 },
  ];
}

afterEach(() => {
  vi.useRealTimers();
});

describe("LiveReporter", () => {
  it("leaves one row per step in its last state, with the failed attempt printed above the rows", () => {
    const term = new FakeTerminal(100);
    const r = new LiveReporter(term, false);
    for (const e of events(Date.now())) r.onEvent(e);
    r.dispose();
    const screen = term.screen;
    expect(screen).toHaveLength(4);
    expect(screen[0]).toBe("  ! summarize attempt 1 on big failed: HTTP 500 Internal Server Error; retrying in 500ms");
    expect(screen[1]).toMatch(/^✓ classify\s+fast\s+120ms$/);
    expect(screen[2]).toMatch(/^✓ summarize\s+big\s+2\.50s cached$/);
    expect(screen[3]).toMatch(/^- notify\s+when: \$steps\.classify\.output\.urgent$/);
  });

  it("redraws running steps with their time as it passes, and stops when disposed", () => {
    vi.useFakeTimers();
    const term = new FakeTerminal(100);
    const r = new LiveReporter(term, false);
    const ts = Date.now();
    r.onEvent({ type: "run.started", runId, ts, pipeline: "p", hash: "h", steps: ["a", "b"] });
    r.onEvent({ type: "step.started", runId, ts, stepId: "a", model: "m", attempt: 1 });
    vi.advanceTimersByTime(1500);
    expect(term.screen[0]).toMatch(/^▸ a\s+m\s+1\.50s$/);
    expect(term.screen[1]).toBe("· b");
    vi.advanceTimersByTime(1000);
    expect(term.screen[0]).toMatch(/^▸ a\s+m\s+2\.50s$/);
    expect(term.screen).toHaveLength(2);
    r.dispose();
    const written = term.raw.length;
    vi.advanceTimersByTime(5000);
    expect(term.raw.length).toBe(written);
  });

  it("cuts rows to the terminal's width instead of wrapping them", () => {
    const term = new FakeTerminal(24);
    const r = new LiveReporter(term, true);
    for (const e of events(Date.now())) r.onEvent(e);
    r.dispose();
    // The failure line above wraps like any long line; the rows are the last three lines, cut.
    const rows = term.screen.slice(-3);
    expect(rows.map((l) => l.split(/\s+/).slice(0, 2).join(" "))).toEqual(["✓ classify", "✓ summarize", "- notify"]);
    expect(term.screen.slice(0, -3).join("")).toContain("Internal Server Error; retrying in 500ms");
  });
});
