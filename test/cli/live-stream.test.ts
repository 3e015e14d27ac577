/** The live view with a streamed step: the text above, the rows of the other steps below. */
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { RunEvent } from "../../src/events/event.js";
import { LiveReporter } from "../../src/cli/reporters/live.js";

/** A terminal of 40 columns that applies "cursor up N, clear to the end" as a real one does. */
class Screen extends Writable {
  columns = 40;
  lines: string[] = [""];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    let s = chunk.toString();
    for (;;) {
      const m = /\u001b\[(\d+)A\u001b\[0J/.exec(s);
      const text = m ? s.slice(0, m.index) : s;
      this.#text(text);
      if (!m) break;
      // Up N lines, to their start, and clear from there.
      this.lines.splice(this.lines.length - 1 - Number(m[1]));
      this.lines.push("");
      s = s.slice(m.index + m[0].length);
    }
    done();
  }
  #text(t: string): void {
    const parts = t.split("\n");
    this.lines[this.lines.length - 1] += parts[0]!;
    for (const p of parts.slice(1)) this.lines.push(p);
  }
}

const ev = (e: Record<string, unknown>) => ({ runId: "r", ts: Date.now(), ...e }) as RunEvent;

describe("the live view of a streamed step", () => {
  it("prints the text as it arrives above the rows, which keep showing the other steps", () => {
    const screen = new Screen();
    const live = new LiveReporter(screen, false).streamTo(["answer"]);
    live.onEvent(ev({ type: "run.started", pipeline: "p", hash: "h", steps: ["other", "answer"] }));
    live.onEvent(ev({ type: "step.started", stepId: "other", model: "slow", attempt: 1 }));
    live.onEvent(ev({ type: "step.started", stepId: "answer", model: "gpt", attempt: 1 }));
    live.onEvent(ev({ type: "step.delta", stepId: "answer", model: "gpt", attempt: 1, text: "Hello, " }));
    expect(screen.lines[0]).toBe("Hello, ");
    expect(screen.lines.slice(1, 3).map((l) => l.split(/\s+/).slice(0, 3).join(" "))).toEqual(["▸ other slow", "▸ answer gpt"]);
    live.onEvent(ev({ type: "step.delta", stepId: "answer", model: "gpt", attempt: 1, text: "world.\nSecond line" }));
    expect(screen.lines[0]).toBe("Hello, world.");
    expect(screen.lines[1]).toBe("Second line");
    expect(screen.lines[2]).toMatch(/^▸ other/);
    live.onEvent(ev({ type: "step.finished", stepId: "answer", model: "gpt", durationMs: 5, attempts: 1, usage: { inputTokens: 1, outputTokens: 2 }, cost: 0, cached: false, output: { text: "x" } }));
    live.onEvent(ev({ type: "run.finished", status: "success", durationMs: 9 }));
    live.dispose();
    expect(screen.lines.slice(0, 2)).toEqual(["Hello, world.", "Second line"]);
    expect(screen.lines[2]).toMatch(/^▸ other/);
    expect(screen.lines[3]).toMatch(/^✓ answer/);
  });
});
