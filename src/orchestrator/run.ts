/**
 * One run of a compiled pipeline. Each step is a memoized promise that awaits its own
 * dependencies, so a step starts as soon as they finish (not level by level); only model
 * calls go through the concurrency limits. A step's promise never rejects: it resolves to
 * the step's record, and failure policy is applied here.
 */
import { randomBytes } from "node:crypto";
import { setMaxListeners } from "node:events";
import PQueue from "p-queue";
import type { CompiledPipeline, CompiledStep } from "../compiler/types.js";
import type { ErrorInfo, FailureReason, RunEvent, RunObserver, StepStatus } from "../events/event.js";
import { ExpressionError } from "../expr/expression.js";
import { evaluateTemplate, evaluateTemplateFast, type Template } from "../expr/template.js";
import { NOT_FAST } from "../expr/expression.js";
import { usageOf } from "../models/base-model.js";
import { ModelError, isRetryable } from "../models/errors.js";
import type { ModelConfig, Usage } from "../models/types.js";
import type { ModelRegistry } from "../registry/model-registry.js";
import { McpError } from "../util/errors.js";
import { countTokens, promptText } from "../util/tokens.js";
import type { AdaptiveLimiter } from "./adaptive-limiter.js";
import type { CallHook, CallRequest, ContextProvider, ContextTurn, ContextView, RunJournal } from "../events/ports.js";
import type { AttemptRecord, RunReport, RunTotals, StepRecord } from "../events/report.js";
import { backoffDelay, raceAbort } from "./retry.js";
import { sleep } from "../util/sleep.js";
import type { BaseModel } from "../models/base-model.js";

/** A failure that ends a step, with its documented reason. */
export class StepError extends McpError {
  constructor(
    readonly reason: FailureReason,
    message: string,
    readonly stepId: string,
    readonly info: Partial<ErrorInfo> = {},
  ) {
    super(`STEP_${reason.toUpperCase().replace(/-/g, "_")}`, message);
    this.name = "StepError";
  }
}

/** The reason a run was aborted, passed as the AbortSignal's reason. */
export class RunAborted extends McpError {
  constructor(
    readonly reason: FailureReason,
    message: string,
  ) {
    super("RUN_ABORTED", message);
    this.name = "AbortError";
  }
}

export interface RunOptions {
  /** Run id; generated when absent. */
  runId?: string;
  /** Cancels the run: in-flight model calls see it through their AbortSignal. */
  signal?: AbortSignal;
  observer?: RunObserver;
  /** Most model calls in flight in this run. @default pipeline `concurrency`, else 1000 */
  concurrency?: number;
  /** Cache, replay, recording. */
  hooks?: CallHook[];
  journal?: RunJournal;
  context?: ContextProvider;
  /** Conversation id; overrides the pipeline's `context.conversation`. */
  conversationId?: string;
  /** Finished steps of an earlier attempt of this run: not run again. */
  resume?: { fromRunId: string; completed: Record<string, StepRecord> };
  /** Variables for $env (only the pipeline's allow-list is visible). @default process.env */
  env?: Record<string, string | undefined>;
  /** Random source for retry jitter (tests). */
  random?: () => number;
  /** Where the run input came from (`--input`, a file, `request body`): the file of its diagnostics. @default "input" */
  inputOrigin?: string;
}

/** What the orchestrator lends a run: model instances and per-model limiters. */
export interface RunServices {
  registry: ModelRegistry;
  model(config: ModelConfig): Promise<BaseModel>;
  /** The instance, when it is already created (saves a tick on the hot path). */
  ready?(config: ModelConfig): BaseModel | undefined;
  limiter(config: ModelConfig): AdaptiveLimiter;
}

export const DEFAULT_CONCURRENCY = 1000;

/** Calls in flight that listen to the run's own signal; the rest get a linked one (see #call). */
const SHARED_SIGNAL_CALLS = 16;

type StepState = { output?: unknown; status: StepStatus; model?: string; usage?: Usage; error?: ErrorInfo };

interface CallResult {
  output: unknown;
  model: string;
  usage: Usage;
  usageEstimated: boolean;
  cost: number;
  cached: boolean;
}

export function newRunId(): string {
  // Time-sortable: base36 milliseconds, then randomness.
  return `run_${Date.now().toString(36)}${randomBytes(5).toString("hex")}`;
}

export class PipelineRun {
  readonly id: string;
  readonly #p: CompiledPipeline;
  readonly #input: unknown;
  readonly #opts: RunOptions;
  readonly #svc: RunServices;
  readonly #controller = new AbortController();
  /** Controllers of the model calls in flight; aborted with the run. */
  readonly #calls = new Set<AbortController>();
  readonly #chains = new Map<string, ModelConfig[]>();
  #sharedSignalUsers = 0;
  readonly #queue: PQueue;
  readonly #promises = new Map<string, Promise<StepRecord>>();
  readonly #records: Record<string, StepRecord> = {};
  readonly #stepsBinding: Record<string, StepState> = {};
  readonly #listeners: ((e: RunEvent) => void)[] = [];
  readonly #bindings: Record<string, unknown>;
  readonly #started = Date.now();
  readonly #totals: RunTotals = { inputTokens: 0, outputTokens: 0, cost: 0, calls: 0, cacheHits: 0, cacheMisses: 0 };
  #spent = { cost: 0, tokens: 0 };
  #reserved = { cost: 0, tokens: 0 };
  #avgOutput = new Map<string, { n: number; sum: number }>();
  #failure: ErrorInfo | undefined;
  #conversationId: string | undefined;
  #context: ContextView | undefined;
  /** Resolves with the report when the run ends (it never rejects for run failures). */
  readonly done: Promise<RunReport>;

  constructor(pipeline: CompiledPipeline, input: unknown, options: RunOptions, services: RunServices) {
    this.id = options.runId ?? newRunId();
    this.#p = pipeline;
    this.#input = input;
    this.#opts = options;
    this.#svc = services;
    setMaxListeners(0, this.#controller.signal);
    this.#controller.signal.addEventListener("abort", () => {
      for (const c of this.#calls) c.abort(this.#controller.signal.reason);
    });
    this.#queue = new PQueue({ concurrency: options.concurrency ?? pipeline.concurrency ?? DEFAULT_CONCURRENCY });
    const env: Record<string, string> = {};
    const source = options.env ?? process.env;
    for (const name of pipeline.settings.env) {
      const v = source[name];
      if (v !== undefined) env[name] = v;
    }
    this.#bindings = { input, steps: this.#stepsBinding, env, context: { history: [], summary: "" } };
    if (options.observer) this.#listeners.push((e) => options.observer!.onEvent(e));
    if (options.signal) {
      const outer = options.signal;
      if (outer.aborted) this.#controller.abort(new RunAborted("cancelled", "the run was cancelled"));
      else outer.addEventListener("abort", () => this.cancel(), { once: true });
    }
    // Start on the next tick so callers can subscribe with on() first.
    this.done = Promise.resolve().then(() => this.#run());
  }

  /** Subscribes to this run's events. */
  on(listener: (e: RunEvent) => void): () => void {
    this.#listeners.push(listener);
    return () => {
      const i = this.#listeners.indexOf(listener);
      if (i >= 0) this.#listeners.splice(i, 1);
    };
  }

  /** Cancels the run; in-flight model calls are aborted. */
  cancel(message = "the run was cancelled"): void {
    if (!this.#controller.signal.aborted) this.#controller.abort(new RunAborted("cancelled", message));
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  #emit(e: RunEvent): void {
    for (const l of this.#listeners) {
      try {
        l(e);
      } catch {
        // A listener's bug must not break the run.
      }
    }
  }

  async #run(): Promise<RunReport> {
    const p = this.#p;
    const journal = this.#opts.journal;
    try {
      await this.#loadContext();
    } catch (e) {
      this.#failure = toErrorInfo(e);
    }
    await journal?.runStarted({
      runId: this.id,
      pipeline: p,
      input: this.#input,
      startedAt: this.#started,
      ...(this.#opts.resume ? { resumedFrom: this.#opts.resume.fromRunId } : {}),
      ...(this.#conversationId ? { conversationId: this.#conversationId } : {}),
    });
    this.#emit({
      type: "run.started",
      runId: this.id,
      ts: Date.now(),
      pipeline: p.name,
      hash: p.hash,
      steps: [...p.order],
      ...(this.#opts.resume ? { resumedFrom: this.#opts.resume.fromRunId } : {}),
    });

    if (!this.#failure) {
      for (const id of p.order) this.#step(id);
      await Promise.all(this.#promises.values());
    }

    let output: unknown;
    if (!this.#failure && !this.#controller.signal.aborted) {
      try {
        output = p.output ? await evaluateTemplate(p.output, this.#bindings) : this.#defaultOutput();
      } catch (e) {
        this.#failure = toErrorInfo(e, "expression-error");
        this.#failure.message = `pipeline output: ${this.#failure.message}`;
      }
    }
    const abortReason = this.#controller.signal.reason as RunAborted | undefined;
    const cancelled = !this.#failure && abortReason?.reason === "cancelled";
    const status = cancelled ? "cancelled" : this.#failure || abortReason ? "failed" : "success";
    const error: ErrorInfo | undefined = this.#failure ?? (abortReason ? { reason: abortReason.reason, message: abortReason.message } : undefined);
    const report: RunReport = {
      runId: this.id,
      pipeline: p.name,
      file: p.file,
      hash: p.hash,
      status,
      startedAt: new Date(this.#started).toISOString(),
      durationMs: Date.now() - this.#started,
      input: this.#input,
      ...(output !== undefined && status === "success" ? { output } : {}),
      ...(error ? { error } : {}),
      steps: this.#records,
      totals: this.#totals,
      ...(this.#conversationId ? { conversationId: this.#conversationId } : {}),
      ...(this.#opts.resume ? { resumedFrom: this.#opts.resume.fromRunId } : {}),
    };
    await journal?.runFinished(this.id, report);
    this.#emit({
      type: "run.finished",
      runId: this.id,
      ts: Date.now(),
      status,
      durationMs: report.durationMs,
      ...(report.output !== undefined ? { output: report.output } : {}),
      ...(error ? { error } : {}),
    });
    return report;
  }

  #defaultOutput(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const id of this.#p.order) {
      const r = this.#records[id];
      if (r?.status === "success") out[id] = r.output;
    }
    return out;
  }

  async #loadContext(): Promise<void> {
    const settings = this.#p.context;
    if (!settings) return;
    let id = this.#opts.conversationId;
    if (id === undefined && settings.conversation) {
      const v = await evaluateTemplate(settings.conversation, this.#bindings);
      if (v !== undefined && v !== null && v !== "") id = String(v);
    }
    if (id === undefined) return;
    this.#conversationId = id;
    const provider = this.#opts.context;
    if (!provider) {
      this.#context = { conversationId: id, history: [] };
    } else {
      this.#context = await provider.load(id, { query: promptText(this.#input), settings });
    }
    this.#bindings.context = { conversationId: id, history: this.#context.history, summary: this.#context.summary ?? "" };
  }

  #step(id: string): Promise<StepRecord> {
    let pr = this.#promises.get(id);
    if (!pr) {
      pr = this.#execStep(id);
      this.#promises.set(id, pr);
    }
    return pr;
  }

  async #execStep(id: string): Promise<StepRecord> {
    const step = this.#p.steps.get(id)!;
    const deps = step.dependencies;
    if (deps.length === 1) await this.#step(deps[0]!);
    else if (deps.length > 1) await Promise.all(deps.map((d) => this.#step(d)));
    const started = Date.now();
    const signal = this.#controller.signal;
    if (signal.aborted) return this.#settle(id, { status: "aborted", attempts: [], durationMs: 0, usage: zeroUsage(), cost: 0, cached: false });

    const prior = this.#opts.resume?.completed[id];
    if (prior && prior.status === "success") return this.#resumeStep(id, prior);

    const attempts: AttemptRecord[] = [];
    try {
      if (step.when) {
        const ok = await step.when.evaluate(this.#bindings);
        if (!ok) {
          this.#emit({ type: "step.skipped", runId: this.id, ts: Date.now(), stepId: id, reason: `when: ${step.when.source.trim()}` });
          return this.#settle(id, { status: "skipped", attempts, durationMs: 0, usage: zeroUsage(), cost: 0, cached: false });
        }
      }
      if (this.#listeners.length) this.#emit({ type: "step.queued", runId: this.id, ts: Date.now(), stepId: id });

      let output: unknown;
      let model: string | undefined;
      const usage = zeroUsage();
      let cost = 0;
      let cached = true;
      let estimated = false;
      let items: number | undefined;
      const absorb = (r: CallResult) => {
        model = r.model;
        usage.inputTokens += r.usage.inputTokens;
        usage.outputTokens += r.usage.outputTokens;
        cost += r.cost;
        cached &&= r.cached;
        estimated ||= r.usageEstimated;
      };

      if (step.forEach) {
        const list = await step.forEach.evaluate(this.#bindings);
        const arr = list === undefined || list === null ? [] : Array.isArray(list) ? list : [list];
        items = arr.length;
        const results = new Array<unknown>(arr.length);
        let next = 0;
        const limit = Math.min(step.concurrency ?? arr.length, arr.length);
        const worker = async () => {
          while (next < arr.length && !signal.aborted) {
            const i = next++;
            const b = { ...this.#bindings, item: arr[i], index: i };
            const input = await evaluateTemplate(step.input, b);
            const r = await this.#call(step, input, attempts, i);
            absorb(r);
            results[i] = step.output ? await evaluateTemplate(step.output, { ...b, result: r.output }, r.output) : r.output;
          }
        };
        await Promise.all(Array.from({ length: limit }, worker));
        if (signal.aborted) throw signal.reason;
        output = results;
        if (arr.length === 0) cached = false;
      } else {
        const fast = evaluateTemplateFast(step.input, this.#bindings);
        const input = fast !== NOT_FAST ? fast : await evaluateTemplate(step.input, this.#bindings);
        const r = await this.#call(step, input, attempts);
        absorb(r);
        output = step.output ? await evaluateTemplate(step.output, { ...this.#bindings, result: r.output }, r.output) : r.output;
      }

      const record: StepRecord = {
        status: "success",
        output,
        ...(model !== undefined ? { model } : {}),
        attempts,
        durationMs: Date.now() - started,
        usage,
        ...(estimated ? { usageEstimated: true } : {}),
        cost,
        cached,
        ...(items !== undefined ? { items } : {}),
        startedAt: started,
      };
      if (step.appendToContext) await this.#appendContext(step, record);
      await this.#opts.journal?.stepFinished(this.id, id, record);
      if (this.#listeners.length)
        this.#emit({
          type: "step.finished",
          runId: this.id,
          ts: Date.now(),
          stepId: id,
          ...(model !== undefined ? { model } : {}),
          durationMs: record.durationMs,
          attempts: attempts.length,
          usage,
          cost,
          cached,
          output,
        });
      return this.#settle(id, record);
    } catch (e) {
      return this.#fail(step, e, attempts, started);
    }
  }

  #resumeStep(id: string, prior: StepRecord): StepRecord {
    const record: StepRecord = { ...prior, resumed: true };
    this.#emit({
      type: "step.finished",
      runId: this.id,
      ts: Date.now(),
      stepId: id,
      ...(prior.model !== undefined ? { model: prior.model } : {}),
      durationMs: 0,
      attempts: 0,
      usage: prior.usage,
      cost: prior.cost,
      cached: prior.cached,
      resumed: true,
      output: prior.output,
    });
    return this.#settle(id, record);
  }

  async #fail(step: CompiledStep, e: unknown, attempts: AttemptRecord[], started: number): Promise<StepRecord> {
    const signal = this.#controller.signal;
    const durationMs = Date.now() - started;
    // Cancelled (or another step failed the run) while this one ran.
    if (signal.aborted && (e === signal.reason || (e as Error)?.name === "AbortError")) {
      this.#emit({ type: "step.aborted", runId: this.id, ts: Date.now(), stepId: step.id });
      return this.#settle(step.id, { status: "aborted", attempts, durationMs, usage: zeroUsage(), cost: 0, cached: false });
    }
    const error = toErrorInfo(e, e instanceof ExpressionError ? "expression-error" : "internal");
    if (!(e instanceof StepError)) error.message = `step '${step.id}': ${error.message}`;
    const continued = step.onError === "continue" && error.reason !== "budget-exceeded";
    this.#emit({ type: "step.failed", runId: this.id, ts: Date.now(), stepId: step.id, error, durationMs, attempts: attempts.length, continued });
    const record: StepRecord = { status: "failed", attempts, durationMs, usage: zeroUsage(), cost: 0, cached: false, error };
    if (!continued) {
      this.#failure ??= error;
      if (!signal.aborted) this.#controller.abort(new RunAborted(error.reason, error.message));
    }
    return this.#settle(step.id, record);
  }

  #settle(id: string, record: StepRecord): StepRecord {
    this.#records[id] = record;
    this.#stepsBinding[id] = {
      output: record.output,
      status: record.status,
      ...(record.model !== undefined ? { model: record.model } : {}),
      usage: record.usage,
      ...(record.error ? { error: record.error } : {}),
    };
    return record;
  }

  async #appendContext(step: CompiledStep, record: StepRecord): Promise<void> {
    if (!this.#conversationId || !step.appendToContext) return;
    const t = step.appendToContext as Template;
    const value = t.kind === "literal" && t.value === true ? defaultTurn(record.output) : await evaluateTemplate(t, { ...this.#bindings, result: record.output }, record.output);
    const turns = (Array.isArray(value) ? value : [value]).map((v) => toTurn(v));
    for (const turn of turns) {
      const full: ContextTurn = { ...turn, runId: this.id, stepId: step.id, ts: Date.now() };
      await this.#opts.context?.append(this.#conversationId, full, { settings: this.#p.context ?? {} });
      this.#context?.history.push(full);
    }
  }

  /** The step's chain as configs (memoized per step). */
  #chainConfigs(step: CompiledStep): ModelConfig[] {
    let c = this.#chains.get(step.id);
    if (!c) {
      c = step.chain.map((n) => this.#svc.registry.get(n)).filter((m): m is ModelConfig => !!m);
      this.#chains.set(step.id, c);
    }
    return c;
  }

  /** Candidate models for this input: the step's chain, minus models too small for it. */
  async #candidates(step: CompiledStep, input: unknown): Promise<ModelConfig[]> {
    const configs = this.#chainConfigs(step);
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

  /** One logical call: cache/replay, retries with backoff, then the fallback chain. */
  async #call(step: CompiledStep, input: unknown, attempts: AttemptRecord[], item?: number): Promise<CallResult> {
    const signal = this.#controller.signal;
    const all = this.#chainConfigs(step);
    const chain = all.some((m) => m.maxTokens !== undefined) ? await this.#candidates(step, input) : all;
    const hooks = this.#opts.hooks ?? [];
    let last: ErrorInfo | undefined;
    const itemField = item !== undefined ? { item } : {};

    for (let mi = 0; mi < chain.length; mi++) {
      const config = chain[mi]!;
      const req: CallRequest = { runId: this.id, stepId: step.id, ...itemField, model: config, input, ...(step.cache ? { cache: step.cache } : {}), capabilities: step.capabilities };
      for (const h of hooks) {
        if (!h.lookup || (h.applies && !h.applies(req))) continue;
        const hit = await h.lookup(req);
        if (hit) {
          this.#emit({ type: "step.cache", runId: this.id, ts: Date.now(), stepId: step.id, model: config.name, hit: true, source: hit.source, ...itemField });
          this.#totals.cacheHits++;
          const usage = hit.usage ?? usageOf(hit.output) ?? zeroUsage();
          attempts.push({ model: config.name, attempt: 1, ok: true, durationMs: 0, cached: hit.source, ...itemField });
          return { output: hit.output, model: config.name, usage, usageEstimated: false, cost: 0, cached: true };
        }
        if (h.kind === "cache") {
          this.#emit({ type: "step.cache", runId: this.id, ts: Date.now(), stepId: step.id, model: config.name, hit: false, source: "cache", ...itemField });
          this.#totals.cacheMisses++;
        }
      }

      const limiter = this.#svc.limiter(config);
      // Which signal the call listens to. Every listener of a call (queues, raceAbort, the
      // model's own) goes on it, and EventTarget.addEventListener is linear in the
      // listeners already there: thousands of calls in flight on the run's one signal
      // would be quadratic. So the first SHARED_SIGNAL_CALLS calls in flight use the run's
      // signal (no allocation on the common path), and the rest get a controller of their
      // own, linked to the run through #calls.
      const callCtl = this.#sharedSignalUsers < SHARED_SIGNAL_CALLS ? undefined : new AbortController();
      const baseSignal = callCtl?.signal ?? signal;
      if (callCtl) this.#calls.add(callCtl);
      else this.#sharedSignalUsers++;
      try {
        for (let attempt = 1; attempt <= step.retry.attempts; attempt++) {
          const reservation = this.#p.budget ? await this.#checkBudget(step, config, input) : undefined;
          if (this.#listeners.length)
            this.#emit({ type: "step.started", runId: this.id, ts: Date.now(), stepId: step.id, model: config.name, attempt, ...itemField, ...(mi === 0 && attempt === 1 ? { input } : {}) });
          const t0 = Date.now();
          const timeout = step.timeoutMs ?? config.timeoutMs;
          let timedOut = false;
          let attemptCtl: AbortController | undefined;
          let timer: NodeJS.Timeout | undefined;
          let unlink: (() => void) | undefined;
          if (timeout !== undefined) {
            const ctl = new AbortController();
            attemptCtl = ctl;
            timer = setTimeout(() => {
              timedOut = true;
              ctl.abort(new RunAborted("timeout", `timed out after ${timeout}ms`));
            }, timeout);
            const onCallAbort = () => ctl.abort(baseSignal.reason);
            baseSignal.addEventListener("abort", onCallAbort, { once: true });
            unlink = () => baseSignal.removeEventListener("abort", onCallAbort);
          }
          const callSignal = attemptCtl?.signal ?? baseSignal;
          try {
            const model = this.#svc.ready?.(config) ?? (await this.#svc.model(config));
            const output = await limiter.run(
              () =>
                this.#queue.add(
                  () => {
                    if (callSignal.aborted) throw callSignal.reason;
                    return raceAbort(model.process(input, { signal: callSignal, runId: this.id, stepId: step.id, attempt, capabilities: step.capabilities }), callSignal);
                  },
                  // The signal only matters while waiting for a slot; a call that starts at
                  // once saves p-queue a listener.
                  this.#queue.size === 0 && this.#queue.pending < this.#queue.concurrency ? undefined : { signal: callSignal },
                ),
              callSignal,
            );
            limiter.succeeded();
            this.#release(reservation);
            const latencyMs = Date.now() - t0;
            let usage = usageOf(output);
            const usageEstimated = !usage;
            if (!usage) usage = { inputTokens: await countTokens(input), outputTokens: await countTokens(output) };
            const cost = this.#svc.registry.cost(config.name, usage.inputTokens, usage.outputTokens);
            this.#account(config.name, usage, cost);
            attempts.push({ model: config.name, attempt, ok: true, durationMs: latencyMs, ...itemField });
            for (const h of hooks) if (!h.applies || h.applies(req)) await h.store?.(req, output, { usage, latencyMs });
            return { output, model: config.name, usage, usageEstimated, cost, cached: false };
          } catch (e) {
            this.#release(reservation);
            if (signal.aborted) throw signal.reason;
            const info: ErrorInfo = timedOut ? { reason: "timeout", message: `timed out after ${timeout}ms`, model: config.name } : toErrorInfo(e, "model-error");
            info.model ??= config.name;
            last = info;
            attempts.push({ model: config.name, attempt, ok: false, durationMs: Date.now() - t0, error: info, ...itemField });
            if (e instanceof ModelError && e.kind === "rate_limited") {
              const before = limiter.concurrency;
              limiter.rateLimited();
              if (limiter.concurrency !== before) this.#emit({ type: "model.throttled", runId: this.id, ts: Date.now(), model: config.name, concurrency: limiter.concurrency });
            }
            if (e instanceof StepError) throw e;
            const retry = (timedOut || isRetryable(e)) && attempt < step.retry.attempts;
            const delay = retry ? backoffDelay(step.retry, attempt, e instanceof ModelError ? e.retryAfterMs : undefined, this.#opts.random) : undefined;
            this.#emit({
              type: "step.attempt_failed",
              runId: this.id,
              ts: Date.now(),
              stepId: step.id,
              model: config.name,
              attempt,
              error: info,
              ...(delay !== undefined ? { retryInMs: delay } : {}),
              ...itemField,
            });
            if (delay === undefined) break;
            await sleep(delay, baseSignal);
          } finally {
            if (timer) clearTimeout(timer);
            unlink?.();
          }
        }
      } finally {
        if (callCtl) this.#calls.delete(callCtl);
        else this.#sharedSignalUsers--;
      }
      const nextModel = chain[mi + 1];
      if (nextModel && last) {
        this.#emit({ type: "step.fell_back", runId: this.id, ts: Date.now(), stepId: step.id, from: config.name, to: nextModel.name, error: last, ...itemField });
      }
    }
    const tried = [...new Set(attempts.filter((a) => !a.ok).map((a) => a.model))];
    const n = attempts.filter((a) => !a.ok).length;
    const lastModel = last?.model ?? chain[chain.length - 1]?.name ?? "?";
    const provider = this.#svc.registry.get(lastModel)?.provider ?? "?";
    throw new StepError(
      last?.reason === "timeout" ? "timeout" : "model-error",
      `step '${step.id}' failed on model '${lastModel}' (${provider}) after ${n} attempt${n === 1 ? "" : "s"}${tried.length > 1 ? ` on ${tried.map((t) => `'${t}'`).join(", ")}` : ""}: ${last?.message ?? "no model could be called"}`,
      step.id,
      { ...(last?.kind ? { kind: last.kind } : {}), model: lastModel, ...(last?.status !== undefined ? { status: last.status } : {}) },
    );
  }

  /** Stops before a call that would pass the budget; returns the reservation made. */
  async #checkBudget(step: CompiledStep, config: ModelConfig, input: unknown): Promise<{ cost: number; tokens: number } | undefined> {
    const budget = this.#p.budget;
    if (!budget || (budget.maxCost === undefined && budget.maxTokens === undefined)) return undefined;
    const inTok = await countTokens(input);
    const explicitMax = Number((input as { maxTokens?: unknown })?.maxTokens ?? (config.options as { maxTokens?: unknown } | undefined)?.maxTokens);
    const avg = this.#avgOutput.get(config.name);
    const outTok = Number.isFinite(explicitMax) ? explicitMax : avg ? Math.round(avg.sum / avg.n) : 0;
    const tokens = inTok + outTok;
    const cost = this.#svc.registry.cost(config.name, inTok, outTok);
    const fmt = (x: number) => `$${x.toFixed(6).replace(/0+$/, "").replace(/\.$/, "")}`;
    if (budget.maxCost !== undefined && this.#spent.cost + this.#reserved.cost + cost > budget.maxCost) {
      throw new StepError(
        "budget-exceeded",
        `budget exceeded: the call of step '${step.id}' on '${config.name}' (about ${tokens} tokens, ${fmt(cost)}) would pass maxCost ${fmt(budget.maxCost)} (spent ${fmt(this.#spent.cost)})`,
        step.id,
      );
    }
    if (budget.maxTokens !== undefined && this.#spent.tokens + this.#reserved.tokens + tokens > budget.maxTokens) {
      throw new StepError(
        "budget-exceeded",
        `budget exceeded: the call of step '${step.id}' on '${config.name}' (about ${tokens} tokens) would pass maxTokens ${budget.maxTokens} (spent ${this.#spent.tokens})`,
        step.id,
      );
    }
    this.#reserved.cost += cost;
    this.#reserved.tokens += tokens;
    return { cost, tokens };
  }

  #release(r: { cost: number; tokens: number } | undefined): void {
    if (!r) return;
    this.#reserved.cost -= r.cost;
    this.#reserved.tokens -= r.tokens;
  }

  #account(model: string, usage: Usage, cost: number): void {
    this.#totals.calls++;
    this.#totals.inputTokens += usage.inputTokens;
    this.#totals.outputTokens += usage.outputTokens;
    this.#totals.cost += cost;
    this.#spent.cost += cost;
    this.#spent.tokens += usage.inputTokens + usage.outputTokens;
    const a = this.#avgOutput.get(model) ?? { n: 0, sum: 0 };
    a.n++;
    a.sum += usage.outputTokens;
    this.#avgOutput.set(model, a);
  }
}

function zeroUsage(): Usage {
  return { inputTokens: 0, outputTokens: 0 };
}

function defaultTurn(output: unknown): ContextTurn {
  const text = (output as { text?: unknown } | null)?.text;
  return { role: "assistant", content: typeof text === "string" ? text : output };
}

function toTurn(v: unknown): ContextTurn {
  if (v && typeof v === "object" && !Array.isArray(v) && "content" in v) {
    const o = v as { role?: unknown; content: unknown };
    return { role: typeof o.role === "string" ? o.role : "assistant", content: o.content };
  }
  return { role: "assistant", content: v };
}

/** Turns any thrown value into the ErrorInfo of events and reports. */
export function toErrorInfo(e: unknown, fallback: FailureReason = "internal"): ErrorInfo {
  if (e instanceof StepError) return { reason: e.reason, message: e.message, ...e.info };
  if (e instanceof RunAborted) return { reason: e.reason, message: e.message };
  if (e instanceof ModelError) {
    return { reason: "model-error", message: e.message, kind: e.kind, model: e.model, ...(e.status !== undefined ? { status: e.status } : {}) };
  }
  if (e instanceof ExpressionError) return { reason: "expression-error", message: e.message };
  if (e instanceof McpError && e.code === "REPLAY_MISS") return { reason: "replay-miss", message: e.message };
  const msg = e instanceof Error ? e.message : String(e);
  return { reason: fallback, message: msg };
}
