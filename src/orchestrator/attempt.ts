/**
 * One attempt of a model call: the step's (or model's) timeout, the model's adaptive
 * limiter, a slot in the run's queue, then the model's process(). The attempt's signal is
 * the call's, combined with AbortSignal.timeout when there is a timeout.
 */
import type { CompiledStep } from "../compiler/types.js";
import type { ModelCallContext, ModelNotice } from "../models/base-model.js";
import { ModelError } from "../models/errors.js";
import { isStreamingModel, type StreamingModel } from "../models/streaming.js";
import type { ModelConfig } from "../models/types.js";
import { raceAbort } from "./retry.js";
import type { RunScope, StreamDelta } from "./run-scope.js";
import { StepError } from "./step-errors.js";

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
            // Models with deployments or limits tell their waits and breaker changes (gateway-model.ts).
            const onNotice = config.deployments !== undefined || config.limits !== undefined ? noticeListener(scope, step.id, config.name, item) : undefined;
            const ctx: ModelCallContext = {
              signal,
              runId: scope.id,
              stepId: step.id,
              attempt,
              capabilities: step.capabilities,
              ...(onProgress ? { onProgress } : {}),
              ...(onNotice ? { onNotice } : {}),
            };
            const onDelta = scope.options.onDelta;
            const direct = () => (onDelta && isStreamingModel(model) ? streamCall(model, input, ctx, config, step.id, item, onDelta) : model.process(input, ctx));
            // With tracing on, the call runs in its `chat {model}` span (telemetry/run-trace.ts).
            const trace = scope.trace;
            const call = trace ? () => trace.call(step.id, item, config, input, direct) : direct;
            const gate = scope.options.runGate;
            return raceAbort(gate ? gate.run(call, signal) : call(), signal);
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

/**
 * A streamed call: passes the text on as it comes and resolves with the whole output. A
 * failure after a piece went out is a StepError (kind `stream_cut`): no retry, no fallback.
 */
async function streamCall(
  model: StreamingModel,
  input: unknown,
  ctx: ModelCallContext,
  config: ModelConfig,
  stepId: string,
  item: number | undefined,
  onDelta: (d: StreamDelta) => void,
): Promise<unknown> {
  let sent = false;
  try {
    for await (const ev of model.stream(input, ctx)) {
      if (ev.type === "done") return ev.output;
      if (!ev.text) continue;
      sent = true;
      onDelta({ stepId, ...(item !== undefined ? { item } : {}), model: config.name, text: ev.text });
    }
    throw new ModelError(`model '${config.name}': its stream ended without its last event`, { kind: "malformed", provider: config.provider, model: config.name });
  } catch (e) {
    if (!sent || ctx.signal.aborted) throw e;
    const message = e instanceof Error ? e.message : String(e);
    throw new StepError("model-error", `the answer of model '${config.name}' was cut after it began: ${message}`, stepId, { kind: "stream_cut", model: config.name });
  }
}

/** Turns a gateway model's notices into the run's model.limit_wait and model.breaker events. */
function noticeListener(scope: RunScope, stepId: string, model: string, item: number | undefined): (n: ModelNotice) => void {
  return (n) => {
    const ts = Date.now();
    switch (n.type) {
      case "limit_wait":
        scope.emit({
          type: "model.limit_wait",
          runId: scope.id,
          ts,
          model,
          stepId,
          ...(item !== undefined ? { item } : {}),
          ...(n.deployment !== undefined ? { deployment: n.deployment } : {}),
          limit: n.limit,
          waitMs: n.waitMs,
        });
        return;
      case "breaker":
        scope.emit({ type: "model.breaker", runId: scope.id, ts, model, stepId, deployment: n.deployment, state: n.state, previous: n.previous });
        return;
    }
  };
}
