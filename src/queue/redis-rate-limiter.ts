/**
 * The RateLimiter port (src/registry/rate-limiter.ts) kept in Redis, so a model's `limits:`
 * (requests and tokens per minute) hold across every worker of the fleet: 60 rpm means 60
 * calls a minute in the fleet, not per worker. Each limiter key is a sliding-window log in a
 * sorted set (`mcp:rate:{KEY}`: one member per counted call or settlement, scored by its
 * time on the Redis clock), checked and appended by one Lua script, like the in-process
 * MemoryRateLimiter's window. A call that would pass a limit waits until enough of the
 * window's oldest entries expire (the script says how long), and tries again.
 *
 * Callers of one process are served in order per key; across processes, whoever asks
 * first once there is room. Output tokens are counted when `settle` reports them.
 */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import type { RateLimits } from "../models/types.js";
import type { LimitName, LimitWait, RateLimiter, RatePermit } from "../registry/rate-limiter.js";
import { sleep } from "../util/sleep.js";

// KEYS: window zset. ARGV: member id, input tokens, window ms, rpm, tpm, inputTpm, outputTpm ('' = none).
// Members: "<id> <requests> <input> <output>". Returns {1} when counted, else {0, limit, waitMs}.
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local win = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - win)
local entries = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local list = {}
local req, inp, out = 0, 0, 0
for i = 1, #entries, 2 do
  local _, r, a, b = string.match(entries[i], '^(%S+) (%S+) (%S+) (%S+)$')
  local e = { t = tonumber(entries[i + 1]), r = tonumber(r), i = tonumber(a), o = tonumber(b) }
  list[#list + 1] = e
  req = req + e.r; inp = inp + e.i; out = out + e.o
end
local need = tonumber(ARGV[2])
local worstName, worstMs = nil, 0
local function check(name, maxArg, total, amount, used)
  if maxArg == '' then return end
  local max = tonumber(maxArg)
  local fits = math.min(amount, max)
  if total + fits <= max and (amount > 0 or total < max) then return end
  local freed, ms = 0, win
  for _, e in ipairs(list) do
    freed = freed + used(e)
    if total - freed + fits <= max and (amount > 0 or total - freed < max) then ms = e.t + win - now; break end
  end
  if ms < 1 then ms = 1 end
  if worstName == nil or ms > worstMs then worstName, worstMs = name, ms end
end
check('rpm', ARGV[4], req, 1, function(e) return e.r end)
check('tpm', ARGV[5], inp + out, need, function(e) return e.i + e.o end)
check('inputTpm', ARGV[6], inp, need, function(e) return e.i end)
check('outputTpm', ARGV[7], out, 0, function(e) return e.o end)
if worstName ~= nil then return {0, worstName, worstMs} end
redis.call('ZADD', KEYS[1], now, ARGV[1] .. ' 1 ' .. ARGV[2] .. ' 0')
redis.call('PEXPIRE', KEYS[1], win * 2)
return {1}`;

// KEYS: window zset. ARGV: member id, input correction, output tokens, window ms.
const SETTLE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1] .. ' 0 ' .. ARGV[2] .. ' ' .. ARGV[3])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]) * 2)
return 1`;

type Scripted = Redis & {
  mcpRateAcquire(key: string, id: string, input: string, windowMs: number, rpm: string, tpm: string, inputTpm: string, outputTpm: string): Promise<(number | string)[]>;
  mcpRateSettle(key: string, id: string, input: string, output: string, windowMs: number): Promise<number>;
};

export interface RedisRateLimiterOptions {
  /** Key prefix. @default "mcp:" */
  prefix?: string;
  /** Length of the sliding window the limits are per, in ms. @default 60000 (a minute) */
  windowMs?: number;
}

const opt = (n: number | undefined): string => (n === undefined ? "" : String(n));

export class RedisRateLimiter implements RateLimiter {
  readonly windowMs: number;
  readonly #redis: Scripted;
  readonly #prefix: string;
  /** The last caller in line per key in this process: the next one waits for it. */
  readonly #tails = new Map<string, Promise<unknown>>();

  constructor(redis: Redis, options: RedisRateLimiterOptions = {}) {
    const r = redis as Scripted;
    if (typeof r.mcpRateAcquire !== "function") {
      r.defineCommand("mcpRateAcquire", { numberOfKeys: 1, lua: ACQUIRE });
      r.defineCommand("mcpRateSettle", { numberOfKeys: 1, lua: SETTLE });
    }
    this.#redis = r;
    this.#prefix = options.prefix ?? "mcp:";
    this.windowMs = options.windowMs ?? 60_000;
    if (!(this.windowMs > 0)) throw new TypeError(`RedisRateLimiter: \`windowMs\` must be a positive number, received ${String(options.windowMs)}`);
  }

  acquire(key: string, limits: RateLimits, call: { inputTokens: number }, options: { signal?: AbortSignal; onWait?: (w: LimitWait) => void } = {}): Promise<RatePermit> {
    const tail = this.#tails.get(key) ?? Promise.resolve();
    const turn = tail.then(() => this.#admit(key, limits, Math.max(0, Math.round(call.inputTokens)), options));
    const next = turn.catch(() => undefined);
    this.#tails.set(key, next);
    void next.then(() => {
      if (this.#tails.get(key) === next) this.#tails.delete(key);
    });
    return turn;
  }

  async #admit(key: string, limits: RateLimits, inputTokens: number, options: { signal?: AbortSignal; onWait?: (w: LimitWait) => void }): Promise<RatePermit> {
    const zkey = `${this.#prefix}rate:{${key}}`;
    const id = randomBytes(6).toString("hex");
    for (;;) {
      options.signal?.throwIfAborted();
      const r = await this.#redis.mcpRateAcquire(zkey, id, String(inputTokens), this.windowMs, opt(limits.rpm), opt(limits.tpm), opt(limits.inputTpm), opt(limits.outputTpm));
      if (Number(r[0]) === 1) break;
      const ms = Math.max(1, Number(r[2]));
      options.onWait?.({ key, limit: String(r[1]) as LimitName, waitMs: ms });
      await sleep(ms, options.signal);
    }
    let settled = false;
    return {
      settle: async (usage) => {
        if (settled || !usage) return;
        settled = true;
        await this.#redis.mcpRateSettle(zkey, `${id}s`, String(Math.round(usage.inputTokens) - inputTokens), String(Math.round(usage.outputTokens)), this.windowMs).catch(() => undefined);
      },
    };
  }
}
