/** The failures that end a step or a run, and their plain-JSON form for events and reports. */
import type { ErrorInfo, FailureReason } from "../events/event.js";
import { ExpressionError } from "../expr/expression.js";
import { ModelError } from "../models/errors.js";
import { McpError } from "../util/errors.js";

/** A failure that ends a step, with its documented reason. */
export class StepError extends McpError {
  constructor(
    readonly reason: FailureReason,
    message: string,
    readonly stepId: string,
    readonly info: Partial<ErrorInfo> = {},
  ) {
    super(`STEP_${reason.toUpperCase().replace(/-/g, "_")}`, message);
    this.name = "StepError";
  }
}

/** The reason a run was aborted, passed as the AbortSignal's reason. */
export class RunAborted extends McpError {
  constructor(
    readonly reason: FailureReason,
    message: string,
  ) {
    super("RUN_ABORTED", message);
    this.name = "AbortError";
  }
}

/** Turns any thrown value into the ErrorInfo of events and reports. */
export function toErrorInfo(e: unknown, fallback: FailureReason = "internal"): ErrorInfo {
  if (e instanceof StepError) return { reason: e.reason, message: e.message, ...e.info };
  if (e instanceof RunAborted) return { reason: e.reason, message: e.message };
  if (e instanceof ModelError) {
    return { reason: "model-error", message: e.message, kind: e.kind, model: e.model, ...(e.status !== undefined ? { status: e.status } : {}) };
  }
  if (e instanceof ExpressionError) return { reason: "expression-error", message: e.message };
  if (e instanceof McpError && e.code === "REPLAY_MISS") return { reason: "replay-miss", message: e.message };
  const msg = e instanceof Error ? e.message : String(e);
  return { reason: fallback, message: msg };
}
