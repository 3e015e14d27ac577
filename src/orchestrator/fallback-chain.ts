/**
 * One logical model call of a step: the call hooks (cache, replay) first, then each model
 * of the step's chain in turn, with retries and backoff on each, until one answers. Emits
 * the cache, started, attempt_failed and fell_back events; throws StepError when every
 * model failed.
 */
import { MAX_OUTPUT_DEPTH, nestsDeeperThan } from "./input.js";
import type { CompiledStep } from "../compiler/types.js";
import type { ErrorInfo } from "../events/event.js";
import type { CallRequest } from "../events/ports.js";
import type { AttemptRecord } from "../events/report.js";
import { usageOf } from "../models/base-model.js";
import { ModelError, isRetryable } from "../models/errors.js";
import type { ModelConfig, Usage } from "../models/types.js";
import { countTokens, estimateTokens, tokenUpperBound } from "../util/tokens.js";
import { sleep } from "../util/sleep.js";
import { AttemptTimedOut, attemptCall, wholeDelta } from "./attempt.js";
import { backoffDelay } from "./retry.js";
import { errorOf } from "../telemetry/run-trace.js";
import { zeroUsage, type RunScope } from "./run-scope.js";
import { StepError, toErrorInfo } from "./step-errors.js";

/** What a call produced, for the step's record. */
export interface CallResult {
  output: unknown;
  model: string;
  usage: Usage;
  usageEstimated: boolean;
  cost: number;
  cached: boolean;
}

/**
 * Calls in flight that listen to the run's own signal; the rest get a linked one (see
 * callWithFallback). An AbortController costs more than adding a listener to a signal with
 * a hundred others (measured on Node 20: ~1-3 us a call shared up to 256 in flight, 7-18 us
 * with a controller of its own), so the linked signals start well past a layer of a wide DAG.
 */
const SHARED_SIGNAL_CALLS = 64;

/** The step's chain as configs (memoized per step). */
function chainConfigs(scope: RunScope, step: CompiledStep): ModelConfig[] {
  let c = scope.chains.get(step.id);
  if (!c) {
    c = [];
    const registry = scope.services.registry;
    for (const n of step.chain) {
      const m = registry.get(n);
      if (m) c.push(m);
    }
    scope.chains.set(step.id, c);
  }
  return c;
}

/**
 * Candidate models for this input: the step's chain, minus models too small for it. The
 * chain itself when no model of it has a maxTokens below the input's upper bound (no promise).
 */
function candidates(scope: RunScope, step: CompiledStep, input: unknown): ModelConfig[] | Promise<ModelConfig[]> {
  const configs = chainConfigs(scope, step);
  if (!configs.some((m) => m.maxTokens !== undefined)) return configs;
  // The exact count (and the tokenizer's load time) only when a limit is below the upper bound.
  const bound = tokenUpperBound(input);
  if (configs.every((m) => m.maxTokens === undefined || m.maxTokens >= bound)) return configs;
  return fitting(step, configs, input);
}

async function fitting(step: CompiledStep, configs: ModelConfig[], input: unknown): Promise<ModelConfig[]> {
  const tokens = await countTokens(input);
  const fits = configs.filter((m) => m.maxTokens === undefined || m.maxTokens >= tokens);
  if (fits.length === 0) {
    throw new StepError(
      "no-model",
      `step '${step.id}': the input has about ${tokens} tokens; no model of the chain (${configs.map((m) => `${m.name}: ${m.maxTokens}`).join(", ")}) takes that many`,
      step.id,
    );
  }
  return fits;
}

/** `item` of events and attempts: none outside forEach (one shared object). */
const NO_ITEM: { item?: number } = Object.freeze({});

/**
 * One logical call: cache/replay, retries with backoff, then the fallback chain. A chain of
 * one model without call hooks (the common case) is the model's attempts themselves: no
 * async frame of its own around them.
 */
export function callWithFallback(scope: RunScope, step: CompiledStep, input: unknown, attempts: AttemptRecord[], item?: number): Promise<CallResult> {
  let found: ModelConfig[] | Promise<ModelConfig[]>;
  try {
    found = candidates(scope, step, input);
  } catch (e) {
    return Promise.reject(e);
  }
  if (Array.isArray(found) && found.length === 1 && !scope.options.hooks?.length) {
    // Given `only`, onModel throws the chain's failure itself: it resolves with an answer.
    return onModel(scope, step, found[0]!, input, attempts, true, item !== undefined ? { item } : NO_ITEM, found) as Promise<CallResult>;
  }
  return fallBack(scope, step, found, input, attempts, item);
}

/** The chain's models in turn, each after the call hooks. */
async function fallBack(scope: RunScope, step: CompiledStep, found: ModelConfig[] | Promise<ModelConfig[]>, input: unknown, attempts: AttemptRecord[], item?: number): Promise<CallResult> {
  const chain = Array.isArray(found) ? found : await found;
  const hooks = scope.options.hooks ?? [];
  let last: ErrorInfo | undefined;
  const itemField = item !== undefined ? { item } : NO_ITEM;

  for (let mi = 0; mi < chain.length; mi++) {
    const config = chain[mi]!;
    if (hooks.length > 0) {
      const req: CallRequest = { runId: scope.id, stepId: step.id, ...itemField, model: config, input, ...(step.cache ? { cache: step.cache } : {}), capabilities: step.capabilities };
      const hit = await lookup(scope, step, config, req, attempts, itemField);
      if (hit) return hit;
    }
    const r = await onModel(scope, step, config, input, attempts, mi === 0, itemField);
    if ("output" in r) return r;
    last = r.last;
    const nextModel = chain[mi + 1];
    if (nextModel && last) {
      scope.emit({ type: "step.fell_back", runId: scope.id, ts: Date.now(), stepId: step.id, from: config.name, to: nextModel.name, error: last, ...itemField });
    }
  }
  throw chainFailed(scope, step, chain, attempts, last);
}

/** The call hooks, in order: the first hit answers the call. */
async function lookup(scope: RunScope, step: CompiledStep, config: ModelConfig, req: CallRequest, attempts: AttemptRecord[], itemField: { item?: number }): Promise<CallResult | undefined> {
  for (const h of scope.options.hooks ?? []) {
    if (!h.lookup || (h.applies && !h.applies(req))) continue;
    const hit = await h.lookup(req);
    if (hit) {
      scope.emit({ type: "step.cache", runId: scope.id, ts: Date.now(), stepId: step.id, model: config.name, hit: true, source: hit.source, ...itemField });
      scope.totals.cacheHits++;
      const usage = hit.usage ?? usageOf(hit.output) ?? zeroUsage();
      attempts.push({ model: config.name, attempt: 1, ok: true, durationMs: 0, cached: hit.source, ...itemField });
      if (scope.streams(step.id)) wholeDelta(scope, step.id, config.name, 1, itemField.item, hit.output);
      // A cache hit costs nothing. A replayed call stands for the recorded one: its tokens and
      // cost count in the totals and the budget as they did (a test's `tokens:` and `cost:`
      // checks hold in CI too), though no call is made.
      let cost = 0;
      if (hit.source === "replay") {
        cost = scope.services.registry.cost(config.name, usage.inputTokens, usage.outputTokens);
        scope.spend(config.name, usage, cost);
      }
      return { output: hit.output, model: config.name, usage, usageEstimated: false, cost, cached: true };
    }
    if (h.kind === "cache") {
      scope.emit({ type: "step.cache", runId: scope.id, ts: Date.now(), stepId: step.id, model: config.name, hit: false, source: "cache", ...itemField });
      scope.totals.cacheMisses++;
    }
  }
  return undefined;
}

/**
 * The attempts on one model of the chain: its answer, or the last error. Given `only` (the
 * chain, of this one model, without call hooks), it throws the chain's failure itself.
 */
async function onModel(
  scope: RunScope,
  step: CompiledStep,
  config: ModelConfig,
  input: unknown,
  attempts: AttemptRecord[],
  first: boolean,
  itemField: { item?: number },
  only?: readonly ModelConfig[],
): Promise<CallResult | { last: ErrorInfo | undefined }> {
  const signal = scope.signal;
  // Which signal the call listens to. Every listener of a call (queues, raceAbort, the
  // model's own) goes on it, and EventTarget.addEventListener is linear in the listeners
  // already there: thousands of calls in flight on the run's one signal would be
  // quadratic. So the first SHARED_SIGNAL_CALLS calls in flight use the run's signal (no
  // allocation on the common path), and the rest get a controller of their own, aborted
  // by the run's one listener (run-scope.ts).
  const callCtl = scope.sharedSignalUsers < SHARED_SIGNAL_CALLS ? undefined : new AbortController();
  const callSignal = callCtl?.signal ?? signal;
  if (callCtl) scope.calls.add(callCtl);
  else scope.sharedSignalUsers++;
  let last: ErrorInfo | undefined;
  try {
    for (let attempt = 1; attempt <= step.retry.attempts; attempt++) {
      const reservation = scope.budget ? await scope.budget.reserve(step, config, input, scope.services.registry) : undefined;
      if (scope.observed)
        scope.emit({ type: "step.started", runId: scope.id, ts: Date.now(), stepId: step.id, model: config.name, attempt, ...itemField, ...(first && attempt === 1 ? { input } : {}) });
      scope.trace?.startAttempt(step.id, itemField.item, config.name, attempt);
      const t0 = Date.now();
      try {
        const output = await attemptCall(scope, step, config, input, attempt, callSignal, itemField.item);
        // A model's answer is untrusted data, walked later by the journal, cache and templates.
        if (output !== null && typeof output === "object" && nestsDeeperThan(output, MAX_OUTPUT_DEPTH)) {
          throw new ModelError(`model '${config.name}' answered with a value nested more than ${MAX_OUTPUT_DEPTH} levels deep`, { kind: "fatal", provider: config.provider, model: config.name });
        }
        scope.trace?.endAttempt(step.id, itemField.item);
        scope.services.limiter(config).succeeded();
        scope.budget?.release(reservation);
        const latencyMs = Date.now() - t0;
        const result = succeeded(scope, config, input, output, attempt, latencyMs, attempts, itemField);
        if (scope.options.hooks?.length) await store(scope, step, config, input, result, latencyMs, itemField);
        return result;
      } catch (e) {
        scope.trace?.endAttempt(step.id, itemField.item, { error: errorOf(e, scope.trace.captureContent) });
        scope.budget?.release(reservation);
        if (signal.aborted) throw signal.reason;
        const timedOut = e instanceof AttemptTimedOut;
        const info: ErrorInfo = timedOut ? { reason: "timeout", message: e.message, model: config.name } : toErrorInfo(e, "model-error");
        info.model ??= config.name;
        last = info;
        attempts.push({ model: config.name, attempt, ok: false, durationMs: Date.now() - t0, error: info, ...itemField });
        if (e instanceof ModelError && e.kind === "rate_limited") {
          const limiter = scope.services.limiter(config);
          const before = limiter.concurrency;
          limiter.rateLimited();
          if (limiter.concurrency !== before) scope.emit({ type: "model.throttled", runId: scope.id, ts: Date.now(), model: config.name, concurrency: limiter.concurrency });
        }
        // A streamed answer cut after its first piece went out is neither retried nor replaced.
        const cut = e instanceof StepError && e.info.kind === "stream_cut";
        if (e instanceof StepError && !cut) throw e;
        const retry = !cut && (timedOut || isRetryable(e)) && attempt < step.retry.attempts;
        const delay = retry ? backoffDelay(step.retry, attempt, e instanceof ModelError ? e.retryAfterMs : undefined, scope.options.random) : undefined;
        scope.emit({
          type: "step.attempt_failed",
          runId: scope.id,
          ts: Date.now(),
          stepId: step.id,
          model: config.name,
          attempt,
          error: info,
          ...(delay !== undefined ? { retryInMs: delay } : {}),
          ...itemField,
        });
        if (cut) throw e;
        if (delay === undefined) break;
        await sleep(delay, callSignal);
      }
    }
  } finally {
    if (callCtl) scope.calls.delete(callCtl);
    else scope.sharedSignalUsers--;
  }
  if (only) throw chainFailed(scope, step, only, attempts, last);
  return { last };
}

/** Accounts a successful call. */
function succeeded(scope: RunScope, config: ModelConfig, input: unknown, output: unknown, attempt: number, latencyMs: number, attempts: AttemptRecord[], itemField: { item?: number }): CallResult {
  let usage = usageOf(output);
  const usageEstimated = !usage;
  // Usage the provider did not give is estimated cheaply: it is only reported (marked ~).
  if (!usage) usage = { inputTokens: estimateTokens(input), outputTokens: estimateTokens(output) };
  const cost = scope.services.registry.cost(config.name, usage.inputTokens, usage.outputTokens);
  scope.account(config.name, usage, cost);
  attempts.push(itemField === NO_ITEM ? { model: config.name, attempt, ok: true, durationMs: latencyMs } : { model: config.name, attempt, ok: true, durationMs: latencyMs, ...itemField });
  return { output, model: config.name, usage, usageEstimated, cost, cached: false };
}

/** Lets the call hooks (cache, recording) store a successful call. */
async function store(scope: RunScope, step: CompiledStep, config: ModelConfig, input: unknown, result: CallResult, latencyMs: number, itemField: { item?: number }): Promise<void> {
  const req: CallRequest = { runId: scope.id, stepId: step.id, ...itemField, model: config, input, ...(step.cache ? { cache: step.cache } : {}), capabilities: step.capabilities };
  for (const h of scope.options.hooks ?? []) if (!h.applies || h.applies(req)) await h.store?.(req, result.output, { usage: result.usage, latencyMs });
}

/** The StepError of a chain whose every model failed. */
function chainFailed(scope: RunScope, step: CompiledStep, chain: readonly ModelConfig[], attempts: readonly AttemptRecord[], last: ErrorInfo | undefined): StepError {
  const tried = [...new Set(attempts.filter((a) => !a.ok).map((a) => a.model))];
  const n = attempts.filter((a) => !a.ok).length;
  const lastModel = last?.model ?? chain[chain.length - 1]?.name ?? "?";
  const provider = scope.services.registry.get(lastModel)?.provider ?? "?";
  return new StepError(
    last?.reason === "timeout" ? "timeout" : "model-error",
    `step '${step.id}' failed on model '${lastModel}' (${provider}) after ${n} attempt${n === 1 ? "" : "s"}${tried.length > 1 ? ` on ${tried.map((t) => `'${t}'`).join(", ")}` : ""}: ${last?.message ?? "no model could be called"}`,
    step.id,
    { ...(last?.kind ? { kind: last.kind } : {}), model: lastModel, ...(last?.status !== undefined ? { status: last.status } : {}) },
  );
}
