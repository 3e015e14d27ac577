/**
 * A model's `concurrency` held across the whole fleet: a counting semaphore in Redis (a
 * sorted set of holders scored by lease expiry, on the Redis clock). A call takes a slot
 * (Lua: drop expired leases, add itself when fewer than the limit hold one), renews its lease
 * while it runs, and gives the slot back when it ends, publishing a message so a waiting
 * worker tries at once; waiters also retry on a timer, so a lost message or a dead holder's
 * lease (a SIGKILLed worker) only delays them. A limit of 10 means 10 calls in flight in the
 * fleet, not per worker.
 */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import type { CallGate } from "../events/ports.js";
import type { SharedSlots, SlotLease } from "../registry/shared-slots.js";
import type { OrchestratorOptions } from "../orchestrator/orchestrator.js";
import type { QueueNames } from "./names.js";
import { RedisRateLimiter } from "./redis-rate-limiter.js";

// KEYS: holders zset. ARGV: token, lease ms, limit. Returns 1 when taken.
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
  return 1
end
return 0`;

// KEYS: holders zset. ARGV: token, lease ms.
const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])`;

type Scripted = Redis & {
  mcpSemAcquire(key: string, token: string, leaseMs: number, limit: number): Promise<number>;
  mcpSemRenew(key: string, token: string, leaseMs: number): Promise<number>;
};

export interface FleetLimiterOptions {
  /** A holder that stops renewing (its worker died) loses the slot after this. @default 15000 */
  leaseMs?: number;
  /** Waiters try again at least this often. @default 200 */
  retryMs?: number;
}

export class FleetLimiter implements SharedSlots {
  readonly #redis: Scripted;
  readonly #names: QueueNames;
  readonly #leaseMs: number;
  readonly #retryMs: number;
  readonly #wakers = new Map<string, Set<() => void>>();

  /** `subscriber` is a connection in subscriber mode this limiter may use (it subscribes to one channel). */
  constructor(redis: Redis, subscriber: Redis, names: QueueNames, options: FleetLimiterOptions = {}) {
    const r = redis as Scripted;
    if (typeof r.mcpSemAcquire !== "function") {
      r.defineCommand("mcpSemAcquire", { numberOfKeys: 1, lua: ACQUIRE });
      r.defineCommand("mcpSemRenew", { numberOfKeys: 1, lua: RENEW });
    }
    this.#redis = r;
    this.#names = names;
    this.#leaseMs = options.leaseMs ?? 15_000;
    this.#retryMs = options.retryMs ?? 200;
    void subscriber.subscribe(names.limitChannel).catch(() => undefined);
    subscriber.on("message", (channel: string, model: string) => {
      if (channel !== names.limitChannel) return;
      for (const wake of this.#wakers.get(model) ?? []) wake();
    });
  }

  /** The gate for a model with a concurrency limit; undefined when it has none. */
  gate(model: string, limit: number | undefined): CallGate | undefined {
    if (limit === undefined || !Number.isFinite(limit)) return undefined;
    return { run: (fn, signal) => this.run(model, limit, fn, signal) };
  }

  /**
   * The gate for the model calls of one run whose pipeline sets `concurrency`: the limit
   * holds across the run's whole job and its forEach chunks on other workers.
   */
  runGate(runId: string, limit: number | undefined): CallGate | undefined {
    if (limit === undefined || !Number.isFinite(limit)) return undefined;
    const key = this.#names.runLimitKey(runId);
    return { run: (fn, signal) => this.#hold(`run\0${runId}`, key, limit, fn, signal) };
  }

  /**
   * The gate for the items of one forEach step with `concurrency`, in the chunks of a run on
   * any workers: the step's limit holds across the fleet, not per chunk.
   */
  itemGate(runId: string, stepId: string, limit: number): CallGate | undefined {
    if (!Number.isFinite(limit)) return undefined;
    const key = this.#names.itemLimitKey(runId, stepId);
    return { run: (fn, signal) => this.#hold(`item\0${runId}\0${stepId}`, key, limit, fn, signal) };
  }

  /** SharedSlots (a deployment's `maxConcurrency` across the fleet): one of `limit` slots of `key`, if free. */
  async tryTake(key: string, limit: number): Promise<SlotLease | undefined> {
    const token = randomBytes(8).toString("hex");
    const rkey = this.#names.limitKey(key);
    if ((await this.#redis.mcpSemAcquire(rkey, token, this.#leaseMs, limit)) !== 1) return undefined;
    const renew = this.#renewing(rkey, token);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        clearInterval(renew);
        void this.#release(key, rkey, token);
      },
    };
  }

  /** SharedSlots: resolves when a slot of one of `keys` was given back somewhere, after `retryMs`, or on abort. */
  freed(keys: readonly string[], signal: AbortSignal): Promise<void> {
    return this.#wait(keys, signal);
  }

  /** Runs `fn` holding one of the model's `limit` fleet-wide slots. */
  run<T>(model: string, limit: number, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.#hold(model, this.#names.limitKey(model), limit, fn, signal);
  }

  /** Runs `fn` holding one of `limit` slots of `key`; `name` is what release messages carry. */
  async #hold<T>(name: string, key: string, limit: number, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const model = name;
    const token = randomBytes(8).toString("hex");
    await this.#acquire(model, key, token, limit, signal);
    const renew = this.#renewing(key, token);
    try {
      return await fn();
    } finally {
      clearInterval(renew);
      await this.#release(model, key, token);
    }
  }

  #renewing(key: string, token: string): NodeJS.Timeout {
    return setInterval(() => void this.#redis.mcpSemRenew(key, token, this.#leaseMs).catch(() => undefined), Math.max(50, Math.floor(this.#leaseMs / 3)));
  }

  /** Gives a slot back and tells the waiting workers (`name` is what they wait on). */
  async #release(name: string, key: string, token: string): Promise<void> {
    await this.#redis.zrem(key, token).catch(() => undefined);
    void this.#redis.publish(this.#names.limitChannel, name).catch(() => undefined);
  }

  async #acquire(model: string, key: string, token: string, limit: number, signal?: AbortSignal): Promise<void> {
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      if ((await this.#redis.mcpSemAcquire(key, token, this.#leaseMs, limit)) === 1) return;
      await this.#wait([model], signal);
    }
  }

  /** Waits for a release message about one of `names`, the retry timer, or the signal. */
  #wait(names: readonly string[], signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        for (const n of names) {
          const set = this.#wakers.get(n);
          set?.delete(done);
          if (set?.size === 0) this.#wakers.delete(n);
        }
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, this.#retryMs);
      for (const n of names) {
        let set = this.#wakers.get(n);
        if (!set) this.#wakers.set(n, (set = new Set()));
        set.add(done);
      }
      if (signal?.aborted) done();
      else signal?.addEventListener("abort", done, { once: true });
    });
  }
}

/** The limits a process shares with the fleet: what an orchestrator takes to count its model calls in Redis. */
export type FleetLimitOptions = Pick<OrchestratorOptions, "gate" | "rateLimiter" | "deploymentSlots">;

/**
 * Models' `concurrency` and `limits:` and deployments' `maxConcurrency` held in Redis, for an
 * orchestrator of a worker or of the server (`mcp serve --queue`): the same keys, so their
 * calls count together.
 */
export function fleetLimits(redis: Redis, subscriber: Redis, names: QueueNames): { limiter: FleetLimiter; options: FleetLimitOptions } {
  const limiter = new FleetLimiter(redis, subscriber, names);
  return {
    limiter,
    options: {
      gate: (c) => limiter.gate(c.name, c.concurrency),
      rateLimiter: new RedisRateLimiter(redis, { prefix: names.prefix }),
      deploymentSlots: limiter,
    },
  };
}
