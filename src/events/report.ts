/** The run report: what ran, on which model, how long, how many tokens, what it cost. */
import type { ErrorInfo, RunStatus, StepStatus } from "./event.js";
import type { Usage } from "./usage.js";

export interface AttemptRecord {
  model: string;
  attempt: number;
  ok: boolean;
  durationMs: number;
  item?: number;
  error?: ErrorInfo;
  cached?: "cache" | "replay";
}

/** A finished (or skipped, failed) step: also what the journal stores. */
export interface StepRecord {
  status: StepStatus;
  output?: unknown;
  /** Model that produced the output (the last one for forEach). */
  model?: string;
  attempts: AttemptRecord[];
  durationMs: number;
  usage: Usage;
  /** True when usage was estimated (about 4 characters per token) rather than reported by the provider. */
  usageEstimated?: boolean;
  cost: number;
  /** Every call of the step was answered from the cache or a replay file. */
  cached: boolean;
  /** Output taken from an earlier run's journal (resume). */
  resumed?: boolean;
  error?: ErrorInfo;
  /** `repeat`: each iteration's record, in order (the step's output is the last one's). */
  iterations?: StepRecord[];
  /** `pipeline`: the records of the sub-pipeline's steps, by id (a nested run). */
  steps?: Record<string, StepRecord>;
  /** An approval step: what was asked, until when, and the answer once given. */
  approval?: ApprovalRecord;
  /** forEach: number of items. */
  items?: number;
  startedAt?: number;
}

/** The state of an approval step, kept in its record (and so in the journal). */
export interface ApprovalRecord {
  /** The rendered prompt. */
  prompt: string;
  /** When the run reached the step (ms since the epoch). */
  requestedAt: number;
  /** After this, an answer fails the step. */
  expiresAt?: number;
  /** JSON Schema of the answer. */
  schema?: unknown;
  decision?: "approved" | "rejected";
  /** Who answered (the API key's name over HTTP, the user name on the CLI). */
  by?: string;
  answeredAt?: number;
  /** A rejection's reason. */
  reason?: string;
}

export interface RunTotals {
  inputTokens: number;
  outputTokens: number;
  cost: number;
  /** Model calls made (cache and replay hits not counted). */
  calls: number;
  cacheHits: number;
  cacheMisses: number;
}

export interface RunReport {
  runId: string;
  pipeline: string;
  file: string;
  hash: string;
  status: Exclude<RunStatus, "running">;
  startedAt: string;
  durationMs: number;
  input: unknown;
  output?: unknown;
  error?: ErrorInfo;
  steps: Record<string, StepRecord>;
  totals: RunTotals;
  conversationId?: string;
  resumedFrom?: string;
}

/**
 * The attempts of a step as every reporter shows them: the tries of one call (retries and
 * fallbacks, a cache hit counts one), for the call that needed most. A `forEach` step's
 * items and a `repeat` step's iterations are calls of their own, not attempts.
 */
export function callAttempts(r: Pick<StepRecord, "attempts" | "iterations">): number {
  if (!r.iterations?.length) return attemptsPerCall(r.attempts);
  let most = 0;
  for (const it of r.iterations) most = Math.max(most, callAttempts(it));
  return most;
}

/** The most attempts one call (one forEach item, or the step's one call) made among these. */
export function attemptsPerCall(attempts: readonly AttemptRecord[]): number {
  if (!attempts.some((a) => a.item !== undefined)) return attempts.length;
  const perItem = new Map<number | undefined, number>();
  let most = 0;
  for (const a of attempts) {
    const n = (perItem.get(a.item) ?? 0) + 1;
    perItem.set(a.item, n);
    if (n > most) most = n;
  }
  return most;
}
