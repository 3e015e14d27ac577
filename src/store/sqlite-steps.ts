/**
 * The journal's finished steps in the SQLite file, SqliteStore's part that is about them.
 *
 * - Writes: a step's row is queued when it finishes and written with the others of its
 *   event-loop turn, in one transaction (a 0 ms step chain finishes hundreds of steps in one
 *   turn, and a commit costs tens of microseconds), STEP_ROWS rows per INSERT (running a
 *   statement once per row costs more than the row itself). Each queued step's promise
 *   resolves when its batch has committed; the run holds its events back until then.
 * - The report: a run's report holds every step's record, most of them already in a steps
 *   row. The runs.report column keeps, for a step whose record is the very object committed
 *   to its row (the run never changes a record once journalled), 0 instead of the record
 *   (schema version 3), and reads put the record back: a chain of 1,000 steps writes 0.4 MB
 *   instead of 0.8 MB, and serializes each record once.
 */
import type BetterSqlite3 from "better-sqlite3";
import type { RunReport, StepRecord } from "../events/report.js";

/** A finished step's row: [run_id, step_id, status, record, finished_at]. */
type StepRow = [runId: string, stepId: string, status: string, record: string, finishedAt: number];

/** Rows per multi-row INSERT (5 bind parameters each). */
const STEP_ROWS = 32;
/** The JSON of a step of a stored report whose record is the one in its steps row. */
const IN_STEPS_ROW = "0";

const UPSERT = " ON CONFLICT (run_id, step_id) DO UPDATE SET status = excluded.status, record = excluded.record, finished_at = excluded.finished_at";
const INSERT = "INSERT INTO steps (run_id, step_id, status, record, finished_at) VALUES ";

export class SqliteSteps {
  readonly #prepare: (sql: string) => BetterSqlite3.Statement;
  readonly #transaction: BetterSqlite3.Transaction<(rows: StepRow[]) => void>;
  /** Finished steps not written yet, their records, and the promise of their batch. */
  #rows: StepRow[] = [];
  #records: StepRecord[] = [];
  #batch: { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } | undefined;
  /** The rows committed (their record's text dropped), by the record they hold: reportJson refers to them. */
  readonly #committed = new WeakMap<StepRecord, StepRow>();
  /** The bind parameters of one multi-row INSERT (reused). */
  readonly #args = new Array<unknown>(STEP_ROWS * 5);

  /** `prepare`: the store's prepared statements, prepared once per SQL text. */
  constructor(db: BetterSqlite3.Database, prepare: (sql: string) => BetterSqlite3.Statement) {
    this.#prepare = prepare;
    this.#transaction = db.transaction((rows: StepRow[]) => this.#insert(rows));
  }

  /** Queues a finished step; resolves once it is committed, with the others of this event-loop turn. */
  put(runId: string, stepId: string, record: StepRecord): Promise<void> {
    // Serialized now: the row is the record as the step finished with it.
    this.#rows.push([runId, stepId, record.status, JSON.stringify(record), Date.now()]);
    this.#records.push(record);
    if (!this.#batch) {
      let resolve!: () => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.#batch = { promise, resolve, reject };
      setImmediate(() => this.flush());
    }
    return this.#batch.promise;
  }

  /** Writes the queued steps in one transaction, and settles their batch's promise. */
  flush(): void {
    const batch = this.#batch;
    if (!batch) return;
    const rows = this.#rows;
    const records = this.#records;
    this.#rows = [];
    this.#records = [];
    this.#batch = undefined;
    try {
      this.#transaction.immediate(rows);
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!;
        // In the file now: the text is not kept alive as long as the record is.
        row[3] = "";
        this.#committed.set(records[i]!, row);
      }
      batch.resolve();
    } catch (e) {
      batch.reject(e);
    }
  }

  /** Inserts (or replaces) the rows, and touches their runs' updated_at. */
  #insert(rows: StepRow[]): void {
    const many = this.#prepare(INSERT + Array<string>(STEP_ROWS).fill("(?, ?, ?, ?, ?)").join(", ") + UPSERT);
    const args = this.#args;
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
    // Not kept alive by the reused array.
    args.fill(undefined);
    if (i < rows.length) {
      const one = this.#prepare(INSERT + "(?, ?, ?, ?, ?)" + UPSERT);
      for (; i < rows.length; i++) one.run(rows[i]!);
    }
    const touch = this.#prepare("UPDATE runs SET updated_at = ? WHERE id = ?");
    let run: string | undefined;
    for (const row of rows) if (row[0] !== run) touch.run(row[4], (run = row[0]));
  }

  /**
   * The JSON of a run's report as runs.report keeps it (after flush(): every step queued is
   * committed). `output`: the JSON of `report.output`, made already.
   */
  reportJson(runId: string, report: RunReport, output: string | undefined): string {
    return stringifyWith(report, (key, value) => {
      if (key === "steps") {
        return stringifyWith(value as object, (stepId, record) => {
          const row = this.#committed.get(record as StepRecord);
          return row && row[0] === runId && row[1] === stepId ? IN_STEPS_ROW : undefined;
        });
      }
      return key === "output" ? output : undefined;
    });
  }

  /** A report read from runs.report, its steps given as 0 read from their rows. */
  withRecords(runId: string, report: RunReport): RunReport {
    let rows: Map<string, string> | undefined;
    for (const stepId in report.steps) {
      if ((report.steps[stepId] as unknown) !== 0) continue;
      rows ??= new Map(this.#prepare("SELECT step_id, record FROM steps WHERE run_id = ? -- raw").raw().all(runId) as [string, string][]);
      const record = rows.get(stepId);
      // A row is never deleted, and replaced only while its run runs again (its report then is NULL).
      if (record === undefined) delete report.steps[stepId];
      else report.steps[stepId] = JSON.parse(record) as StepRecord;
    }
    return report;
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
