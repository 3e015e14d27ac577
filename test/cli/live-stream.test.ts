/** The live view with a streamed step: the text above, the rows of the other steps below. */
import { describe, expect, it } from "vitest";
import type { RunEvent } from "../../src/events/event.js";
import { LiveReporter } from "../../src/cli/reporters/live.js";
import { FakeTerminal } from "../helpers/terminal.js";

const ev = (e: Record<string, unknown>) => ({ runId: "r", ts: Date.now(), ...e }) as RunEvent;

describe("the live view of a streamed step", () => {
  it("prints the text as it arrives above the rows, which keep showing the other steps", () => {
    const term = new FakeTerminal(40);
    const live = new LiveReporter(term, false).streamTo(["answer"]);
    live.onEvent(ev({ type: "run.started", pipeline: "p", hash: "h", steps: ["other", "answer"] }));
    live.onEvent(ev({ type: "step.started", stepId: "other", model: "slow", attempt: 1 }));
    live.onEvent(ev({ type: "step.started", stepId: "answer", model: "gpt", attempt: 1 }));
    live.onEvent(ev({ type: "step.delta", stepId: "answer", model: "gpt", attempt: 1, text: "Hello, " }));
    expect(term.screen[0]).toBe("Hello,");
    expect(term.screen.slice(1, 3).map((l) => l.split(/\s+/).slice(0, 3).join(" "))).toEqual(["▸ other slow", "▸ answer gpt"]);
    live.onEvent(ev({ type: "step.delta", stepId: "answer", model: "gpt", attempt: 1, text: "world.\nSecond line" }));
    expect(term.screen[0]).toBe("Hello, world.");
    expect(term.screen[1]).toBe("Second line");
    expect(term.screen[2]).toMatch(/^▸ other/);
    live.onEvent(ev({ type: "step.finished", stepId: "answer", model: "gpt", durationMs: 5, attempts: 1, usage: { inputTokens: 1, outputTokens: 2 }, cost: 0, cached: false, output: { text: "x" } }));
    live.onEvent(ev({ type: "run.finished", status: "success", durationMs: 9 }));
    live.dispose();
    expect(term.screen.slice(0, 2)).toEqual(["Hello, world.", "Second line"]);
    expect(term.screen[2]).toMatch(/^▸ other/);
    expect(term.screen[3]).toMatch(/^✓ answer/);
  });

  it("starts each iteration of a repeat step's answer on a line of its own", () => {
    const term = new FakeTerminal(200);
    const live = new LiveReporter(term, false).streamTo(["draft"]);
    live.onEvent(ev({ type: "run.started", pipeline: "p", hash: "h", steps: ["draft"] }));
    live.onEvent(ev({ type: "step.started", stepId: "draft", model: "gpt", attempt: 1 }));
    live.onEvent(ev({ type: "step.delta", stepId: "draft", model: "gpt", attempt: 1, text: "First draft." }));
    live.onEvent(ev({ type: "step.iteration", stepId: "draft", iteration: 1, max: 3, done: false, durationMs: 1, output: { text: "First draft." } }));
    live.onEvent(ev({ type: "step.delta", stepId: "draft", model: "gpt", attempt: 1, text: "Second draft. Regards" }));
    live.onEvent(ev({ type: "step.iteration", stepId: "draft", iteration: 2, max: 3, done: true, durationMs: 1, output: { text: "Second draft. Regards" } }));
    live.onEvent(ev({ type: "step.finished", stepId: "draft", model: "gpt", durationMs: 5, attempts: 1, usage: { inputTokens: 1, outputTokens: 2 }, cost: 0, cached: false, output: { text: "x" } }));
    live.onEvent(ev({ type: "run.finished", status: "success", durationMs: 9 }));
    live.dispose();
    expect(term.screen.slice(0, 2)).toEqual(["First draft.", "Second draft. Regards"]);
    expect(term.screen[2]).toMatch(/^✓ draft/);
  });

  it("says in one line above the rows that a step answering with data has nothing to stream", () => {
    const term = new FakeTerminal(200);
    const live = new LiveReporter(term, false).streamTo(["mood"]);
    live.onEvent(ev({ type: "run.started", pipeline: "p", hash: "h", steps: ["mood"] }));
    live.onEvent(ev({ type: "step.started", stepId: "mood", model: "nlp", attempt: 1 }));
    live.onEvent(
      ev({
        type: "step.finished",
        stepId: "mood",
        model: "nlp",
        durationMs: 5,
        attempts: 1,
        usage: { inputTokens: 1, outputTokens: 0 },
        cost: 0,
        cached: false,
        output: { sentiment: "positive", score: 0.8 },
      }),
    );
    live.onEvent(ev({ type: "run.finished", status: "success", durationMs: 9 }));
    live.dispose();
    expect(term.screen[0]).toBe("mcp run: --stream: step 'mood' (model nlp) answered with data, not text (keys: sentiment, score): nothing to stream; run without --stream for the result");
    expect(term.screen[1]).toMatch(/^✓ mood/);
  });
});
