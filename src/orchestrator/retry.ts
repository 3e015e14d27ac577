/** Backoff delays, and racing a promise against a signal. */
import type { RetryPolicy } from "../compiler/types.js";

/**
 * Delay before attempt `attempt + 1` after `attempt` failed (attempt is 1-based).
 * Jitter is "equal jitter": half the delay fixed, half random, so parallel retries spread
 * out but never retry at once. A provider's Retry-After is a floor.
 */
export function backoffDelay(policy: RetryPolicy, attempt: number, retryAfterMs?: number, random = Math.random): number {
  let base: number;
  switch (policy.backoff) {
    case "fixed":
      base = policy.initialDelayMs;
      break;
    case "linear":
      base = policy.initialDelayMs * attempt;
      break;
    case "exponential":
      base = policy.initialDelayMs * 2 ** (attempt - 1);
      break;
  }
  base = Math.min(base, policy.maxDelayMs);
  const jittered = policy.jitter ? base / 2 + random() * (base / 2) : base;
  return Math.round(Math.max(jittered, retryAfterMs ?? 0));
}

/**
 * Settles with the promise, or rejects with the signal's reason as soon as it aborts, so
 * a model that ignores its signal cannot hold a run past a timeout or a cancel.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      promise.catch(() => {});
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}
