/**
 * The producer side of scale-out: `mcp run --queue` and `mcp serve --queue` put runs on the
 * BullMQ queue `runs` (job id = run id), follow their events from the run's event log, ask
 * for cancellation, and read the final report from the shared Redis store. The runs
 * themselves happen on `mcp worker` processes (src/queue/worker.ts).
 */
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { CompiledPipeline } from "../compiler/types.js";
import type { RunReport } from "../events/report.js";
import { assertRunInput } from "../orchestrator/input.js";
import { newRunId } from "../orchestrator/run.js";
import { connectRedis } from "../store/redis-connection.js";
import { RedisStore } from "../store/redis-store.js";
import { durabilityWarnings } from "./durability.js";
import { fleetLimits, type FleetLimitOptions } from "./fleet-limiter.js";
import { readFleet, readFleetMetrics } from "./metrics-publisher.js";
import { RedisEventLog, type LoggedEvent } from "./event-log.js";
import { queueNames, RUNS_QUEUE, type QueueNames, type RunJobData } from "./names.js";
import { projectRelative } from "./pipeline-source.js";

/** How long the job of a run with store.redact (its input and output) stays in Redis after it ends. */
export const REDACTED_JOB_AGE_SECONDS = 300;

export interface RunQueueOptions {
  /** Key prefix shared with the workers. @default "mcp:" */
  prefix?: string;
  /** Fail when Redis does not answer within this time. @default 5000 */
  connectTimeoutMs?: number;
  /**
   * How many times a run's job may fail on a worker (an error outside the run itself, e.g.
   * the worker cannot load the pipeline) before the run is failed. @default 3
   */
  attempts?: number;
}

export interface EnqueueOptions {
  runId?: string;
  /** Continue an earlier run (a new run whose finished steps come from that run's journal). */
  resumeFrom?: string;
  conversationId?: string;
  concurrency?: number;
  /** Where the input came from, for its diagnostics (`--input`, a file name). @default "input" */
  inputOrigin?: string;
}

/** Where a queued run is, from BullMQ's point of view. */
export interface QueuedRunState {
  state: "waiting" | "active" | "completed" | "failed" | "delayed" | "unknown" | string;
  failedReason?: string;
  attemptsMade?: number;
}

export class RunQueue {
  readonly url: string;
  readonly names: QueueNames;
  readonly store: RedisStore;
  readonly events: RedisEventLog;
  readonly #redis: Redis;
  readonly #queue: Queue<RunJobData>;
  readonly #attempts: number;
  readonly #blocking = new Set<Redis>();

  static async open(url: string, options: RunQueueOptions = {}): Promise<RunQueue> {
    const redis = await connectRedis(url, { name: "mcp-producer", connectTimeoutMs: options.connectTimeoutMs ?? 5000 });
    return new RunQueue(url, redis, options);
  }

  private constructor(url: string, redis: Redis, options: RunQueueOptions) {
    this.url = url;
    this.names = queueNames(options.prefix);
    this.#redis = redis;
    this.#attempts = options.attempts ?? 3;
    this.store = new RedisStore(redis, { prefix: this.names.prefix, location: url });
    this.events = new RedisEventLog(redis, this.names);
    this.#queue = new Queue<RunJobData>(RUNS_QUEUE, { connection: redis, prefix: this.names.bullPrefix });
    this.#queue.on("error", () => {});
  }

  /**
   * The fleet-wide limits, for a process that calls models itself next to the workers (the
   * server's chat completions and ad-hoc tasks): models' `concurrency` and `limits:` and
   * deployments' `maxConcurrency` then count its calls with the workers' (the same Redis keys).
   */
  fleetLimits(): FleetLimitOptions {
    const sub = this.#redis.duplicate();
    sub.on("error", () => {});
    this.#blocking.add(sub);
    return fleetLimits(this.#redis, sub, this.names).options;
  }

  /** Warnings about Redis settings that would lose runs (see durability.ts). */
  durabilityWarnings(): Promise<string[]> {
    return durabilityWarnings(this.#redis);
  }

  /**
   * Validates the input (ConfigError, as for a local run) and enqueues the run.
   * Resolves with the run id once Redis has the job.
   */
  async enqueue(pipeline: CompiledPipeline, input: unknown, opts: EnqueueOptions = {}): Promise<string> {
    assertRunInput(pipeline, input, {}, opts.inputOrigin !== undefined ? { file: opts.inputOrigin } : undefined);
    const runId = opts.runId ?? newRunId();
    const data: RunJobData = {
      runId,
      pipeline: pipeline.name,
      hash: pipeline.hash,
      file: projectRelative(pipeline),
      input,
      ...(opts.conversationId !== undefined ? { conversationId: opts.conversationId } : {}),
      ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
      ...(opts.resumeFrom !== undefined ? { resumeFrom: opts.resumeFrom } : {}),
      enqueuedAt: Date.now(),
    };
    await this.#queue.add("run", data, {
      jobId: runId,
      attempts: this.#attempts,
      backoff: { type: "exponential", delay: 1000 },
      // store.redact: the job holds the input (and, once done, the output): gone soon after.
      removeOnComplete: pipeline.settings.store?.redact === true ? { age: REDACTED_JOB_AGE_SECONDS } : { age: 24 * 3600, count: 10_000 },
      removeOnFail: { age: 7 * 24 * 3600 },
    });
    return runId;
  }

  /** Asks the worker running `runId` (or the one that will take it) to cancel it. */
  async cancel(runId: string, reason = "the run was cancelled"): Promise<void> {
    await this.#redis.set(this.names.cancelKey(runId), reason, "EX", 24 * 3600);
    await this.#redis.publish(this.names.cancelChannel, runId);
  }

  /** The run's events after `after`, as they come, until `run.finished` or the signal. */
  async *follow(runId: string, opts: { after?: number; signal?: AbortSignal } = {}): AsyncGenerator<LoggedEvent> {
    const blocking = this.#redis.duplicate();
    blocking.on("error", () => {});
    this.#blocking.add(blocking);
    try {
      yield* this.events.follow(runId, blocking, opts);
    } finally {
      this.#blocking.delete(blocking);
      blocking.disconnect();
    }
  }

  /** The run's final report, once a worker finished it. */
  async report(runId: string): Promise<RunReport | undefined> {
    return (await this.store.getRun(runId))?.report;
  }

  /**
   * The output of a run whose journal is redacted (store.redact), from its job's return
   * value, while BullMQ keeps the job (REDACTED_JOB_AGE_SECONDS after the end).
   */
  async output(runId: string, opts: { waitMs?: number } = {}): Promise<{ output: unknown } | undefined> {
    // The run's end reaches the journal and its events just before its job completes: a
    // caller that saw the end may wait `waitMs` for the job's return value.
    const until = Date.now() + (opts.waitMs ?? 0);
    for (;;) {
      const job = await this.#queue.getJob(runId);
      const rv = job?.returnvalue as { output?: unknown } | null | undefined;
      if (rv && typeof rv === "object" && "output" in rv) return { output: rv.output };
      if (!job || job.finishedOn !== undefined || Date.now() >= until) return undefined;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The run metrics the workers published (metrics-publisher.ts), for the server's /metrics. */
  fleetMetrics(): ReturnType<typeof readFleetMetrics> {
    return readFleetMetrics(this.#redis, this.names.metricsKey);
  }

  /** The workers' published run metrics and deployments' state (metrics-publisher.ts). */
  fleet(): ReturnType<typeof readFleet> {
    return readFleet(this.#redis, this.names.metricsKey);
  }

  /** The run's job, while BullMQ keeps it. */
  async job(runId: string): Promise<{ data: RunJobData } | undefined> {
    return (await this.#queue.getJob(runId)) ?? undefined;
  }

  /** Where the run's job is. */
  async state(runId: string): Promise<QueuedRunState> {
    const job = await this.#queue.getJob(runId);
    if (!job) return { state: "unknown" };
    const state = await job.getState();
    return { state, ...(job.failedReason ? { failedReason: job.failedReason } : {}), attemptsMade: job.attemptsMade };
  }

  /** Jobs by state (waiting, active, ...), for `mcp worker --status`-like views and tests. */
  async counts(): Promise<Record<string, number>> {
    return this.#queue.getJobCounts("waiting", "active", "completed", "failed", "delayed");
  }

  async close(): Promise<void> {
    for (const b of this.#blocking) b.disconnect();
    await this.#queue.close().catch(() => undefined);
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}
