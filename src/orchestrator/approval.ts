/**
 * Approval steps (`approval:`): a person, not a model, answers them. The first time the run
 * reaches one, the step's prompt is rendered, its record is journaled as `waiting` (with the
 * deadline) and a step.waiting event goes out; the steps that depend on it stay pending and
 * the run ends as `waiting`. A later run of the same id (`mcp approve`, `mcp reject`, the
 * Protocol Handler's runs.approve / runs.reject) passes the answer in `RunOptions.approvals`:
 * an approval becomes the step's output (checked against `schema`), a rejection fails the
 * step with reason `rejected`, and an answer given after the deadline fails it with reason
 * `timeout`.
 */
import type { CompiledStep } from "../compiler/types.js";
import type { ApprovalAnswer } from "../events/ports.js";
import type { ApprovalRecord, StepRecord } from "../events/report.js";
import { evaluateTemplate, stringify } from "../expr/template.js";
import { compileUserSchema } from "../schema/validate.js";
import { formatDuration } from "../util/duration.js";
import { zeroUsage, type RunScope } from "./run-scope.js";
import { StepError } from "./step-errors.js";

/**
 * Why `answer` does not fit the approval's schema (one line per problem), or undefined when
 * it does. Used before an answer is accepted, so a wrong answer changes nothing.
 */
export function approvalAnswerProblems(schema: unknown, answer: unknown): string | undefined {
  if (schema === undefined || schema === true) return undefined;
  if (schema === false) return "this approval takes no answer (its schema is false)";
  const validate = compileUserSchema(schema as object);
  if (validate(answer)) return undefined;
  return (validate.errors ?? [])
    .slice(0, 5)
    .map((e) => `${e.instancePath ? `answer${e.instancePath.replace(/\//g, ".")}` : "the answer"} ${e.message ?? "is invalid"}`)
    .join("; ");
}

/** Whether an answer given at `at` comes after the step's deadline. */
export function approvalExpired(record: Pick<ApprovalRecord, "expiresAt">, at: number): boolean {
  return record.expiresAt !== undefined && at > record.expiresAt;
}

/** Runs an approval step: waits (journaled), or applies the answer given to this run. */
export async function runApproval(scope: RunScope, step: CompiledStep, started: number): Promise<StepRecord> {
  const spec = step.approval!;
  const id = step.id;
  const prior = scope.options.resume?.waiting?.[id]?.approval;
  const answer: ApprovalAnswer | undefined = scope.options.approvals?.[id];
  const requestedAt = prior?.requestedAt ?? started;
  const expiresAt = prior?.expiresAt ?? (spec.timeoutMs !== undefined ? requestedAt + spec.timeoutMs : undefined);
  const prompt = prior?.prompt ?? stringify(await evaluateTemplate(spec.prompt, scope.bindings));
  const approval: ApprovalRecord = {
    prompt,
    requestedAt,
    ...(expiresAt !== undefined ? { expiresAt } : {}),
    ...(spec.schema !== undefined ? { schema: spec.schema } : {}),
  };
  const now = answer?.at ?? Date.now();
  if (approvalExpired(approval, now)) {
    throw new StepError("timeout", `approval of step '${id}' timed out: no answer within ${formatDuration(spec.timeoutMs ?? 0)} (asked ${new Date(requestedAt).toISOString()})`, id);
  }
  if (!answer) {
    const record: StepRecord = { status: "waiting", attempts: [], durationMs: 0, usage: zeroUsage(), cost: 0, cached: false, approval, startedAt: started };
    await scope.options.journal?.stepFinished(scope.id, id, record);
    scope.waiting.add(id);
    scope.emit({
      type: "step.waiting",
      runId: scope.id,
      ts: Date.now(),
      stepId: id,
      prompt,
      ...(expiresAt !== undefined ? { expiresAt } : {}),
      ...(spec.schema !== undefined ? { schema: spec.schema } : {}),
    });
    return scope.settle(id, record);
  }
  const by = answer.by !== undefined ? ` by ${answer.by}` : "";
  if (answer.decision === "rejected") {
    throw new StepError("rejected", `step '${id}' was rejected${by}: ${answer.reason ?? "no reason given"}`, id);
  }
  const output = answer.answer === undefined ? {} : answer.answer;
  const problems = approvalAnswerProblems(spec.schema, output);
  if (problems) throw new StepError("invalid-input", `the answer to approval step '${id}' does not match its schema: ${problems}`, id);
  const record: StepRecord = {
    status: "success",
    output,
    attempts: [],
    durationMs: Math.max(0, now - requestedAt),
    usage: zeroUsage(),
    cost: 0,
    cached: false,
    approval: { ...approval, decision: "approved", answeredAt: now, ...(answer.by !== undefined ? { by: answer.by } : {}) },
    startedAt: started,
  };
  return record;
}
