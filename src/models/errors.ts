/**
 * Model call failures, in the kinds the orchestrator acts on. Providers map their protocol's
 * errors to one of these; messages never contain API keys.
 */
import type { ErrorKind } from "../events/event.js";
import { McpError } from "../util/errors.js";

/**
 * - `rate_limited`: the API said slow down (HTTP 429); retried after `retryAfterMs`, and the
 *   model's concurrency is lowered for a while.
 * - `retryable`: a transient failure (5xx, connection reset, timeout); retried with backoff.
 * - `fatal`: retrying cannot help (4xx, bad key, bad request); the fallback chain is tried.
 * - `malformed`: the response did not have the expected shape; retried like `retryable`.
 * - `aborted`: the run was cancelled; nothing else is tried.
 */
export type ModelErrorKind = Exclude<ErrorKind, "stream_cut">;

export class ModelError extends McpError<`MODEL_${Uppercase<ModelErrorKind>}`> {
  readonly kind: ModelErrorKind;
  readonly provider: string;
  readonly model: string;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, opts: { kind: ModelErrorKind; provider: string; model: string; status?: number; retryAfterMs?: number; cause?: unknown }) {
    super(`MODEL_${opts.kind.toUpperCase() as Uppercase<ModelErrorKind>}`, message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = "ModelError";
    this.kind = opts.kind;
    this.provider = opts.provider;
    this.model = opts.model;
    this.status = opts.status;
    this.retryAfterMs = opts.retryAfterMs;
  }

  get retryable(): boolean {
    return this.kind === "rate_limited" || this.kind === "retryable" || this.kind === "malformed";
  }
}

/** Parses a Retry-After header (seconds or an HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const secs = Number(value);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

/** Whether an error (of any origin) is worth another attempt. */
export function isRetryable(e: unknown): boolean {
  if (e instanceof ModelError) return e.retryable;
  if (e && typeof e === "object" && (e as { name?: string }).name === "AbortError") return false;
  // Unknown errors from custom models: not retried, so bugs are not hidden by retries.
  return false;
}
