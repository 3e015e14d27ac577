/**
 * A large forEach split across the fleet with a BullMQ flow: one child job per chunk of
 * items on the `items` queue (any worker takes them), under a parent `gather` job that BullMQ
 * completes once every chunk has (and fails if a chunk's job fails for good). The run that
 * owns the step waits for the gather job and puts the chunks' results back in item order.
 *
 * Ids are derived from the run and step (`RUN.STEP.N`, `RUN.STEP.gather`), so a run taken
 * over by another worker after a crash finds the flow it had started and waits for it,
 * instead of running the items again; chunks finished before the crash are not re-run.
 */
import { type FlowProducer, Job, type Queue, type QueueEvents } from "bullmq";
import type { FanOut, FanOutResult } from "../events/ports.js";
import type { StepRecord } from "../events/report.js";
import { StepError } from "../orchestrator/run.js";
import { chunkJobId, gatherJobId, GATHER_QUEUE, ITEMS_QUEUE, type ChunkJobData, type RunJobData } from "./names.js";

/** What a chunk job returns: the step record of its items (output = their results). */
export interface ChunkResult {
  start: number;
  record: StepRecord;
}

export interface QueueFanOutDeps {
  flow: FlowProducer;
  gatherQueue: Queue;
  gatherEvents: QueueEvents;
  /** The run this fan-out belongs to. */
  job: RunJobData;
  /** Items per chunk job. */
  chunkSize: number;
  /** Tries per chunk job (a worker dying mid-chunk counts as a stall, not an attempt). */
  attempts: number;
}

export class QueueFanOut implements FanOut {
  readonly #d: QueueFanOutDeps;

  constructor(deps: QueueFanOutDeps) {
    this.#d = deps;
  }

  splits(count: number): boolean {
    return count > this.#d.chunkSize;
  }

  async map(req: { runId: string; stepId: string; count: number; signal: AbortSignal }): Promise<FanOutResult> {
    const { runId, stepId, count, signal } = req;
    const d = this.#d;
    const gid = gatherJobId(runId, stepId);
    let gather = (await Job.fromId(d.gatherQueue, gid)) as Job | undefined;
    if (!gather) {
      const children = [];
      for (let start = 0, i = 0; start < count; start += d.chunkSize, i++) {
        const data: ChunkJobData = { run: d.job, stepId, start, end: Math.min(count, start + d.chunkSize) };
        children.push({
          name: "chunk",
          queueName: ITEMS_QUEUE,
          data,
          opts: {
            jobId: chunkJobId(runId, stepId, i),
            attempts: d.attempts,
            backoff: { type: "exponential", delay: 500 },
            failParentOnFailure: true,
            removeOnComplete: { age: 3600 },
            removeOnFail: { age: 24 * 3600 },
          },
        });
      }
      const node = await d.flow.add({
        name: "gather",
        queueName: GATHER_QUEUE,
        data: { runId, stepId, chunks: children.length },
        opts: { jobId: gid, removeOnComplete: { age: 3600 }, removeOnFail: { age: 24 * 3600 } },
        children,
      });
      gather = node.job;
    }

    await abortable(gather.waitUntilFinished(d.gatherEvents), signal).catch((e: unknown) => {
      if (signal.aborted) throw signal.reason;
      throw new StepError("internal", `step '${stepId}': a chunk of its items failed on the workers: ${(e as Error).message}`, stepId);
    });
    const values = (await gather.getChildrenValues()) as Record<string, ChunkResult>;
    const chunks = Object.values(values).sort((a, b) => a.start - b.start);
    const failed = chunks.find((c) => c.record.status !== "success");
    if (failed) {
      if (signal.aborted) throw signal.reason;
      const e = failed.record.error;
      throw new StepError(e?.reason ?? "internal", e?.message ?? `step '${stepId}': items from ${failed.start} ${failed.record.status}`, stepId, {
        ...(e?.kind ? { kind: e.kind } : {}),
        ...(e?.model ? { model: e.model } : {}),
        ...(e?.status !== undefined ? { status: e.status } : {}),
      });
    }
    const results: unknown[] = [];
    const out: FanOutResult = { results, usage: { inputTokens: 0, outputTokens: 0 }, cost: 0, cached: chunks.length > 0, attempts: [] };
    for (const c of chunks) {
      const r = c.record;
      results.push(...((r.output as unknown[] | undefined) ?? []));
      out.usage.inputTokens += r.usage.inputTokens;
      out.usage.outputTokens += r.usage.outputTokens;
      out.cost += r.cost;
      out.cached &&= r.cached;
      if (r.usageEstimated) out.usageEstimated = true;
      if (r.model !== undefined) out.model = r.model;
      out.attempts.push(...r.attempts);
    }
    if (results.length !== count) throw new StepError("internal", `step '${stepId}': the workers returned ${results.length} results for ${count} items`, stepId);
    return out;
  }
}

function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e as Error);
      },
    );
  });
}
