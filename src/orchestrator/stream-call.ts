/**
 * A model call of a streamed step (`mcp run --stream`, RunOptions.stream): when the model can
 * stream (openai, anthropic, mock), its answer is read through `stream()` and every text
 * piece goes out as a step.delta event as it arrives; the call's result is the same output
 * `process()` would have returned, so retries, fallbacks, the cache and the journal see no
 * difference. Models that cannot stream are called as usual (no deltas).
 */
import type { BaseModel, ModelCallContext } from "../models/base-model.js";
import { isStreamingModel } from "../models/streaming.js";

/** Calls `model`, streaming when it can; `onDelta` gets each text piece in order. */
export async function streamingCall(model: BaseModel, input: unknown, ctx: ModelCallContext, onDelta: (text: string) => void): Promise<unknown> {
  if (!isStreamingModel(model)) return model.process(input, ctx);
  for await (const ev of model.stream(input, ctx)) {
    if (ev.type === "delta") onDelta(ev.text);
    else return ev.output;
  }
  throw new Error(`Internal error: the stream of model '${model.name}' ended without its last event`);
}
