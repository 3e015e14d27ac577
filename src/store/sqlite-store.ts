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
 * Finished steps (putStep) are the exception, for speed: they are written together, in one
 * transaction per event-loop turn (a 0 ms step chain finishes hundreds of steps in one
 * turn, and a commit costs tens of microseconds), and each putStep's promise resolves when
 * its batch has committed. Every other method writes the pending steps first, so reads see
 * them and the order of writes is kept.
 *
 * A run's report holds every step's record, most of them already in the steps table: the
 * report column keeps, for a step whose record is the very object this store committed to
 * its row, a reference (0) to the row instead (schema version 3), and reads put the record
 * back. A chain of 1,000 steps writes 0.4 MB instead of 0.8 MB, and serializes each record
 * once.
 *
 * Cache entries read or written are also kept in memory (a bounded LRU, `cacheFront`), as
 * the JSON text the file holds: a SQLite read in WAL mode takes a read lock each time, which
 * costs more than the rest of a cache hit. The file stays the truth: an entry not in
 * memory is read from it (so entries written by another process are seen at once), expiry
 * is checked at each read, and when another process has committed anything to the file
 * (`PRAGMA data_version`, checked at most every `checkMs`) the memory is dropped, so an
 * entry it overwrote or deleted is not served for longer than that.
 */
import { mkdirSync, existsSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import type BetterSqlite3 from "better-sqlite3";
import type { ContextTurn } from "../events/ports.js";
import type { RunReport, StepRecord } from "../events/report.js";
import { McpError } from "../util/errors.js";
import { migrate } from "./sqlite-schema.js";
import type { CacheEntry, ConversationState, ListRunsOptions, RunEnd, RunStart, Store, StoredEvent, StoredRun, StoredTurn } from "./store.js";

type Database = BetterSqlite3.Database;

export interface SqliteStoreOptions {
  /** How long a writer waits for another process's lock, in ms. @default 10000 */
  busyTimeoutMs?: number;
  /**
   * The in-memory front of the cache table; false: every read goes to the file.
   * @default { entries: 5000, bytes: 16 MiB, checkMs: 100 }
   */
  cacheFront?: false | { entries?: number; bytes?: number; checkMs?: number };
}

/** A cache row as the file holds it. */
interface CacheRow {
  value: string;
  created_at: number;
  expires_at: number | null;
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

/** A finished step's row: [run_id, step_id, status, record, finished_at]. */
type StepRow = [runId: string, stepId: string, status: string, record: string, finishedAt: number];
/** Rows per multi-row INSERT of finished steps (5 bind parameters each). */
const STEP_ROWS = 32;
/** The JSON of a step of a stored report whose record is the one in its steps row (schema version 3): 0. */
const IN_STEPS_ROW = "0";

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
  /** Finished steps not written yet (putStep), their records, and the promise of their batch. */
  #steps: StepRow[] = [];
  #stepRecords: StepRecord[] = [];
  #batch: { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } | undefined;
  /**
   * The rows committed by this store, by the record they hold: a step of a run's report whose
   * record is one of these is written in the report as a reference to its row (runFinished).
   */
  readonly #committed = new WeakMap<StepRecord, StepRow>();
  /** The bind parameters of one multi-row insert of finished steps (reused). */
  readonly #stepArgs = new Array<unknown>(STEP_ROWS * 5);
  readonly #stepsTransaction: BetterSqlite3.Transaction<(rows: StepRow[]) => void>;
  /** The cache front: rows by key, least recently used first (Map order). */
  readonly #front = new Map<string, CacheRow>();
  readonly #frontLimits: { entries: number; bytes: number; checkMs: number } | undefined;
  #frontBytes = 0;
  /** `PRAGMA data_version` when last checked, and when (performance.now()). */
  #dataVersion: unknown;
  #checkedAt = -Infinity;

  /** Opens (creating the file and its folder when missing) and migrates the database at `path`. */
  constructor(path: string, options: SqliteStoreOptions = {}) {
    this.location = path;
    if (path !== ":memory:") ensureFolder(dirname(path));
    const Driver = loadDriver();
    this.#db = new Driver(path, { timeout: options.busyTimeoutMs ?? 10_000 });
    this.#db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 10_000}`);
    this.#db.pragma("journal_mode = WAL");
    // NORMAL in WAL mode: durable across process crashes; only an OS crash may lose the last commits.
    this.#db.pragma("synchronous = NORMAL");
    migrate(this.#db, this.location);
    this.#stepsTransaction = this.#db.transaction((rows: StepRow[]) => this.#insertSteps(rows));
    const f = options.cacheFront;
    this.#frontLimits = f === false ? undefined : { entries: f?.entries ?? 5000, bytes: f?.bytes ?? 16 * 1024 * 1024, checkMs: f?.checkMs ?? 100 };
    if (this.#frontLimits) {
      this.#dataVersion = this.#prepare("PRAGMA data_version").pluck().get();
      this.#checkedAt = performance.now();
    }
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
    this.#flushSteps();
    return this.#db.transaction(fn).immediate();
  }

  /**
   * Writes the pending finished steps in one transaction, and settles their batch's promise.
   * The rows go STEP_ROWS at a time in one INSERT: one statement run per row costs more than
   * the row itself.
   */
  #flushSteps(): void {
    const batch = this.#batch;
    if (!batch) return;
    const rows = this.#steps;
    const records = this.#stepRecords;
    this.#steps = [];
    this.#stepRecords = [];
    this.#batch = undefined;
    try {
      this.#stepsTransaction.immediate(rows);
      for (let i = 0; i < rows.length; i++) this.#committed.set(records[i]!, rows[i]!);
      batch.resolve();
    } catch (e) {
      batch.reject(e);
    }
  }

  /** Inserts (or replaces) finished steps' rows, and touches their runs, in one transaction. */
  #insertSteps(rows: StepRow[]): void {
    const upsert = " ON CONFLICT (run_id, step_id) DO UPDATE SET status = excluded.status, record = excluded.record, finished_at = excluded.finished_at";
    const insert = "INSERT INTO steps (run_id, step_id, status, record, finished_at) VALUES ";
    const one = this.#prepare(insert + "(?, ?, ?, ?, ?)" + upsert);
    const many = this.#prepare(insert + Array<string>(STEP_ROWS).fill("(?, ?, ?, ?, ?)").join(", ") + upsert);
    const touch = this.#prepare("UPDATE runs SET updated_at = ? WHERE id = ?");
    const args = this.#stepArgs;
    let i = 0;
    for (; i + STEP_ROWS <= rows.length; i += STEP_ROWS) {
      for (let j = 0; j < STEP_ROWS; j++) {
        const row = rows[i + j]!;
        const k = j * 5;
        args[k] = row[0];
        args[k + 1] = row[1];
        args[k + 2] = row[2];
        args[k + 3] = row[3];
        args[k + 4] = row[4];
      }
      many.run(args);
    }
    for (; i < rows.length; i++) one.run(rows[i]!);
    // Not kept alive by the reused array.
    args.fill(undefined);
    let run: string | undefined;
    for (const row of rows) if (row[0] !== run) touch.run(row[4], (run = row[0]));
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
        report: stringifyWith(end.report, (key, value) =>
          key === "steps" ? this.#stepsWithRowRefs(id, end.report.steps) : key === "output" && value === end.output && output !== null ? output : undefined,
        ),
      });
    });
  }

  /**
   * The JSON of a report's steps as the file keeps it: a step whose record this store
   * committed to the run's steps row (the same object: the run never changes a record once
   * journalled) is IN_STEPS_ROW, so a run's records are written once, not twice (a report
   * holds them all). #fromRowRefs puts them back.
   */
  #stepsWithRowRefs(runId: string, steps: Record<string, StepRecord>): string {
    return stringifyWith(steps, (stepId, record) => {
      const row = this.#committed.get(record as StepRecord);
      return row && row[0] === runId && row[1] === stepId ? IN_STEPS_ROW : undefined;
    });
  }

  /** A stored report with the records of its steps given as IN_STEPS_ROW read from their rows. */
  #fromRowRefs(runId: string, report: RunReport): RunReport {
    let rows: Map<string, string> | undefined;
    for (const stepId in report.steps) {
      if ((report.steps[stepId] as unknown) !== 0) continue;
      rows ??= new Map(this.#prepare("SELECT step_id, record FROM steps WHERE run_id = ? -- raw").raw().all(runId) as [string, string][]);
      const record = rows.get(stepId);
      // The row is never deleted, and replaced only while the run runs again (its report then is NULL).
      if (record === undefined) delete report.steps[stepId];
      else report.steps[stepId] = JSON.parse(record) as StepRecord;
    }
    return report;
  }

  async getRun(id: string): Promise<StoredRun | undefined> {
    this.#flushSteps();
    const row = this.#prepare("SELECT * FROM runs WHERE id = ?").get(id) as RunRow | undefined;
    return row ? this.#toRun(row) : undefined;
  }

  async listRuns(opts: ListRunsOptions = {}): Promise<StoredRun[]> {
    const limit = opts.limit ?? 20;
    this.#flushSteps();
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
    // Serialized now: the row is the record as the step finished with it.
    this.#steps.push([runId, stepId, record.status, JSON.stringify(record), Date.now()]);
    this.#stepRecords.push(record);
    if (!this.#batch) {
      let resolve!: () => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.#batch = { promise, resolve, reject };
      setImmediate(() => this.#flushSteps());
    }
    return this.#batch.promise;
  }

  async getSteps(runId: string): Promise<Record<string, StepRecord>> {
    this.#flushSteps();
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
    this.#flushSteps();
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
    const limits = this.#frontLimits;
    if (!limits) return this.#readCacheRow(key);
    const t = performance.now();
    if (t - this.#checkedAt >= limits.checkMs) {
      this.#checkedAt = t;
      const v = this.#prepare("PRAGMA data_version").pluck().get();
      if (v !== this.#dataVersion) {
        // Another connection committed: what the front holds may be overwritten or deleted.
        this.#dataVersion = v;
        this.#dropFront();
      }
    }
    let row = this.#front.get(key);
    if (row) {
      // Most recently used last.
      this.#front.delete(key);
      this.#front.set(key, row);
      return row;
    }
    row = this.#readCacheRow(key);
    if (row) this.#remember(key, row);
    return row;
  }

  #readCacheRow(key: string): CacheRow | undefined {
    return this.#prepare("SELECT value, created_at, expires_at FROM cache WHERE key = ?").get(key) as CacheRow | undefined;
  }

  #remember(key: string, row: CacheRow): void {
    const limits = this.#frontLimits;
    if (!limits) return;
    const old = this.#front.get(key);
    if (old) {
      this.#front.delete(key);
      this.#frontBytes -= old.value.length;
    }
    // An entry larger than a sixteenth of the front is read from the file each time.
    if (row.value.length > limits.bytes / 16) return;
    this.#front.set(key, row);
    this.#frontBytes += row.value.length;
    for (const [k, r] of this.#front) {
      if (this.#front.size <= limits.entries && this.#frontBytes <= limits.bytes) break;
      this.#front.delete(k);
      this.#frontBytes -= r.value.length;
    }
  }

  #dropFront(): void {
    this.#front.clear();
    this.#frontBytes = 0;
  }

  async cacheSet(key: string, entry: CacheEntry): Promise<void> {
    const row: CacheRow = { value: JSON.stringify(entry.value ?? null), created_at: entry.createdAt, expires_at: entry.expiresAt ?? null };
    this.#write(() => {
      this.#prepare(
        "INSERT INTO cache (key, value, created_at, expires_at) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, created_at = excluded.created_at, expires_at = excluded.expires_at",
      ).run(key, row.value, row.created_at, row.expires_at);
    });
    this.#remember(key, row);
  }

  async cacheDeleteExpired(now = Date.now()): Promise<number> {
    for (const [k, r] of this.#front) {
      if (r.expires_at !== null && r.expires_at <= now) {
        this.#front.delete(k);
        this.#frontBytes -= r.value.length;
      }
    }
    return this.#write(() => this.#prepare("DELETE FROM cache WHERE expires_at IS NOT NULL AND expires_at <= ?").run(now).changes);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#flushSteps();
    this.#closed = true;
    this.#dropFront();
    this.#db.close();
  }

  #toRun(r: RunRow): StoredRun {
    const run = toRun(r);
    if (run.report) run.report = this.#fromRowRefs(r.id, run.report);
    return run;
  }
}

/**
 * JSON.stringify(o) for a plain object, except that `raw(key, value)` may give the JSON text
 * of a value (made already, or to be written otherwise): the keys in the same order, the
 * other values serialized as JSON.stringify does (a value it leaves out is left out).
 */
function stringifyWith(o: object, raw: (key: string, value: unknown) => string | undefined): string {
  let out = "";
  for (const key of Object.keys(o)) {
    const value = (o as Record<string, unknown>)[key];
    const v = value === undefined ? undefined : (raw(key, value) ?? (JSON.stringify(value) as string | undefined));
    if (v !== undefined) out += `${out ? "," : "{"}${JSON.stringify(key)}:${v}`;
  }
  return out ? `${out}}` : "{}";
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
