/** One line per step state change: for logs, CI and pipes (no cursor movement). */
import type { Writable } from "node:stream";
import type { RunEvent, RunObserver } from "../../events/event.js";
import { formatDuration } from "../../util/duration.js";
import { unreachable } from "../../util/unreachable.js";
import { paint, statusMark } from "./format.js";

export class PlainReporter implements RunObserver {
  constructor(
    readonly out: Writable,
    readonly color = false,
  ) {}

  onEvent(e: RunEvent): void {
    const line = this.#line(e);
    if (line) this.out.write(line + "\n");
  }

  #line(e: RunEvent): string | undefined {
    const c = this.color;
    const item = (i?: number) => (i !== undefined ? `[${i}]` : "");
    switch (e.type) {
      case "run.started":
        return paint(c, "2", `run ${e.runId} (${e.pipeline}, ${e.steps.length} step${e.steps.length === 1 ? "" : "s"})${e.resumedFrom ? ` resuming ${e.resumedFrom}` : ""}`);
      case "step.queued":
      case "step.cache":
        return e.type === "step.cache" && e.hit ? `  ${paint(c, "2", "↺")} ${e.stepId}${item(e.item)} served from ${e.source} (${e.model})` : undefined;
      case "step.started":
        return e.attempt > 1 ? `  ${statusMark("running", c)} ${e.stepId}${item(e.item)} attempt ${e.attempt} on ${e.model}` : undefined;
      case "step.attempt_failed":
        return `  ${paint(c, "33", "!")} ${e.stepId}${item(e.item)} attempt ${e.attempt} on ${e.model} failed: ${e.error.message}${e.retryInMs !== undefined ? `; retrying in ${formatDuration(e.retryInMs)}` : ""}`;
      case "step.fell_back":
        return `  ${paint(c, "33", "↪")} ${e.stepId}${item(e.item)} falls back from ${e.from} to ${e.to}`;
      case "step.finished":
        return `  ${statusMark("success", c)} ${e.stepId} ${paint(c, "2", `${e.model ?? ""} ${e.resumed ? "resumed" : formatDuration(e.durationMs)}${e.cached ? " cached" : ""}`)}`;
      case "step.skipped":
        return `  ${statusMark("skipped", c)} ${e.stepId} ${paint(c, "2", `skipped (${e.reason})`)}`;
      case "step.failed":
        return `  ${statusMark("failed", c)} ${e.stepId} ${e.error.message}${e.continued ? paint(c, "2", " (onError: continue)") : ""}`;
      case "step.aborted":
        return `  ${statusMark("aborted", c)} ${e.stepId} aborted`;
      case "step.iteration":
        return `  ${paint(c, "2", "⟳")} ${e.stepId} iteration ${e.iteration}/${e.max} ${paint(c, "2", e.resumed ? "resumed" : formatDuration(e.durationMs))}${e.done ? " until holds" : e.iteration === e.max ? " max reached" : ""}`;
      case "step.progress":
        return `  ${paint(c, "2", "…")} ${e.stepId}${item(e.item)} ${e.total !== undefined ? `${e.progress}/${e.total}` : e.progress}${e.message ? ` ${e.message}` : ""}`;
      case "step.waiting":
        return `  ${statusMark("waiting", c)} ${e.stepId} waits for approval: ${e.prompt}${e.expiresAt !== undefined ? paint(c, "2", ` (until ${new Date(e.expiresAt).toISOString()})`) : ""}`;
      case "step.delta":
        return undefined;
      case "model.throttled":
        return `  ${paint(c, "33", "⇣")} ${e.model} rate limited: concurrency now ${e.concurrency}`;
      case "model.limit_wait":
        return `  ${paint(c, "33", "⏸")} ${e.model}${e.deployment ? ` (${e.deployment})` : ""} waits ${Math.ceil(e.waitMs / 100) / 10}s for its ${e.limit} limit`;
      case "model.breaker":
        return `  ${paint(c, e.state === "open" ? "31" : e.state === "closed" ? "32" : "33", "⚡")} ${e.model} deployment ${e.deployment}: breaker ${e.state}`;
      case "run.finished":
        return undefined;
      default:
        return unreachable(e);
    }
  }
}
