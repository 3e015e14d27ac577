/** The per-model limiter that backs off when an API rate-limits (src/orchestrator/adaptive-limiter.ts). */
import { describe, expect, it } from "vitest";
import { AdaptiveLimiter } from "../../src/orchestrator/adaptive-limiter.js";

describe("AdaptiveLimiter", () => {
  it("halves its concurrency on a rate limit, at most once per cooldown", () => {
    const changes: number[] = [];
    const l = new AdaptiveLimiter(8, (n) => changes.push(n));
    l.rateLimited(1000, 10_000);
    expect(l.concurrency).toBe(4);
    l.rateLimited(1000, 10_500); // within the cooldown: ignored
    expect(l.concurrency).toBe(4);
    l.rateLimited(1000, 11_000);
    expect(l.concurrency).toBe(2);
    l.rateLimited(1000, 12_000);
    l.rateLimited(1000, 13_000);
    expect(l.concurrency).toBe(1); // never below one
    expect(changes).toEqual([4, 2, 1]);
  });

  it("grows back by about one per window of successes, up to the configured limit", () => {
    const l = new AdaptiveLimiter(4);
    l.rateLimited(1000, 10_000);
    l.rateLimited(1000, 20_000);
    expect(l.concurrency).toBe(1);
    // The window grows by 1/window per success: 2, 2.5, 2.9, 3.24, ...
    const seen: number[] = [];
    for (let i = 0; i < 4; i++) {
      l.succeeded();
      seen.push(l.concurrency);
    }
    expect(seen).toEqual([2, 2, 2, 3]);
    for (let i = 0; i < 100; i++) l.succeeded();
    expect(l.concurrency).toBe(4);
  });

  it("runs no more calls at once than its concurrency", async () => {
    const l = new AdaptiveLimiter(2);
    let running = 0;
    let peak = 0;
    const task = async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
    };
    await Promise.all(Array.from({ length: 10 }, () => l.run(task)));
    expect(peak).toBe(2);
  });

  it("without a limit, halves the calls in flight when first rate limited", async () => {
    const l = new AdaptiveLimiter(Infinity);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const calls = Array.from({ length: 6 }, () => l.run(() => gate));
    await Promise.resolve();
    l.rateLimited(1000, 10_000);
    expect(l.concurrency).toBe(3);
    release();
    await Promise.all(calls);
  });

  it("rejects a call waiting for a slot with the signal's reason", async () => {
    const l = new AdaptiveLimiter(1);
    let release!: () => void;
    const first = l.run(() => new Promise<void>((r) => (release = r)));
    const ctl = new AbortController();
    const second = l.run(async () => "ran", ctl.signal);
    const reason = new Error("stop");
    ctl.abort(reason);
    await expect(second).rejects.toBe(reason);
    release();
    await first;
  });
});
