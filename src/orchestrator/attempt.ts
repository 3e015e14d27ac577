/**
 * One attempt of a model call: the step's (or model's) timeout, the model's adaptive
 * limiter, a slot of the run's concurrency, then the model's process(). The attempt's signal
 * is the call's, combined with a timeout signal when there is a timeout.
 *
 * The common case goes straight through: no timeout, a free slot in the model's limiter and
 * in the run, and the model instance made already. The call then costs one promise of ours:
 * the run's one abort listener rejects it (run-scope.ts), so a model that ignores its signal
 * cannot hold the run. Otherwise the call waits in the limiter's and the run's queues
 * (p-queue) and races its own signal.
 */
import type { CompiledStep } from "../compiler/types.js";
import { answerTextOf, type BaseModel, type ModelCallContext, type ModelNotice } from "../models/base-model.js";
import { ModelError } from "../models/errors.js";
import { isStreamingModel, type StreamingModel } from "../models/streaming.js";
import type { ModelConfig } from "../models/types.js";
import type { AdaptiveLimiter } from "./adaptive-limiter.js";
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
export function attemptCall(scope: RunScope, step: CompiledStep, config: ModelConfig, input: unknown, attempt: number, callSignal: AbortSignal, item?: number): Promise<unknown> {
  if (step.timeoutMs === undefined && config.timeoutMs === undefined && !scope.options.runGate) {
    const model = scope.services.ready?.(config);
    if (model) {
      const limiter = scope.services.limiter(config);
      if (limiter.enter()) {
        if (scope.slots.tryTake()) return direct(scope, step, config, model, limiter, input, attempt, callSignal, item);
        limiter.leave();
      }
    }
  }
  return queued(scope, step, config, input, attempt, callSignal, item);
}

/** The call with its slots taken: settles with the model, or rejects when the run aborts. */
function direct(
  scope: RunScope,
  step: CompiledStep,
  config: ModelConfig,
  model: BaseModel,
  limiter: AdaptiveLimiter,
  input: unknown,
  attempt: number,
  signal: AbortSignal,
  item: number | undefined,
): Promise<unknown> {
  const slots = scope.slots;
  if (signal.aborted) {
    limiter.leave();
    slots.release();
    return Promise.reject(signal.reason);
  }
  let call: Promise<unknown>;
  try {
    call = invoke(scope, step, config, model, input, attempt, signal, item);
  } catch (e) {
    // A process() that throws instead of rejecting.
    call = Promise.reject(e);
  }
  const inFlight = scope.inFlight;
  return new Promise((resolve, reject) => {
    inFlight.add(reject);
    call.then(
      (v) => {
        inFlight.delete(reject);
        limiter.leave();
        slots.release();
        resolve(v);
      },
      (e) => {
        inFlight.delete(reject);
        limiter.leave();
        slots.release();
        reject(e);
      },
    );
  });
}

/** The call through the queues: the limiter's, then the run's; with its timeout, if any. */
async function queued(scope: RunScope, step: CompiledStep, config: ModelConfig, input: unknown, attempt: number, callSignal: AbortSignal, item: number | undefined): Promise<unknown> {
  const timeout = step.timeoutMs ?? config.timeoutMs;
  const timer = timeout !== undefined ? timeoutSignal(timeout) : undefined;
  const signal = timer ? AbortSignal.any([callSignal, timer.signal]) : callSignal;
  const { slots, services } = scope;
  try {
    const model = services.ready?.(config) ?? (await services.model(config));
    return await services.limiter(config).run(() => {
      const call = () => {
        if (signal.aborted) throw signal.reason;
        // The queue's fleet-wide limit on the run's calls in flight (RunOptions.runGate).
        const gate = scope.options.runGate;
        return raceAbort(gate ? gate.run(() => invoke(scope, step, config, model, input, attempt, signal, item), signal) : invoke(scope, step, config, model, input, attempt, signal, item), signal);
      };
      if (!slots.tryTake()) return slots.enqueue(call, signal);
      try {
        const p = call();
        p.then(release, release);
        return p;
      } catch (e) {
        slots.release();
        throw e;
      }
      function release() {
        slots.release();
      }
    }, signal);
  } catch (e) {
    if (timer?.signal.aborted && !callSignal.aborted) throw new AttemptTimedOut(timeout!, e);
    throw e;
  } finally {
    timer?.clear();
  }
}

/**
 * A signal that aborts (a TimeoutError) after `ms`. Unlike AbortSignal.timeout, whose timer
 * is unref'd, this one keeps the process alive: a call that holds nothing else (a module
 * model awaiting a promise that never settles) still times out, where the process would
 * otherwise run out of work and exit mid-run.
 */
function timeoutSignal(ms: number): { signal: AbortSignal; clear: () => void } {
  const ctl = new AbortController();
  const t = setTimeout(() => ctl.abort(new DOMException("The operation was aborted due to timeout", "TimeoutError")), ms);
  return { signal: ctl.signal, clear: () => clearTimeout(t) };
}

/** The model's process(), or stream() when the run streams answers (RunOptions.onDelta) and the model can. */
function invoke(scope: RunScope, step: CompiledStep, config: ModelConfig, model: BaseModel, input: unknown, attempt: number, signal: AbortSignal, item: number | undefined): Promise<unknown> {
  const ctx = callContext(scope, step, config, attempt, signal, item);
  const onDelta = deltaListener(scope, step.id, attempt);
  // With tracing on, the call runs in its `chat {model}` span (telemetry/run-trace.ts).
  const trace = scope.trace;
  if (trace)
    return trace.call(step.id, item, config, input, () =>
      onDelta && isStreamingModel(model) ? streamCall(model, input, ctx, config, step.id, item, onDelta) : whole(scope, step, config, model, input, ctx, attempt, item),
    );
  if (onDelta && isStreamingModel(model)) return streamCall(model, input, ctx, config, step.id, item, onDelta);
  return whole(scope, step, config, model, input, ctx, attempt, item);
}

/**
 * process(): the answer in one piece. For a step the run streams, its text then goes out as
 * one step.delta, as the pieces would have (a model that cannot stream: nlp, http, module).
 */
function whole(scope: RunScope, step: CompiledStep, config: ModelConfig, model: BaseModel, input: unknown, ctx: ModelCallContext, attempt: number, item: number | undefined): Promise<unknown> {
  const p = model.process(input, ctx);
  if (!scope.streams(step.id)) return p;
  return p.then((output) => {
    wholeDelta(scope, step.id, config.name, attempt, item, output);
    return output;
  });
}

/** A streamed step's answer that came whole (a model that cannot stream, a cache or replay hit): its text as one step.delta. */
export function wholeDelta(scope: RunScope, stepId: string, model: string, attempt: number, item: number | undefined, output: unknown): void {
  const text = answerTextOf(output);
  if (text) scope.emit({ type: "step.delta", runId: scope.id, ts: Date.now(), stepId, model, attempt, ...(item !== undefined ? { item } : {}), text });
}

/** What process() gets besides the input. */
function callContext(scope: RunScope, step: CompiledStep, config: ModelConfig, attempt: number, signal: AbortSignal, item: number | undefined): ModelCallContext {
  const ctx: { -readonly [K in keyof ModelCallContext]: ModelCallContext[K] } = { signal, runId: scope.id, stepId: step.id, attempt, capabilities: step.capabilities };
  // A long call's progress (an MCP tool's notifications) becomes step.progress events.
  if (scope.observed) {
    ctx.onProgress = (p) => scope.emit({ type: "step.progress", runId: scope.id, ts: Date.now(), stepId: step.id, model: config.name, ...(item !== undefined ? { item } : {}), ...p });
  }
  // Models with deployments or limits tell their waits and breaker changes (gateway-model.ts).
  if (config.deployments !== undefined || config.limits !== undefined) ctx.onNotice = noticeListener(scope, step.id, config.name, item);
  return ctx;
}

/**
 * Where a streamed answer's pieces go: the run's onDelta (a chat completion's stream) and,
 * for the steps the run streams (`mcp run --stream`, pipelines.run `stream`), step.delta
 * events. Undefined when nobody wants them: the model is called as a whole.
 */
function deltaListener(scope: RunScope, stepId: string, attempt: number): ((d: StreamDelta) => void) | undefined {
  const outer = scope.options.onDelta;
  if (!scope.streams(stepId)) return outer;
  return (d) => {
    outer?.(d);
    scope.emit({ type: "step.delta", runId: scope.id, ts: Date.now(), stepId: d.stepId, model: d.model, attempt, ...(d.item !== undefined ? { item: d.item } : {}), text: d.text });
  };
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
