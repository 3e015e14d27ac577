/**
 * The state of one run that its steps share: options, services, the run's abort controller,
 * the model-call queue, the `$steps` bindings, the records, totals and budget, and the event
 * listeners. PipelineRun (run.ts) owns one; step.ts, fallback-chain.ts and attempt.ts work
 * on it. Internal: the library API is PipelineRun.
 */
import { setMaxListeners } from "node:events";
import type { CompiledPipeline } from "../compiler/types.js";
import type { ErrorInfo, RunEvent, RunObserver, StepStatus } from "../events/event.js";
import type { ApprovalAnswer, BudgetLedger, CallGate, CallHook, ContextProvider, ContextView, RunJournal, FanOut, RunSlice } from "../events/ports.js";
import type { RunTotals, StepRecord } from "../events/report.js";
import type { BaseModel } from "../models/base-model.js";
import type { ModelConfig, Usage } from "../models/types.js";
import type { ModelRegistry } from "../registry/model-registry.js";
import type { AdaptiveLimiter } from "./adaptive-limiter.js";
import { RunBudget } from "./budget.js";
import type { RunTrace } from "../telemetry/run-trace.js";
import { CallSlots } from "./call-slots.js";
import { RunAborted } from "./step-errors.js";

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
  /**
   * Finished steps of an earlier attempt of this run: not run again. `waiting`: its approval
   * steps that were waiting (their prompt and deadline carry over).
   */
  resume?: { fromRunId: string; completed: Record<string, StepRecord>; waiting?: Record<string, StepRecord> };
  /**
   * Steps whose model answers are streamed: a streaming model's text pieces go out as
   * step.delta events as they arrive, another's text (or a cache hit's) as one when the call
   * returns (`true`: every step). @default none
   */
  stream?: readonly string[] | true;
  /** Answers to approval steps, by step id (`mcp approve`, `mcp reject`). */
  approvals?: Record<string, ApprovalAnswer>;
  /** Variables for $env (only the pipeline's allow-list is visible). @default process.env */
  env?: Record<string, string | undefined>;
  /** Random source for retry jitter (tests). */
  random?: () => number;
  /** Where the run input came from (`--input`, a file, `request body`): the file of its diagnostics. @default "input" */
  inputOrigin?: string;
  /** Runs large forEach steps' items elsewhere (the queue's workers). */
  fanOut?: FanOut;
  /** Runs only a chunk of one forEach step (a worker's share of a fanned-out step). */
  slice?: RunSlice;
  /**
   * Streams the answers: a model that can stream (openai, anthropic) is called with
   * `stream()` and each piece of text goes here as it arrives. Until the first piece went
   * out, a failure is retried and falls back as usual; after it, the call fails at once
   * (ErrorInfo kind `stream_cut`): what the receiver has is a cut answer, and a retry or
   * another model would splice two answers. Models that cannot stream, and cache or replay
   * hits, send nothing here: their output is the whole answer.
   */
  onDelta?: (delta: StreamDelta) => void;
  /**
   * A further gate every model call of this run passes once it has a slot of the run's own
   * queue: the queue's fleet-wide hold on the pipeline's `concurrency`, shared by the run's
   * job and its forEach chunks on other workers.
   */
  runGate?: CallGate;
  /**
   * A further gate each item of a forEach step with `concurrency` passes, besides the step's
   * own count in this process: the queue's fleet-wide hold on the step's `concurrency`,
   * shared by the chunks of a fanned-out step on several workers. Not inherited by nested runs.
   */
  itemGate?: (stepId: string, limit: number) => CallGate | undefined;
  /**
   * Put prompts and answers in the model-call spans (OpenTelemetry). @default mcp.yaml
   * telemetry.captureContent, else OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true
   */
  captureContent?: boolean;
  /** Where the pipeline's budget is counted (the queue's Redis ledger); the run's memory by default. */
  budgetLedger?: BudgetLedger;
}

/** A piece of a streamed answer (RunOptions.onDelta). */
export interface StreamDelta {
  stepId: string;
  item?: number;
  model: string;
  text: string;
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

/** A step as `$steps.<id>` shows it to expressions. */
export type StepState = { output?: unknown; status: StepStatus; model?: string; usage?: Usage; error?: ErrorInfo };

export class RunScope {
  readonly controller = new AbortController();
  /** Controllers of the model calls in flight that have one of their own; aborted with the run. */
  readonly calls = new Set<AbortController>();
  /** Calls in flight listening to the run's own signal (see fallback-chain.ts). */
  sharedSignalUsers = 0;
  /** The run's limit on model calls in flight, and the queue of calls waiting for a slot. */
  readonly slots: CallSlots;
  /** Model calls in flight (attempt.ts): each one's reject, called with the reason when the run aborts. */
  readonly inFlight = new Set<(reason: unknown) => void>();
  /** The promise of each step asked for through runStep() (step.ts). */
  readonly promises = new Map<string, Promise<StepRecord>>();
  /** Steps started, waiting for their dependencies, and told when a step settles (step.ts). */
  schedule: { settled(id: string, record: StepRecord): void } | undefined;
  readonly records: Record<string, StepRecord> = {};
  readonly stepsBinding: Record<string, StepState> = {};
  /** What expressions see: $input, $steps, $env, $context. */
  readonly bindings: Record<string, unknown>;
  readonly listeners: ((e: RunEvent) => void)[] = [];
  readonly started = Date.now();
  /** The run's totals (a nested run adds to its parent's). */
  readonly totals: RunTotals;
  readonly budget: RunBudget | undefined;
  /** The run's spans; undefined when tracing is off (no OpenTelemetry SDK): then no span is made. */
  trace: RunTrace | undefined;
  /** The chain of each step as configs, made on first need. */
  readonly chains = new Map<string, ModelConfig[]>();
  /** Approval steps waiting for an answer: the run ends as `waiting`. */
  readonly waiting = new Set<string>();
  /** The first failure that ends the run. */
  failure: ErrorInfo | undefined;
  conversationId: string | undefined;
  context: ContextView | undefined;

  constructor(
    readonly id: string,
    readonly pipeline: CompiledPipeline,
    readonly input: unknown,
    readonly options: RunOptions,
    readonly services: RunServices,
    /** The scope of the run around this one, when this is a sub-pipeline's nested run (nested.ts). */
    readonly parent?: RunScope,
  ) {
    // One listener on the run's signal, whatever the number of calls: it aborts the calls
    // that have a controller of their own.
    // It also rejects the calls in flight: a model that ignores its signal cannot hold the run.
    setMaxListeners(0, this.controller.signal);
    this.controller.signal.addEventListener("abort", () => {
      const reason = this.controller.signal.reason;
      for (const c of this.calls) c.abort(reason);
      for (const reject of this.inFlight) reject(reason);
      this.inFlight.clear();
    });
    // A nested run shares its parent's model-call slots, totals and budget.
    this.slots = parent ? parent.slots : new CallSlots(options.concurrency ?? pipeline.concurrency ?? DEFAULT_CONCURRENCY);
    this.totals = parent ? parent.totals : { inputTokens: 0, outputTokens: 0, cost: 0, calls: 0, cacheHits: 0, cacheMisses: 0 };
    const env: Record<string, string> = {};
    const source = options.env ?? process.env;
    for (const name of pipeline.settings.env) {
      const v = source[name];
      if (v !== undefined) env[name] = v;
    }
    this.bindings = { input, steps: this.stepsBinding, env, context: { history: [], summary: "" } };
    this.budget = parent ? parent.budget : pipeline.budget ? new RunBudget(pipeline.budget, services.registry, options.budgetLedger) : undefined;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Whether the step's model answers are streamed as step.delta events. */
  streams(stepId: string): boolean {
    const s = this.options.stream;
    return s !== undefined && (s === true || s.includes(stepId));
  }

  /** Whether anyone listens: events that cost something to build are skipped otherwise. */
  get observed(): boolean {
    return this.listeners.length > 0;
  }

  /** Events held back until the journal writes before them are durable (hold()). */
  #held: RunEvent[] | undefined;
  #holds = 0;
  #lastHold: Promise<void> | undefined;
  #whenDelivered: (() => void)[] = [];

  emit(e: RunEvent): void {
    if (this.#held) this.#held.push(e);
    else this.#deliver(e);
  }

  #deliver(e: RunEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        // A listener's bug must not break the run.
      }
    }
  }

  /**
   * A journal write in flight (a finished step, batched with the others of this event-loop
   * turn): the run's events from now on are held back until it is durable, so a step reported
   * finished is in the journal (what resume relies on), and their order is kept. A write
   * that fails fails the run.
   */
  hold(write: Promise<void>): void {
    if (write === this.#lastHold) return;
    this.#lastHold = write;
    this.#holds++;
    this.#held ??= [];
    write.then(
      () => this.#release(),
      (e: unknown) => {
        const message = `the run journal could not be written: ${e instanceof Error ? e.message : String(e)}`;
        this.failure ??= { reason: "internal", message };
        this.abort(new RunAborted("internal", message));
        this.#release();
      },
    );
  }

  #release(): void {
    if (--this.#holds > 0) return;
    const held = this.#held ?? [];
    this.#held = undefined;
    this.#lastHold = undefined;
    for (const e of held) this.#deliver(e);
    const waiters = this.#whenDelivered;
    this.#whenDelivered = [];
    for (const w of waiters) w();
  }

  /** Resolves when no event is held back any more. */
  delivered(): Promise<void> {
    if (this.#holds === 0) return Promise.resolve();
    return new Promise((resolve) => this.#whenDelivered.push(resolve));
  }

  /** Aborts the run (a failed step with onError: fail, a cancel). */
  abort(reason: RunAborted): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }

  /** Counts a finished model call in the totals and the budget. */
  account(model: string, usage: Usage, cost: number): void {
    this.totals.calls++;
    this.spend(model, usage, cost);
  }

  /** Counts tokens and cost in the totals and the budget: a call's, or a replayed call's (no call made). */
  spend(model: string, usage: Usage, cost: number): void {
    this.totals.inputTokens += usage.inputTokens;
    this.totals.outputTokens += usage.outputTokens;
    this.totals.cost += cost;
    this.budget?.spend(model, usage, cost);
  }

  /** Records a step's end: its record, and what `$steps.<id>` shows; starts the steps that waited for it. */
  settle(id: string, record: StepRecord): StepRecord {
    this.records[id] = record;
    const state: StepState = { output: record.output, status: record.status };
    if (record.model !== undefined) state.model = record.model;
    state.usage = record.usage;
    if (record.error) state.error = record.error;
    this.stepsBinding[id] = state;
    this.schedule?.settled(id, record);
    return record;
  }
}

export function zeroUsage(): Usage {
  return { inputTokens: 0, outputTokens: 0 };
}
