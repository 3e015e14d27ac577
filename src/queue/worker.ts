/**
 * `mcp worker`: takes queued runs off Redis (BullMQ) and runs them, any number of workers on
 * any number of machines. Each worker process runs three BullMQ workers: `runs` (whole runs,
 * `concurrency` at once), `items` (chunks of a large forEach split across the fleet, see
 * fan-out.ts) and `gather` (the flow parents of those chunks, trivial).
 *
 * Limits held across the fleet (Redis, fleet-limiter.ts and friends): models' `concurrency`
 * and `limits:`, deployments' `maxConcurrency`, a run's pipeline `concurrency` and `budget`,
 * and a fanned-out forEach step's own `concurrency` (its chunks share the slots).
 *
 * Crash recovery is BullMQ's stalled-job check plus the journal: a worker that dies
 * (SIGKILL, power) stops renewing its job locks; after `lockDurationMs` another worker moves
 * the job back to waiting and takes it; the run starts again from the shared store's
 * journal, with every step that had finished taken from it (a step's journal entry, keyed
 * by run id and step id, is the idempotency key of its work: it is written before any
 * dependant starts, so a finished step is never run again). A run whose workers die more
 * than `maxStalls` times fails, with the reason (run-finisher.ts).
 *
 * Shutdown (SIGTERM, `close()`): no new jobs are taken; runs in progress get `graceMs` to
 * finish; the rest are handed back: stopped without being marked finished and moved back to
 * the queue, where another worker resumes them from the journal.
 *
 * Redis restarting or unreachable: every connection waits and reconnects (redis-connection.ts);
 * store writes and event appends wait meanwhile, so a run pauses instead of failing.
 */
import { FlowProducer, Queue, QueueEvents, WaitingError, Worker, type Job } from "bullmq";
import type { Redis } from "ioredis";
import { cacheMayApply, ResponseCache } from "../cache/response-cache.js";
import type { CompiledPipeline } from "../compiler/types.js";
import { ContextManager } from "../context/context-manager.js";
import type { RunEvent } from "../events/event.js";
import type { CallGate, CallHook, RunJournal } from "../events/ports.js";
import { TaskOrchestrator } from "../orchestrator/orchestrator.js";
import type { StepRecord } from "../events/report.js";
import { resumableSteps } from "../orchestrator/nested.js";
import type { PipelineRun } from "../orchestrator/run.js";
import { ModelRegistry } from "../registry/model-registry.js";
import { connectRedis } from "../store/redis-connection.js";
import { RedisStore } from "../store/redis-store.js";
import { RedactingStore, redactEvent, reusableSteps } from "../store/redaction.js";
import { StoreJournal } from "../store/run-journal.js";
import { ConfigError, McpError } from "../util/errors.js";
import { durabilityWarnings } from "./durability.js";
import { RedisEventLog } from "./event-log.js";
import { QueueFanOut, type ChunkResult } from "./fan-out.js";
import { RedisBudgetLedger } from "./budget-ledger.js";
import { fleetLimits, type FleetLimiter } from "./fleet-limiter.js";
import { MetricsPublisher } from "./metrics-publisher.js";
import { AlertWebhook } from "../telemetry/alert-webhook.js";
import { RunMetrics } from "../telemetry/run-metrics.js";
import { fleetAlertClaim } from "./alert-claims.js";
import { GATHER_QUEUE, ITEMS_QUEUE, queueNames, RUNS_QUEUE, type ChunkJobData, type QueueNames, type RunJobData } from "./names.js";
import { PipelineSource } from "./pipeline-source.js";
import { finishFailedRun } from "./run-finisher.js";
import { workerSettings, type RunWorkerOptions, type WorkerSettings } from "./worker-options.js";

export type { RunWorkerOptions } from "./worker-options.js";

interface ActiveRun {
  run?: PipelineRun;
  handback: boolean;
}

export class RunWorker {
  readonly names: QueueNames;
  readonly #o: WorkerSettings;
  readonly #log: NonNullable<RunWorkerOptions["log"]>;
  readonly #redis: Redis;
  readonly #sub: Redis;
  readonly #writes: Redis;
  readonly #store: RedisStore;
  readonly #events: RedisEventLog;
  readonly #pipelines: PipelineSource;
  readonly #orchestrator: TaskOrchestrator;
  readonly #limiter: FleetLimiter;
  /** The runs this process executes, published for the server's /metrics. */
  readonly metrics = new RunMetrics();
  readonly #publisher: MetricsPublisher;
  readonly #runsQueue: Queue<RunJobData>;
  readonly #gatherQueue: Queue;
  readonly #flow: FlowProducer;
  readonly #gatherEvents: QueueEvents;
  readonly #workers: Worker[] = [];
  readonly #owned: Redis[] = [];
  readonly #active = new Map<string, ActiveRun>();
  readonly #chunks = new Map<string, { runId: string; ctl: AbortController; handback: boolean }>();
  /** Alert hooks of jobs whose alerts may still be being sent (close() waits for them). */
  readonly #alerting = new Set<AlertWebhook>();
  #closing: Promise<void> | undefined;
  #reconciler: NodeJS.Timeout | undefined;

  /** Connects (waiting for Redis as long as it takes) and starts taking jobs. */
  static async start(url: string, options: RunWorkerOptions): Promise<RunWorker> {
    const redis = await connectRedis(url, { name: "mcp-worker" });
    const w = new RunWorker(redis, options);
    for (const warning of await durabilityWarnings(redis)) w.#log("warn", warning);
    return w;
  }

  private constructor(redis: Redis, options: RunWorkerOptions) {
    this.#o = workerSettings(options);
    this.#log = options.log ?? (() => {});
    this.names = queueNames(options.prefix);
    this.#redis = redis;
    this.#sub = redis.duplicate();
    this.#sub.on("error", () => {});
    // The journal and the run events: a connection of their own that sends the commands of one
    // tick together (ioredis auto-pipelining: fewer writes and reads for Redis and this process);
    // one connection keeps their order.
    const writes = redis.duplicate({ enableAutoPipelining: true });
    writes.on("error", () => {});
    this.#writes = writes;
    this.#store = new RedisStore(writes, { prefix: this.names.prefix });
    this.#events = new RedisEventLog(writes, this.names);
    this.#pipelines = new PipelineSource(this.#o.dir);
    // Models' concurrency and rpm/tpm `limits:`, deployments' maxConcurrency: fleet-wide (Redis), not per worker.
    const limits = fleetLimits(redis, this.#sub, this.names);
    this.#limiter = limits.limiter;
    this.#orchestrator = new TaskOrchestrator(new ModelRegistry(), { env: this.#o.env, ...limits.options });

    // Its run metrics and deployments' state, for the server's /metrics and /v1/deployments.
    this.#publisher = new MetricsPublisher(redis, this.names.metricsKey, this.metrics, options.metricsIntervalMs, () => this.#orchestrator.gateways());

    const prefix = this.names.bullPrefix;
    this.#runsQueue = new Queue<RunJobData>(RUNS_QUEUE, { connection: redis, prefix });
    this.#gatherQueue = new Queue(GATHER_QUEUE, { connection: redis, prefix });
    this.#flow = new FlowProducer({ connection: redis, prefix });
    // QueueEvents block on XREAD: each needs a connection of its own (closed in close()).
    const dup = () => {
      const c = redis.duplicate();
      c.on("error", () => {});
      this.#owned.push(c);
      return c;
    };
    this.#gatherEvents = new QueueEvents(GATHER_QUEUE, { connection: dup(), prefix });
    this.#runsQueue.on("error", () => {});
    this.#gatherQueue.on("error", () => {});
    this.#flow.on("error", () => {});
    this.#gatherEvents.on("error", () => {});

    const common = { connection: redis, prefix, lockDuration: this.#o.lockDurationMs, stalledInterval: Math.max(500, Math.floor(this.#o.lockDurationMs / 2)), maxStalledCount: this.#o.maxStalls };
    this.#workers.push(
      new Worker<RunJobData>(RUNS_QUEUE, (job, token) => this.#processRun(job, token), { ...common, concurrency: this.#o.concurrency }),
      new Worker<ChunkJobData>(ITEMS_QUEUE, (job, token) => this.#processChunk(job, token), { ...common, concurrency: this.#o.itemConcurrency }),
      new Worker(GATHER_QUEUE, async () => null, { ...common, concurrency: 50 }),
    );
    for (const w of this.#workers) {
      w.on("error", (e) => this.#log("warn", `redis: ${e.message}`));
      w.on("stalled", (jobId) => this.#log("warn", `job ${jobId} stalled (its worker stopped); it goes back to the queue`));
    }

    void this.#sub.subscribe(this.names.cancelChannel).catch(() => undefined);
    this.#sub.on("message", (channel: string, runId: string) => {
      if (channel === this.names.cancelChannel) void this.#cancel(runId);
    });
    // A run's job that failed for good here (its last attempt): the run fails with the reason.
    // Not a QueueEvents on the runs queue: it would make every worker read every job event of
    // the fleet, work that grows with the fleet.
    this.#workers[0]!.on("failed", (job) => {
      if (job?.id) void this.#onRunJobFailedHere(job.id);
    });
    // A job failed by a stall check (its workers kept dying, so none of them saw it fail) is
    // found by looking at the failed jobs now and then.
    this.#reconciler = setInterval(() => void this.#reconcile(), Math.max(1000, Math.floor(this.#o.lockDurationMs / 2)));
    this.#reconciler.unref();
  }

  async #reconcile(): Promise<void> {
    try {
      for (const job of await this.#runsQueue.getJobs(["failed"], 0, 20)) {
        if (job?.id && !(await this.#redis.exists(this.names.finalizedKey(job.id)))) await this.#onRunJobFailed(job.id, job.failedReason);
      }
    } catch {
      // Redis away: the next round tries again.
    }
  }

  /** Runs in progress in this process. */
  get activeRuns(): number {
    return this.#active.size;
  }

  /**
   * Stops taking jobs; runs in progress get `graceMs` to finish, then are handed back to the
   * queue (resumed from the journal by another worker). Resolves when everything is closed.
   */
  close(graceMs = this.#o.graceMs): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#reconciler);
      const timer = setTimeout(() => this.#handBackAll(), graceMs);
      try {
        await Promise.all(this.#workers.map((w) => w.close()));
      } finally {
        clearTimeout(timer);
      }
      await Promise.all([...this.#alerting].map((a) => a.flush()));
      await Promise.all([this.#runsQueue.close(), this.#gatherQueue.close(), this.#flow.close(), this.#gatherEvents.close()].map((p) => p.catch(() => undefined)));
      await this.#orchestrator.close();
      await this.#publisher.close();
      this.#sub.disconnect();
      for (const c of this.#owned) c.disconnect();
      await this.#writes.quit().catch(() => this.#writes.disconnect());
      await this.#redis.quit().catch(() => this.#redis.disconnect());
    })();
    return this.#closing;
  }

  #handBackAll(): void {
    for (const [runId, a] of this.#active) {
      a.handback = true;
      a.run?.cancel("handed back: the worker is shutting down");
      this.#log("info", `run ${runId}: handed back to the queue (shutting down)`);
    }
    for (const c of this.#chunks.values()) {
      c.handback = true;
      c.ctl.abort(new Error("handed back"));
    }
  }

  async #cancel(runId: string): Promise<void> {
    const reason = (await this.#redis.get(this.names.cancelKey(runId)).catch(() => null)) ?? "the run was cancelled";
    this.#active.get(runId)?.run?.cancel(reason);
    for (const c of this.#chunks.values()) if (c.runId === runId) c.ctl.abort(new Error(reason));
  }

  #hooks(pipeline: CompiledPipeline): CallHook[] {
    return cacheMayApply(pipeline.steps.values(), pipeline.models, pipeline.settings.cache)
      ? [new ResponseCache(this.#store, { ...(pipeline.settings.cache ? { project: pipeline.settings.cache } : {}) })]
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
      claim: fleetAlertClaim(this.#redis, this.names),
      onError: (e) => this.#log("warn", `the alert webhook failed: ${e.message}`),
    });
    this.#alerting.add(hook);
    return { hook, done: () => void hook.flush().then(() => this.#alerting.delete(hook)) };
  }

  /**
   * The run's pipeline `concurrency` and `budget`, held across the fleet: its job and its
   * forEach chunks share Redis-kept slots and one budget ledger.
   */
  #fleetLimits(runId: string, pipeline: CompiledPipeline, concurrency: number | undefined): { runGate?: CallGate; budgetLedger?: RedisBudgetLedger } {
    const runGate = this.#limiter.runGate(runId, concurrency ?? pipeline.concurrency);
    const budgetLedger = pipeline.budget ? new RedisBudgetLedger(this.#redis, this.names.budgetKey(runId)) : undefined;
    return { ...(runGate ? { runGate } : {}), ...(budgetLedger ? { budgetLedger } : {}) };
  }

  async #processRun(job: Job<RunJobData>, token: string | undefined): Promise<{ status: string; output?: unknown }> {
    const data = job.data;
    const runId = data.runId;
    const deps = { redis: this.#redis, store: this.#store, events: this.#events, names: this.names };
    let pipeline: CompiledPipeline;
    try {
      pipeline = await this.#pipelines.get(data);
    } catch (e) {
      if (!(e instanceof McpError)) throw e;
      this.#log("error", `run ${runId}: ${e.message}`);
      await finishFailedRun(deps, data, { reason: "internal", message: e.message });
      return { status: "failed" };
    }
    // Both reads in one round trip.
    const [existing, cancelled] = await Promise.all([this.#store.getRun(runId), this.#redis.get(this.names.cancelKey(runId))]);
    // Finished steps: of the run this one continues (web UI's Resume), then of this run's own
    // earlier attempt (a worker died or handed it back).
    const completed: Record<string, StepRecord> = {};
    for (const from of [data.resumeFrom, existing ? runId : undefined]) {
      if (from === undefined) continue;
      Object.assign(completed, resumableSteps(pipeline, reusableSteps(await this.#store.getSteps(from))));
    }
    const resumeFrom = data.resumeFrom ?? (existing ? runId : undefined);

    const active: ActiveRun = { handback: false };
    // store.redact: the journal and the event log keep digests, not prompts and answers; the
    // output reaches the producer as the job's return value (run-queue.ts removes it soon).
    const redact = pipeline.settings.store?.redact === true;
    const base = new StoreJournal(redact ? new RedactingStore(this.#store) : this.#store);
    const journal: RunJournal = {
      runStarted: (r) => base.runStarted(r),
      stepFinished: (id, step, record) => base.stepFinished(id, step, record),
      // A run handed back is not finished: the worker that takes it over finishes it.
      runFinished: (id, report) => (active.handback ? Promise.resolve() : base.runFinished(id, report)),
    };
    const alerts = this.#alerts(pipeline);
    const observer = this.#events.observer(runId, (e) => {
      alerts?.hook.onEvent(e);
      const out = active.handback && e.type === "run.finished" ? undefined : redact ? redactEvent(e) : e;
      if (out) this.metrics.onEvent(out);
      return out;
    });
    let run: PipelineRun;
    const fleet = this.#fleetLimits(runId, pipeline, data.concurrency);
    try {
      run = this.#orchestrator.startRun(pipeline, data.input, {
        runId,
        journal,
        ...fleet,
        observer,
        context: new ContextManager(this.#store),
        hooks: this.#hooks(pipeline),
        ...(data.conversationId !== undefined ? { conversationId: data.conversationId } : {}),
        ...(data.concurrency !== undefined ? { concurrency: data.concurrency } : {}),
        ...(resumeFrom !== undefined ? { resume: { fromRunId: resumeFrom, completed } } : {}),
        // A chunk reads its dependencies' outputs from the journal: not with redaction.
        ...(this.#o.fanOut && !redact
          ? { fanOut: new QueueFanOut({ flow: this.#flow, gatherQueue: this.#gatherQueue, gatherEvents: this.#gatherEvents, job: data, chunkSize: this.#o.chunkSize, attempts: 3 }) }
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
    if (existing) this.#log("info", `run ${runId}: taken over (attempt ${existing.attempts + 1}); ${Object.keys(completed).length} finished step(s) come from the journal`);
    try {
      const report = await run.done;
      await observer.flush();
      await fleet.budgetLedger?.flush();
      this.#publisher.soon();
      if (active.handback) {
        await job.moveToWait(token);
        throw new WaitingError();
      }
      this.#log("info", `run ${runId} (${data.pipeline}): ${report.status} in ${report.durationMs} ms`);
      return { status: report.status, ...(redact && report.output !== undefined ? { output: report.output } : {}) };
    } finally {
      this.#active.delete(runId);
      alerts?.done();
    }
  }

  async #processChunk(job: Job<ChunkJobData>, token: string | undefined): Promise<ChunkResult> {
    const { run: data, stepId, start, end } = job.data;
    const runId = data.runId;
    const [cancelled, given] = await Promise.all([this.#redis.exists(this.names.cancelKey(runId)), this.#store.getSteps(runId)]);
    if (cancelled) return { start, record: emptyRecord("aborted") };
    const pipeline = await this.#pipelines.get(data);
    const entry = { runId, ctl: new AbortController(), handback: false };
    const key = job.id ?? `${runId}.${stepId}.${start}`;
    this.#chunks.set(key, entry);
    // Only the items' own events: the step's start and end are the owning run's.
    const itemEvents = new Set<RunEvent["type"]>(["step.started", "step.attempt_failed", "step.fell_back", "step.cache", "model.throttled", "model.limit_wait", "model.breaker"]);
    const alerts = this.#alerts(pipeline);
    const observer = this.#events.observer(runId, (e) => {
      if (!itemEvents.has(e.type)) return undefined;
      alerts?.hook.onEvent(e);
      this.metrics.onEvent(e);
      return e;
    });
    this.#log("info", `run ${runId}: items ${start}-${end - 1} of step '${stepId}'`);
    const fleet = this.#fleetLimits(runId, pipeline, data.concurrency);
    try {
      const run = this.#orchestrator.startRun(pipeline, data.input, {
        runId,
        ...fleet,
        // The step's own `concurrency` holds across all its chunks, not per chunk.
        itemGate: (step, limit) => this.#limiter.itemGate(runId, step, limit),
        signal: entry.ctl.signal,
        observer,
        slice: { stepId, start, end, given },
        context: new ContextManager(this.#store),
        hooks: this.#hooks(pipeline),
        ...(data.conversationId !== undefined ? { conversationId: data.conversationId } : {}),
      });
      const report = await run.done;
      await observer.flush();
      await fleet.budgetLedger?.flush();
      this.metrics.forgetRun(runId);
      this.#publisher.soon();
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

  async #onRunJobFailedHere(jobId: string): Promise<void> {
    try {
      const job = await this.#runsQueue.getJob(jobId);
      // Failed with attempts left: BullMQ tries it again (delayed), the run goes on.
      if (job && (await job.getState()) === "failed") await this.#onRunJobFailed(jobId, job.failedReason);
    } catch {
      // Redis away: the reconciler finds it.
    }
  }

  /** A run's job failed for good (e.g. its workers kept dying): the run fails with the reason. */
  async #onRunJobFailed(jobId: string, failedReason: string): Promise<void> {
    try {
      const job = await this.#runsQueue.getJob(jobId);
      if (!job) return;
      const stalled = /stalled/i.test(failedReason);
      const message = stalled
        ? `the run's worker died or was killed ${this.#o.maxStalls + 1} times while running it (${failedReason}); it is not tried again`
        : `the run failed on the workers after ${job.attemptsMade} attempt(s): ${failedReason}`;
      const done = await finishFailedRun({ redis: this.#redis, store: this.#store, events: this.#events, names: this.names }, job.data, { reason: "internal", message });
      if (done) this.#log("error", `run ${jobId}: ${message}`);
    } catch (e) {
      this.#log("warn", `run ${jobId}: could not record its failure: ${(e as Error).message}`);
    }
  }
}

/** The record of a chunk's step that never ran: cancelled first, or its run failed before it. */
function emptyRecord(status: "aborted" | "failed", error?: StepRecord["error"]): StepRecord {
  return { status, attempts: [], durationMs: 0, usage: { inputTokens: 0, outputTokens: 0 }, cost: 0, cached: false, ...(error ? { error } : {}) };
}
