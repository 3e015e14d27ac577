/**
 * The run events of a run rebuilt from its journal (a report, or the step records of a run
 * that died), for runs whose events were not kept: each step's attempts, per forEach item
 * and per `repeat` iteration, become the events the orchestrator would have sent, so the
 * run view (run-view.ts) folds them like a live run's. Like the run view, it imports types
 * only and nothing of Node.
 */
import type { ErrorInfo, RunEvent, RunStatus } from "../events/event.js";
import { callAttempts, type AttemptRecord, type StepRecord } from "../events/report.js";

/**
 * The events of a run rebuilt from its journal (a report, or the step records of a run
 * that died), for runs whose events were not kept. Attempt times are laid end to end from
 * each step's start, so retry waits are not shown; everything else is as recorded.
 */
export function eventsFromRecords(run: {
  runId: string;
  pipeline: string;
  startedAt: number;
  status: RunStatus;
  durationMs?: number;
  output?: unknown;
  error?: ErrorInfo;
  steps: Record<string, StepRecord>;
}): RunEvent[] {
  const out: RunEvent[] = [];
  const runId = run.runId;
  out.push({ type: "run.started", runId, ts: run.startedAt, pipeline: run.pipeline, hash: "", steps: Object.keys(run.steps) });
  for (const [stepId, r] of Object.entries(run.steps)) {
    const t0 = r.startedAt ?? run.startedAt;
    if (r.status === "skipped") {
      out.push({ type: "step.skipped", runId, ts: t0, stepId, reason: "skipped" });
      continue;
    }
    if (r.resumed) {
      out.push({
        type: "step.finished",
        runId,
        ts: t0,
        stepId,
        ...(r.model !== undefined ? { model: r.model } : {}),
        durationMs: 0,
        attempts: 0,
        usage: r.usage,
        cost: r.cost,
        cached: r.cached,
        resumed: true,
        output: r.output,
      });
      continue;
    }
    if (r.iterations) {
      // A loop: each iteration's attempts after the one before, then its step.iteration.
      let t = t0;
      r.iterations.forEach((it, n) => {
        if (!it.resumed) t = attemptEvents(out, runId, stepId, it.attempts, t);
        const last = n === r.iterations!.length - 1;
        out.push({
          type: "step.iteration",
          runId,
          ts: t,
          stepId,
          iteration: n + 1,
          max: r.iterations!.length,
          done: last,
          durationMs: it.resumed ? 0 : it.durationMs,
          ...(it.resumed ? { resumed: true } : {}),
          output: it.output,
        });
      });
    } else attemptEvents(out, runId, stepId, r.attempts, t0);
    const tEnd = t0 + r.durationMs;
    if (r.status === "success")
      out.push({
        type: "step.finished",
        runId,
        ts: tEnd,
        stepId,
        ...(r.model !== undefined ? { model: r.model } : {}),
        durationMs: r.durationMs,
        attempts: callAttempts(r),
        usage: r.usage,
        cost: r.cost,
        cached: r.cached,
        output: r.output,
      });
    else if (r.status === "failed")
      out.push({ type: "step.failed", runId, ts: tEnd, stepId, error: r.error ?? { reason: "internal", message: "failed" }, durationMs: r.durationMs, attempts: callAttempts(r), continued: false });
    else if (r.status === "aborted") out.push({ type: "step.aborted", runId, ts: tEnd, stepId });
  }
  out.sort((a, b) => a.ts - b.ts);
  if (run.status !== "running") {
    out.push({
      type: "run.finished",
      runId,
      ts: run.startedAt + (run.durationMs ?? 0),
      status: run.status,
      durationMs: run.durationMs ?? 0,
      ...(run.output !== undefined ? { output: run.output } : {}),
      ...(run.error ? { error: run.error } : {}),
    });
  }
  return out;
}

/**
 * The events of a call's attempts from `t0` (per forEach item, one after another); returns
 * when the last ends.
 */
function attemptEvents(out: RunEvent[], runId: string, stepId: string, attempts: readonly AttemptRecord[], t0: number): number {
  const clock = new Map<number | undefined, number>();
  let endAll = t0;
  for (let i = 0; i < attempts.length; i++) {
    const a = attempts[i]!;
    const item = a.item !== undefined ? { item: a.item } : {};
    const t = clock.get(a.item) ?? t0;
    if (a.cached) {
      out.push({ type: "step.cache", runId, ts: t, stepId, model: a.model, hit: true, source: a.cached, ...item });
      continue;
    }
    out.push({ type: "step.started", runId, ts: t, stepId, model: a.model, attempt: a.attempt, ...item });
    const end = t + a.durationMs;
    clock.set(a.item, end);
    endAll = Math.max(endAll, end);
    if (!a.ok) {
      const next = attempts.slice(i + 1).find((n) => n.item === a.item);
      const retried = next !== undefined && next.model === a.model;
      const error = a.error ?? { reason: "model-error" as const, message: "attempt failed" };
      out.push({ type: "step.attempt_failed", runId, ts: end, stepId, model: a.model, attempt: a.attempt, error, ...(retried ? { retryInMs: 0 } : {}), ...item });
      if (next !== undefined && next.model !== a.model) out.push({ type: "step.fell_back", runId, ts: end, stepId, from: a.model, to: next.model, error, ...item });
    }
  }
  return endAll;
}
