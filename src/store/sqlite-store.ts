/**
 * SqliteStore: the Store in one embedded SQLite file (better-sqlite3), `.mcp/state.db` next
 * to mcp.yaml by default.
 *
 * Why these settings:
 * - WAL journal: readers never block the writer, and a committed transaction survives the
 *   process being killed (SIGKILL) at any point after `commit` returned.
 * - busy_timeout: two `mcp` processes may write at once (two runs, a run and `mcp serve`);
 *   a writer that finds the file locked waits for the other instead of failing.
 * - Every multi-row write is one `BEGIN IMMEDIATE` transaction: it takes the write lock up
 *   front, so two writers cannot both read, then deadlock trying to upgrade.
 * - Versioned migrations in `schema_version` (sqlite-schema.ts): a file written by an older
 *   mcp is upgraded in place; a file from a newer mcp is refused rather than misread.
 *
 * better-sqlite3 is synchronous: a method's promise resolves after the data is committed.
 * Finished steps (putStep) are the exception, for speed: they are written together, one
 * transaction per event-loop turn (sqlite-steps.ts, which also keeps each step's record
 * out of the report, where its row has it). Every other method writes the pending steps
 * first, so reads see them and the order of writes is kept.
 *
 * Cache entries read or written are also kept in memory, in a bounded LRU that drops what it
 * holds when another process commits to the file (cache-front.ts says how and why).
 */
import { mkdirSync, existsSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import type BetterSqlite3 from "better-sqlite3";
import type { ContextTurn } from "../events/ports.js";
import type { StepRecord } from "../events/report.js";
import { McpError } from "../util/errors.js";
import { CacheFront, type CacheFrontLimits, type CacheRow } from "./cache-front.js";
import { migrate } from "./sqlite-schema.js";
import { SqliteSteps } from "./sqlite-steps.js";
import type { CacheEntry, ConversationState, ListRunsOptions, RunEnd, RunStart, Store, StoredEvent, StoredRun, StoredTurn } from "./store.js";

type Database = BetterSqlite3.Database;

export interface SqliteStoreOptions {
  /** How long a writer waits for another process's lock, in ms. @default 10000 */
  busyTimeoutMs?: number;
  /**
   * The in-memory front of the cache table; false: every read goes to the file.
   * @default { entries: 5000, bytes: 16 MiB, checkMs: 100 }
   */
  cacheFront?: false | CacheFrontLimits;
}

interface RunRow {
  id: string;
  pipeline: string;
  file: string;
  hash: string;
  status: string;
  input: string | null;
  started_at: number;
  updated_at: number;
  finished_at: number | null;
  duration_ms: number | null;
  conversation_id: string | null;
  resumed_from: string | null;
  attempts: number;
  pid: number | null;
  host: string | null;
  output: string | null;
  error: string | null;
  totals: string | null;
  report: string | null;
}

interface TurnRow {
  seq: number;
  role: string;
  content: string;
  run_id: string | null;
  step_id: string | null;
  ts: number;
}

const json = (v: unknown): string | null => (v === undefined ? null : JSON.stringify(v));
const parse = <T>(s: string | null): T | undefined => (s === null ? undefined : (JSON.parse(s) as T));

let driver: typeof BetterSqlite3 | undefined;
function loadDriver(): typeof BetterSqlite3 {
  // Loaded on first use: a native module, not needed by commands that keep no state.
  driver ??= createRequire(import.meta.url)("better-sqlite3") as typeof BetterSqlite3;
  return driver;
}

export class SqliteStore implements Store {
  readonly kind = "sqlite";
  readonly location: string;
  readonly #db: Database;
  readonly #statements = new Map<string, BetterSqlite3.Statement>();
  #closed = false;
  /** The journal's finished steps: batched writes, and the report's references to them. */
  readonly #steps: SqliteSteps;
  /** The in-memory front of the cache table; undefined when `cacheFront: false`. */
  readonly #front: CacheFront | undefined;

  /** Opens (creating the file and its folder when missing) and migrates the database at `path`. */
  constructor(path: string, options: SqliteStoreOptions = {}) {
    this.location = path;
    if (path !== ":memory:") ensureFolder(dirname(path));
    const Driver = loadDriver();
    this.#db = new Driver(path, { timeout: options.busyTimeoutMs ?? 10_000 });
    this.#db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 10_000}`);
    walMode(this.#db, options.busyTimeoutMs ?? 10_000);
    // NORMAL in WAL mode: durable across process crashes; only an OS crash may lose the last commits.
    this.#db.pragma("synchronous = NORMAL");
    migrate(this.#db, this.location);
    this.#steps = new SqliteSteps(this.#db, (sql) => this.#prepare(sql));
    const f = options.cacheFront;
    this.#front = f === false ? undefined : new CacheFront(f ?? {}, () => this.#prepare("PRAGMA data_version").pluck().get());
  }

  /** Current schema version of the file. */
  get schemaVersion(): number {
    return (this.#prepare("SELECT MAX(version) AS v FROM schema_version").get() as { v: number | null }).v ?? 0;
  }

  /** A prepared statement, prepared once per SQL text (preparing costs more than running). */
  #prepare(sql: string): BetterSqlite3.Statement {
    let st = this.#statements.get(sql);
    if (!st) this.#statements.set(sql, (st = this.#db.prepare(sql)));
    return st;
  }

  #write<T>(fn: () => T): T {
    if (this.#closed) throw new McpError("STORE_CLOSED", `the store ${this.location} is closed`);
    this.#steps.flush();
    return this.#db.transaction(fn).immediate();
  }

  async runStarted(run: RunStart): Promise<void> {
    const now = Date.now();
    this.#write(() => {
      this.#prepare(
        `INSERT INTO runs (id, pipeline, file, hash, status, input, started_at, updated_at, conversation_id, resumed_from, attempts, pid, host)
           VALUES (@id, @pipeline, @file, @hash, @status, @input, @startedAt, @now, @conversationId, @resumedFrom, 1, @pid, @host)
           ON CONFLICT (id) DO UPDATE SET
             status = 'running', hash = excluded.hash, file = excluded.file, updated_at = excluded.updated_at,
             finished_at = NULL, duration_ms = NULL, error = NULL, output = NULL, report = NULL,
             resumed_from = COALESCE(excluded.resumed_from, resumed_from), attempts = attempts + 1,
             pid = excluded.pid, host = excluded.host`,
      ).run({
        id: run.id,
        pipeline: run.pipeline,
        file: run.file,
        hash: run.hash,
        status: run.status ?? "running",
        input: json(run.input),
        startedAt: run.startedAt,
        now,
        conversationId: run.conversationId ?? null,
        resumedFrom: run.resumedFrom ?? null,
        pid: run.pid ?? null,
        host: run.host ?? null,
      });
    });
  }

  async runFinished(id: string, end: RunEnd): Promise<void> {
    this.#write(() => {
      const output = json(end.output);
      this.#prepare(
        `UPDATE runs SET status = @status, finished_at = @finishedAt, duration_ms = @durationMs, updated_at = @finishedAt,
             output = @output, error = @error, totals = @totals, report = @report WHERE id = @id`,
      ).run({
        id,
        status: end.status,
        finishedAt: end.finishedAt,
        durationMs: end.durationMs,
        output,
        error: json(end.error),
        totals: json(end.totals),
        // After #write flushed the pending steps: every step journalled is committed.
        report: this.#steps.reportJson(id, end.report, end.report.output === end.output && output !== null ? output : undefined),
      });
    });
  }

  async getRun(id: string): Promise<StoredRun | undefined> {
    this.#steps.flush();
    const row = this.#prepare("SELECT * FROM runs WHERE id = ?").get(id) as RunRow | undefined;
    return row ? this.#toRun(row) : undefined;
  }

  async listRuns(opts: ListRunsOptions = {}): Promise<StoredRun[]> {
    const limit = opts.limit ?? 20;
    this.#steps.flush();
    const rows = (
      opts.pipeline === undefined
        ? this.#prepare("SELECT * FROM runs ORDER BY started_at DESC, id DESC LIMIT ?").all(limit)
        : this.#prepare("SELECT * FROM runs WHERE pipeline = ? ORDER BY started_at DESC, id DESC LIMIT ?").all(opts.pipeline, limit)
    ) as RunRow[];
    return rows.map((r) => this.#toRun(r));
  }

  /** Resolves once the step is committed, with the other steps of this event-loop turn. */
  putStep(runId: string, stepId: string, record: StepRecord): Promise<void> {
    if (this.#closed) return Promise.reject(new McpError("STORE_CLOSED", `the store ${this.location} is closed`));
    return this.#steps.put(runId, stepId, record);
  }

  async getSteps(runId: string): Promise<Record<string, StepRecord>> {
    this.#steps.flush();
    const rows = this.#prepare("SELECT step_id, record FROM steps WHERE run_id = ? ORDER BY finished_at, step_id").all(runId) as { step_id: string; record: string }[];
    return Object.fromEntries(rows.map((r) => [r.step_id, JSON.parse(r.record) as StepRecord]));
  }

  async appendEvents(runId: string, events: readonly StoredEvent[]): Promise<void> {
    if (events.length === 0) return;
    this.#write(() => {
      const insert = this.#prepare("INSERT OR IGNORE INTO events (run_id, seq, event) VALUES (?, ?, ?)");
      for (const e of events) insert.run(runId, e.seq, JSON.stringify(e.event));
    });
  }

  async listEvents(runId: string, afterSeq = 0): Promise<StoredEvent[]> {
    this.#steps.flush();
    const rows = this.#prepare("SELECT seq, event FROM events WHERE run_id = ? AND seq > ? ORDER BY seq").all(runId, afterSeq) as { seq: number; event: string }[];
    return rows.map((r) => ({ seq: r.seq, event: JSON.parse(r.event) as StoredEvent["event"] }));
  }

  async appendTurns(conversationId: string, turns: ContextTurn[], opts: { maxTurns?: number } = {}): Promise<StoredTurn[]> {
    return this.#write(() => {
      const now = Date.now();
      this.#prepare("INSERT INTO conversations (id, version, updated_at) VALUES (?, 0, ?) ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at").run(conversationId, now);
      const insert = this.#prepare("INSERT INTO turns (conversation_id, role, content, run_id, step_id, ts) VALUES (?, ?, ?, ?, ?, ?)");
      const added: StoredTurn[] = [];
      for (const t of turns) {
        const ts = t.ts ?? now;
        const info = insert.run(conversationId, t.role, JSON.stringify(t.content ?? null), t.runId ?? null, t.stepId ?? null, ts);
        added.push({ ...t, seq: Number(info.lastInsertRowid), ts });
      }
      if (opts.maxTurns !== undefined) {
        this.#db
          .prepare(
            `DELETE FROM turns WHERE conversation_id = ? AND seq NOT IN
               (SELECT seq FROM turns WHERE conversation_id = ? ORDER BY seq DESC LIMIT ?)`,
          )
          .run(conversationId, conversationId, opts.maxTurns);
      }
      return added;
    });
  }

  async listTurns(conversationId: string): Promise<StoredTurn[]> {
    const rows = this.#prepare("SELECT seq, role, content, run_id, step_id, ts FROM turns WHERE conversation_id = ? ORDER BY seq").all(conversationId) as TurnRow[];
    return rows.map((r) => ({
      seq: r.seq,
      role: r.role,
      content: JSON.parse(r.content) as unknown,
      ...(r.run_id !== null ? { runId: r.run_id } : {}),
      ...(r.step_id !== null ? { stepId: r.step_id } : {}),
      ts: r.ts,
    }));
  }

  async getConversation(conversationId: string): Promise<ConversationState> {
    const row = this.#prepare("SELECT summary, version FROM conversations WHERE id = ?").get(conversationId) as { summary: string | null; version: number } | undefined;
    if (!row) return { version: 0 };
    return { ...(row.summary !== null ? { summary: row.summary } : {}), version: row.version };
  }

  async compactTurns(conversationId: string, opts: { summary: string; throughSeq: number; expectedVersion: number }): Promise<boolean> {
    return this.#write(() => {
      const now = Date.now();
      const row = this.#prepare("SELECT version FROM conversations WHERE id = ?").get(conversationId) as { version: number } | undefined;
      if ((row?.version ?? 0) !== opts.expectedVersion) return false;
      this.#db
        .prepare(
          "INSERT INTO conversations (id, summary, version, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET summary = excluded.summary, version = excluded.version, updated_at = excluded.updated_at",
        )
        .run(conversationId, opts.summary, opts.expectedVersion + 1, now);
      this.#prepare("DELETE FROM turns WHERE conversation_id = ? AND seq <= ?").run(conversationId, opts.throughSeq);
      return true;
    });
  }

  async clearConversation(conversationId: string): Promise<void> {
    this.#write(() => {
      this.#prepare("DELETE FROM turns WHERE conversation_id = ?").run(conversationId);
      this.#prepare("DELETE FROM conversations WHERE id = ?").run(conversationId);
    });
  }

  async cacheGet(key: string, now = Date.now()): Promise<CacheEntry | undefined> {
    const row = this.#cacheRow(key);
    if (!row || (row.expires_at !== null && row.expires_at <= now)) return undefined;
    return { value: JSON.parse(row.value) as unknown, createdAt: row.created_at, ...(row.expires_at !== null ? { expiresAt: row.expires_at } : {}) };
  }

  /** The row of a cache key: from the front when it holds it (and the file has not changed since), else from the file. */
  #cacheRow(key: string): CacheRow | undefined {
    const held = this.#front?.get(key);
    if (held) return held;
    const row = this.#prepare("SELECT value, created_at, expires_at FROM cache WHERE key = ?").get(key) as CacheRow | undefined;
    if (row) this.#front?.remember(key, row);
    return row;
  }

  async cacheSet(key: string, entry: CacheEntry): Promise<void> {
    const row: CacheRow = { value: JSON.stringify(entry.value ?? null), created_at: entry.createdAt, expires_at: entry.expiresAt ?? null };
    this.#write(() => {
      this.#prepare(
        "INSERT INTO cache (key, value, created_at, expires_at) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, created_at = excluded.created_at, expires_at = excluded.expires_at",
      ).run(key, row.value, row.created_at, row.expires_at);
    });
    this.#front?.remember(key, row);
  }

  async cacheDeleteExpired(now = Date.now()): Promise<number> {
    this.#front?.dropExpired(now);
    return this.#write(() => this.#prepare("DELETE FROM cache WHERE expires_at IS NOT NULL AND expires_at <= ?").run(now).changes);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#steps.flush();
    this.#closed = true;
    this.#front?.clear();
    this.#db.close();
  }

  #toRun(r: RunRow): StoredRun {
    const run = toRun(r);
    if (run.report) run.report = this.#steps.withRecords(r.id, run.report);
    return run;
  }
}

function toRun(r: RunRow): StoredRun {
  const opt = <K extends string, V>(k: K, v: V | null | undefined): { [P in K]?: V } => (v === null || v === undefined ? {} : ({ [k]: v } as { [P in K]?: V }));
  return {
    id: r.id,
    pipeline: r.pipeline,
    file: r.file,
    hash: r.hash,
    status: r.status as StoredRun["status"],
    input: parse(r.input),
    startedAt: r.started_at,
    updatedAt: r.updated_at,
    ...opt("finishedAt", r.finished_at),
    ...opt("durationMs", r.duration_ms),
    ...opt("conversationId", r.conversation_id),
    ...opt("resumedFrom", r.resumed_from),
    attempts: r.attempts,
    ...opt("pid", r.pid),
    ...opt("host", r.host),
    ...opt("output", parse<unknown>(r.output)),
    ...opt("error", parse<StoredRun["error"]>(r.error)),
    ...opt("totals", parse<StoredRun["totals"]>(r.totals)),
    ...opt("report", parse<StoredRun["report"]>(r.report)),
  };
}

/**
 * Puts the file in WAL mode. Switching a new file takes an exclusive lock, for which SQLite
 * does not call the busy handler: two processes opening a new file at once (two `mcp run`
 * in a new project) may get SQLITE_BUSY. Retried until `timeoutMs`, as the busy handler would.
 */
function walMode(db: Database, timeoutMs: number): void {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      db.pragma("journal_mode = WAL");
      return;
    } catch (e) {
      if ((e as { code?: unknown }).code !== "SQLITE_BUSY" || Date.now() >= deadline) throw e;
      // A synchronous wait, as the busy handler's: the constructor cannot await.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
}

/** Creates the state folder; a new `.mcp/` gets a .gitignore so its files are never committed. */
function ensureFolder(dir: string): void {
  if (existsSync(dir)) return;
  mkdirSync(dir, { recursive: true });
  if (dir.endsWith(".mcp")) {
    try {
      writeFileSync(join(dir, ".gitignore"), "# Created by mcp: run journal, conversation history and cache.\n*\n", { flag: "wx" });
    } catch {
      // Another process made it first.
    }
  }
}
