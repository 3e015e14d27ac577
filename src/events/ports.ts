/**
 * The ports of a run: extension points the engine calls and the parts below it implement
 * (the cache, record/replay, the run journal, the context manager). They live on the ground
 * floor so that the engine and storage both import them and never each other. The types
 * here are the parts of a model, a pipeline and its settings that the ports read; the
 * compiler's and the registry's richer types are assignable to them.
 */
import type { AttemptRecord, RunReport, StepRecord } from "./report.js";
import type { Usage } from "./usage.js";

/** What a call hook reads of the model a call goes to (a ModelConfig is one). */
export interface CallModel {
  /** Registry name. */
  name: string;
  provider: string;
  /** The provider's model name. */
  model?: string;
  baseUrl?: string;
  url?: string;
  method?: string;
  apiKeyEnv?: string;
  request?: unknown;
  module?: string;
  export?: string;
  options?: Record<string, unknown>;
  cache?: boolean | { ttlMs?: number };
  /** mcp: the tool called, and the server's identity (McpServerConfig.id). */
  tool?: string;
  mcpServer?: { id: string };
}

/** What the journal records of the pipeline a run runs (a CompiledPipeline is one). */
export interface RunPipeline {
  readonly name: string;
  /** Path of the pipeline file as given. */
  readonly file: string;
  /** sha256 of the pipeline file and the mcp.yaml it merged, hex. */
  readonly hash: string;
}

/** How conversation history is loaded and kept (a pipeline's `context:` settings). */
export interface ContextPolicy {
  maxHistory?: number;
  maxTokens?: number;
  recent?: number;
  relevant?: number;
  compress?: { threshold: number; keep?: number; model?: string };
}

/** One model call, as hooks see it. */
export interface CallRequest {
  runId: string;
  stepId: string;
  /** forEach index. */
  item?: number;
  model: CallModel;
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
  runStarted(run: { runId: string; pipeline: RunPipeline; input: unknown; startedAt: number; resumedFrom?: string; conversationId?: string }): Promise<void>;
  /**
   * Called when the step has finished, before any dependant starts. Not awaited: the
   * dependants start at once, and the run's events (step.finished first) are held back until
   * the promise resolves, which must mean the record is durable. A rejection fails the run.
   */
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
  load(conversationId: string, opts: { query?: string; settings: ContextPolicy }): Promise<ContextView>;
  append(conversationId: string, turn: ContextTurn, opts: { settings: ContextPolicy }): Promise<void>;
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

/**
 * A person's answer to an approval step, handed to the run that continues a waiting one
 * (`mcp approve` / `mcp reject`, the Protocol Handler's `runs.approve` / `runs.reject`).
 */
export interface ApprovalAnswer {
  decision: "approved" | "rejected";
  /** approved: the answer (checked against the step's `schema`); becomes the step's output. */
  answer?: unknown;
  /** rejected: why. */
  reason?: string;
  /** Who answered. */
  by?: string;
  /** When (ms since the epoch); compared with the step's deadline. */
  at: number;
}

/** An amount of a budget: USD and tokens. */
export interface BudgetAmount {
  cost: number;
  tokens: number;
}

/**
 * Where a run's budget is counted: the spent amounts and the reservations of the calls in
 * flight. The run's own memory by default; a ledger kept in Redis holds one budget across the
 * workers that run a queued run's parts (its job and its forEach chunks).
 */
export interface BudgetLedger {
  /**
   * Reserves `need` when spent + reserved + need stays within `limits`; otherwise reserves
   * nothing and says which limit it would pass and what was spent.
   */
  reserve(need: BudgetAmount, limits: { maxCost?: number; maxTokens?: number }): Promise<{ ok: true; id: string } | { ok: false; over: "cost" | "tokens"; spent: BudgetAmount }>;
  /** Ends a reservation (its call finished or failed). */
  release(id: string): void;
  /** Counts what a finished call spent. */
  spend(amount: BudgetAmount): void;
  /** Resolves once every release and spend sent so far is counted. */
  flush(): Promise<void>;
}
