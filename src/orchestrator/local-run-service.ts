/**
 * LocalRunService: the RunService that runs pipelines in this process, on a
 * TaskOrchestrator, journalled in a Store (runs, finished steps, and every event with its
 * sequence number), so `mcp runs` and `mcp resume` see runs started over HTTP and a client
 * that reconnects gets exactly the events it missed.
 *
 * Why events are kept in memory while a run is live: followers (SSE streams) must get every
 * event once, in order, with no gap between what the store has and what is still arriving.
 * A live run's events are in one array (seq = index + 1) that followers read from any index
 * and wait on; the store receives them in batches (one transaction per tick), and once the
 * run ended and its last batch is written, the array is dropped and the store answers.
 */
import { StoreJournal, effectiveStatus } from "../store/run-journal.js";
import type { Store, StoredRun } from "../store/store.js";
import type { RunJournal } from "../events/ports.js";
import type { TaskOrchestrator } from "./orchestrator.js";
import type { RunReport } from "../events/report.js";
import type { PipelineRun, RunOptions } from "./run.js";
import type { CompiledPipeline } from "../compiler/types.js";
import { summaryOfReport, summaryOfStored, type CancelOutcome, type RunEventsOptions, type RunService, type RunStartRequest, type RunSummary, type SequencedEvent } from "./run-service.js";
import { McpError } from "../util/errors.js";

export interface LocalRunServiceOptions {
  orchestrator: TaskOrchestrator;
  store: Store;
  /** Run options for a pipeline (cache hooks, context manager ...); the journal is the service's own. */
  runOptions?: (pipeline: CompiledPipeline) => RunOptions;
  /** Longest wait for the runs in flight on close. @default 10000 */
  deadlineMs?: number;
}

interface LiveRun {
  readonly run: PipelineRun;
  readonly pipeline: string;
  readonly startedAt: number;
  readonly conversationId?: string;
  readonly input: unknown;
  readonly events: SequencedEvent[];
  /** Events of the run stored before this process continued it (a waiting run answered): seq numbers go on from here. */
  readonly base: number;
  /** Events not yet written to the store. */
  pending: SequencedEvent[];
  flushing?: Promise<void>;
  readonly waiters: Set<() => void>;
  ended: boolean;
  /** Stopped by shutdown: left in the journal as running (interrupted), not as cancelled. */
  interrupted: boolean;
  report?: RunReport;
  readonly done: Promise<void>;
}

export class LocalRunService implements RunService {
  readonly #o: LocalRunServiceOptions;
  readonly #live = new Map<string, LiveRun>();
  readonly #journal: RunJournal;
  #closing = false;

  constructor(options: LocalRunServiceOptions) {
    this.#o = options;
    const inner = new StoreJournal(options.store);
    const live = this.#live;
    // The store's journal, except that an interrupted run's end is not written: it stays
    // `running` with this process's pid, which `mcp runs` shows as interrupted once we exit.
    this.#journal = {
      runStarted: (r) => inner.runStarted(r),
      stepFinished: (runId, stepId, record) => inner.stepFinished(runId, stepId, record),
      runFinished: async (runId, report) => {
        if (live.get(runId)?.interrupted) return;
        await inner.runFinished(runId, report);
      },
    };
  }

  get active(): number {
    return this.#live.size;
  }

  async start(req: RunStartRequest): Promise<{ runId: string }> {
    if (this.#closing) throw new McpError("UNAVAILABLE", "the server is shutting down; no new runs");
    const extra = this.#o.runOptions?.(req.pipeline) ?? {};
    if (req.runId !== undefined && this.#live.has(req.runId)) throw new McpError("UNAVAILABLE", `run '${req.runId}' is already running here`);
    const base = req.runId !== undefined ? (await this.#o.store.listEvents(req.runId)).length : 0;
    const run = this.#o.orchestrator.startRun(req.pipeline, req.input, {
      ...extra,
      journal: this.#journal,
      ...(req.runId !== undefined ? { runId: req.runId } : {}),
      ...(req.conversationId !== undefined ? { conversationId: req.conversationId } : {}),
      ...(req.resume ? { resume: req.resume } : {}),
      ...(req.approvals ? { approvals: req.approvals } : {}),
      ...(req.stream ? { stream: req.stream } : {}),
    });
    const live: LiveRun = {
      run,
      pipeline: req.pipeline.name,
      startedAt: Date.now(),
      ...(req.conversationId !== undefined ? { conversationId: req.conversationId } : {}),
      input: req.input,
      events: [],
      base,
      pending: [],
      waiters: new Set(),
      ended: false,
      interrupted: false,
      done: undefined as unknown as Promise<void>,
    };
    run.on((event) => {
      if (live.interrupted) return;
      const e = { seq: live.base + live.events.length + 1, event };
      live.events.push(e);
      live.pending.push(e);
      if (live.pending.length === 1) setImmediate(() => void this.#flush(run.id, live));
      this.#wake(live);
    });
    (live as { done: Promise<void> }).done = run.done.then(
      async (report) => {
        live.report = report;
        await this.#flush(run.id, live);
        live.ended = true;
        this.#wake(live);
        this.#live.delete(run.id);
      },
      () => {
        live.ended = true;
        this.#wake(live);
        this.#live.delete(run.id);
      },
    );
    this.#live.set(run.id, live);
    return { runId: run.id };
  }

  async #flush(runId: string, live: LiveRun): Promise<void> {
    // One writer at a time, so batches land in seq order.
    while (live.flushing) await live.flushing;
    if (live.pending.length === 0) return;
    const batch = live.pending;
    live.pending = [];
    live.flushing = this.#o.store.appendEvents(runId, batch).catch(() => {
      // A full disk must not stop the run; followers still get the events from memory.
    });
    try {
      await live.flushing;
    } finally {
      live.flushing = undefined;
    }
  }

  #wake(live: LiveRun): void {
    const ws = [...live.waiters];
    live.waiters.clear();
    for (const w of ws) w();
  }

  async wait(runId: string, signal?: AbortSignal): Promise<RunSummary | undefined> {
    const live = this.#live.get(runId);
    if (live) {
      if (signal) {
        signal.throwIfAborted();
        await new Promise<void>((resolve, reject) => {
          const onAbort = () => reject(signal.reason);
          signal.addEventListener("abort", onAbort, { once: true });
          void live.done.then(() => {
            signal.removeEventListener("abort", onAbort);
            resolve();
          });
        });
      } else await live.done;
      if (live.interrupted) return { ...(await this.get(runId))!, status: "interrupted" };
      if (live.report) return summaryOfReport(live.report);
    }
    return this.get(runId);
  }

  async get(runId: string): Promise<RunSummary | undefined> {
    const live = this.#live.get(runId);
    const stored = await this.#o.store.getRun(runId);
    if (live && !live.ended) {
      const steps = await this.#o.store.getSteps(runId);
      return {
        runId,
        pipeline: live.pipeline,
        status: live.interrupted ? "interrupted" : "running",
        startedAt: stored?.startedAt ?? live.startedAt,
        ...(live.conversationId !== undefined ? { conversationId: live.conversationId } : {}),
        input: live.input,
        steps,
      };
    }
    if (!stored) return undefined;
    return this.#summary(stored, true);
  }

  async list(opts: { limit?: number; pipeline?: string } = {}): Promise<RunSummary[]> {
    const rows = await this.#o.store.listRuns({ limit: opts.limit ?? 20, ...(opts.pipeline !== undefined ? { pipeline: opts.pipeline } : {}) });
    return Promise.all(rows.map((r) => this.#summary(r, false)));
  }

  async #summary(r: StoredRun, withSteps: boolean): Promise<RunSummary> {
    const live = this.#live.get(r.id);
    const status = live && !live.ended ? (live.interrupted ? "interrupted" : "running") : effectiveStatus(r);
    return summaryOfStored(r, status, withSteps ? (r.report?.steps ?? (await this.#o.store.getSteps(r.id))) : undefined);
  }

  async cancel(runId: string): Promise<CancelOutcome> {
    const live = this.#live.get(runId);
    if (live && !live.ended) {
      live.run.cancel("the run was cancelled (DELETE)");
      await live.done;
      return "cancelled";
    }
    const stored = await this.#o.store.getRun(runId);
    return stored ? "finished" : "not_found";
  }

  async *events(runId: string, opts: RunEventsOptions = {}): AsyncGenerator<SequencedEvent> {
    const after = opts.after ?? 0;
    const live = this.#live.get(runId);
    if (!live) {
      for (const e of await this.#o.store.listEvents(runId, after)) yield e;
      return;
    }
    // Events stored before this process continued the run, then the live ones.
    if (after < live.base) for (const e of await this.#o.store.listEvents(runId, after)) if (e.seq <= live.base) yield e;
    let next = Math.max(0, after - live.base);
    for (;;) {
      while (next < live.events.length) yield live.events[next++]!;
      if (live.ended || opts.follow === false || opts.signal?.aborted) return;
      await new Promise<void>((resolve) => {
        const onAbort = () => resolve();
        live.waiters.add(() => {
          opts.signal?.removeEventListener("abort", onAbort);
          resolve();
        });
        opts.signal?.addEventListener("abort", onAbort, { once: true });
      });
    }
  }

  async close(opts: { deadlineMs?: number } = {}): Promise<{ interrupted: string[] }> {
    this.#closing = true;
    const deadline = opts.deadlineMs ?? this.#o.deadlineMs ?? 10_000;
    const all = [...this.#live.values()];
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(all.map((l) => l.done)), new Promise<void>((r) => (timer = setTimeout(r, deadline)))]);
    clearTimeout(timer);
    const interrupted: string[] = [];
    for (const [id, live] of this.#live) {
      if (live.ended) continue;
      interrupted.push(id);
      // Events written so far stay; the run's aborted steps and end are not journalled.
      await this.#flush(id, live);
      live.interrupted = true;
      live.run.cancel("the server shut down; the run was interrupted (resume it with `mcp resume`)");
    }
    await Promise.all([...this.#live.values()].map((l) => l.done));
    return { interrupted };
  }
}
