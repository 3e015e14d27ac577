/**
 * RunService: where runs are started, watched and cancelled, behind one small interface so
 * the server and the Protocol Handler do not care whether a run executes in this process
 * (LocalRunService) or on a queue worker (BullMQ, `--queue`). Events carry `seq`, their
 * sequence number in the run's journal, so a client that lost its connection asks for the
 * events after the last one it saw and gets exactly those, then the live ones.
 */
import type { CompiledPipeline } from "../compiler/types.js";
import type { ApprovalAnswer } from "../events/ports.js";
import type { ErrorInfo, RunEvent, RunStatus } from "../events/event.js";
import type { RunReport, RunTotals, StepRecord } from "../events/report.js";
import type { StoredRun } from "../store/store.js";

/** A run event with its sequence number in the run's journal (1, 2, 3 ...). */
export interface SequencedEvent {
  seq: number;
  event: RunEvent;
}

/** What `start` needs. */
export interface RunStartRequest {
  pipeline: CompiledPipeline;
  input: unknown;
  /** Overrides the pipeline's `context.conversation`. */
  conversationId?: string;
  /** Continue an earlier run: steps with a record here are not run again (the web UI's Resume). */
  resume?: { fromRunId: string; completed: Record<string, StepRecord>; waiting?: Record<string, StepRecord> };
  /** Run under this id (continuing a waiting run in place); its stored events are kept and numbered on. */
  runId?: string;
  /** Steps whose model answers go out as step.delta events (`true`: all). */
  stream?: readonly string[] | true;
  /** Answers to approval steps (runs.approve, runs.reject). */
  approvals?: Record<string, ApprovalAnswer>;
}

/**
 * A run as clients see it. `interrupted`: the process running it stopped (shutdown, crash)
 * before it finished; `mcp resume` continues it.
 */
export interface RunSummary {
  runId: string;
  pipeline: string;
  status: RunStatus | "interrupted";
  /** Milliseconds since the epoch. */
  startedAt: number;
  finishedAt?: number;
  durationMs?: number;
  conversationId?: string;
  input?: unknown;
  output?: unknown;
  error?: ErrorInfo;
  totals?: RunTotals;
  /** Finished steps so far (all of them once the run ended). */
  steps?: Record<string, StepRecord>;
}

/** What `cancel` did. */
export type CancelOutcome = "cancelled" | "finished" | "not_found";

export interface RunEventsOptions {
  /** Only events with a greater `seq` (Last-Event-ID). @default 0 */
  after?: number;
  /** Keep waiting for live events until the run ends. @default true */
  follow?: boolean;
  /** Stops following (the client went away); the run itself goes on. */
  signal?: AbortSignal;
}

export interface RunService {
  /** Starts a run and returns its id at once. Throws ConfigError for an input that does not match `inputs`. */
  start(req: RunStartRequest): Promise<{ runId: string }>;
  /** Resolves when the run has ended (or at once for an ended run); rejects when `signal` aborts. */
  wait(runId: string, signal?: AbortSignal): Promise<RunSummary | undefined>;
  get(runId: string): Promise<RunSummary | undefined>;
  /** Newest first. */
  list(opts?: { limit?: number; pipeline?: string }): Promise<RunSummary[]>;
  cancel(runId: string): Promise<CancelOutcome>;
  /** The run's events after `after`, then (with `follow`) the live ones until the run ends. */
  events(runId: string, opts?: RunEventsOptions): AsyncIterable<SequencedEvent>;
  /** Runs in flight in this process. */
  readonly active: number;
  /**
   * Stops taking runs, lets the runs in flight finish for up to `deadlineMs`, then stops the
   * rest and leaves them journalled as interrupted (resumable). Returns their ids.
   */
  close(opts?: { deadlineMs?: number }): Promise<{ interrupted: string[] }>;
}

/** The summary of a finished run's report. */
export function summaryOfReport(r: RunReport, finishedAt?: number): RunSummary {
  const started = Date.parse(r.startedAt);
  return {
    runId: r.runId,
    pipeline: r.pipeline,
    status: r.status,
    startedAt: started,
    finishedAt: finishedAt ?? started + r.durationMs,
    durationMs: r.durationMs,
    ...(r.conversationId !== undefined ? { conversationId: r.conversationId } : {}),
    input: r.input,
    ...(r.output !== undefined ? { output: r.output } : {}),
    ...(r.error ? { error: r.error } : {}),
    totals: r.totals,
    steps: r.steps,
  };
}

/**
 * The summary of a run's journal row. `status` is the service's to say (it knows the runs in
 * flight); with `steps` (the finished steps) the summary has the run's input too.
 */
export function summaryOfStored(r: StoredRun, status: RunSummary["status"], steps?: Record<string, StepRecord>): RunSummary {
  return {
    runId: r.id,
    pipeline: r.pipeline,
    status,
    startedAt: r.startedAt,
    ...(r.finishedAt !== undefined ? { finishedAt: r.finishedAt } : {}),
    ...(r.durationMs !== undefined ? { durationMs: r.durationMs } : {}),
    ...(r.conversationId !== undefined ? { conversationId: r.conversationId } : {}),
    ...(steps ? { input: r.input } : {}),
    ...(r.output !== undefined ? { output: r.output } : {}),
    ...(r.error ? { error: r.error } : {}),
    ...(r.totals ? { totals: r.totals } : {}),
    ...(steps ? { steps } : {}),
  };
}
