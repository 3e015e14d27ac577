/**
 * Ending a queued run that cannot run: its pipeline is missing or differs on the worker, its
 * input is invalid, or its job failed for good (a poison run whose workers kept dying). The
 * run is written to the store as failed with the reason, and `run.finished` is appended to
 * its event log so followers (CLI, SSE) end too. A key set with NX makes sure only one worker
 * of the fleet does it, however many saw the failure.
 */
import { hostname } from "node:os";
import type { Redis } from "ioredis";
import type { ErrorInfo } from "../events/event.js";
import type { RunReport } from "../events/report.js";
import type { Store } from "../store/store.js";
import type { RedisEventLog } from "./event-log.js";
import type { QueueNames, RunJobData } from "./names.js";

export async function finishFailedRun(deps: { redis: Redis; store: Store; events: RedisEventLog; names: QueueNames }, data: RunJobData, error: ErrorInfo): Promise<boolean> {
  const { redis, store, events, names } = deps;
  const first = await redis.set(names.finalizedKey(data.runId), "1", "EX", 7 * 24 * 3600, "NX");
  if (first !== "OK") return false;
  const now = Date.now();
  let run = await store.getRun(data.runId);
  if (run && run.status !== "running") return false;
  if (!run) {
    await store.runStarted({
      id: data.runId,
      pipeline: data.pipeline,
      file: data.file,
      hash: data.hash,
      input: data.input,
      startedAt: now,
      pid: process.pid,
      host: hostname(),
      ...(data.conversationId !== undefined ? { conversationId: data.conversationId } : {}),
    });
    run = await store.getRun(data.runId);
  }
  const startedAt = run?.startedAt ?? now;
  const totals = { inputTokens: 0, outputTokens: 0, cost: 0, calls: 0, cacheHits: 0, cacheMisses: 0 };
  const report: RunReport = {
    runId: data.runId,
    pipeline: data.pipeline,
    file: data.file,
    hash: data.hash,
    status: "failed",
    startedAt: new Date(startedAt).toISOString(),
    durationMs: now - startedAt,
    input: data.input,
    error,
    steps: await store.getSteps(data.runId),
    totals,
  };
  await store.runFinished(data.runId, { status: "failed", finishedAt: now, durationMs: report.durationMs, error, totals, report });
  await events.append(data.runId, { type: "run.finished", runId: data.runId, ts: now, status: "failed", durationMs: report.durationMs, error });
  return true;
}
