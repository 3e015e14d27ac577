/**
 * One structured log line per model interaction and per finished run, from the run events.
 * Prompts, answers, inputs and outputs are never logged: only names, durations, token
 * counts, costs and error kinds.
 */
import type { FastifyBaseLogger } from "fastify";
import type { RunEvent, RunObserver } from "../events/event.js";
import { unreachable } from "../util/unreachable.js";

export class LogObserver implements RunObserver {
  constructor(readonly log: FastifyBaseLogger) {}

  onEvent(e: RunEvent): void {
    switch (e.type) {
      case "step.finished":
        if (e.model !== undefined)
          this.log.info(
            {
              runId: e.runId,
              step: e.stepId,
              model: e.model,
              ms: e.durationMs,
              attempts: e.attempts,
              inputTokens: e.usage.inputTokens,
              outputTokens: e.usage.outputTokens,
              cost: e.cost,
              cached: e.cached,
            },
            "model call",
          );
        return;
      case "step.attempt_failed":
        this.log.warn(
          { runId: e.runId, step: e.stepId, model: e.model, attempt: e.attempt, kind: e.error.kind ?? e.error.reason, status: e.error.status, retryInMs: e.retryInMs },
          "model call failed",
        );
        return;
      case "step.fell_back":
        this.log.warn({ runId: e.runId, step: e.stepId, from: e.from, to: e.to }, "fell back");
        return;
      case "step.failed":
        this.log.warn({ runId: e.runId, step: e.stepId, reason: e.error.reason, continued: e.continued }, "step failed");
        return;
      case "run.finished":
        this.log.info({ runId: e.runId, status: e.status, ms: e.durationMs, reason: e.error?.reason }, "run finished");
        return;
      case "model.breaker":
        this.log[e.state === "open" ? "warn" : "info"]({ runId: e.runId, model: e.model, deployment: e.deployment, state: e.state, previous: e.previous }, `deployment breaker ${e.state}`);
        return;
      case "model.limit_wait":
        this.log.info({ runId: e.runId, step: e.stepId, model: e.model, deployment: e.deployment, limit: e.limit, waitMs: e.waitMs }, "rate limit wait");
        return;
      case "run.started":
      case "step.queued":
      case "step.started":
      case "step.cache":
      case "step.skipped":
      case "step.aborted":
      case "step.progress":
      case "step.waiting":
      case "step.delta":
      case "model.throttled":
        return;
      default:
        unreachable(e);
    }
  }
}
