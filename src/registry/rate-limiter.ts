/**
 * The rate limiter port: requests and tokens per minute (mcp.yaml `limits:`) of a model or a
 * deployment, keyed by a string. The orchestrator holds one for the process, shared by every
 * run (registry/memory-rate-limiter.ts); a fleet of workers can share one kept in Redis by
 * implementing this interface. Kept small on purpose: acquire before a call, settle after.
 */
import type { RateLimits } from "../models/types.js";

/** Which limit made a call wait. */
export type LimitName = "rpm" | "tpm" | "inputTpm" | "outputTpm";

/** A wait, told before it begins (it becomes a `model.limit_wait` run event). */
export interface LimitWait {
  /** The limiter key: `model/<name>` or `deployment/<model>/<deployment>`. */
  key: string;
  limit: LimitName;
  /** Expected wait, in ms (a later call may wait again). */
  waitMs: number;
}

/** A counted call; `settle` records what it really used (or that it failed: undefined). */
export interface RatePermit {
  settle(usage: { inputTokens: number; outputTokens: number } | undefined): void | Promise<void>;
}

export interface RateLimiter {
  /**
   * Resolves when one more call of about `inputTokens` input tokens fits `limits` under
   * `key`, having counted it; calls `onWait` before each wait. Callers are served in order
   * per key. Rejects with the signal's reason when aborted while waiting.
   */
  acquire(key: string, limits: RateLimits, call: { inputTokens: number }, options?: { signal?: AbortSignal; onWait?: (w: LimitWait) => void }): Promise<RatePermit>;
}

/** Whether a limits object sets any limit. */
export function hasLimits(l: RateLimits | undefined): l is RateLimits {
  return !!l && (l.rpm !== undefined || l.tpm !== undefined || l.inputTpm !== undefined || l.outputTpm !== undefined);
}
