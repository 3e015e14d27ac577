/**
 * How a step ends up in the report: the record of a success (and the usage, cost and model
 * of its calls added up), of a step an earlier attempt of the run finished, and of a
 * failure, with the failure policy (`onError`) that decides whether the run goes on.
 */
import type { CompiledStep } from "../compiler/types.js";
import type { AttemptRecord, StepRecord } from "../events/report.js";
import { ExpressionError } from "../expr/expression.js";
import type { CallResult } from "./fallback-chain.js";
import { NestedRunFailed } from "./nested.js";
import { combined } from "./repeat.js";
import { zeroUsage, type RunScope } from "./run-scope.js";
import { RunAborted, StepError, toErrorInfo } from "./step-errors.js";

/** The record of a step's success. */
export function successRecord(
  output: unknown,
  model: string | undefined,
  attempts: AttemptRecord[],
  started: number,
  usage: StepRecord["usage"],
  estimated: boolean,
  cost: number,
  cached: boolean,
  items?: number,
  nested?: Record<string, StepRecord>,
): StepRecord {
  // Built field by field, in this order (the journal's JSON keeps it): a spread of an
  // optional field makes an object and copies it, per step.
  const record = { status: "success", output } as StepRecord;
  if (model !== undefined) record.model = model;
  record.attempts = attempts;
  record.durationMs = Date.now() - started;
  record.usage = usage;
  if (estimated) record.usageEstimated = true;
  record.cost = cost;
  record.cached = cached;
  if (items !== undefined) record.items = items;
  if (nested) record.steps = nested;
  record.startedAt = started;
  return record;
}

/** The usage, cost and model of a step's calls, added up. */
export class StepSum {
  model: string | undefined;
  readonly usage = zeroUsage();
  cost = 0;
  cached = true;
  estimated = false;
  add(r: CallResult): void {
    this.model = r.model;
    this.addNested(r);
  }
  /** A sub-pipeline's nested run: its steps' usage and cost (no model of the step's own). */
  addNested(r: { usage: CallResult["usage"]; cost: number; cached: boolean; usageEstimated: boolean }): void {
    this.usage.inputTokens += r.usage.inputTokens;
    this.usage.outputTokens += r.usage.outputTokens;
    this.cost += r.cost;
    this.cached &&= r.cached;
    this.estimated ||= r.usageEstimated;
  }
}

/** A step finished by an earlier attempt of the run: its record, not run again. */
export function resumeStep(scope: RunScope, id: string, prior: StepRecord): StepRecord {
  const record: StepRecord = { ...prior, resumed: true };
  scope.emit({
    type: "step.finished",
    runId: scope.id,
    ts: Date.now(),
    stepId: id,
    ...(prior.model !== undefined ? { model: prior.model } : {}),
    durationMs: 0,
    attempts: 0,
    usage: prior.usage,
    cost: prior.cost,
    cached: prior.cached,
    resumed: true,
    output: prior.output,
  });
  return scope.settle(id, record);
}

/** The failure policy: record the error; `onError: fail` (and a budget stop) aborts the run. */
export function failStep(scope: RunScope, step: CompiledStep, e: unknown, attempts: AttemptRecord[], started: number, perCall: number, iterations: StepRecord[] = []): StepRecord {
  const signal = scope.signal;
  const durationMs = Date.now() - started;
  // Cancelled (or another step failed the run) while this one ran.
  if (signal.aborted && (e === signal.reason || (e as Error)?.name === "AbortError")) {
    scope.emit({ type: "step.aborted", runId: scope.id, ts: Date.now(), stepId: step.id });
    return scope.settle(step.id, { status: "aborted", attempts, durationMs, usage: zeroUsage(), cost: 0, cached: false });
  }
  const error = toErrorInfo(e, e instanceof ExpressionError ? "expression-error" : "internal");
  if (!(e instanceof StepError)) error.message = `step '${step.id}': ${error.message}`;
  const continued = step.onError === "continue" && error.reason !== "budget-exceeded";
  scope.emit({ type: "step.failed", runId: scope.id, ts: Date.now(), stepId: step.id, error, durationMs, attempts: perCall, continued });
  // A failed nested run keeps its steps' records: the report and journal show where it stopped.
  // A failed loop keeps its finished iterations: their usage and cost count, as in the run's totals.
  const loop = iterations.length > 0 ? combined(iterations) : undefined;
  const record: StepRecord = {
    status: "failed",
    ...(loop?.model !== undefined ? { model: loop.model } : {}),
    attempts,
    durationMs,
    usage: loop?.usage ?? zeroUsage(),
    ...(loop?.usageEstimated ? { usageEstimated: true } : {}),
    cost: loop?.cost ?? 0,
    cached: false,
    error,
    ...(loop ? { iterations } : {}),
    ...(e instanceof NestedRunFailed ? { steps: e.steps } : {}),
  };
  if (!continued) {
    scope.failure ??= error;
    scope.abort(new RunAborted(error.reason, error.message));
  }
  return scope.settle(step.id, record);
}
