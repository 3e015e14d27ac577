/**
 * QueueRunService: the RunService of `mcp serve --queue URL`. Runs are enqueued on Redis and
 * run by `mcp worker` processes; this process only starts, watches and cancels them. Their
 * state is the shared Redis store (runs, journal) and their events are the run's Redis
 * stream, numbered by the workers, so `GET /v1/runs/{id}/events` and `Last-Event-ID` work the
 * same as for local runs, whichever worker (or workers, after a crash) ran the run.
 */
import {
  summaryOfReport,
  summaryOfStored,
  type CancelOutcome,
  type RunEventsOptions,
  type RunService,
  type RunStartRequest,
  type RunSummary,
  type SequencedEvent,
} from "../orchestrator/run-service.js";
import { isRedacted } from "../store/redaction.js";
import type { StoredRun } from "../store/store.js";
import { McpError } from "../util/errors.js";
import type { RunQueue } from "./run-queue.js";

export class QueueRunService implements RunService {
  readonly #q: RunQueue;
  #closing = false;

  constructor(queue: RunQueue) {
    this.#q = queue;
  }

  /** Runs in flight in this process: none, they run on the workers. */
  get active(): number {
    return 0;
  }

  async start(req: RunStartRequest): Promise<{ runId: string }> {
    if (req.approvals || req.runId !== undefined) {
      throw new McpError("UNAVAILABLE", "answering an approval of a queued run is not supported here yet; use mcp approve / mcp reject with MCP_STORE set to the queue's Redis");
    }
    const runId = await this.#q.enqueue(req.pipeline, req.input, {
      ...(req.conversationId !== undefined ? { conversationId: req.conversationId } : {}),
      ...(req.resume ? { resumeFrom: req.resume.fromRunId } : {}),
    });
    return { runId };
  }

  async wait(runId: string, signal?: AbortSignal): Promise<RunSummary | undefined> {
    if (!(await this.#ended(runId))) {
      for await (const e of this.#q.follow(runId, signal ? { signal } : {})) void e;
      signal?.throwIfAborted();
    }
    return this.get(runId);
  }

  async get(runId: string): Promise<RunSummary | undefined> {
    const stored = await this.#q.store.getRun(runId);
    if (stored) return this.#summary(stored, true);
    // Enqueued, not yet taken by a worker.
    const job = await this.#q.job(runId);
    if (!job) return undefined;
    return { runId, pipeline: job.data.pipeline, status: "running", startedAt: job.data.enqueuedAt, input: job.data.input, steps: {} };
  }

  async list(opts: { limit?: number; pipeline?: string } = {}): Promise<RunSummary[]> {
    const rows = await this.#q.store.listRuns({ limit: opts.limit ?? 20, ...(opts.pipeline !== undefined ? { pipeline: opts.pipeline } : {}) });
    return Promise.all(rows.map((r) => this.#summary(r, false)));
  }

  async cancel(runId: string): Promise<CancelOutcome> {
    const stored = await this.#q.store.getRun(runId);
    if (stored && stored.status !== "running") return "finished";
    if (!stored && !(await this.#q.job(runId))) return "not_found";
    await this.#q.cancel(runId, "the run was cancelled (DELETE)");
    // The worker running it stops it and journals it as cancelled; wait for that (bounded).
    await this.wait(runId, AbortSignal.timeout(30_000)).catch(() => undefined);
    return "cancelled";
  }

  async *events(runId: string, opts: RunEventsOptions = {}): AsyncGenerator<SequencedEvent> {
    const after = opts.after ?? 0;
    if (opts.follow === false || (await this.#ended(runId))) {
      for (const e of await this.#q.events.read(runId, after, 100_000)) yield e;
      return;
    }
    for await (const e of this.#q.follow(runId, { after, ...(opts.signal ? { signal: opts.signal } : {}) })) yield e;
  }

  async close(): Promise<{ interrupted: string[] }> {
    if (!this.#closing) {
      this.#closing = true;
      await this.#q.close();
    }
    // Runs go on on the workers: nothing here to interrupt.
    return { interrupted: [] };
  }

  async #ended(runId: string): Promise<boolean> {
    const r = await this.#q.store.getRun(runId);
    return !!r && r.status !== "running";
  }

  async #summary(r: StoredRun, withSteps: boolean): Promise<RunSummary> {
    if (r.report && r.status !== "running") {
      const summary = summaryOfReport(r.report, r.finishedAt);
      if (!withSteps) delete summary.steps;
      // store.redact: the journal has a digest; the output itself is the job's, for a while.
      if (withSteps && isRedacted(summary.output)) {
        const kept = await this.#q.output(r.id, { waitMs: 5000 }).catch(() => undefined);
        if (kept) summary.output = kept.output;
      }
      return summary;
    }
    return summaryOfStored(r, r.status, withSteps ? await this.#q.store.getSteps(r.id) : undefined);
  }
}
