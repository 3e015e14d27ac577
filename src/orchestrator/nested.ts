/**
 * A sub-pipeline's nested run (a step with `pipeline:`): the child's steps run in a scope
 * of their own (their `$steps`, records and abort controller) that shares the parent's
 * model-call queue, totals and budget, and is aborted with the parent. Its events reach the
 * parent's listeners and its finished steps the parent's journal under the step's key
 * (`summarise/extract`, `refine#2/check`, `each[3]/extract`), which is also how `mcp
 * resume` finds the finished steps of a child. docs/sub-pipelines.md.
 */
import type { CompiledStep } from "../compiler/types.js";
import type { RunEvent } from "../events/event.js";
import type { RunJournal } from "../events/ports.js";
import type { StepRecord } from "../events/report.js";
import { evaluateTemplate } from "../expr/template.js";
import { ModelRegistry } from "../registry/model-registry.js";
import { checkRunInput } from "./input.js";
import { RunScope, zeroUsage, type RunOptions } from "./run-scope.js";
import { RunAborted, StepError } from "./step-errors.js";
import type { Usage } from "../models/types.js";

/** What a nested run gives its step: the child's output, what it cost, its steps' records. */
export interface NestedResult {
  output: unknown;
  usage: Usage;
  usageEstimated: boolean;
  cost: number;
  cached: boolean;
  steps: Record<string, StepRecord>;
}

/** A nested run that failed or timed out: the step's error, with the records of the child's steps (for the report and journal). */
export class NestedRunFailed extends StepError {
  constructor(
    reason: StepError["reason"],
    message: string,
    stepId: string,
    info: StepError["info"],
    readonly steps: Record<string, StepRecord>,
  ) {
    super(reason, message, stepId, info);
  }
}

/** Runs every step of a scope to its end (step.ts's, passed in so the two files do not import each other). */
export type StepsRunner = (scope: RunScope) => Promise<void>;

/** The part of a journal key after `prefix/`, when the key is under it. */
function under(key: string, prefix: string): string | undefined {
  return key.length > prefix.length + 1 && key.startsWith(prefix) && key.charCodeAt(prefix.length) === 47 /* / */ ? key.slice(prefix.length + 1) : undefined;
}

/** Runs `step`'s sub-pipeline on `input` as a nested run keyed `key` in the parent's journal and events. */
export async function runNested(parent: RunScope, step: CompiledStep, input: unknown, key: string, runSteps: StepsRunner): Promise<NestedResult> {
  const sub = step.pipeline!;
  const child = sub.compiled;
  const problems = checkRunInput(child, input);
  if (problems.length) {
    throw new StepError("invalid-input", `step '${step.id}': the input of sub-pipeline ${sub.ref} is invalid: ${problems.map((d) => d.message).join("; ")}`, step.id);
  }

  // The parent's options (hooks, context, env, gates ...), except what is the run's own or
  // keyed: its id, signal and observer (the child has its own), the journal and resume (under
  // the key), fan-out, slices and the item gate (a nested step runs here).
  const {
    runId: _id,
    signal: _signal,
    observer: _observer,
    journal,
    resume: resumed,
    fanOut: _fanOut,
    slice: _slice,
    itemGate: _itemGate,
    onDelta,
    conversationId: _conversation,
    ...inherited
  } = parent.options;
  const options: RunOptions = { ...inherited, ...(journal ? { journal: prefixedJournal(journal, key) } : {}) };
  if (onDelta) options.onDelta = (d) => onDelta({ ...d, stepId: `${key}/${d.stepId}` });
  if (resumed) {
    const completed: Record<string, StepRecord> = {};
    for (const k in resumed.completed) {
      const rest = under(k, key);
      if (rest !== undefined) completed[rest] = resumed.completed[k]!;
    }
    options.resume = { fromRunId: resumed.fromRunId, completed };
  }
  let services = parent.services;
  if (child.models.length) {
    const registry = new ModelRegistry(parent.services.registry.list());
    for (const m of child.models) registry.add(m);
    services = { ...parent.services, registry };
  }
  const scope = new RunScope(parent.id, child, input, options, services, parent);
  // The child shares the parent's conversation.
  if (parent.conversationId !== undefined) {
    scope.conversationId = parent.conversationId;
    if (parent.context) scope.context = parent.context;
    scope.bindings.context = parent.bindings.context;
  }
  if (parent.observed) scope.listeners.push((e) => parent.emit(nestedEvent(e, key)));
  const onAbort = () => scope.abort(parent.signal.reason);
  if (parent.signal.aborted) onAbort();
  else parent.signal.addEventListener("abort", onAbort, { once: true });
  // The step's `timeout` bounds the nested run (each forEach item's, each iteration's): at
  // the deadline the child is cancelled as a cancelled run is, its calls and backoffs aborted.
  let timedOut: string | undefined;
  const timer =
    step.timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = `step '${step.id}': sub-pipeline ${sub.ref} timed out after ${step.timeoutMs}ms`;
          scope.abort(new RunAborted("timeout", timedOut));
        }, step.timeoutMs);
  try {
    await runSteps(scope);
    // The child's events wait for its journal writes: they reach the parent before the step ends.
    await scope.delivered();
  } finally {
    clearTimeout(timer);
    parent.signal.removeEventListener("abort", onAbort);
  }
  if (parent.signal.aborted) throw parent.signal.reason;
  if (timedOut !== undefined) {
    const cut = child.order.filter((id) => scope.records[id]?.status === "aborted");
    throw new NestedRunFailed("timeout", `${timedOut}${cut.length ? ` (cancelled: ${cut.join(", ")})` : ""}`, step.id, {}, scope.records);
  }
  if (scope.failure || scope.signal.aborted) {
    const { reason, message, ...info } = scope.failure ?? { reason: "internal" as const, message: "the nested run was aborted" };
    throw new NestedRunFailed(reason, `step '${step.id}': sub-pipeline ${sub.ref} failed: ${message}`, step.id, info, scope.records);
  }

  let output: unknown;
  try {
    output = child.output ? await evaluateTemplate(child.output, scope.bindings) : successOutputs(scope);
  } catch (e) {
    throw new StepError("expression-error", `step '${step.id}': output of sub-pipeline ${sub.ref}: ${(e as Error).message}`, step.id);
  }
  const usage = zeroUsage();
  let cost = 0;
  let cached = true;
  let usageEstimated = false;
  let ran = 0;
  for (const id of child.order) {
    const r = scope.records[id];
    if (!r) continue;
    usage.inputTokens += r.usage.inputTokens;
    usage.outputTokens += r.usage.outputTokens;
    cost += r.cost;
    if (r.status === "success") {
      ran++;
      cached &&= r.cached || !!r.resumed;
    }
    usageEstimated ||= !!r.usageEstimated;
  }
  return { output, usage, usageEstimated, cost, cached: cached && ran > 0, steps: scope.records };
}

/** Without `output:`, the output of every step that succeeded, by id (as a top-level run). */
function successOutputs(scope: RunScope): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const id of scope.pipeline.order) {
    const r = scope.records[id];
    if (r?.status === "success") out[id] = r.output;
  }
  return out;
}

/** A child's event as the parent's listeners see it: its step id under the key. */
function nestedEvent(e: RunEvent, key: string): RunEvent {
  return "stepId" in e ? { ...e, stepId: `${key}/${e.stepId}` } : e;
}

/** The parent's journal, with the child's steps under the key; the run's start and end are the parent's. */
function prefixedJournal(journal: RunJournal, key: string): RunJournal {
  return {
    runStarted: () => Promise.resolve(),
    stepFinished: (runId, stepId, record) => journal.stepFinished(runId, `${key}/${stepId}`, record),
    runFinished: () => Promise.resolve(),
  };
}

/**
 * The records of a journal a resumed run of `pipeline` may reuse: its finished steps, and
 * the finished work inside its steps (a loop's iterations `refine#2`, a sub-pipeline's steps
 * `summarise/extract`), so the run continues inside them.
 */
export function resumableSteps(pipeline: { readonly steps: ReadonlyMap<string, unknown> }, journal: Record<string, StepRecord>): Record<string, StepRecord> {
  const completed: Record<string, StepRecord> = {};
  for (const [key, r] of Object.entries(journal)) if (r.status === "success" && pipeline.steps.has(/^[A-Za-z0-9_]*/.exec(key)![0])) completed[key] = r;
  return completed;
}
