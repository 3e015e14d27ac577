/**
 * A queued run's pipeline `budget` held across the fleet: the run's job and its forEach
 * chunks (on any workers) count what they spent and reserve what their calls in flight may
 * spend in one Redis hash per run (`mcp:budget:{RUN}`), checked and updated atomically by a
 * Lua script, so `maxCost: 1` means one dollar for the run, not one per worker.
 *
 * A reservation carries a lease: one left by a worker that died (SIGKILL) stops counting
 * after `leaseMs`, so a run taken over by another worker is not starved by it. What was
 * spent stays (a run taken over goes on with the budget its first worker left).
 */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import type { BudgetAmount, BudgetLedger } from "../events/ports.js";

// KEYS: budget hash. ARGV: id, cost, tokens, lease ms, maxCost ('' = none), maxTokens ('' = none), ttl ms.
// Fields: spentCost, spentTokens, and r:<id> = "cost tokens expiry" per reservation.
// Returns {1} when reserved, else {0, over, spentCost, spentTokens}.
const RESERVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local all = redis.call('HGETALL', KEYS[1])
local spentCost, spentTokens, resCost, resTokens = 0, 0, 0, 0
for i = 1, #all, 2 do
  local f, v = all[i], all[i + 1]
  if f == 'spentCost' then spentCost = tonumber(v)
  elseif f == 'spentTokens' then spentTokens = tonumber(v)
  elseif string.sub(f, 1, 2) == 'r:' then
    local c, k, e = string.match(v, '^(%S+) (%S+) (%S+)$')
    if tonumber(e) <= now then redis.call('HDEL', KEYS[1], f)
    else resCost = resCost + tonumber(c); resTokens = resTokens + tonumber(k) end
  end
end
local cost, tokens = tonumber(ARGV[2]), tonumber(ARGV[3])
if ARGV[5] ~= '' and spentCost + resCost + cost > tonumber(ARGV[5]) then return {0, 'cost', tostring(spentCost), tostring(spentTokens)} end
if ARGV[6] ~= '' and spentTokens + resTokens + tokens > tonumber(ARGV[6]) then return {0, 'tokens', tostring(spentCost), tostring(spentTokens)} end
redis.call('HSET', KEYS[1], 'r:' .. ARGV[1], ARGV[2] .. ' ' .. ARGV[3] .. ' ' .. tostring(now + tonumber(ARGV[4])))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[7]))
return {1}`;

// KEYS: budget hash. ARGV: cost, tokens, ttl ms.
const SPEND = `
redis.call('HINCRBYFLOAT', KEYS[1], 'spentCost', ARGV[1])
redis.call('HINCRBY', KEYS[1], 'spentTokens', ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1`;

type Scripted = Redis & {
  mcpBudgetReserve(key: string, id: string, cost: string, tokens: string, leaseMs: number, maxCost: string, maxTokens: string, ttlMs: number): Promise<(number | string)[]>;
  mcpBudgetSpend(key: string, cost: string, tokens: string, ttlMs: number): Promise<number>;
};

export interface RedisBudgetLedgerOptions {
  /** A reservation not released after this long (its worker died) stops counting. @default 600000 */
  leaseMs?: number;
  /** How long the run's budget is kept after its last change. @default 7 days */
  ttlMs?: number;
}

export class RedisBudgetLedger implements BudgetLedger {
  readonly #redis: Scripted;
  readonly #key: string;
  readonly #leaseMs: number;
  readonly #ttlMs: number;
  #last: Promise<unknown> = Promise.resolve();

  constructor(redis: Redis, key: string, options: RedisBudgetLedgerOptions = {}) {
    const r = redis as Scripted;
    if (typeof r.mcpBudgetReserve !== "function") {
      r.defineCommand("mcpBudgetReserve", { numberOfKeys: 1, lua: RESERVE });
      r.defineCommand("mcpBudgetSpend", { numberOfKeys: 1, lua: SPEND });
    }
    this.#redis = r;
    this.#key = key;
    this.#leaseMs = options.leaseMs ?? 600_000;
    this.#ttlMs = options.ttlMs ?? 7 * 24 * 3600 * 1000;
  }

  async reserve(need: BudgetAmount, limits: { maxCost?: number; maxTokens?: number }): Promise<{ ok: true; id: string } | { ok: false; over: "cost" | "tokens"; spent: BudgetAmount }> {
    const id = randomBytes(8).toString("hex");
    const r = await this.#redis.mcpBudgetReserve(
      this.#key,
      id,
      String(need.cost),
      String(need.tokens),
      this.#leaseMs,
      limits.maxCost === undefined ? "" : String(limits.maxCost),
      limits.maxTokens === undefined ? "" : String(limits.maxTokens),
      this.#ttlMs,
    );
    if (Number(r[0]) === 1) return { ok: true, id };
    return { ok: false, over: r[1] === "cost" ? "cost" : "tokens", spent: { cost: Number(r[2]), tokens: Number(r[3]) } };
  }

  release(id: string): void {
    this.#track(this.#redis.hdel(this.#key, `r:${id}`));
  }

  spend(amount: BudgetAmount): void {
    if (amount.cost === 0 && amount.tokens === 0) return;
    this.#track(this.#redis.mcpBudgetSpend(this.#key, String(amount.cost), String(Math.round(amount.tokens)), this.#ttlMs));
  }

  /** What the run spent so far, fleet-wide. */
  async spent(): Promise<BudgetAmount> {
    const [cost, tokens] = await this.#redis.hmget(this.#key, "spentCost", "spentTokens");
    return { cost: Number(cost ?? 0), tokens: Number(tokens ?? 0) };
  }

  flush(): Promise<void> {
    return this.#last.then(() => undefined);
  }

  #track(p: Promise<unknown>): void {
    // One connection keeps the order; a failure (Redis away) only loses the count.
    this.#last = p.catch(() => undefined);
  }
}
