/**
 * One run of a compiled pipeline, as the library and the CLI see it: started on the next
 * tick, observed through on(), cancelled through cancel(), ended by `done`. Each step is a
 * memoized promise that awaits its own dependencies (step.ts), so a step starts as soon as
 * they finish, not level by level; only model calls go through the concurrency limits
 * (fallback-chain.ts, attempt.ts). This file loads the conversation, starts the steps,
 * evaluates the pipeline's output and writes the report.
 *
 *   run.ts        the run: context, steps, output, report, journal
 *   step.ts       one step: dependencies, when, forEach, output; step-records.ts its
 *                 record (success, resumed, failed) and the onError policy
 *   fallback-chain.ts  one logical call: hooks, the chain's models, retries, fallback
 *   attempt.ts    one attempt: timeout, limiter, queue, process()
 *   budget.ts     the pipeline's budget; step-errors.ts the failures
 */
import { RunTrace } from "../telemetry/run-trace.js";
import { randomUUID } from "node:crypto";
import type { CompiledPipeline } from "../compiler/types.js";
import type { ErrorInfo, RunEvent } from "../events/event.js";
import type { RunReport } from "../events/report.js";
import { evaluateTemplate } from "../expr/template.js";
import { promptText } from "../util/tokens.js";
import { RunScope, type RunOptions, type RunServices } from "./run-scope.js";
import { startStep, stepsSettled } from "./step.js";
import { RunAborted, toErrorInfo } from "./step-errors.js";

export { DEFAULT_CONCURRENCY, type RunOptions, type RunServices } from "./run-scope.js";
export { RunAborted, StepError, toErrorInfo } from "./step-errors.js";

export function newRunId(): string {
  // Time-sortable: base36 milliseconds, then randomness.
  // randomUUID draws from a cached entropy pool: far cheaper than randomBytes per id.
  return `run_${Date.now().toString(36)}${randomUUID().slice(-10)}`;
}

export class PipelineRun {
  readonly id: string;
  readonly #scope: RunScope;
  /** Resolves with the report when the run ends (it never rejects for run failures). */
  readonly done: Promise<RunReport>;

  constructor(pipeline: CompiledPipeline, input: unknown, options: RunOptions, services: RunServices) {
    this.id = options.runId ?? newRunId();
    const scope = (this.#scope = new RunScope(this.id, pipeline, input, options, services));
    if (options.observer) scope.listeners.push((e) => options.observer!.onEvent(e));
    if (options.signal) {
      const outer = options.signal;
      if (outer.aborted) scope.abort(new RunAborted("cancelled", "the run was cancelled"));
      else outer.addEventListener("abort", () => this.cancel(), { once: true });
    }
    // Start on the next tick so callers can subscribe with on() first.
    this.done = Promise.resolve().then(() => this.#run());
  }

  /** Subscribes to this run's events. */
  on(listener: (e: RunEvent) => void): () => void {
    const listeners = this.#scope.listeners;
    listeners.push(listener);
    return () => {
      const i = listeners.indexOf(listener);
      if (i >= 0) listeners.splice(i, 1);
    };
  }

  /** Cancels the run; in-flight model calls are aborted. */
  cancel(message = "the run was cancelled"): void {
    this.#scope.abort(new RunAborted("cancelled", message));
  }

  get signal(): AbortSignal {
    return this.#scope.signal;
  }

  async #run(): Promise<RunReport> {
    const scope = this.#scope;
    const p = scope.pipeline;
    const { journal, resume } = scope.options;
    scope.trace = RunTrace.start(p.name, this.id, {
      ...(resume ? { resumedFrom: resume.fromRunId } : {}),
      ...((scope.options.captureContent ?? p.settings.telemetry?.captureContent) !== undefined ? { captureContent: (scope.options.captureContent ?? p.settings.telemetry?.captureContent)! } : {}),
    });
    try {
      await loadContext(scope);
    } catch (e) {
      scope.failure = toErrorInfo(e);
    }
    await journal?.runStarted({
      runId: this.id,
      pipeline: p,
      input: scope.input,
      startedAt: scope.started,
      ...(resume ? { resumedFrom: resume.fromRunId } : {}),
      ...(scope.conversationId ? { conversationId: scope.conversationId } : {}),
    });
    scope.emit({
      type: "run.started",
      runId: this.id,
      ts: Date.now(),
      pipeline: p.name,
      hash: p.hash,
      steps: [...p.order],
      ...(resume ? { resumedFrom: resume.fromRunId } : {}),
      ...(p.budget ? { budget: p.budget } : {}),
    });

    if (!scope.failure) {
      for (const id of scope.options.slice ? [scope.options.slice.stepId] : p.order) startStep(scope, id);
      await stepsSettled(scope);
    }

    let output: unknown;
    const waiting = scope.waiting.size > 0 && !scope.failure && !scope.signal.aborted;
    if (!scope.failure && !scope.signal.aborted && !scope.options.slice && !waiting) {
      try {
        output = p.output ? await evaluateTemplate(p.output, scope.bindings) : defaultOutput(scope);
      } catch (e) {
        scope.failure = toErrorInfo(e, "expression-error");
        scope.failure.message = `pipeline output: ${scope.failure.message}`;
      }
    }
    const abortReason = scope.signal.reason as RunAborted | undefined;
    const cancelled = !scope.failure && abortReason?.reason === "cancelled";
    const status = cancelled ? "cancelled" : scope.failure || abortReason ? "failed" : waiting ? "waiting" : "success";
    const error: ErrorInfo | undefined = scope.failure ?? (abortReason ? { reason: abortReason.reason, message: abortReason.message } : undefined);
    const report: RunReport = {
      runId: this.id,
      pipeline: p.name,
      file: p.file,
      hash: p.hash,
      status,
      startedAt: new Date(scope.started).toISOString(),
      durationMs: Date.now() - scope.started,
      input: scope.input,
      ...(output !== undefined && status === "success" ? { output } : {}),
      ...(error ? { error } : {}),
      steps: scope.records,
      totals: scope.totals,
      ...(scope.conversationId ? { conversationId: scope.conversationId } : {}),
      ...(resume ? { resumedFrom: resume.fromRunId } : {}),
    };
    scope.trace?.end(status, error ? { error: { type: error.reason, message: error.reason } } : {});
    await journal?.runFinished(this.id, report);
    await scope.delivered();
    scope.emit({
      type: "run.finished",
      runId: this.id,
      ts: Date.now(),
      status,
      durationMs: report.durationMs,
      ...(report.output !== undefined ? { output: report.output } : {}),
      ...(error ? { error } : {}),
    });
    return report;
  }
}

/** Without `output:`, the output of every step that succeeded, by id. */
function defaultOutput(scope: RunScope): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const id of scope.pipeline.order) {
    const r = scope.records[id];
    if (r?.status === "success") out[id] = r.output;
  }
  return out;
}

/** The conversation of the run (`context:`), loaded before any step starts. */
async function loadContext(scope: RunScope): Promise<void> {
  const settings = scope.pipeline.context;
  if (!settings) return;
  let id = scope.options.conversationId;
  if (id === undefined && settings.conversation) {
    const v = await evaluateTemplate(settings.conversation, scope.bindings);
    if (v !== undefined && v !== null && v !== "") id = String(v);
  }
  if (id === undefined) return;
  scope.conversationId = id;
  const provider = scope.options.context;
  scope.context = provider ? await provider.load(id, { query: promptText(scope.input), settings }) : { conversationId: id, history: [] };
  scope.bindings.context = { conversationId: id, history: scope.context.history, summary: scope.context.summary ?? "" };
}
