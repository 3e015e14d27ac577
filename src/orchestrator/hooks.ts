/**
 * Extension points of a run, implemented by the cache, record/replay, the run journal and
 * the context manager. The orchestrator knows these interfaces only.
 */
import type { CompiledPipeline } from "../compiler/types.js";
import type { ModelConfig, Usage } from "../models/types.js";
import type { AttemptRecord, RunReport, StepRecord } from "./report.js";

/** One model call, as hooks see it. */
export interface CallRequest {
  runId: string;
  stepId: string;
  /** forEach index. */
  item?: number;
  model: ModelConfig;
  input: unknown;
  /** Step cache policy, when set; hooks combine it with the model's and the project's. */
  cache?: { enabled: boolean; ttlMs?: number };
  /** Capabilities the step asked for: a multi-skill model (nlp) answers differently per set. */
  capabilities?: readonly string[];
}

/** A call answered without calling the model. */
export interface CallHit {
  output: unknown;
  usage?: Usage;
  source: "cache" | "replay";
}

/**
 * Wraps model calls: `lookup` may answer a call (cache hit, replay) or throw (replay miss);
 * `store` sees each successful real call (cache fill, recording).
 * Hooks are tried in order; the first hit wins.
 */
export interface CallHook {
  lookup?(req: CallRequest): Promise<CallHit | undefined>;
  store?(req: CallRequest, output: unknown, info: { usage: Usage; latencyMs: number }): Promise<void>;
  /** Reports a cache miss, for the run report; undefined: this hook is not a cache. */
  readonly kind?: "cache" | "replay" | "record";
  /**
   * Whether the hook handles this call at all (default: yes). A cache returns false for a
   * call whose caching is off, so the call is neither looked up nor counted as a miss.
   */
  applies?(req: CallRequest): boolean;
}

/** Where runs and finished steps are written, so a run can be resumed. */
export interface RunJournal {
  runStarted(run: {
    runId: string;
    pipeline: CompiledPipeline;
    input: unknown;
    startedAt: number;
    resumedFrom?: string;
    conversationId?: string;
  }): Promise<void>;
  /** Called before any dependant of the step starts. */
  stepFinished(runId: string, stepId: string, record: StepRecord): Promise<void>;
  runFinished(runId: string, report: RunReport): Promise<void>;
}

/** A turn of a conversation. */
export interface ContextTurn {
  role: string;
  content: unknown;
  /** Pipeline, run and step that wrote it. */
  runId?: string;
  stepId?: string;
  ts?: number;
}

/** The conversation, as expressions see it in `$context`. */
export interface ContextView {
  conversationId: string;
  history: ContextTurn[];
  summary?: string;
}

/** Loads and appends conversation history (the Context Manager implements it). */
export interface ContextProvider {
  load(conversationId: string, opts: { query?: string; settings: NonNullable<CompiledPipeline["context"]> }): Promise<ContextView>;
  append(conversationId: string, turn: ContextTurn, opts: { settings: NonNullable<CompiledPipeline["context"]> }): Promise<void>;
}

/**
 * Runs the items of a large forEach elsewhere (the queue's workers), instead of in this
 * process. The run asks `splits(count)` for each forEach step; when true, `map` runs every
 * item (each on the step's own retries, fallbacks and cache) and resolves with the results in
 * order, or throws the first failure.
 */
export interface FanOut {
  splits(count: number, stepId: string): boolean;
  map(req: { runId: string; stepId: string; count: number; signal: AbortSignal }): Promise<FanOutResult>;
}

/** What the items of a fanned-out step add up to. */
export interface FanOutResult {
  results: unknown[];
  model?: string;
  usage: Usage;
  cost: number;
  cached: boolean;
  usageEstimated?: boolean;
  attempts: AttemptRecord[];
}

/**
 * Runs only items [start, end) of one forEach step (a chunk of a fanned-out step, on a
 * worker): the other steps are not run, their records come from `given` (the journal), the
 * pipeline output is not computed and nothing is appended to the conversation.
 */
export interface RunSlice {
  stepId: string;
  start: number;
  end: number;
  given: Record<string, StepRecord>;
}

/**
 * A gate every call to a model goes through besides the process's own limiter, e.g. a
 * fleet-wide concurrency limit kept in Redis. `run` resolves or rejects with `fn`.
 */
export interface CallGate {
  run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T>;
}
