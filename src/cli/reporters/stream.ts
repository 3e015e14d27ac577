/**
 * `mcp run --stream`: the answer of the streamed steps as it arrives. Each step.delta's text
 * is written as is; a step that streamed nothing (its model cannot stream, or the cache
 * answered) gets its whole text when it finishes. An attempt that fails after some text
 * ends the line, and the next attempt's text starts over below it. With several streamed
 * steps, each change of step starts a line with `[step] `.
 */
import type { Writable } from "node:stream";
import type { RunEvent, RunObserver } from "../../events/event.js";

export class StreamPrinter implements RunObserver {
  readonly #steps: ReadonlySet<string>;
  readonly #streamed = new Set<string>();
  /** The step whose text the current line holds. */
  #current: string | undefined;
  #open = false;

  constructor(
    readonly out: Writable,
    steps: readonly string[],
  ) {
    this.#steps = new Set(steps);
  }

  onEvent(e: RunEvent): void {
    switch (e.type) {
      case "step.delta":
        if (!this.#steps.has(e.stepId)) return;
        this.#streamed.add(e.stepId);
        this.#write(e.stepId, e.text);
        return;
      case "step.attempt_failed":
        if (this.#current === e.stepId && this.#open) this.#endLine();
        this.#streamed.delete(e.stepId);
        return;
      case "step.finished":
        if (!this.#steps.has(e.stepId)) return;
        if (!this.#streamed.has(e.stepId)) this.#write(e.stepId, textOf(e.output));
        if (this.#current === e.stepId) this.#endLine();
        return;
      case "run.finished":
        if (this.#open) this.#endLine();
        return;
      // Nothing to print for the others.
      case "run.started":
      case "step.queued":
      case "step.started":
      case "step.fell_back":
      case "step.cache":
      case "step.skipped":
      case "step.failed":
      case "step.aborted":
      case "step.progress":
      case "step.waiting":
      case "model.throttled":
      case "model.breaker":
      case "model.limit_wait":
        return;
      default:
        return;
    }
  }

  #write(stepId: string, text: string): void {
    if (this.#current !== stepId) {
      if (this.#open) this.#endLine();
      this.#current = stepId;
      if (this.#steps.size > 1) this.out.write(`[${stepId}] `);
    }
    this.out.write(text);
    this.#open = true;
  }

  #endLine(): void {
    this.out.write("\n");
    this.#open = false;
    this.#current = undefined;
  }
}

/** The text of an output: its `text` when it has one, else its JSON. */
export function textOf(output: unknown): string {
  const t = (output as { text?: unknown } | null)?.text;
  if (typeof t === "string") return t;
  return typeof output === "string" ? output : JSON.stringify(output ?? null);
}
