/**
 * The Store: where state that outlives a run lives (runs and their journal, conversation
 * history, the model response cache). The interface knows nothing of SQL, so a Redis store
 * can implement it too; every method is async for that reason, even where SQLite is not.
 *
 * Implementations: SqliteStore (the default, one file under `.mcp/`), MemoryStore (tests,
 * `--store memory`). Each method that writes several rows does so atomically.
 */
import type { ErrorInfo, RunEvent, RunStatus } from "../events/event.js";
import type { ContextTurn } from "../events/ports.js";
import type { RunReport, RunTotals, StepRecord } from "../events/report.js";

/** A run as the journal stores it. */
export interface StoredRun {
  id: string;
  /** Pipeline name. */
  pipeline: string;
  /** Absolute path of the pipeline file, so `mcp resume` can load it from anywhere. */
  file: string;
  /** Content hash of the pipeline (and its mcp.yaml) when the run started. */
  hash: string;
  /** `running` also for a run whose process died: see `pid` and `host`. */
  status: RunStatus;
  input: unknown;
  /** Milliseconds since the epoch. */
  startedAt: number;
  updatedAt: number;
  finishedAt?: number;
  durationMs?: number;
  conversationId?: string;
  /** The run this one resumes (the same id when resumed in place). */
  resumedFrom?: string;
  /** 1 for a run never resumed; +1 per resume. */
  attempts: number;
  /** Process that last ran it, to tell a live run from a killed one. */
  pid?: number;
  host?: string;
  output?: unknown;
  error?: ErrorInfo;
  totals?: RunTotals;
  /** The final report, once the run ended. */
  report?: RunReport;
}

/** What `runStarted` writes; the store fills in `attempts` and `updatedAt`. */
export type RunStart = Omit<StoredRun, "attempts" | "updatedAt" | "status"> & { status?: RunStatus };

/** What `runFinished` writes. */
export interface RunEnd {
  status: Exclude<RunStatus, "running">;
  finishedAt: number;
  durationMs: number;
  output?: unknown;
  error?: ErrorInfo;
  totals: RunTotals;
  report: RunReport;
}

/** A stored turn of a conversation; `seq` orders turns and identifies them. */
export interface StoredTurn extends ContextTurn {
  seq: number;
  ts: number;
}

/** A conversation's compressed past. */
export interface ConversationState {
  summary?: string;
  /** Bumped by every compression; `compactTurns` checks it so two writers do not clash. */
  version: number;
}

/** A cached model response. */
export interface CacheEntry {
  value: unknown;
  createdAt: number;
  /** Undefined: never expires. */
  expiresAt?: number;
}

/** A run event as the journal keeps it: `seq` counts a run's events from 1, in order. */
export interface StoredEvent {
  seq: number;
  event: RunEvent;
}

export interface ListRunsOptions {
  /** @default 20 */
  limit?: number;
  pipeline?: string;
}

export interface Store {
  /** `sqlite`, `memory` (later `redis`). */
  readonly kind: string;
  /** Where the data lives: a file path, or `:memory:`. */
  readonly location: string;

  // Runs and the journal.
  /** Creates the run, or marks an existing one (resume in place) running again. */
  runStarted(run: RunStart): Promise<void>;
  runFinished(id: string, end: RunEnd): Promise<void>;
  getRun(id: string): Promise<StoredRun | undefined>;
  /** Newest first. */
  listRuns(opts?: ListRunsOptions): Promise<StoredRun[]>;
  /** Writes (or replaces) one finished step's record; committed when the promise resolves. */
  putStep(runId: string, stepId: string, record: StepRecord): Promise<void>;
  /** Every step record written for a run, by step id. */
  getSteps(runId: string): Promise<Record<string, StepRecord>>;
  /**
   * Appends a run's events (their `seq` given by the caller, increasing); an event whose seq
   * is already stored is ignored. The server's SSE streams replay them (`Last-Event-ID`).
   */
  appendEvents(runId: string, events: readonly StoredEvent[]): Promise<void>;
  /** A run's events with `seq > afterSeq`, in order. */
  listEvents(runId: string, afterSeq?: number): Promise<StoredEvent[]>;

  // Conversations.
  /**
   * Appends turns; when `maxTurns` is given, the oldest turns beyond it are deleted in the
   * same transaction (plain pruning; compression goes through `compactTurns`).
   */
  appendTurns(conversationId: string, turns: ContextTurn[], opts?: { maxTurns?: number }): Promise<StoredTurn[]>;
  /** Turns in order, oldest first. */
  listTurns(conversationId: string): Promise<StoredTurn[]>;
  getConversation(conversationId: string): Promise<ConversationState>;
  /**
   * Compression: sets the summary and deletes the turns with `seq <= throughSeq`, atomically.
   * Returns false (and changes nothing) when the conversation's version is no longer
   * `expectedVersion` (another writer compressed it meanwhile).
   */
  compactTurns(conversationId: string, opts: { summary: string; throughSeq: number; expectedVersion: number }): Promise<boolean>;
  /** Deletes the conversation's turns and summary. */
  clearConversation(conversationId: string): Promise<void>;

  // Cache.
  /** The entry, unless absent or expired at `now`. */
  cacheGet(key: string, now?: number): Promise<CacheEntry | undefined>;
  cacheSet(key: string, entry: CacheEntry): Promise<void>;
  /** Deletes entries expired at `now`; returns how many. */
  cacheDeleteExpired(now?: number): Promise<number>;

  close(): Promise<void>;
}
