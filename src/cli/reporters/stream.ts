/**
 * `mcp run --stream`: the answer of the streamed steps as it arrives. Each step.delta's text
 * is written as is (a model that cannot stream, or a cache hit, sends its text as one delta
 * when the call returns). A step that finished without any text (its output mapping made
 * it a string, or its model answers with data, an nlp analysis) gets that string, or a
 * one-line note on stderr: a data answer has nothing to stream. An attempt that fails after
 * some text ends the line, and the next attempt's text starts over below it. With several
 * streamed steps, each change of step starts a line with `[step] `.
 */
import type { Writable } from "node:stream";
import type { RunEvent, RunObserver, StepFinishedEvent } from "../../events/event.js";
import { answerTextOf } from "../../models/base-model.js";

export class StreamPrinter implements RunObserver {
  readonly #steps: ReadonlySet<string>;
  readonly #streamed = new Set<string>();
  /** The step whose text the current line holds. */
  #current: string | undefined;
  #open = false;

  constructor(
    readonly out: Writable,
    steps: readonly string[],
    /** Where a step that has no text to stream is said so. */
    readonly err: Writable,
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
        if (!this.#streamed.has(e.stepId)) {
          const text = answerTextOf(e.output);
          if (text !== undefined) this.#write(e.stepId, text);
          else {
            if (this.#open) this.#endLine();
            this.err.write(noTextNote(e) + "\n");
          }
        }
        if (this.#current === e.stepId) this.#endLine();
        return;
      case "step.iteration":
        // Each iteration of a loop is an answer of its own: one line each.
        if (this.#current === e.stepId && this.#open) this.#endLine();
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

/** What `--stream` says of a streamed step that finished with data, not text: one line. */
export function noTextNote(e: StepFinishedEvent): string {
  const o = e.output;
  const shape = o !== null && typeof o === "object" && !Array.isArray(o) ? `keys: ${Object.keys(o).join(", ") || "none"}` : Array.isArray(o) ? `a list of ${o.length}` : String(o ?? null);
  return `mcp run: --stream: step '${e.stepId}'${e.model !== undefined ? ` (model ${e.model})` : ""} answered with data, not text (${shape}): nothing to stream; run without --stream for the result`;
}
