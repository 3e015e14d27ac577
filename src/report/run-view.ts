/**
 * RunView: what a run looks like on a timeline, folded from its run events. The same code
 * runs in Node (the HTML report is built from it) and in the browser (the web UI folds the
 * SSE stream with it, one event at a time), so it imports types only and nothing of Node.
 *
 * One bar per step attempt (per forEach item), plus a `queued` bar for the wait between a
 * step's dependencies finishing and its first model call. A bar's kind says how it ended:
 *
 *   queued ──> running ──> success
 *                  ├─────> retried   (the attempt failed; the same model is tried again)
 *                  ├─────> fellback  (the model's attempts are spent; the next model is tried)
 *                  ├─────> failed    (the last attempt failed: the step failed)
 *                  └─────> aborted   (the run was cancelled while it ran)
 *   cached, skipped: instant marks (served from the cache or a replay; `when` was false)
 */
import type { ErrorInfo, RunEvent, RunStatus, SkipReason, StepStatus } from "../events/event.js";
import { callAttempts, type RunReport, type StepRecord } from "../events/report.js";

/** How a timeline bar ended (or `running`/`queued` while it has not). */
export type BarKind = "queued" | "running" | "success" | "retried" | "fellback" | "cached" | "skipped" | "failed" | "aborted";

/** One bar of the timeline: an attempt, a wait, or a mark. Times are ms since the epoch. */
export interface Bar {
  kind: BarKind;
  start: number;
  /** Undefined while the bar is still growing (live). */
  end?: number;
  model?: string;
  attempt?: number;
  item?: number;
  /** Why it failed, or why the step was skipped. */
  note?: string;
}

/** A step as the views show it. */
export interface StepView {
  id: string;
  status: StepStatus;
  bars: Bar[];
  model?: string;
  /** The model input of the first attempt (forEach: of the first item). */
  input?: unknown;
  output?: unknown;
  /** Tries of the call that needed most (retries, fallbacks): not forEach items nor repeat iterations. */
  attempts: number;
  /** A `repeat` step: the iterations run (so far). */
  iterations?: number;
  durationMs?: number;
  usage?: { inputTokens: number; outputTokens: number };
  cost?: number;
  cached?: boolean;
  resumed?: boolean;
  error?: ErrorInfo;
  /** Models given up on, in order, and the one taken instead. */
  fallbacks: { from: string; to: string; reason: string }[];
  skipReason?: SkipReason;
}

export interface RunView {
  runId: string;
  pipeline: string;
  status: RunStatus;
  startedAt: number;
  /** The latest time seen: the run's end, or its last event while it runs. */
  lastTs: number;
  endedAt?: number;
  /** Step ids in the order of the pipeline (run.started), then any others as seen. */
  order: string[];
  steps: Record<string, StepView>;
  output?: unknown;
  error?: ErrorInfo;
  resumedFrom?: string;
  /** Events folded so far. */
  events: number;
}

/** Folds run events into a RunView; `apply` one event at a time, read `view` at any time. */
export class RunViewBuilder {
  readonly view: RunView;
  /** Per step, the tries of each call so far, by iteration and forEach item. */
  readonly #calls = new Map<string, Map<string, number>>();

  constructor(runId = "", pipeline = "") {
    this.view = { runId, pipeline, status: "running", startedAt: 0, lastTs: 0, order: [], steps: {}, events: 0 };
  }

  /** Applies events in order; returns the builder. */
  applyAll(events: Iterable<RunEvent>): this {
    for (const e of events) this.apply(e);
    return this;
  }

  apply(e: RunEvent): void {
    const v = this.view;
    v.events++;
    if (!v.runId) v.runId = e.runId;
    if (!v.startedAt) v.startedAt = e.ts;
    if (e.ts > v.lastTs) v.lastTs = e.ts;
    switch (e.type) {
      case "run.started":
        v.pipeline = e.pipeline;
        v.startedAt = e.ts;
        v.status = "running";
        if (e.resumedFrom !== undefined) v.resumedFrom = e.resumedFrom;
        for (const id of e.steps) this.#step(id);
        return;
      case "step.queued": {
        const s = this.#step(e.stepId);
        s.status = "queued";
        s.bars.push({ kind: "queued", start: e.ts });
        return;
      }
      case "step.started": {
        const s = this.#step(e.stepId);
        s.status = "running";
        this.#tried(s, e.item);
        s.model = e.model;
        if (s.input === undefined && e.input !== undefined) s.input = e.input;
        // The wait is over when the first attempt starts.
        const q = s.bars.find((b) => b.kind === "queued" && b.end === undefined);
        if (q) q.end = e.ts;
        s.bars.push({ kind: "running", start: e.ts, model: e.model, attempt: e.attempt, ...(e.item !== undefined ? { item: e.item } : {}) });
        return;
      }
      case "step.attempt_failed": {
        const s = this.#step(e.stepId);
        const b = this.#open(s, e.model, e.item) ?? this.#pushBar(s, { kind: "running", start: e.ts, model: e.model, attempt: e.attempt, ...(e.item !== undefined ? { item: e.item } : {}) });
        b.end = e.ts;
        b.note = e.error.message;
        // Retried unless this was the model's last attempt: then the next event says
        // whether the step fell back (step.fell_back) or failed (step.failed).
        b.kind = e.retryInMs !== undefined ? "retried" : "failed";
        return;
      }
      case "step.fell_back": {
        const s = this.#step(e.stepId);
        s.fallbacks.push({ from: e.from, to: e.to, reason: e.error.message });
        const last = [...s.bars].reverse().find((b) => b.model === e.from && b.item === e.item && b.kind === "failed");
        if (last) last.kind = "fellback";
        return;
      }
      case "step.cache": {
        if (!e.hit) return;
        const s = this.#step(e.stepId);
        const q = s.bars.find((b) => b.kind === "queued" && b.end === undefined);
        if (q) q.end = e.ts;
        s.model = e.model;
        this.#tried(s, e.item);
        s.bars.push({ kind: "cached", start: e.ts, end: e.ts, model: e.model, note: e.source === "replay" ? "replayed" : "from the cache", ...(e.item !== undefined ? { item: e.item } : {}) });
        return;
      }
      case "step.finished": {
        const s = this.#step(e.stepId);
        s.status = "success";
        if (e.model !== undefined) s.model = e.model;
        s.output = e.output;
        s.durationMs = e.durationMs;
        s.usage = e.usage;
        s.cost = e.cost;
        s.cached = e.cached;
        if (e.resumed) {
          s.resumed = true;
          s.bars.push({ kind: "cached", start: e.ts, end: e.ts, note: "from the journal of an earlier run (resumed)" });
        }
        this.#closeOpen(s, e.ts, "success");
        return;
      }
      case "step.skipped": {
        const s = this.#step(e.stepId);
        s.status = "skipped";
        s.skipReason = e.reason;
        s.bars.push({ kind: "skipped", start: e.ts, end: e.ts, note: e.reason });
        return;
      }
      case "step.failed": {
        const s = this.#step(e.stepId);
        s.status = "failed";
        s.error = e.error;
        s.durationMs = e.durationMs;
        const open = this.#closeOpen(s, e.ts, "failed", e.error.message);
        if (!open && !s.bars.some((b) => b.kind === "failed" || b.kind === "fellback")) s.bars.push({ kind: "failed", start: e.ts, end: e.ts, note: e.error.message });
        return;
      }
      case "step.aborted": {
        const s = this.#step(e.stepId);
        s.status = "aborted";
        this.#closeOpen(s, e.ts, "aborted");
        return;
      }
      case "step.waiting": {
        const s = this.#step(e.stepId);
        s.status = "waiting";
        s.bars.push({ kind: "queued", start: e.ts, note: `waits for approval: ${e.prompt}` });
        return;
      }
      case "step.progress":
      case "step.delta":
      case "model.throttled":
      case "model.limit_wait":
      case "model.breaker":
        return;
      case "step.iteration": {
        const s = this.#step(e.stepId);
        s.iterations = Math.max(s.iterations ?? 0, e.iteration);
        return;
      }
      case "run.finished":
        v.status = e.status;
        v.endedAt = e.ts;
        if (e.output !== undefined) v.output = e.output;
        if (e.error) v.error = e.error;
        for (const s of Object.values(v.steps)) this.#closeOpen(s, e.ts, "aborted");
        return;
      default:
        return;
    }
  }

  /**
   * Refines the bars with a finished run's report: attempts' own durations (the events
   * only tell when a successful forEach item ended once the whole step has), tokens, cost.
   */
  refine(report: RunReport): this {
    for (const [id, rec] of Object.entries(report.steps)) {
      const s = this.#step(id);
      mergeRecord(s, rec);
      const ok = rec.attempts.filter((a) => a.ok && !a.cached);
      for (const a of ok) {
        const bar = s.bars.find((b) => b.kind === "success" && b.model === a.model && b.attempt === a.attempt && b.item === a.item);
        if (bar) bar.end = Math.min(bar.end ?? Infinity, bar.start + a.durationMs);
      }
    }
    if (report.output !== undefined) this.view.output = report.output;
    return this;
  }

  #step(id: string): StepView {
    let s = this.view.steps[id];
    if (!s) {
      s = { id, status: "pending", bars: [], attempts: 0, fallbacks: [] };
      this.view.steps[id] = s;
      this.view.order.push(id);
    }
    return s;
  }

  /** One more try of the step's current call (its iteration's, its item's). */
  #tried(s: StepView, item: number | undefined): void {
    let calls = this.#calls.get(s.id);
    if (!calls) this.#calls.set(s.id, (calls = new Map()));
    const key = `${s.iterations ?? 0}/${item ?? ""}`;
    const n = (calls.get(key) ?? 0) + 1;
    calls.set(key, n);
    if (n > s.attempts) s.attempts = n;
  }

  #open(s: StepView, model: string, item: number | undefined): Bar | undefined {
    for (let i = s.bars.length - 1; i >= 0; i--) {
      const b = s.bars[i]!;
      if (b.kind === "running" && b.end === undefined && b.model === model && b.item === item) return b;
    }
    return undefined;
  }

  #pushBar(s: StepView, b: Bar): Bar {
    s.bars.push(b);
    return b;
  }

  /** Ends every open bar of the step; returns whether there was one. */
  #closeOpen(s: StepView, ts: number, kind: BarKind, note?: string): boolean {
    let any = false;
    for (const b of s.bars) {
      if (b.end !== undefined) continue;
      b.end = ts;
      any = true;
      if (b.kind === "running") {
        b.kind = kind;
        if (note !== undefined) b.note = note;
      }
    }
    return any;
  }
}

function mergeRecord(s: StepView, rec: StepRecord): void {
  s.status = rec.status;
  if (rec.model !== undefined) s.model = rec.model;
  if (rec.output !== undefined) s.output = rec.output;
  s.durationMs = rec.durationMs;
  s.usage = rec.usage;
  s.cost = rec.cost;
  s.cached = rec.cached;
  if (rec.resumed) s.resumed = true;
  if (rec.error) s.error = rec.error;
  s.attempts = Math.max(s.attempts, callAttempts(rec));
  if (rec.iterations) s.iterations = rec.iterations.length;
}

/** A RunView from events, refined with the report when there is one. */
export function buildRunView(events: readonly RunEvent[], report?: RunReport): RunView {
  const b = new RunViewBuilder().applyAll(events);
  if (report) b.refine(report);
  return b.view;
}
