import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { RedisRateLimiter } from "../../src/queue/redis-rate-limiter.js";
import type { LimitWait } from "../../src/registry/rate-limiter.js";
import { startRedis } from "../helpers/redis.js";

const redis = await startRedis();
const clients: Redis[] = [];
afterAll(() => {
  for (const c of clients) c.disconnect();
});
/** A limiter on a connection of its own, as each worker process has. */
function worker(prefix: string, windowMs: number): RedisRateLimiter {
  const c = new Redis(redis.url);
  clients.push(c);
  return new RedisRateLimiter(c, { prefix, windowMs });
}

describe("RedisRateLimiter: a model's limits held across the fleet", () => {
  it("admits at most rpm calls per window across two workers, and says why the others wait", async () => {
    const [a, b] = [worker("rl1:", 1500), worker("rl1:", 1500)];
    const waits: LimitWait[] = [];
    const t0 = Date.now();
    const admitted: number[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const p = await (i % 2 ? a : b).acquire("model/m", { rpm: 4 }, { inputTokens: 1 }, { onWait: (w) => waits.push(w) });
        admitted.push(Date.now() - t0);
        await p.settle({ inputTokens: 1, outputTokens: 1 });
      }),
    );
    admitted.sort((x, y) => x - y);
    expect(admitted).toHaveLength(8);
    // Calls 5 to 8 wait for calls 1 to 4 to leave the window (1.5 s).
    expect(admitted[4]! - admitted[0]!).toBeGreaterThanOrEqual(1300);
    expect(waits.length).toBeGreaterThan(0);
    expect(waits.every((w) => w.key === "model/m" && w.limit === "rpm" && w.waitMs > 0)).toBe(true);
  });

  it("counts tokens: input at acquire, the real usage at settle", async () => {
    const [a, b] = [worker("rl2:", 1500), worker("rl2:", 1500)];
    const t0 = Date.now();
    const first = await a.acquire("model/t", { tpm: 100 }, { inputTokens: 30 });
    // The answer used 30 input and 50 output tokens: 80 of 100 are used.
    await first.settle({ inputTokens: 30, outputTokens: 50 });
    const waits: LimitWait[] = [];
    await b.acquire("model/t", { tpm: 100 }, { inputTokens: 40 }, { onWait: (w) => waits.push(w) });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1300);
    expect(waits[0]?.limit).toBe("tpm");
  });

  it("stops waiting when the signal aborts", async () => {
    const a = worker("rl3:", 60_000);
    await a.acquire("model/x", { rpm: 1 }, { inputTokens: 0 });
    const ctl = new AbortController();
    const p = a.acquire("model/x", { rpm: 1 }, { inputTokens: 0 }, { signal: ctl.signal });
    setTimeout(() => ctl.abort(new Error("gave up")), 100);
    await expect(p).rejects.toThrow("gave up");
  });
});
