/**
 * Resuming a run from the web UI: a failed, cancelled or interrupted run continues as a new
 * run of the same pipeline version and input, whose steps that succeeded before are taken
 * from the journal (marked "resumed") and the rest run. Like `mcp resume`, it refuses when
 * the pipeline changed since the run started.
 */
import type { StepRecord } from "../events/report.js";
import { ProtocolError } from "../protocol/errors.js";
import type { Runtime } from "../protocol/runtime.js";
import { isRedacted, reusableSteps } from "../store/redaction.js";

export async function resumeRun(runtime: Runtime, id: string): Promise<{ runId: string }> {
  const [summary, stored] = await Promise.all([runtime.runs.get(id), runtime.store.getRun(id)]);
  if (!summary || !stored) throw new ProtocolError("not_found", `no run '${id}'`);
  if (summary.status === "success") throw new ProtocolError("conflict", `run '${id}' succeeded; there is nothing to resume`);
  if (summary.status === "running") throw new ProtocolError("conflict", `run '${id}' is still running; cancel it first`);
  if (isRedacted(stored.input)) throw new ProtocolError("conflict", `run '${id}' was journalled with store.redact: its input was not kept, so it cannot be resumed`);
  const pipeline = runtime.pipelines.get(stored.pipeline);
  if (!pipeline) throw new ProtocolError("conflict", `pipeline '${stored.pipeline}' has no valid version in the live set`);
  if (pipeline.hash !== stored.hash) {
    throw new ProtocolError(
      "conflict",
      `pipeline '${stored.pipeline}' changed since run '${id}' started; its finished steps may not fit the new version: start a new run (or mcp resume ${id} --force)`,
    );
  }
  const journal = await runtime.store.getSteps(id);
  const completed: Record<string, StepRecord> = {};
  for (const [step, r] of Object.entries(reusableSteps(journal))) if (pipeline.steps.has(step)) completed[step] = r;
  return runtime.runs.start({
    pipeline,
    input: stored.input,
    ...(stored.conversationId !== undefined ? { conversationId: stored.conversationId } : {}),
    resume: { fromRunId: id, completed },
  });
}
