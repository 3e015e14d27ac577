/**
 * `mcp worker`: takes queued runs off Redis (BullMQ) and runs them, any number of workers on
 * any number of machines. Each worker process runs three BullMQ workers: `runs` (whole runs,
 * `concurrency` at once), `items` (chunks of a large forEach split across the fleet, see
 * fan-out.ts) and `gather` (the flow parents of those chunks, trivial). This file wires the
 * fleet (connections, queues, workers, cancellation, shutdown, failed jobs); what is done
 * with one job is job-processor.ts.
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
import { FlowProducer, Queue, QueueEvents, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { TaskOrchestrator } from "../orchestrator/orchestrator.js";
import { ModelRegistry } from "../registry/model-registry.js";
import { connectRedis } from "../store/redis-connection.js";
import { RedisStore } from "../store/redis-store.js";
import { RunMetrics } from "../telemetry/run-metrics.js";
import { durabilityWarnings } from "./durability.js";
import { RedisEventLog } from "./event-log.js";
import { fleetLimits } from "./fleet-limiter.js";
import { JobProcessor } from "./job-processor.js";
import { MetricsPublisher } from "./metrics-publisher.js";
import { GATHER_QUEUE, ITEMS_QUEUE, queueNames, RUNS_QUEUE, type ChunkJobData, type QueueNames, type RunJobData } from "./names.js";
import { PipelineSource } from "./pipeline-source.js";
import { finishFailedRun } from "./run-finisher.js";
import { workerSettings, type RunWorkerOptions, type WorkerSettings } from "./worker-options.js";

/** How often one Redis connection error is logged again while it lasts (Redis down: every reconnect fails). */
const REDIS_WARN_EVERY_MS = 30_000;

export type { RunWorkerOptions } from "./worker-options.js";

export class RunWorker {
  readonly names: QueueNames;
  readonly #o: WorkerSettings;
  readonly #log: NonNullable<RunWorkerOptions["log"]>;
  readonly #redis: Redis;
  readonly #sub: Redis;
  readonly #writes: Redis;
  readonly #store: RedisStore;
  readonly #events: RedisEventLog;
  readonly #orchestrator: TaskOrchestrator;
  /** The runs this process executes, published for the server's /metrics. */
  readonly metrics = new RunMetrics();
  readonly #publisher: MetricsPublisher;
  readonly #runsQueue: Queue<RunJobData>;
  readonly #gatherQueue: Queue;
  readonly #flow: FlowProducer;
  readonly #gatherEvents: QueueEvents;
  readonly #workers: Worker[] = [];
  readonly #owned: Redis[] = [];
  readonly #jobs: JobProcessor;
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
    // Models' concurrency and rpm/tpm `limits:`, deployments' maxConcurrency: fleet-wide (Redis), not per worker.
    const limits = fleetLimits(redis, this.#sub, this.names);
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
    this.#jobs = new JobProcessor({
      redis,
      store: this.#store,
      events: this.#events,
      names: this.names,
      pipelines: new PipelineSource(this.#o.dir),
      orchestrator: this.#orchestrator,
      limiter: limits.limiter,
      metrics: this.metrics,
      publisher: this.#publisher,
      settings: this.#o,
      log: this.#log,
      fanOut: { flow: this.#flow, gatherQueue: this.#gatherQueue, gatherEvents: this.#gatherEvents },
    });

    const common = { connection: redis, prefix, lockDuration: this.#o.lockDurationMs, stalledInterval: Math.max(500, Math.floor(this.#o.lockDurationMs / 2)), maxStalledCount: this.#o.maxStalls };
    this.#workers.push(
      new Worker<RunJobData>(RUNS_QUEUE, (job, token) => this.#jobs.processRun(job, token), { ...common, concurrency: this.#o.concurrency }),
      new Worker<ChunkJobData>(ITEMS_QUEUE, (job, token) => this.#jobs.processChunk(job, token), { ...common, concurrency: this.#o.itemConcurrency }),
      new Worker(GATHER_QUEUE, async () => null, { ...common, concurrency: 50 }),
    );
    // Every worker reports every failed reconnect (several a second while Redis is down):
    // each distinct error is logged once per REDIS_WARN_EVERY_MS, not once per try.
    const warned = new Map<string, number>();
    const warnRedis = (e: Error) => {
      const now = Date.now();
      if (now - (warned.get(e.message) ?? -Infinity) < REDIS_WARN_EVERY_MS) return;
      warned.set(e.message, now);
      this.#log("warn", `redis: ${e.message} (retrying)`);
    };
    for (const w of this.#workers) {
      w.on("error", warnRedis);
      w.on("stalled", (jobId) => this.#log("warn", `job ${jobId} stalled (its worker stopped); it goes back to the queue`));
    }

    void this.#sub.subscribe(this.names.cancelChannel).catch(() => undefined);
    this.#sub.on("message", (channel: string, runId: string) => {
      if (channel === this.names.cancelChannel) void this.#jobs.cancel(runId);
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
    return this.#jobs.activeRuns;
  }

  /**
   * Stops taking jobs; runs in progress get `graceMs` to finish, then are handed back to the
   * queue (resumed from the journal by another worker). Resolves when everything is closed.
   */
  close(graceMs = this.#o.graceMs): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#reconciler);
      const timer = setTimeout(() => this.#jobs.handBackAll(), graceMs);
      try {
        await Promise.all(this.#workers.map((w) => w.close()));
      } finally {
        clearTimeout(timer);
      }
      await this.#jobs.flushAlerts();
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
