/**
 * Answering an approval step of a waiting run, shared by `mcp approve` / `mcp reject` and the
 * Protocol Handler's `runs.approve` / `runs.reject`: the run must be `waiting` and the step
 * waiting in its journal; an approval's answer must match the step's schema (else nothing
 * changes); the run then continues under its own id, its finished steps taken from the
 * journal and the answer handed to the step (RunOptions.approvals). Whether the answer came
 * in time is decided by the continued run: a late answer fails the step (reason timeout).
 */
import type { CompiledPipeline } from "../compiler/types.js";
import type { ApprovalAnswer } from "../events/ports.js";
import type { StepRecord } from "../events/report.js";
import { approvalAnswerProblems, approvalExpired } from "../orchestrator/approval.js";
import { effectiveStatus } from "../store/run-journal.js";
import type { Store, StoredRun } from "../store/store.js";
import { didYouMean } from "../util/suggest.js";
import { ProtocolError } from "./errors.js";

/** A person's answer, as a command or a client gives it. */
export interface ApprovalRequest {
  stepId: string;
  decision: "approved" | "rejected";
  /** approved: the answer (`--input`). @default {} */
  answer?: unknown;
  /** rejected: why. */
  reason?: string;
  by?: string;
}

/** What the continued run needs: its finished and waiting steps, and the answer. */
export interface ApprovalContinuation {
  resume: { fromRunId: string; completed: Record<string, StepRecord>; waiting: Record<string, StepRecord> };
  approvals: Record<string, ApprovalAnswer>;
  /** The answer came after the step's deadline: the continued run fails the step. */
  expired: boolean;
}

/** The waiting step's journal record; ProtocolError (conflict, not_found) when the run or step is not waiting. */
export async function waitingStep(store: Store, run: StoredRun, stepId: string): Promise<{ record: StepRecord; journal: Record<string, StepRecord> }> {
  const status = effectiveStatus(run);
  const journal = await store.getSteps(run.id);
  const waiting = Object.keys(journal).filter((id) => journal[id]!.status === "waiting");
  if (status !== "waiting") {
    throw new ProtocolError("conflict", `run '${run.id}' is not waiting for an approval (it is ${status})`);
  }
  const record = journal[stepId];
  if (!record || record.status !== "waiting") {
    throw new ProtocolError(
      "not_found",
      `step '${stepId}' of run '${run.id}' is not waiting for an approval${didYouMean(stepId, waiting)}${waiting.length ? ` (waiting: ${waiting.join(", ")})` : ""}`,
    );
  }
  return { record, journal };
}

/**
 * Checks the answer and builds the continued run's options. Throws ProtocolError
 * `invalid_input` when an approval's answer does not match the step's schema, and
 * `conflict` when the pipeline changed since the run started (unless `force`).
 */
export function approvalContinuation(
  run: StoredRun,
  pipeline: CompiledPipeline,
  waiting: { record: StepRecord; journal: Record<string, StepRecord> },
  req: ApprovalRequest,
  opts: { force?: boolean; now?: number } = {},
): ApprovalContinuation {
  if (pipeline.hash !== run.hash && !opts.force) {
    throw new ProtocolError(
      "conflict",
      `pipeline '${run.pipeline}' changed since run '${run.id}' started (${run.file}); its finished steps may not fit the new version: start a new run (or answer with --force)`,
    );
  }
  const step = pipeline.steps.get(req.stepId);
  if (!step?.approval) throw new ProtocolError("conflict", `step '${req.stepId}' of pipeline '${run.pipeline}' is no longer an approval step`);
  const at = opts.now ?? Date.now();
  const schema = waiting.record.approval?.schema ?? step.approval.schema;
  if (req.decision === "approved") {
    const problems = approvalAnswerProblems(schema, req.answer ?? {});
    if (problems) {
      throw new ProtocolError("invalid_input", `the answer does not match the schema of approval step '${req.stepId}': ${problems}`, { schema: schema ?? null });
    }
  }
  const completed: Record<string, StepRecord> = {};
  const waitingRecords: Record<string, StepRecord> = {};
  for (const [id, r] of Object.entries(waiting.journal)) {
    if (!pipeline.steps.has(id)) continue;
    if (r.status === "success") completed[id] = r;
    else if (r.status === "waiting") waitingRecords[id] = r;
  }
  const answer: ApprovalAnswer = {
    decision: req.decision,
    at,
    ...(req.decision === "approved" ? { answer: req.answer ?? {} } : { reason: req.reason ?? "no reason given" }),
    ...(req.by !== undefined ? { by: req.by } : {}),
  };
  return {
    resume: { fromRunId: run.id, completed, waiting: waitingRecords },
    approvals: { [req.stepId]: answer },
    expired: waiting.record.approval ? approvalExpired(waiting.record.approval, at) : false,
  };
}
