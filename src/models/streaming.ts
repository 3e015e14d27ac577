/**
 * Streaming: models that can hand out their answer as it is generated (openai, anthropic)
 * implement `stream()`; a server passes the deltas on, and `process()` assembles the same
 * events into one output.
 */
import type { ModelCallContext } from "./base-model.js";
import type { LlmOutput } from "./types.js";

/** One event of a streamed model answer. */
export type ModelStreamEvent =
  /** A piece of the answer's text, in order; their concatenation is `output.text`. */
  | { type: "delta"; text: string }
  /** The last event: the whole answer, as `process()` would have returned it. */
  | { type: "done"; output: LlmOutput };

/** A model whose answers can be streamed. */
export interface StreamingModel {
  /**
   * Calls the model with streaming on and yields text deltas, then one `done` event.
   * Errors are thrown from the iterator as ModelError; breaking out of the loop (or aborting
   * `ctx.signal`) closes the connection.
   */
  stream(input: unknown, ctx: ModelCallContext): AsyncIterable<ModelStreamEvent>;
}

/** Whether a model instance supports `stream()`. */
export function isStreamingModel(model: unknown): model is StreamingModel {
  return typeof (model as { stream?: unknown } | null)?.stream === "function";
}
