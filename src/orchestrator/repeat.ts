/**
 * A bounded loop (a step's `repeat: { until, max, onMax }`): the step's work runs once per
 * iteration with $last (the previous iteration's output; nothing in the first) and
 * $iteration (1, 2 ...), until `until` holds over the iteration's output or `max` iterations
 * ran. Each finished iteration is journaled under `<step>#<n>` before the next starts, so a
 * resumed run continues after the last finished one. docs/loops.md.
 */
import type { CompiledStep } from "../compiler/types.js";
import type { StepRecord } from "../events/report.js";
import { zeroUsage, type RunScope } from "./run-scope.js";
import { StepError } from "./step-errors.js";

/** One iteration of the step's work, with these bindings, keyed `key` (journal, nested runs). */
export type IterationRunner = (bindings: Record<string, unknown>, key: string) => Promise<StepRecord>;

/** The journal key of a loop's iteration `n`. */
export function iterationKey(stepId: string, n: number): string {
  return `${stepId}#${n}`;
}

/**
 * Runs the iterations of a `repeat` step; resolves with the step's record (before its output
 * mapping is journaled). Each finished iteration's record is pushed to `iterations`, so a
 * step that fails (`repeat-exhausted`, or a failing iteration) still reports those that ran.
 */
export async function repeatStep(scope: RunScope, step: CompiledStep, started: number, runIteration: IterationRunner, iterations: StepRecord[] = []): Promise<StepRecord> {
  const { until, max, onMax } = step.repeat!;
  const completed = scope.options.resume?.completed;
  let last: unknown;
  for (let n = 1; n <= max; n++) {
    if (scope.signal.aborted) throw scope.signal.reason;
    const key = iterationKey(step.id, n);
    const prior = completed?.[key];
    let record: StepRecord;
    if (prior && prior.status === "success") record = { ...prior, resumed: true };
    else {
      record = await runIteration({ ...scope.bindings, last, iteration: n }, key);
      await scope.options.journal?.stepFinished(scope.id, key, record);
    }
    iterations.push(record);
    last = record.output;
    const done = until ? isTrue(await until.evaluate({ ...scope.bindings, last, iteration: n })) : false;
    if (scope.observed) {
      scope.emit({
        type: "step.iteration",
        runId: scope.id,
        ts: Date.now(),
        stepId: step.id,
        iteration: n,
        max,
        done,
        durationMs: record.resumed ? 0 : record.durationMs,
        ...(record.resumed ? { resumed: true } : {}),
        output: last,
      });
    }
    if (done) break;
    if (n === max && until && onMax === "fail") {
      throw new StepError("repeat-exhausted", `step '${step.id}': repeat reached max ${max} and until (${until.source.trim()}) still does not hold`, step.id);
    }
  }
  const { model, attempts, usage, usageEstimated, cost, cached } = combined(iterations);
  return {
    status: "success",
    output: last,
    ...(model !== undefined ? { model } : {}),
    attempts,
    durationMs: Date.now() - started,
    usage,
    ...(usageEstimated ? { usageEstimated } : {}),
    cost,
    cached,
    iterations,
    startedAt: started,
  };
}

/** JSONata's truth: a condition holds when it is true (or a non-empty value), not when it is undefined. */
function isTrue(v: unknown): boolean {
  return Array.isArray(v) ? v.length > 0 && v.some(Boolean) : Boolean(v);
}

/** What a loop's record sums up from its iterations: their attempts, usage and cost, the last model. */
export function combined(iterations: StepRecord[]): Pick<StepRecord, "model" | "attempts" | "usage" | "usageEstimated" | "cost" | "cached" | "iterations"> {
  const usage = zeroUsage();
  let cost = 0;
  let cached = true;
  let estimated = false;
  let model: string | undefined;
  const attempts = [];
  for (const r of iterations) {
    usage.inputTokens += r.usage.inputTokens;
    usage.outputTokens += r.usage.outputTokens;
    cost += r.cost;
    cached &&= r.cached;
    estimated ||= !!r.usageEstimated;
    if (r.model !== undefined) model = r.model;
    if (!r.resumed) attempts.push(...r.attempts);
  }
  return {
    ...(model !== undefined ? { model } : {}),
    attempts,
    usage,
    ...(estimated ? { usageEstimated: true } : {}),
    cost,
    cached,
    iterations,
  };
}
