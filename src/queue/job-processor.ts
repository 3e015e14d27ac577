/**
 * JobProcessor: what a worker does with one job (worker.ts takes the jobs off the queues and
 * wires the connections, the store and the engine this uses).
 *
 * A `runs` job runs a whole pipeline run: its finished steps come from the journal (of the
 * run it continues, then of its own earlier attempt), and with `store.redact` the journal and
 * event log keep digests. An `items` job runs a chunk of a forEach step fanned out across
 * the fleet (fan-out.ts) and sends only the items' own events. Both hold the run's pipeline
 * `concurrency` and `budget` across the fleet, and send mcp.yaml `alerts:` once for the fleet.
 *
 * A job handed back (shutdown) is stopped without being marked finished and moved back to
 * the queue, where another worker resumes it from the journal.
 */
import { WaitingError, type FlowProducer, type Job, type Queue, type QueueEvents } from "bullmq";
import type { Redis } from "ioredis";
import { cacheMayApply, ResponseCache } from "../cache/response-cache.js";
import type { CompiledPipeline } from "../compiler/types.js";
import { ContextManager } from "../context/context-manager.js";
import type { RunEvent } from "../events/event.js";
import type { CallGate, CallHook, RunJournal } from "../events/ports.js";
import type { StepRecord } from "../events/report.js";
import { resumableSteps } from "../orchestrator/nested.js";
import type { TaskOrchestrator } from "../orchestrator/orchestrator.js";
import type { PipelineRun } from "../orchestrator/run.js";
import type { RedisStore } from "../store/redis-store.js";
import { RedactingStore, redactEvent, reusableSteps } from "../store/redaction.js";
import { StoreJournal } from "../store/run-journal.js";
import { AlertWebhook } from "../telemetry/alert-webhook.js";
import type { RunMetrics } from "../telemetry/run-metrics.js";
import { ConfigError, McpError } from "../util/errors.js";
import { fleetAlertClaim } from "./alert-claims.js";
import { RedisBudgetLedger } from "./budget-ledger.js";
import type { RedisEventLog } from "./event-log.js";
import { QueueFanOut, type ChunkResult } from "./fan-out.js";
import type { FleetLimiter } from "./fleet-limiter.js";
import type { MetricsPublisher } from "./metrics-publisher.js";
import type { ChunkJobData, QueueNames, RunJobData } from "./names.js";
import type { PipelineSource } from "./pipeline-source.js";
import { finishFailedRun } from "./run-finisher.js";
import type { RunWorkerOptions, WorkerSettings } from "./worker-options.js";

/** What jobs are processed with: a worker's connections, store and engine (wired in worker.ts). */
export interface JobContext {
  readonly redis: Redis;
  readonly store: RedisStore;
  readonly events: RedisEventLog;
  readonly names: QueueNames;
  readonly pipelines: PipelineSource;
  readonly orchestrator: TaskOrchestrator;
  readonly limiter: FleetLimiter;
  /** The runs this process executes (published for the server's /metrics). */
  readonly metrics: RunMetrics;
  readonly publisher: MetricsPublisher;
  readonly settings: WorkerSettings;
  readonly log: NonNullable<RunWorkerOptions["log"]>;
  /** Where a large forEach's chunks are queued and gathered (fan-out.ts). */
  readonly fanOut: { flow: FlowProducer; gatherQueue: Queue; gatherEvents: QueueEvents };
}

interface ActiveRun {
  run?: PipelineRun;
  handback: boolean;
}

export class JobProcessor {
  readonly #c: JobContext;
  readonly #active = new Map<string, ActiveRun>();
  readonly #chunks = new Map<string, { runId: string; ctl: AbortController; handback: boolean }>();
  /** Alert hooks of jobs whose alerts may still be being sent (flushAlerts() waits for them). */
  readonly #alerting = new Set<AlertWebhook>();

  constructor(context: JobContext) {
    this.#c = context;
  }

  /** Runs in progress in this process. */
  get activeRuns(): number {
    return this.#active.size;
  }

  /** Resolves once the alerts of every job so far have been sent (or have failed). */
  async flushAlerts(): Promise<void> {
    await Promise.all([...this.#alerting].map((a) => a.flush()));
  }

  /** Hands back every run and chunk in progress: stopped, not finished, and moved back to the queue. */
  handBackAll(): void {
    for (const [runId, a] of this.#active) {
      a.handback = true;
      a.run?.cancel("handed back: the worker is shutting down");
      this.#c.log("info", `run ${runId}: handed back to the queue (shutting down)`);
    }
    for (const c of this.#chunks.values()) {
      c.handback = true;
      c.ctl.abort(new Error("handed back"));
    }
  }

  /** Cancels a run (its job here and its chunks here), with the reason kept in Redis. */
  async cancel(runId: string): Promise<void> {
    const reason = (await this.#c.redis.get(this.#c.names.cancelKey(runId)).catch(() => null)) ?? "the run was cancelled";
    this.#active.get(runId)?.run?.cancel(reason);
    for (const c of this.#chunks.values()) if (c.runId === runId) c.ctl.abort(new Error(reason));
  }

  #hooks(pipeline: CompiledPipeline): CallHook[] {
    return cacheMayApply(pipeline.steps.values(), pipeline.models, pipeline.settings.cache)
      ? [new ResponseCache(this.#c.store, { ...(pipeline.settings.cache ? { project: pipeline.settings.cache } : {}) })]
      : [];
  }

  /**
   * mcp.yaml `alerts:` for one job (a run or a chunk): sent once by the fleet, not once per
   * worker (alert-claims.ts); undefined when no webhook is set. `done()` when the job ends.
   */
  #alerts(pipeline: CompiledPipeline): { hook: AlertWebhook; done(): void } | undefined {
    if (!pipeline.settings.alerts?.webhook) return undefined;
    const hook = new AlertWebhook({
      settings: () => pipeline.settings.alerts,
      claim: fleetAlertClaim(this.#c.redis, this.#c.names),
      onError: (e) => this.#c.log("warn", `the alert webhook failed: ${e.message}`),
    });
    this.#alerting.add(hook);
    return { hook, done: () => void hook.flush().then(() => this.#alerting.delete(hook)) };
  }

  /**
   * The run's pipeline `concurrency` and `budget`, held across the fleet: its job and its
   * forEach chunks share Redis-kept slots and one budget ledger.
   */
  #fleetLimits(runId: string, pipeline: CompiledPipeline, concurrency: number | undefined): { runGate?: CallGate; budgetLedger?: RedisBudgetLedger } {
    const runGate = this.#c.limiter.runGate(runId, concurrency ?? pipeline.concurrency);
    const budgetLedger = pipeline.budget ? new RedisBudgetLedger(this.#c.redis, this.#c.names.budgetKey(runId)) : undefined;
    return { ...(runGate ? { runGate } : {}), ...(budgetLedger ? { budgetLedger } : {}) };
  }

  /** A `runs` job: the whole run, resumed from the journal when it ran before. */
  async processRun(job: Job<RunJobData>, token: string | undefined): Promise<{ status: string; output?: unknown }> {
    const data = job.data;
    const runId = data.runId;
    const deps = { redis: this.#c.redis, store: this.#c.store, events: this.#c.events, names: this.#c.names };
    let pipeline: CompiledPipeline;
    try {
      pipeline = await this.#c.pipelines.get(data);
    } catch (e) {
      if (!(e instanceof McpError)) throw e;
      this.#c.log("error", `run ${runId}: ${e.message}`);
      await finishFailedRun(deps, data, { reason: "internal", message: e.message });
      return { status: "failed" };
    }
    // Both reads in one round trip.
    const [existing, cancelled] = await Promise.all([this.#c.store.getRun(runId), this.#c.redis.get(this.#c.names.cancelKey(runId))]);
    // Finished steps: of the run this one continues (web UI's Resume), then of this run's own
    // earlier attempt (a worker died or handed it back).
    const completed: Record<string, StepRecord> = {};
    for (const from of [data.resumeFrom, existing ? runId : undefined]) {
      if (from === undefined) continue;
      Object.assign(completed, resumableSteps(pipeline, reusableSteps(await this.#c.store.getSteps(from))));
    }
    const resumeFrom = data.resumeFrom ?? (existing ? runId : undefined);

    const active: ActiveRun = { handback: false };
    // store.redact: the journal and the event log keep digests, not prompts and answers; the
    // output reaches the producer as the job's return value (run-queue.ts removes it soon).
    const redact = pipeline.settings.store?.redact === true;
    const base = new StoreJournal(redact ? new RedactingStore(this.#c.store) : this.#c.store);
    const journal: RunJournal = {
      runStarted: (r) => base.runStarted(r),
      stepFinished: (id, step, record) => base.stepFinished(id, step, record),
      // A run handed back is not finished: the worker that takes it over finishes it.
      runFinished: (id, report) => (active.handback ? Promise.resolve() : base.runFinished(id, report)),
    };
    const alerts = this.#alerts(pipeline);
    const observer = this.#c.events.observer(runId, (e) => {
      alerts?.hook.onEvent(e);
      const out = active.handback && e.type === "run.finished" ? undefined : redact ? redactEvent(e) : e;
      if (out) this.#c.metrics.onEvent(out);
      return out;
    });
    let run: PipelineRun;
    const fleet = this.#fleetLimits(runId, pipeline, data.concurrency);
    try {
      run = this.#c.orchestrator.startRun(pipeline, data.input, {
        runId,
        journal,
        ...fleet,
        observer,
        context: new ContextManager(this.#c.store),
        hooks: this.#hooks(pipeline),
        ...(data.conversationId !== undefined ? { conversationId: data.conversationId } : {}),
        ...(data.concurrency !== undefined ? { concurrency: data.concurrency } : {}),
        ...(resumeFrom !== undefined ? { resume: { fromRunId: resumeFrom, completed } } : {}),
        // A chunk reads its dependencies' outputs from the journal: not with redaction.
        ...(this.#c.settings.fanOut && !redact
          ? {
              fanOut: new QueueFanOut({
                flow: this.#c.fanOut.flow,
                gatherQueue: this.#c.fanOut.gatherQueue,
                gatherEvents: this.#c.fanOut.gatherEvents,
                job: data,
                chunkSize: this.#c.settings.chunkSize,
                attempts: 3,
              }),
            }
          : {}),
      });
    } catch (e) {
      alerts?.done();
      if (!(e instanceof ConfigError)) throw e;
      await finishFailedRun(deps, data, { reason: "invalid-input", message: e.message });
      return { status: "failed" };
    }
    active.run = run;
    this.#active.set(runId, active);
    if (cancelled) run.cancel(cancelled);
    if (existing) this.#c.log("info", `run ${runId}: taken over (attempt ${existing.attempts + 1}); ${Object.keys(completed).length} finished step(s) come from the journal`);
    try {
      const report = await run.done;
      await observer.flush();
      await fleet.budgetLedger?.flush();
      this.#c.publisher.soon();
      if (active.handback) {
        await job.moveToWait(token);
        throw new WaitingError();
      }
      this.#c.log("info", `run ${runId} (${data.pipeline}): ${report.status} in ${report.durationMs} ms`);
      return { status: report.status, ...(redact && report.output !== undefined ? { output: report.output } : {}) };
    } finally {
      this.#active.delete(runId);
      alerts?.done();
    }
  }

  /** An `items` job: a chunk of a fanned-out forEach step's items, for the run that owns the step. */
  async processChunk(job: Job<ChunkJobData>, token: string | undefined): Promise<ChunkResult> {
    const { run: data, stepId, start, end } = job.data;
    const runId = data.runId;
    const [cancelled, given] = await Promise.all([this.#c.redis.exists(this.#c.names.cancelKey(runId)), this.#c.store.getSteps(runId)]);
    if (cancelled) return { start, record: emptyRecord("aborted") };
    const pipeline = await this.#c.pipelines.get(data);
    const entry = { runId, ctl: new AbortController(), handback: false };
    const key = job.id ?? `${runId}.${stepId}.${start}`;
    this.#chunks.set(key, entry);
    // Only the items' own events: the step's start and end are the owning run's.
    const itemEvents = new Set<RunEvent["type"]>(["step.started", "step.attempt_failed", "step.fell_back", "step.cache", "model.throttled", "model.limit_wait", "model.breaker"]);
    const alerts = this.#alerts(pipeline);
    const observer = this.#c.events.observer(runId, (e) => {
      if (!itemEvents.has(e.type)) return undefined;
      alerts?.hook.onEvent(e);
      this.#c.metrics.onEvent(e);
      return e;
    });
    this.#c.log("info", `run ${runId}: items ${start}-${end - 1} of step '${stepId}'`);
    const fleet = this.#fleetLimits(runId, pipeline, data.concurrency);
    try {
      const run = this.#c.orchestrator.startRun(pipeline, data.input, {
        runId,
        ...fleet,
        // The step's own `concurrency` holds across all its chunks, not per chunk.
        itemGate: (step, limit) => this.#c.limiter.itemGate(runId, step, limit),
        signal: entry.ctl.signal,
        observer,
        slice: { stepId, start, end, given },
        context: new ContextManager(this.#c.store),
        hooks: this.#hooks(pipeline),
        ...(data.conversationId !== undefined ? { conversationId: data.conversationId } : {}),
      });
      const report = await run.done;
      await observer.flush();
      await fleet.budgetLedger?.flush();
      this.#c.metrics.forgetRun(runId);
      this.#c.publisher.soon();
      if (entry.handback) {
        await job.moveToWait(token);
        throw new WaitingError();
      }
      return { start, record: report.steps[stepId] ?? emptyRecord("failed", report.error) };
    } finally {
      this.#chunks.delete(key);
      alerts?.done();
    }
  }
}

/** The record of a chunk's step that never ran: cancelled first, or its run failed before it. */
function emptyRecord(status: "aborted" | "failed", error?: StepRecord["error"]): StepRecord {
  return { status, attempts: [], durationMs: 0, usage: { inputTokens: 0, outputTokens: 0 }, cost: 0, cached: false, ...(error ? { error } : {}) };
}
