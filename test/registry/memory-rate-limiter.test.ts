import { describe, expect, it } from "vitest";
import { MemoryRateLimiter } from "../../src/registry/memory-rate-limiter.js";
import type { LimitWait } from "../../src/registry/rate-limiter.js";

describe("the in-process rate limiter", () => {
  it("admits at most rpm calls in any window, in arrival order, telling each wait", async () => {
    const limiter = new MemoryRateLimiter({ windowMs: 300 });
    const waits: LimitWait[] = [];
    const order: number[] = [];
    let worst = 0;
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        limiter.acquire("model/m", { rpm: 5 }, { inputTokens: 1 }, { onWait: (w) => waits.push(w) }).then(() => {
          order.push(i);
          worst = Math.max(worst, limiter.usage("model/m").requests);
        }),
      ),
    );
    expect(order).toEqual([...Array(12).keys()]);
    expect(worst).toBe(5);
    expect(waits.length).toBeGreaterThan(0);
    expect(waits[0]).toMatchObject({ key: "model/m", limit: "rpm" });
    expect(waits[0]!.waitMs).toBeGreaterThan(0);
    expect(waits[0]!.waitMs).toBeLessThanOrEqual(301);
  });

  it("holds input tokens per window: a call that would pass the limit waits for the window to free", async () => {
    const limiter = new MemoryRateLimiter({ windowMs: 250 });
    await limiter.acquire("k", { inputTpm: 100, outputTpm: 50 }, { inputTokens: 60 });
    const t1 = Date.now();
    const waits: LimitWait[] = [];
    // 60 + 60 > 100: the second call waits for the first to leave the window.
    await limiter.acquire("k", { inputTpm: 100, outputTpm: 50 }, { inputTokens: 60 }, { onWait: (w) => waits.push(w) });
    expect(Date.now() - t1).toBeGreaterThanOrEqual(240);
    expect(waits.length).toBeGreaterThan(0);
    expect(new Set(waits.map((w) => w.limit))).toEqual(new Set(["inputTpm"]));
  });

  it("makes a call wait while the window's output tokens are at the limit", async () => {
    const limiter = new MemoryRateLimiter({ windowMs: 250 });
    const p1 = await limiter.acquire("k", { outputTpm: 50 }, { inputTokens: 10 });
    p1.settle({ inputTokens: 12, outputTokens: 50 });
    expect(limiter.usage("k")).toEqual({ requests: 1, inputTokens: 12, outputTokens: 50 });
    const waits: LimitWait[] = [];
    await limiter.acquire("k", { outputTpm: 50 }, { inputTokens: 10 }, { onWait: (w) => waits.push(w) });
    expect(waits.length).toBeGreaterThan(0);
    expect(new Set(waits.map((w) => w.limit))).toEqual(new Set(["outputTpm"]));
  });

  it("lets a call larger than a token limit go alone once the window is empty", async () => {
    const limiter = new MemoryRateLimiter({ windowMs: 100 });
    await limiter.acquire("k", { tpm: 10 }, { inputTokens: 5 });
    const big = await limiter.acquire("k", { tpm: 10 }, { inputTokens: 500 });
    expect(limiter.usage("k").inputTokens).toBe(500);
    big.settle(undefined);
  });

  it("rejects a waiting call with the signal's reason when it is aborted", async () => {
    const limiter = new MemoryRateLimiter({ windowMs: 10_000 });
    await limiter.acquire("k", { rpm: 1 }, { inputTokens: 0 });
    const ctl = new AbortController();
    const waiting = limiter.acquire("k", { rpm: 1 }, { inputTokens: 0 }, { signal: ctl.signal });
    ctl.abort(new Error("cancelled"));
    await expect(waiting).rejects.toThrow("cancelled");
  });
});
