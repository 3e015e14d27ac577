/**
 * One step of a run: started once its dependencies have settled (schedule.ts), it decides
 * whether it runs (resumed, `when:`), evaluates its input (once, or per `forEach` item),
 * makes the model call through the fallback chain, evaluates its output and appends to the
 * conversation. It never rejects: it settles with the step's record, and applies the
 * failure policy (`onError`) itself.
 */
import type { CompiledStep } from "../compiler/types.js";
import type { ContextTurn } from "../events/ports.js";
import { attemptsPerCall, callAttempts, type AttemptRecord, type StepRecord } from "../events/report.js";
import { NOT_FAST } from "../expr/expression.js";
import { evaluateTemplate, evaluateTemplateFast, type Template } from "../expr/template.js";
import { runApproval } from "./approval.js";
import { callWithFallback } from "./fallback-chain.js";
import { runNested } from "./nested.js";
import { repeatStep } from "./repeat.js";
import { zeroUsage, type RunScope } from "./run-scope.js";
import { Schedule } from "./schedule.js";
import type { RunTrace } from "../telemetry/run-trace.js";
import { failStep, resumeStep, StepSum, successRecord } from "./step-records.js";

/** The run's schedule, made on first need. */
function scheduleOf(scope: RunScope): Schedule {
  let s = scope.schedule as Schedule | undefined;
  if (!s) scope.schedule = s = new Schedule(scope, (id) => (scope.trace ? tracedStep(scope, scope.trace, id) : execStep(scope, id)));
  return s;
}

/** Starts a step (and the dependencies it needs): it runs once they have settled. */
export function startStep(scope: RunScope, id: string): void {
  const schedule = scheduleOf(scope);
  if (schedule.started(id)) return;
  const slice = scope.options.slice;
  // A slice (a chunk of a fanned-out step, on a worker) runs one step; the others are given.
  const deps = slice && id !== slice.stepId ? [] : (scope.pipeline.steps.get(id)?.dependencies ?? []);
  for (const d of deps) startStep(scope, d);
  schedule.start(id, deps);
}

/** Starts every step of the scope's pipeline and resolves when all have settled (a nested run's steps). */
function runAllSteps(scope: RunScope): Promise<void> {
  for (const id of scope.pipeline.order) startStep(scope, id);
  return stepsSettled(scope);
}

/** Resolves when every step started has settled. */
export function stepsSettled(scope: RunScope): Promise<void> {
  return scheduleOf(scope).idle();
}

/** The step's promise, started on first need. */
export function runStep(scope: RunScope, id: string): Promise<StepRecord> {
  let pr = scope.promises.get(id);
  if (!pr) {
    startStep(scope, id);
    pr = scheduleOf(scope).record(id);
    scope.promises.set(id, pr);
  }
  return pr;
}

/** A step with tracing on: its span ends with its record (execStep never rejects). */
function tracedStep(scope: RunScope, trace: RunTrace, id: string): Promise<StepRecord> {
  const p = execStep(scope, id);
  void p.then((r) => trace.endStep(id, r.status, r.error ? { error: { type: r.error.reason, message: r.error.reason } } : {}));
  return p;
}

async function execStep(scope: RunScope, id: string): Promise<StepRecord> {
  // A slice (a chunk of a fanned-out step, on a worker) runs one step; the others are given.
  const slice = scope.options.slice;
  if (slice && id !== slice.stepId) return scope.settle(id, slice.given[id] ?? { status: "skipped", attempts: [], durationMs: 0, usage: zeroUsage(), cost: 0, cached: false });
  const step = scope.pipeline.steps.get(id)!;
  const started = Date.now();
  const signal = scope.signal;
  if (signal.aborted) return scope.settle(id, { status: "aborted", attempts: [], durationMs: 0, usage: zeroUsage(), cost: 0, cached: false });
  // Behind an approval that waits for an answer: not run in this attempt of the run.
  if (scope.waiting.size > 0 && step.dependencies.some((d) => blocked(scope, d)))
    return scope.settle(id, { status: "pending", attempts: [], durationMs: 0, usage: zeroUsage(), cost: 0, cached: false });

  scope.trace?.startStep(id);
  const prior = scope.options.resume?.completed[id];
  if (prior && prior.status === "success") return resumeStep(scope, id, prior);

  const attempts: AttemptRecord[] = [];
  const iterationAttempts: AttemptRecord[][] | undefined = step.repeat ? [] : undefined;
  const iterations: StepRecord[] = [];
  try {
    if (step.when) {
      const ok = await step.when.evaluate(scope.bindings);
      if (!ok) {
        scope.emit({ type: "step.skipped", runId: scope.id, ts: Date.now(), stepId: id, reason: `when: ${step.when.source.trim()}` });
        return scope.settle(id, { status: "skipped", attempts, durationMs: 0, usage: zeroUsage(), cost: 0, cached: false });
      }
    }
    if (step.approval) {
      const record = await runApproval(scope, step, started);
      if (record.status === "waiting") return record;
      await scope.options.journal?.stepFinished(scope.id, id, record);
      scope.emit({
        type: "step.finished",
        runId: scope.id,
        ts: Date.now(),
        stepId: id,
        durationMs: record.durationMs,
        attempts: 0,
        usage: record.usage,
        cost: 0,
        cached: false,
        output: record.output,
      });
      return scope.settle(id, record);
    }
    if (scope.observed) scope.emit({ type: "step.queued", runId: scope.id, ts: Date.now(), stepId: id });

    let record: StepRecord;
    if (step.repeat) {
      // Each iteration has its attempts; a failure reports all of them.
      record = await repeatStep(
        scope,
        step,
        started,
        (b, key) => {
          const a: AttemptRecord[] = [];
          iterationAttempts!.push(a);
          return runWork(scope, step, b, key, a, Date.now());
        },
        iterations,
      );
    } else if (!step.forEach && !step.pipeline) {
      // runWork's model call, inline: one async frame less per step.
      const bindings = scope.bindings;
      const fast = evaluateTemplateFast(step.input, bindings);
      const input = fast !== NOT_FAST ? fast : await evaluateTemplate(step.input, bindings);
      const r = await callWithFallback(scope, step, input, attempts);
      const output = step.output ? await evaluateTemplate(step.output, { ...bindings, result: r.output }, r.output) : r.output;
      record = successRecord(output, r.model, attempts, started, { inputTokens: r.usage.inputTokens, outputTokens: r.usage.outputTokens }, r.usageEstimated, r.cost, r.cached);
    } else record = await runWork(scope, step, scope.bindings, id, attempts, started);
    if (step.appendToContext && !slice) await appendContext(scope, step, record);
    // Not awaited: its dependants start now; the events wait until the journal has it.
    const journal = scope.options.journal;
    if (journal) scope.hold(journal.stepFinished(scope.id, id, record));
    if (scope.observed)
      scope.emit({
        type: "step.finished",
        runId: scope.id,
        ts: Date.now(),
        stepId: id,
        ...(record.model !== undefined ? { model: record.model } : {}),
        durationMs: record.durationMs,
        attempts: callAttempts(record),
        usage: record.usage,
        cost: record.cost,
        cached: record.cached,
        output: record.output,
      });
    return scope.settle(id, record);
  } catch (e) {
    return failStep(
      scope,
      step,
      e,
      iterationAttempts ? iterationAttempts.flat() : attempts,
      started,
      iterationAttempts ? Math.max(0, ...iterationAttempts.map(attemptsPerCall)) : attemptsPerCall(attempts),
      iterations,
    );
  }
}

/**
 * The step's work, once (or once per iteration of `repeat`, with $last and $iteration in
 * `bindings`): its forEach items or its one call (a model call, or a sub-pipeline's nested
 * run keyed `key`), and its output mapping. Resolves with the record of a success.
 */
async function runWork(scope: RunScope, step: CompiledStep, bindings: Record<string, unknown>, key: string, attempts: AttemptRecord[], started: number): Promise<StepRecord> {
  const id = step.id;
  const slice = scope.options.slice;
  const sum = new StepSum();
  let output: unknown;
  let items: number | undefined;
  let nested: Record<string, StepRecord> | undefined;
  if (step.forEach) {
    const list = await step.forEach.evaluate(bindings);
    const all = list === undefined || list === null ? [] : Array.isArray(list) ? list : [list];
    const fan = scope.options.fanOut;
    // (Not the items of a loop's iterations, nor nested runs: those run here.)
    if (fan && !slice && !step.pipeline && !step.repeat && fan.splits(all.length, id)) {
      // The items run on the queue's workers; the step adds up theirs.
      items = all.length;
      const r = await fan.map({ runId: scope.id, stepId: id, count: all.length, signal: scope.signal });
      attempts.push(...r.attempts);
      sum.add({ output: undefined, model: r.model ?? "", usage: r.usage, usageEstimated: !!r.usageEstimated, cost: r.cost, cached: r.cached });
      sum.model = r.model;
      output = r.results;
    } else {
      // A slice runs items [start, end), numbered as in the whole list.
      const arr = slice ? all.slice(slice.start, slice.end) : all;
      items = arr.length;
      output = await forEachItem(scope, step, bindings, key, arr, attempts, sum, slice ? slice.start : 0);
      if (arr.length === 0) sum.cached = false;
    }
  } else {
    const fast = evaluateTemplateFast(step.input, bindings);
    const input = fast !== NOT_FAST ? fast : await evaluateTemplate(step.input, bindings);
    let result: unknown;
    if (step.pipeline) {
      const r = await runNested(scope, step, input, key, runAllSteps);
      sum.addNested(r);
      nested = r.steps;
      result = r.output;
    } else {
      const r = await callWithFallback(scope, step, input, attempts);
      sum.add(r);
      result = r.output;
    }
    output = step.output ? await evaluateTemplate(step.output, { ...bindings, result }, result) : result;
  }

  return successRecord(output, sum.model, attempts, started, sum.usage, sum.estimated, sum.cost, sum.cached, items, nested);
}

/** Whether a dependency waits for an approval, or is itself behind one. */
function blocked(scope: RunScope, dep: string): boolean {
  const s = scope.records[dep]?.status;
  return s === "waiting" || s === "pending";
}

/** `forEach`: one call per item, at most `concurrency` at once; the outputs in item order. */
async function forEachItem(
  scope: RunScope,
  step: CompiledStep,
  bindings: Record<string, unknown>,
  key: string,
  arr: readonly unknown[],
  attempts: AttemptRecord[],
  sum: StepSum,
  offset = 0,
): Promise<unknown[]> {
  const signal = scope.signal;
  const results = new Array<unknown>(arr.length);
  let next = 0;
  const limit = Math.min(step.concurrency ?? arr.length, arr.length);
  // A chunk on a worker: the step's concurrency also holds across the fleet (RunOptions.itemGate).
  const gate = step.concurrency !== undefined ? scope.options.itemGate?.(step.id, step.concurrency) : undefined;
  const item = async (i: number) => {
    const b = { ...bindings, item: arr[i], index: i + offset };
    const input = await evaluateTemplate(step.input, b);
    let result: unknown;
    if (step.pipeline) {
      const r = await runNested(scope, step, input, `${key}[${i + offset}]`, runAllSteps);
      sum.addNested(r);
      result = r.output;
    } else {
      const r = await callWithFallback(scope, step, input, attempts, i + offset);
      sum.add(r);
      result = r.output;
    }
    results[i] = step.output ? await evaluateTemplate(step.output, { ...b, result }, result) : result;
  };
  const worker = async () => {
    while (next < arr.length && !signal.aborted) {
      const i = next++;
      if (gate) await gate.run(() => item(i), signal);
      else await item(i);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  if (signal.aborted) throw signal.reason;
  return results;
}

/** `appendToContext`: the turns the step adds to the conversation. */
async function appendContext(scope: RunScope, step: CompiledStep, record: StepRecord): Promise<void> {
  if (!scope.conversationId || !step.appendToContext) return;
  const t = step.appendToContext as Template;
  const value = t.kind === "literal" && t.value === true ? defaultTurn(record.output) : await evaluateTemplate(t, { ...scope.bindings, result: record.output }, record.output);
  const turns = (Array.isArray(value) ? value : [value]).map((v) => toTurn(v));
  for (const turn of turns) {
    const full: ContextTurn = { ...turn, runId: scope.id, stepId: step.id, ts: Date.now() };
    await scope.options.context?.append(scope.conversationId, full, { settings: scope.pipeline.context ?? {} });
    scope.context?.history.push(full);
  }
}

function defaultTurn(output: unknown): ContextTurn {
  const text = (output as { text?: unknown } | null)?.text;
  return { role: "assistant", content: typeof text === "string" ? text : output };
}

function toTurn(v: unknown): ContextTurn {
  if (v && typeof v === "object" && !Array.isArray(v) && "content" in v) {
    const o = v as { role?: unknown; content: unknown };
    return { role: typeof o.role === "string" ? o.role : "assistant", content: o.content };
  }
  return { role: "assistant", content: v };
}
