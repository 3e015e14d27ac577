/**
 * Run events: plain JSON objects, one union. The same objects feed the terminal view,
 * NDJSON logs, the server's SSE stream and the run journal.
 */
import type { Usage } from "./usage.js";

/** Step statuses, in the order a step goes through them. */
export type StepStatus = "pending" | "queued" | "running" | "waiting" | "success" | "failed" | "skipped" | "aborted";

/** `waiting`: the run stopped at an approval step and waits for `mcp approve` / `mcp reject`. */
export type RunStatus = "running" | "waiting" | "success" | "failed" | "cancelled";

/** Why a run or a step failed, one member per cause. */
export type FailureReason =
  /** The model (and every fallback) failed; `kind` is the last ModelError kind. */
  | "model-error"
  /** An expression failed to evaluate. */
  | "expression-error"
  /** A step attempt ran longer than its `timeout`. */
  | "timeout"
  /** The run was cancelled (Ctrl-C, DELETE, run timeout). */
  | "cancelled"
  /** The next call would pass the pipeline's budget. */
  | "budget-exceeded"
  /** No model fits the step (all too small for the input). */
  | "no-model"
  /** The run input does not match `inputs`. */
  | "invalid-input"
  /** A dependency failed with onError: fail. */
  | "dependency-failed"
  /** A `repeat` step ran `max` times and its `until` never held (`onMax: fail`). */
  | "repeat-exhausted"
  /** A replay file has no recording of this call. */
  | "replay-miss"
  /** A person rejected an approval step (`mcp reject`); the message is their reason. */
  | "rejected"
  /** A bug in the runner. */
  | "internal";

/**
 * How a model call failed (ModelError's kinds, docs in src/models/errors.ts), or
 * `stream_cut`: a streamed answer broke after its first token, so it cannot be retried.
 */
export type ErrorKind = "rate_limited" | "retryable" | "fatal" | "malformed" | "aborted" | "stream_cut";

export interface ErrorInfo {
  reason: FailureReason;
  message: string;
  /** How the model call failed, when a model failed. */
  kind?: ErrorKind;
  model?: string;
  status?: number;
}

interface Base {
  runId: string;
  /** Milliseconds since the epoch. */
  ts: number;
}

/** The run began; `input` has been validated. */
export interface RunStartedEvent extends Base {
  type: "run.started";
  pipeline: string;
  hash: string;
  steps: string[];
  resumedFrom?: string;
  /** The pipeline's budget, when it has one (the alert hook warns as the spend nears it). */
  budget?: { maxCost?: number; maxTokens?: number };
}
/** A step's dependencies are done and it waits for a model slot. */
export interface StepQueuedEvent extends Base {
  type: "step.queued";
  stepId: string;
}
/** An attempt began on a model. `item` is the forEach index. */
export interface StepStartedEvent extends Base {
  type: "step.started";
  stepId: string;
  model: string;
  attempt: number;
  item?: number;
  /** The model input, on the step's (or item's) first attempt only: retries and fallbacks get the same. */
  input?: unknown;
}
/** An attempt failed; another follows after `retryInMs` unless `retryInMs` is undefined. */
export interface StepAttemptFailedEvent extends Base {
  type: "step.attempt_failed";
  stepId: string;
  model: string;
  attempt: number;
  error: ErrorInfo;
  retryInMs?: number;
  item?: number;
}
/** The chosen model's attempts are spent; the next model of the chain is tried. */
export interface StepFellBackEvent extends Base {
  type: "step.fell_back";
  stepId: string;
  from: string;
  to: string;
  error: ErrorInfo;
  item?: number;
}
/** A model call was served from the cache or a replay file (hit), or missed the cache. */
export interface StepCacheEvent extends Base {
  type: "step.cache";
  stepId: string;
  model: string;
  hit: boolean;
  source: "cache" | "replay";
  item?: number;
}
/** The step succeeded. */
export interface StepFinishedEvent extends Base {
  type: "step.finished";
  stepId: string;
  model?: string;
  durationMs: number;
  /** Tries of the call that needed most (retries, fallbacks): not forEach items nor repeat iterations (report.ts callAttempts). */
  attempts: number;
  usage: Usage;
  cost: number;
  cached: boolean;
  /** The step output came from the journal of an earlier run (resume). */
  resumed?: boolean;
  output: unknown;
}
/**
 * Why a step was skipped: its `when` was false (`when: ` and the expression), or, in events
 * rebuilt from a stored run (which keeps a step's status but not why), just "skipped".
 */
export type SkipReason = `when: ${string}` | "skipped";

/** The step's `when` was false: it did not run. */
export interface StepSkippedEvent extends Base {
  type: "step.skipped";
  stepId: string;
  reason: SkipReason;
}
/** The step failed for good (after retries and fallbacks). */
export interface StepFailedEvent extends Base {
  type: "step.failed";
  stepId: string;
  error: ErrorInfo;
  durationMs: number;
  /** Tries of the call that needed most, as in step.finished. */
  attempts: number;
  /** onError: continue: the run goes on. */
  continued: boolean;
}
/**
 * One iteration of a `repeat` step ended (its output is the next one's $last); `done`: its
 * `until` held, so the step ends with this output. `resumed`: taken from the journal.
 */
export interface StepIterationEvent extends Base {
  type: "step.iteration";
  stepId: string;
  /** 1, 2 ... */
  iteration: number;
  max: number;
  done: boolean;
  durationMs: number;
  resumed?: boolean;
  output: unknown;
}
/** The step was running or waiting when the run was cancelled. */
export interface StepAbortedEvent extends Base {
  type: "step.aborted";
  stepId: string;
}
/**
 * A model call reported progress while running (an MCP tool's progress notifications).
 * Only informative: nothing waits for it, and a call may report none.
 */
export interface StepProgressEvent extends Base {
  type: "step.progress";
  stepId: string;
  model: string;
  /** forEach index. */
  item?: number;
  /** Grows with every report; `total` when the model knows it. */
  progress: number;
  total?: number;
  message?: string;
}
/**
 * An approval step was reached: the run waits for a person's answer (`mcp approve RUN STEP`,
 * `mcp reject RUN STEP`). Steps that do not depend on it still run; the run then ends as
 * `waiting` and is journaled so that another process can continue it.
 */
export interface StepWaitingEvent extends Base {
  type: "step.waiting";
  stepId: string;
  /** The rendered prompt. */
  prompt: string;
  /** Milliseconds since the epoch after which an answer fails the step; absent: no limit. */
  expiresAt?: number;
  /** JSON Schema of the answer. */
  schema?: unknown;
}
/**
 * A piece of a streaming model's answer, as it arrives (only for steps being streamed:
 * `mcp run --stream`, or a server client following the run). A model that cannot stream,
 * or a cache or replay hit, sends its answer's text as one piece (none for a data answer). The deltas of one attempt
 * concatenate to its `text`; an attempt that fails after some deltas is followed by
 * step.attempt_failed, and the next attempt's deltas start over.
 */
export interface StepDeltaEvent extends Base {
  type: "step.delta";
  stepId: string;
  model: string;
  attempt: number;
  item?: number;
  text: string;
}
/** A model's concurrency changed after rate limiting (adaptive window). */
export interface ModelThrottledEvent extends Base {
  type: "model.throttled";
  model: string;
  concurrency: number;
}
/**
 * A model call waits for a rate limit (`limits:` of the model, or of one of its deployments)
 * instead of stalling silently; `waitMs` is the expected wait.
 */
export interface ModelLimitWaitEvent extends Base {
  type: "model.limit_wait";
  model: string;
  stepId: string;
  item?: number;
  /** Set when the limit is one deployment's. */
  deployment?: string;
  limit: "rpm" | "tpm" | "inputTpm" | "outputTpm";
  waitMs: number;
}
/**
 * A deployment's circuit breaker changed state: `open` (ejected for the cool-down),
 * `half-open` (probe calls let through), `closed` (back in the rotation). Told to the run
 * whose call saw the change.
 */
export interface ModelBreakerEvent extends Base {
  type: "model.breaker";
  model: string;
  deployment: string;
  state: "closed" | "open" | "half-open";
  previous: "closed" | "open" | "half-open";
  stepId?: string;
}
/** The run ended. */
export interface RunFinishedEvent extends Base {
  type: "run.finished";
  status: Exclude<RunStatus, "running">;
  durationMs: number;
  output?: unknown;
  error?: ErrorInfo;
}

export type RunEvent =
  | RunStartedEvent
  | StepQueuedEvent
  | StepStartedEvent
  | StepAttemptFailedEvent
  | StepFellBackEvent
  | StepCacheEvent
  | StepFinishedEvent
  | StepSkippedEvent
  | StepFailedEvent
  | StepIterationEvent
  | StepAbortedEvent
  | StepProgressEvent
  | StepWaitingEvent
  | StepDeltaEvent
  | ModelThrottledEvent
  | ModelLimitWaitEvent
  | ModelBreakerEvent
  | RunFinishedEvent;

export type RunEventType = RunEvent["type"];

/** The one sink of run events (lage's Reporter): injected into the orchestrator. */
export interface RunObserver {
  onEvent(event: RunEvent): void;
  dispose?(): void | Promise<void>;
}

/** Fans events out to several observers; one failing observer does not stop the others. */
export class CombinedObserver implements RunObserver {
  readonly #observers: RunObserver[];
  constructor(observers: RunObserver[]) {
    this.#observers = observers;
  }
  onEvent(event: RunEvent): void {
    for (const o of this.#observers) {
      try {
        o.onEvent(event);
      } catch {
        // An observer's bug must not break the run.
      }
    }
  }
  async dispose(): Promise<void> {
    for (const o of this.#observers) await o.dispose?.();
  }
}
