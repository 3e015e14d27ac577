/**
 * The SQLite store's schema: versioned migrations recorded in `schema_version`. A file
 * written by an older mcp is upgraded in place; a file from a newer mcp is refused rather
 * than misread.
 */
import type BetterSqlite3 from "better-sqlite3";
import { McpError } from "../util/errors.js";

/** Schema migrations, in order; migration i brings the file to version i + 1. Never edit one that shipped. */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    pipeline TEXT NOT NULL,
    file TEXT NOT NULL,
    hash TEXT NOT NULL,
    status TEXT NOT NULL,
    input TEXT,
    started_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    finished_at INTEGER,
    duration_ms INTEGER,
    conversation_id TEXT,
    resumed_from TEXT,
    attempts INTEGER NOT NULL DEFAULT 1,
    pid INTEGER,
    host TEXT,
    output TEXT,
    error TEXT,
    totals TEXT,
    report TEXT
  );
  CREATE INDEX runs_started_at ON runs (started_at DESC);
  CREATE TABLE steps (
    run_id TEXT NOT NULL,
    step_id TEXT NOT NULL,
    status TEXT NOT NULL,
    record TEXT NOT NULL,
    finished_at INTEGER NOT NULL,
    PRIMARY KEY (run_id, step_id)
  );
  CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    summary TEXT,
    version INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
  );
  CREATE TABLE turns (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    run_id TEXT,
    step_id TEXT,
    ts INTEGER NOT NULL
  );
  CREATE INDEX turns_conversation ON turns (conversation_id, seq);
  CREATE TABLE cache (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER
  );
  CREATE INDEX cache_expires_at ON cache (expires_at);
  `,
  `
  CREATE TABLE events (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
  ) WITHOUT ROWID;
  `,
  // No table changes: from version 3 a step of runs.report may be 0, meaning the record in
  // its steps row (SqliteStore writes a run's step records once, not in the report again).
  // An older mcp would show such a report without its steps, so it is refused this file.
  `
  SELECT 1;
  `,
];

/** The schema version of an open file (0 for a new one). */
export function schemaVersionOf(db: BetterSqlite3.Database): number {
  return (db.prepare("SELECT MAX(version) AS v FROM schema_version").get() as { v: number | null }).v ?? 0;
}

/** Brings the file at `location` to the newest schema, in one write transaction. */
export function migrate(db: BetterSqlite3.Database, location: string): void {
  db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
  const run = db.transaction(() => {
    // Read inside the write transaction: another process may have migrated meanwhile.
    const current = schemaVersionOf(db);
    if (current > MIGRATIONS.length) {
      throw new McpError("STORE_VERSION", `the store ${location} has schema version ${current}, newer than this mcp knows (${MIGRATIONS.length}); upgrade mcp`);
    }
    for (let v = current; v < MIGRATIONS.length; v++) {
      db.exec(MIGRATIONS[v]!);
      db.prepare("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)").run(v + 1, Date.now());
    }
  });
  run.immediate();
}
