/**
 * RedisStore: the Store on Redis (ioredis), shared by every `mcp worker`, `mcp serve` and
 * `mcp run --queue` of a fleet. Selected with `store: redis://...` in mcp.yaml or
 * `MCP_STORE=redis://...`.
 *
 * Keys (prefix `mcp:` by default; the part in braces is a Redis Cluster hash tag, so all of
 * one run's keys, or one conversation's, live in one slot):
 *
 *   mcp:run:{ID}            hash   the run; every field a JSON value
 *   mcp:steps:{ID}          hash   step id -> StepRecord JSON (the journal)
 *   mcp:runs                zset   run ids by startedAt (listRuns)
 *   mcp:runs:p:NAME         zset   the same, per pipeline
 *   mcp:turns:{CONV}        zset   "seq:turn JSON" by seq
 *   mcp:conv:{CONV}         hash   summary, version
 *   mcp:turn-seq            string the global turn counter (seq is unique across conversations)
 *   mcp:cache:KEY           string CacheEntry JSON (PEXPIREAT when it expires in the future)
 *   mcp:cache-expiry        zset   cache keys by expiresAt (cacheDeleteExpired)
 *   mcp:events:{ID}         stream the run's events, stream id 0-SEQ (shared with src/queue's event log)
 *
 * Writes that touch several keys or read-then-write are Lua scripts (atomic in Redis). Reads
 * are plain commands. Nothing here imports the engine: the types come from the ports.
 */
import type { Redis } from "ioredis";
import type { ContextTurn } from "../events/ports.js";
import type { StepRecord } from "../events/report.js";
import { connectRedis, redact } from "./redis-connection.js";
import type { CacheEntry, ConversationState, ListRunsOptions, RunEnd, RunStart, Store, StoredEvent, StoredRun, StoredTurn } from "./store.js";

export interface RedisStoreOptions {
  /** Key prefix. @default "mcp:" */
  prefix?: string;
  /** Fail when Redis does not answer within this time at start. @default wait */
  connectTimeoutMs?: number;
}

// KEYS: run hash, runs zset, pipeline zset. ARGV: id, startedAt, n, n update pairs, create pairs.
const RUN_STARTED = `
local n = tonumber(ARGV[3])
if redis.call('EXISTS', KEYS[1]) == 1 then
  if n > 0 then redis.call('HSET', KEYS[1], unpack(ARGV, 4, 3 + 2 * n)) end
  redis.call('HDEL', KEYS[1], 'finishedAt', 'durationMs', 'error', 'output', 'report')
  redis.call('HINCRBY', KEYS[1], 'attempts', 1)
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV, 4 + 2 * n, #ARGV))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
return 1`;

// KEYS: run hash. ARGV: pairs to set; fields named in ARGV after '--' are deleted.
// (One HSET and one HDEL for all the fields: Redis counts each call inside a script.)
const RUN_FINISHED = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local i = 1
while i <= #ARGV and ARGV[i] ~= '--' do i = i + 2 end
if i > 1 then redis.call('HSET', KEYS[1], unpack(ARGV, 1, i - 1)) end
if i < #ARGV then redis.call('HDEL', KEYS[1], unpack(ARGV, i + 1, #ARGV)) end
return 1`;

// KEYS: steps hash, run hash. ARGV: step id, record JSON, now.
const PUT_STEP = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('HSET', KEYS[2], 'updatedAt', ARGV[3]) end
return 1`;

// KEYS: turns zset, conversation hash, seq counter. ARGV: maxTurns or '', turn JSONs.
const APPEND_TURNS = `
local out = {}
for i = 2, #ARGV do
  local seq = redis.call('INCR', KEYS[3])
  redis.call('ZADD', KEYS[1], seq, seq .. ':' .. ARGV[i])
  out[#out + 1] = seq
end
redis.call('HSETNX', KEYS[2], 'version', '0')
if ARGV[1] ~= '' then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[1]) + 1)) end
return out`;

// KEYS: turns zset, conversation hash. ARGV: summary, throughSeq, expectedVersion.
const COMPACT_TURNS = `
local v = tonumber(redis.call('HGET', KEYS[2], 'version') or '0')
if v ~= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[2], 'summary', ARGV[1], 'version', v + 1)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
return 1`;

// KEYS: events stream. ARGV: seq, event JSON pairs. An id not above the last one is skipped.
const APPEND_EVENTS = `
for i = 1, #ARGV, 2 do redis.pcall('XADD', KEYS[1], '0-' .. ARGV[i], 'e', ARGV[i + 1]) end
return 1`;

type Scripted = Redis & {
  mcpAppendEvents(...args: (string | number)[]): Promise<number>;
  mcpRunStarted(...args: (string | number)[]): Promise<number>;
  mcpRunFinished(...args: (string | number)[]): Promise<number>;
  mcpPutStep(...args: (string | number)[]): Promise<number>;
  mcpAppendTurns(...args: (string | number)[]): Promise<number[]>;
  mcpCompactTurns(...args: (string | number)[]): Promise<number>;
};

const j = (v: unknown): string => JSON.stringify(v ?? null);

export class RedisStore implements Store {
  readonly kind = "redis";
  readonly location: string;
  readonly #redis: Scripted;
  readonly #p: string;
  readonly #owned: boolean;
  #closed = false;

  /** Opens a store on `url` (a connection of its own), or on a given client (not closed by close()). */
  static async open(url: string, options: RedisStoreOptions = {}): Promise<RedisStore> {
    const client = await connectRedis(url, { name: "mcp-store", ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}) });
    return new RedisStore(client, { ...options, location: redact(url), owned: true });
  }

  constructor(client: Redis, options: RedisStoreOptions & { location?: string; owned?: boolean } = {}) {
    this.#p = options.prefix ?? "mcp:";
    this.#owned = options.owned ?? false;
    this.location = options.location ?? `redis://${client.options.host ?? "127.0.0.1"}:${client.options.port ?? 6379}`;
    const r = client as Scripted;
    if (typeof r.mcpRunStarted !== "function") {
      r.defineCommand("mcpRunStarted", { numberOfKeys: 3, lua: RUN_STARTED });
      r.defineCommand("mcpRunFinished", { numberOfKeys: 1, lua: RUN_FINISHED });
      r.defineCommand("mcpPutStep", { numberOfKeys: 2, lua: PUT_STEP });
      r.defineCommand("mcpAppendTurns", { numberOfKeys: 3, lua: APPEND_TURNS });
      r.defineCommand("mcpCompactTurns", { numberOfKeys: 2, lua: COMPACT_TURNS });
      r.defineCommand("mcpAppendEvents", { numberOfKeys: 1, lua: APPEND_EVENTS });
    }
    this.#redis = r;
  }

  /** The ioredis client (for the queue, which shares the connection settings). */
  get client(): Redis {
    return this.#redis;
  }

  /** The key of a run's hash; exported for tools that inspect the store. */
  runKey(id: string): string {
    return `${this.#p}run:{${id}}`;
  }
  stepsKey(id: string): string {
    return `${this.#p}steps:{${id}}`;
  }

  async runStarted(run: RunStart): Promise<void> {
    const now = Date.now();
    const update: (string | number)[] = ["status", j("running"), "hash", j(run.hash), "file", j(run.file), "updatedAt", j(now)];
    for (const k of ["resumedFrom", "pid", "host"] as const) if (run[k] !== undefined) update.push(k, j(run[k]));
    const create: (string | number)[] = [];
    const full: Record<string, unknown> = { ...run, status: run.status ?? "running", attempts: 1, updatedAt: now };
    for (const [k, v] of Object.entries(full)) if (v !== undefined) create.push(k, j(v));
    await this.#redis.mcpRunStarted(this.runKey(run.id), `${this.#p}runs`, `${this.#p}runs:p:${run.pipeline}`, run.id, run.startedAt, update.length / 2, ...update, ...create);
  }

  async runFinished(id: string, end: RunEnd): Promise<void> {
    const set: (string | number)[] = [];
    const del: string[] = [];
    const fields: Record<string, unknown> = { ...end, updatedAt: Date.now() };
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) set.push(k, j(v));
    for (const k of ["output", "error"] as const) if (end[k] === undefined) del.push(k);
    await this.#redis.mcpRunFinished(this.runKey(id), ...set, "--", ...del);
  }

  async getRun(id: string): Promise<StoredRun | undefined> {
    const h = await this.#redis.hgetall(this.runKey(id));
    return toRun(h);
  }

  async listRuns(opts: ListRunsOptions = {}): Promise<StoredRun[]> {
    const limit = opts.limit ?? 20;
    if (limit <= 0) return [];
    const key = opts.pipeline === undefined ? `${this.#p}runs` : `${this.#p}runs:p:${opts.pipeline}`;
    const ids = await this.#redis.zrevrange(key, 0, limit - 1);
    if (ids.length === 0) return [];
    const pipe = this.#redis.pipeline();
    for (const id of ids) pipe.hgetall(this.runKey(id));
    const res = (await pipe.exec()) ?? [];
    return res.map(([, h]) => toRun(h as Record<string, string>)).filter((r): r is StoredRun => !!r);
  }

  async putStep(runId: string, stepId: string, record: StepRecord): Promise<void> {
    await this.#redis.mcpPutStep(this.stepsKey(runId), this.runKey(runId), stepId, JSON.stringify(record), j(Date.now()));
  }

  async getSteps(runId: string): Promise<Record<string, StepRecord>> {
    const h = await this.#redis.hgetall(this.stepsKey(runId));
    const out: Record<string, StepRecord> = {};
    for (const [k, v] of Object.entries(h)) out[k] = JSON.parse(v) as StepRecord;
    return out;
  }

  /** The key of a run's event stream (the queue's event log appends to the same stream). */
  eventsKey(id: string): string {
    return `${this.#p}events:{${id}}`;
  }

  async appendEvents(runId: string, events: readonly StoredEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.#redis.mcpAppendEvents(this.eventsKey(runId), ...events.flatMap((e) => [e.seq, JSON.stringify(e.event)]));
  }

  async listEvents(runId: string, afterSeq = 0): Promise<StoredEvent[]> {
    const rows = await this.#redis.xrange(this.eventsKey(runId), `0-${afterSeq + 1}`, "+");
    return rows.map(([id, fields]) => ({ seq: Number(id.slice(id.indexOf("-") + 1)), event: JSON.parse(fields[1] ?? "null") as StoredEvent["event"] }));
  }

  async appendTurns(conversationId: string, turns: ContextTurn[], opts: { maxTurns?: number } = {}): Promise<StoredTurn[]> {
    const now = Date.now();
    const full = turns.map((t) => ({ ...t, ts: t.ts ?? now }));
    const seqs = await this.#redis.mcpAppendTurns(
      this.#turnsKey(conversationId),
      this.#convKey(conversationId),
      `${this.#p}turn-seq`,
      opts.maxTurns === undefined ? "" : String(opts.maxTurns),
      ...full.map((t) => JSON.stringify(t)),
    );
    return full.map((t, i) => ({ ...t, seq: Number(seqs[i]) }));
  }

  async listTurns(conversationId: string): Promise<StoredTurn[]> {
    const members = await this.#redis.zrange(this.#turnsKey(conversationId), 0, -1);
    return members.map((m) => {
      const at = m.indexOf(":");
      return { ...(JSON.parse(m.slice(at + 1)) as ContextTurn & { ts: number }), seq: Number(m.slice(0, at)) };
    });
  }

  async getConversation(conversationId: string): Promise<ConversationState> {
    const h = await this.#redis.hgetall(this.#convKey(conversationId));
    return { ...(h.summary !== undefined ? { summary: h.summary } : {}), version: Number(h.version ?? 0) };
  }

  async compactTurns(conversationId: string, opts: { summary: string; throughSeq: number; expectedVersion: number }): Promise<boolean> {
    const ok = await this.#redis.mcpCompactTurns(this.#turnsKey(conversationId), this.#convKey(conversationId), opts.summary, opts.throughSeq, opts.expectedVersion);
    return ok === 1;
  }

  async clearConversation(conversationId: string): Promise<void> {
    await this.#redis.del(this.#turnsKey(conversationId), this.#convKey(conversationId));
  }

  async cacheGet(key: string, now = Date.now()): Promise<CacheEntry | undefined> {
    const s = await this.#redis.get(`${this.#p}cache:${key}`);
    if (s === null) return undefined;
    const e = JSON.parse(s) as CacheEntry;
    if (e.expiresAt !== undefined && e.expiresAt <= now) return undefined;
    return e;
  }

  async cacheSet(key: string, entry: CacheEntry): Promise<void> {
    const k = `${this.#p}cache:${key}`;
    const value: CacheEntry = { value: entry.value ?? null, createdAt: entry.createdAt, ...(entry.expiresAt !== undefined ? { expiresAt: entry.expiresAt } : {}) };
    const m = this.#redis.multi().set(k, JSON.stringify(value));
    if (entry.expiresAt !== undefined) {
      m.zadd(`${this.#p}cache-expiry`, entry.expiresAt, key);
      // Redis drops it by itself once it has expired for real (tests pass their own `now`).
      if (entry.expiresAt > Date.now()) m.pexpireat(k, entry.expiresAt);
    } else {
      m.zrem(`${this.#p}cache-expiry`, key);
    }
    await m.exec();
  }

  async cacheDeleteExpired(now = Date.now()): Promise<number> {
    const zkey = `${this.#p}cache-expiry`;
    const keys = await this.#redis.zrangebyscore(zkey, "-inf", now);
    if (keys.length === 0) return 0;
    await this.#redis
      .multi()
      .del(...keys.map((k) => `${this.#p}cache:${k}`))
      .zrem(zkey, ...keys)
      .exec();
    return keys.length;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#owned) await this.#redis.quit().catch(() => this.#redis.disconnect());
  }

  #turnsKey(c: string): string {
    return `${this.#p}turns:{${c}}`;
  }
  #convKey(c: string): string {
    return `${this.#p}conv:{${c}}`;
  }
}

function toRun(h: Record<string, string>): StoredRun | undefined {
  if (!h || h.id === undefined) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(h)) out[k] = JSON.parse(v) as unknown;
  return out as unknown as StoredRun;
}
