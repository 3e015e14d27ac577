/**
 * One attempt of a model call: the step's (or model's) timeout, the model's adaptive
 * limiter, a slot in the run's queue, then the model's process(). The attempt's signal is
 * the call's, combined with AbortSignal.timeout when there is a timeout.
 */
import type { CompiledStep } from "../compiler/types.js";
import type { ModelConfig } from "../models/types.js";
import { raceAbort } from "./retry.js";
import { streamingCall } from "./stream-call.js";
import type { RunScope } from "./run-scope.js";

/** Thrown when the attempt ran past its timeout (the model's own error is the cause). */
export class AttemptTimedOut extends Error {
  constructor(
    readonly timeoutMs: number,
    cause: unknown,
  ) {
    super(`timed out after ${timeoutMs}ms`, { cause });
    this.name = "AttemptTimedOut";
  }
}

/**
 * Calls the model once and returns its output; rejects with the model's error,
 * AttemptTimedOut, or the call signal's reason when it aborts.
 */
export async function attemptCall(scope: RunScope, step: CompiledStep, config: ModelConfig, input: unknown, attempt: number, callSignal: AbortSignal, item?: number): Promise<unknown> {
  const timeout = step.timeoutMs ?? config.timeoutMs;
  const timer = timeout !== undefined ? AbortSignal.timeout(timeout) : undefined;
  const signal = timer ? AbortSignal.any([callSignal, timer]) : callSignal;
  const { queue, services } = scope;
  try {
    const model = services.ready?.(config) ?? (await services.model(config));
    return await services.limiter(config).run(
      () =>
        queue.add(
          () => {
            if (signal.aborted) throw signal.reason;
            // A long call's progress (an MCP tool's notifications) becomes step.progress events.
            const onProgress = scope.observed
              ? (p: { progress: number; total?: number; message?: string }) =>
                  scope.emit({ type: "step.progress", runId: scope.id, ts: Date.now(), stepId: step.id, model: config.name, ...(item !== undefined ? { item } : {}), ...p })
              : undefined;
            const ctx = { signal, runId: scope.id, stepId: step.id, attempt, capabilities: step.capabilities, ...(onProgress ? { onProgress } : {}) };
            if (scope.streams(step.id)) {
              // Streamed: each text piece is a step.delta event as it arrives.
              const onDelta = (text: string) =>
                scope.emit({ type: "step.delta", runId: scope.id, ts: Date.now(), stepId: step.id, model: config.name, attempt, ...(item !== undefined ? { item } : {}), text });
              return raceAbort(streamingCall(model, input, ctx, onDelta), signal);
            }
            return raceAbort(model.process(input, ctx), signal);
          },
          // The signal only matters while waiting for a slot; a call that starts at once
          // saves p-queue a listener.
          queue.size === 0 && queue.pending < queue.concurrency ? undefined : { signal },
        ),
      signal,
    );
  } catch (e) {
    if (timer?.aborted && !callSignal.aborted) throw new AttemptTimedOut(timeout!, e);
    throw e;
  }
}
