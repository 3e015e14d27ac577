/**
 * The Task Orchestrator: runs one ad-hoc task or a whole pipeline DAG, with retries,
 * timeouts, fallbacks and concurrency limits. Owns model instances and per-model limiters,
 * shared by every run so rate limits are respected across runs.
 */
import type { CompiledPipeline, CompiledStep } from "../compiler/types.js";
import { DEFAULT_RETRY } from "../compiler/types.js";
import { SourceMap } from "../diagnostics/source.js";
import type { RunObserver } from "../events/event.js";
import type { BaseModel } from "../models/base-model.js";
import { createModel, type ProviderServices } from "../models/providers/index.js";
import type { ModelConfig, Usage } from "../models/types.js";
import { ModelRegistry, type SelectPolicy } from "../registry/model-registry.js";
import { McpError } from "../util/errors.js";
import { AdaptiveLimiter } from "./adaptive-limiter.js";
import { assertRunInput } from "./input.js";
import { planRun, type RunPlan } from "./plan.js";
import type { CallGate } from "../events/ports.js";
import type { RunReport, StepRecord } from "../events/report.js";
import { PipelineRun, type RunOptions } from "./run.js";
import { GatewayModel, type GatewayStatus } from "../registry/gateway-model.js";
import { hasLimits, type RateLimiter } from "../registry/rate-limiter.js";
import type { SharedSlots } from "../registry/shared-slots.js";
import { MemoryRateLimiter } from "../registry/memory-rate-limiter.js";
import type { BreakerState } from "../registry/circuit-breaker.js";

export interface OrchestratorOptions {
  /** Default most model calls in flight per run. @default 1000 */
  concurrency?: number;
  /** Observer of every run's events. */
  observer?: RunObserver;
  /** Environment for providers (API keys) and $env. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Run options applied to every run (hooks, journal, context), overridable per run. */
  defaults?: Omit<RunOptions, "runId" | "signal" | "resume">;
  /** A further gate for each model's calls (e.g. the queue's fleet-wide per-model limit). */
  gate?: (config: ModelConfig) => CallGate | undefined;
  /**
   * Holds the models' and deployments' `limits:` (requests and tokens per minute) across
   * every run of this orchestrator. @default an in-process MemoryRateLimiter
   */
  rateLimiter?: RateLimiter;
  /**
   * Holds deployments' `maxConcurrency` with other processes too (the queue's workers: slots
   * in Redis). @default per process
   */
  deploymentSlots?: SharedSlots;
  /** Hears every change of a deployment's circuit breaker, whichever run caused it. */
  onBreaker?: (model: string, deployment: string, state: BreakerState, previous: BreakerState) => void;
}

/** An ad-hoc task: one model call picked by capabilities (DESIGN section 7). */
export interface TaskRequest {
  /** A label for the task (code-generation, triage ...); recorded in the report. */
  taskType?: string;
  inputData: unknown;
  requiredCapabilities?: string[];
  /** Use this model instead of selecting by capabilities. */
  model?: string;
  select?: SelectPolicy;
  retry?: Partial<CompiledStep["retry"]>;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface TaskResult {
  taskType?: string;
  output: unknown;
  model: string;
  usage: Usage;
  cost: number;
  durationMs: number;
  attempts: StepRecord["attempts"];
  runId: string;
}

export class TaskOrchestrator {
  readonly registry: ModelRegistry;
  readonly #opts: OrchestratorOptions;
  readonly #instances = new Map<string, { config: ModelConfig; model: Promise<BaseModel>; resolved?: BaseModel }>();
  readonly #limiters = new Map<string, { config: ModelConfig; limiter: AdaptiveLimiter }>();
  readonly #services: ProviderServices;
  #rateLimiter: RateLimiter | undefined;
  /** The gateway models (those with deployments or limits), by name: their state for metrics. */
  readonly #gateways = new Map<string, GatewayModel>();

  constructor(registry: ModelRegistry = new ModelRegistry(), options: OrchestratorOptions = {}) {
    if (options.concurrency !== undefined && (!Number.isInteger(options.concurrency) || options.concurrency < 1)) {
      throw new TypeError(`TaskOrchestrator: \`concurrency\` must be a positive integer, received ${String(options.concurrency)}`);
    }
    this.registry = registry;
    this.#opts = options;
    this.#services = { env: options.env ?? process.env };
  }

  /**
   * Starts a pipeline run and returns it at once: `run.on(listener)`, `run.cancel()`,
   * `await run.done` for the report. Throws ConfigError if the input does not match `inputs`.
   */
  startRun(pipeline: CompiledPipeline, input: unknown = {}, options: RunOptions = {}): PipelineRun {
    assertRunInput(pipeline, input, {}, options.inputOrigin !== undefined ? { file: options.inputOrigin } : undefined);
    const registry = this.#runRegistry(pipeline);
    const observers = [this.#opts.observer, options.observer ?? this.#opts.defaults?.observer].filter((o): o is RunObserver => !!o);
    const merged: RunOptions = {
      ...this.#opts.defaults,
      ...(this.#opts.concurrency !== undefined ? { concurrency: this.#opts.concurrency } : {}),
      ...(this.#opts.env ? { env: this.#opts.env } : {}),
      ...options,
      ...(observers.length ? { observer: observers.length === 1 ? observers[0]! : { onEvent: (e) => observers.forEach((o) => o.onEvent(e)) } } : {}),
    };
    return new PipelineRun(pipeline, input, merged, {
      registry,
      model: (c) => this.#model(c),
      ready: (c) => {
        const i = this.#instances.get(c.name);
        if (i) return i.config === c ? i.resolved : undefined;
        // A model registered as an instance (registerModel(new X())), as #model() finds it.
        const direct = this.registry.instance(c.name);
        return direct && this.registry.get(c.name) === c ? direct : undefined;
      },
      limiter: (c) => this.#limiter(c),
    });
  }

  /** Runs a compiled pipeline to the end and returns its report (status success, failed or cancelled). */
  async runPipeline(pipeline: CompiledPipeline, input: unknown = {}, options: RunOptions = {}): Promise<RunReport> {
    return this.startRun(pipeline, input, options).done;
  }

  /**
   * Runs one task on a model chosen by capabilities, with retries and the fallback chain.
   * @example await orchestrator.executeTask({ taskType: "code-generation", inputData: { prompt: "..." }, requiredCapabilities: ["code-completion"] })
   */
  async executeTask(task: TaskRequest): Promise<TaskResult> {
    const caps = task.requiredCapabilities ?? [];
    let chain: string[];
    if (task.model) {
      if (!this.registry.has(task.model)) throw new TypeError(`executeTask: unknown model '${task.model}'`);
      chain = this.registry.chain(task.model);
    } else {
      const candidates = this.registry.select({ capabilities: caps, ...(task.select ? { select: task.select } : {}) }).map((m) => m.name);
      if (candidates.length === 0) {
        throw new McpError("MCP403", `no registered model has the capabilities ${caps.map((c) => `'${c}'`).join(", ")} (registered: ${this.registry.names().join(", ") || "none"})`);
      }
      chain = this.registry.chain(candidates[0]!, undefined, candidates.slice(1));
    }
    const step: CompiledStep = {
      id: "task",
      capabilities: caps,
      select: task.select ?? "first",
      chain,
      input: { kind: "literal", value: task.inputData },
      retry: { ...DEFAULT_RETRY, ...task.retry },
      ...(task.timeoutMs !== undefined ? { timeoutMs: task.timeoutMs } : {}),
      onError: "fail",
      dependencies: [],
      location: { file: "<task>", offset: 0, length: 0 },
    };
    const pipeline: CompiledPipeline = {
      version: 1,
      name: task.taskType ?? "task",
      file: "<task>",
      hash: "",
      models: [],
      steps: new Map([["task", step]]),
      order: ["task"],
      levels: [["task"]],
      dependants: new Map([["task", []]]),
      settings: { projectDir: process.cwd(), env: [] },
      sources: new SourceMap(),
    };
    const report = await this.runPipeline(pipeline, {}, task.signal ? { signal: task.signal } : {});
    const rec = report.steps.task;
    if (report.status !== "success" || !rec || rec.status !== "success") {
      throw new McpError(report.error?.reason === "cancelled" ? "CANCELLED" : "TASK_FAILED", report.error?.message ?? "the task failed");
    }
    return {
      ...(task.taskType ? { taskType: task.taskType } : {}),
      output: rec.output,
      model: rec.model!,
      usage: rec.usage,
      cost: rec.cost,
      durationMs: rec.durationMs,
      attempts: rec.attempts,
      runId: report.runId,
    };
  }

  /** The plan of a run (dry run): order, groups, models and estimates; calls no model. */
  async plan(pipeline: CompiledPipeline, input: unknown = {}): Promise<RunPlan> {
    assertRunInput(pipeline, input);
    return planRun(pipeline, input, this.#runRegistry(pipeline));
  }

  /** The state of every model with deployments or limits that has been used: breakers, calls in flight. */
  gateways(): GatewayStatus[] {
    return [...this.#gateways.values()].map((g) => g.status());
  }

  /** Closes every model instance (connection pools). */
  async close(): Promise<void> {
    const all = [...this.#instances.values()];
    this.#instances.clear();
    await Promise.all(all.map(async (i) => (await i.model.catch(() => undefined))?.close()));
  }

  /** The registry a run sees: the orchestrator's models, with the pipeline's over them. */
  #runRegistry(pipeline: CompiledPipeline): ModelRegistry {
    if (pipeline.models.length === 0) return this.registry;
    const r = new ModelRegistry(this.registry.list());
    for (const m of pipeline.models) r.add(m);
    return r;
  }

  #model(config: ModelConfig): Promise<BaseModel> {
    const direct = this.registry.instance(config.name);
    if (direct && this.registry.get(config.name) === config) return Promise.resolve(direct);
    const cached = this.#instances.get(config.name);
    // A new config object for the same name (hot reload, another pipeline) gets a new instance.
    if (cached && cached.config === config) return cached.model;
    if (cached) void cached.model.then((m) => m.close()).catch(() => {});
    const model = config.deployments !== undefined || hasLimits(config.limits) ? Promise.resolve(this.#gateway(config)) : createModel(config, this.#services);
    const entry: { config: ModelConfig; model: Promise<BaseModel>; resolved?: BaseModel } = { config, model };
    model.then(
      (m) => (entry.resolved = m),
      () => this.#instances.delete(config.name),
    );
    this.#instances.set(config.name, entry);
    return model;
  }

  /** A model with deployments or limits: balanced, broken and limited by a GatewayModel. */
  #gateway(config: ModelConfig): GatewayModel {
    const onBreaker = this.#opts.onBreaker;
    // Instances of the model from other pipelines (or an earlier reload) share its deployments' state.
    const g = new GatewayModel(
      config,
      {
        create: (c) => createModel(c, this.#services),
        limiter: (this.#rateLimiter ??= this.#opts.rateLimiter ?? new MemoryRateLimiter()),
        ...(onBreaker ? { onBreaker } : {}),
        ...(this.#opts.deploymentSlots ? { slots: this.#opts.deploymentSlots } : {}),
      },
      this.#gateways.get(config.name)?.state,
    );
    this.#gateways.set(config.name, g);
    return g;
  }

  #limiter(config: ModelConfig): AdaptiveLimiter {
    const cached = this.#limiters.get(config.name);
    if (cached && cached.config.concurrency === config.concurrency) return cached.limiter;
    const limiter = new AdaptiveLimiter(config.concurrency ?? Infinity, undefined, this.#opts.gate?.(config));
    this.#limiters.set(config.name, { config, limiter });
    return limiter;
  }
}
