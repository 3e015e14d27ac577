/** Retry delays (src/orchestrator/retry.ts backoffDelay). */
import { describe, expect, it } from "vitest";
import type { RetryPolicy } from "../../src/compiler/types.js";
import { backoffDelay } from "../../src/orchestrator/retry.js";

const policy = (over: Partial<RetryPolicy> = {}): RetryPolicy => ({ attempts: 10, backoff: "exponential", initialDelayMs: 100, maxDelayMs: 1000, jitter: false, ...over });
const never = () => 0;
const always = () => 0.999999;

describe("backoffDelay", () => {
  it("grows fixed, linearly or exponentially", () => {
    expect([1, 2, 3].map((a) => backoffDelay(policy({ backoff: "fixed" }), a))).toEqual([100, 100, 100]);
    expect([1, 2, 3].map((a) => backoffDelay(policy({ backoff: "linear" }), a))).toEqual([100, 200, 300]);
    expect([1, 2, 3, 4].map((a) => backoffDelay(policy(), a))).toEqual([100, 200, 400, 800]);
  });

  it("never waits longer than maxDelay, however many attempts failed", () => {
    expect(backoffDelay(policy(), 5)).toBe(1000);
    expect(backoffDelay(policy(), 30)).toBe(1000);
    expect(backoffDelay(policy({ jitter: true }), 30, undefined, always)).toBeLessThanOrEqual(1000);
    expect(backoffDelay(policy({ backoff: "linear" }), 50)).toBe(1000);
  });

  it("keeps at least half the delay with jitter, so parallel retries never fire at once", () => {
    expect(backoffDelay(policy({ jitter: true }), 1, undefined, never)).toBe(50);
    expect(backoffDelay(policy({ jitter: true }), 3, undefined, never)).toBe(200);
    expect(backoffDelay(policy({ jitter: true }), 3, undefined, always)).toBe(400);
    for (let a = 1; a < 8; a++) expect(backoffDelay(policy({ jitter: true }), a, undefined, never)).toBeGreaterThan(0);
  });

  it("spreads delays with jitter", () => {
    const values = new Set([0, 0.25, 0.5, 0.75].map((r) => backoffDelay(policy({ jitter: true }), 3, undefined, () => r)));
    expect(values.size).toBe(4);
  });

  it("waits at least as long as the provider's Retry-After", () => {
    expect(backoffDelay(policy(), 1, 5000)).toBe(5000);
    expect(backoffDelay(policy(), 3, 10)).toBe(400);
  });
});
