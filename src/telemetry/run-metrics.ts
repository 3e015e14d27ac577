/**
 * The metrics of runs (prom-client): runs and steps by status, step and model-call
 * durations, model errors, retries, fallbacks, cache lookups, tokens and cost by model. An
 * observer of run events, so the server (its local runs, chat completions) and every queue
 * worker (the runs it executes) count the same way; workers publish theirs to Redis and the
 * server's /metrics adds them up (src/queue/metrics-publisher.ts). Labels are bounded sets
 * (pipeline, model, status); run ids never become labels.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { RunEvent, RunObserver } from "../events/event.js";

export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export class RunMetrics implements RunObserver {
  /** The run metrics only (no process metrics): what a worker publishes. */
  readonly registry = new Registry();
  readonly runs = new Counter({ name: "mcp_runs_total", help: "Runs finished, by pipeline and status.", labelNames: ["pipeline", "status"], registers: [this.registry] });
  readonly runsActive = new Gauge({ name: "mcp_runs_active", help: "Runs in flight.", registers: [this.registry] });
  readonly steps = new Counter({
    name: "mcp_steps_total",
    help: "Steps finished, by pipeline and status (success, failed, skipped, aborted).",
    labelNames: ["pipeline", "status"],
    registers: [this.registry],
  });
  readonly stepDuration = new Histogram({ name: "mcp_step_duration_seconds", help: "Step durations.", labelNames: ["pipeline"], buckets: DURATION_BUCKETS, registers: [this.registry] });
  readonly modelCallDuration = new Histogram({
    name: "mcp_model_call_duration_seconds",
    help: "Model call (attempt) durations, by model and outcome.",
    labelNames: ["model", "outcome"],
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  readonly modelErrors = new Counter({ name: "mcp_model_errors_total", help: "Failed model calls, by model and error kind.", labelNames: ["model", "kind"], registers: [this.registry] });
  readonly retries = new Counter({ name: "mcp_retries_total", help: "Attempts retried, by model.", labelNames: ["model"], registers: [this.registry] });
  readonly fallbacks = new Counter({ name: "mcp_fallbacks_total", help: "Fallbacks from one model to the next.", labelNames: ["from", "to"], registers: [this.registry] });
  readonly cache = new Counter({ name: "mcp_cache_lookups_total", help: "Response cache lookups, by model and result (hit, miss).", labelNames: ["model", "result"], registers: [this.registry] });
  readonly tokens = new Counter({ name: "mcp_tokens_total", help: "Tokens, by model and direction (input, output).", labelNames: ["model", "direction"], registers: [this.registry] });
  readonly cost = new Counter({ name: "mcp_cost_usd_total", help: "Cost in USD, by model.", labelNames: ["model"], registers: [this.registry] });
  readonly breakerTransitions = new Counter({
    name: "mcp_breaker_transitions_total",
    help: "Circuit breaker changes of a model's deployments, by the state entered (open, half-open, closed).",
    labelNames: ["model", "deployment", "state"],
    registers: [this.registry],
  });
  readonly limiterWaits = new Counter({
    name: "mcp_limiter_waits_total",
    help: "Model calls that waited for a rate limit (limits: of a model or deployment), by limit (rpm, tpm, inputTpm, outputTpm).",
    labelNames: ["model", "deployment", "limit"],
    registers: [this.registry],
  });
  readonly limiterWaitSeconds = new Counter({
    name: "mcp_limiter_wait_seconds_total",
    help: "Expected seconds of those waits, added up.",
    labelNames: ["model", "deployment", "limit"],
    registers: [this.registry],
  });
  /** Start time of each attempt in flight, by run, step and item (not a label: a map). */
  readonly #attempts = new Map<string, number>();
  /** Pipeline name of each run in flight. */
  readonly #pipelines = new Map<string, string>();

  onEvent(e: RunEvent): void {
    switch (e.type) {
      case "run.started":
        this.#pipelines.set(e.runId, e.pipeline);
        this.runsActive.inc();
        return;
      case "run.finished":
        this.runs.inc({ pipeline: this.#pipelines.get(e.runId) ?? "?", status: e.status });
        this.runsActive.dec();
        this.#pipelines.delete(e.runId);
        for (const k of this.#attempts.keys()) if (k.startsWith(`${e.runId}\0`)) this.#attempts.delete(k);
        return;
      case "step.started":
        this.#attempts.set(key(e.runId, e.stepId, e.item), e.ts);
        return;
      case "step.attempt_failed": {
        this.#attemptDone(e.runId, e.stepId, e.item, e.model, "failed", e.ts);
        this.modelErrors.inc({ model: e.model, kind: e.error.kind ?? e.error.reason });
        if (e.retryInMs !== undefined) this.retries.inc({ model: e.model });
        return;
      }
      case "step.fell_back":
        this.fallbacks.inc({ from: e.from, to: e.to });
        return;
      case "step.cache":
        this.cache.inc({ model: e.model, result: e.hit ? "hit" : "miss" });
        return;
      case "step.finished": {
        const pipeline = this.#pipelines.get(e.runId) ?? "?";
        this.steps.inc({ pipeline, status: "success" });
        this.stepDuration.observe({ pipeline }, e.durationMs / 1000);
        if (e.model !== undefined) {
          this.#attemptDone(e.runId, e.stepId, undefined, e.model, "success", e.ts);
          this.tokens.inc({ model: e.model, direction: "input" }, e.usage.inputTokens);
          this.tokens.inc({ model: e.model, direction: "output" }, e.usage.outputTokens);
          if (e.cost > 0) this.cost.inc({ model: e.model }, e.cost);
        }
        return;
      }
      case "step.failed": {
        const pipeline = this.#pipelines.get(e.runId) ?? "?";
        this.steps.inc({ pipeline, status: "failed" });
        this.stepDuration.observe({ pipeline }, e.durationMs / 1000);
        return;
      }
      case "step.skipped":
        this.steps.inc({ pipeline: this.#pipelines.get(e.runId) ?? "?", status: "skipped" });
        return;
      case "step.aborted":
        this.steps.inc({ pipeline: this.#pipelines.get(e.runId) ?? "?", status: "aborted" });
        return;
      case "step.queued":
      case "step.progress":
      case "step.iteration":
      case "step.waiting":
      case "step.delta":
      case "model.throttled":
        return;
      case "model.limit_wait": {
        const labels = { model: e.model, deployment: e.deployment ?? "", limit: e.limit };
        this.limiterWaits.inc(labels);
        this.limiterWaitSeconds.inc(labels, e.waitMs / 1000);
        return;
      }
      case "model.breaker":
        this.breakerTransitions.inc({ model: e.model, deployment: e.deployment, state: e.state });
        return;
    }
  }

  /** Drops what is kept of a run whose end this process will not see (a forEach chunk's run). */
  forgetRun(runId: string): void {
    for (const k of this.#attempts.keys()) if (k.startsWith(`${runId}\0`)) this.#attempts.delete(k);
    this.#pipelines.delete(runId);
  }

  #attemptDone(runId: string, stepId: string, item: number | undefined, model: string, outcome: string, ts: number): void {
    const k = key(runId, stepId, item);
    const t0 = this.#attempts.get(k);
    if (t0 === undefined) return;
    this.#attempts.delete(k);
    this.modelCallDuration.observe({ model, outcome }, Math.max(0, ts - t0) / 1000);
  }
}

function key(runId: string, stepId: string, item: number | undefined): string {
  return `${runId}\0${stepId}\0${item ?? ""}`;
}
