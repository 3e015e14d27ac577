/**
 * StoreJournal: the RunJournal over a Store. The run is written when it starts (id, input,
 * pipeline file and hash), each finished step when it finishes (the store has committed it
 * when the promise resolves; the run holds its events back until then), and the report
 * when the run ends. That is what `mcp runs` lists and `mcp resume` continues.
 */
import { hostname } from "node:os";
import { resolve } from "node:path";
import type { RunJournal, RunPipeline } from "../events/ports.js";
import type { RunReport, StepRecord } from "../events/report.js";
import type { Store, StoredRun } from "./store.js";

export class StoreJournal implements RunJournal {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  async runStarted(run: { runId: string; pipeline: RunPipeline; input: unknown; startedAt: number; resumedFrom?: string; conversationId?: string }): Promise<void> {
    await this.#store.runStarted({
      id: run.runId,
      pipeline: run.pipeline.name,
      file: run.pipeline.file.startsWith("<") ? run.pipeline.file : resolve(run.pipeline.file),
      hash: run.pipeline.hash,
      input: run.input,
      startedAt: run.startedAt,
      ...(run.resumedFrom !== undefined ? { resumedFrom: run.resumedFrom } : {}),
      ...(run.conversationId !== undefined ? { conversationId: run.conversationId } : {}),
      pid: process.pid,
      host: hostname(),
    });
  }

  /** The store's own promise: the SQLite store resolves it when the step's batch committed. */
  stepFinished(runId: string, stepId: string, record: StepRecord): Promise<void> {
    return this.#store.putStep(runId, stepId, record);
  }

  async runFinished(runId: string, report: RunReport): Promise<void> {
    await this.#store.runFinished(runId, {
      status: report.status,
      finishedAt: Date.now(),
      durationMs: report.durationMs,
      ...(report.output !== undefined ? { output: report.output } : {}),
      ...(report.error ? { error: report.error } : {}),
      totals: report.totals,
      report,
    });
  }
}

/**
 * The status to show for a stored run: a run still marked `running` whose process is gone
 * (killed, crashed, machine rebooted) is `interrupted`, and can be resumed.
 */
export function effectiveStatus(run: StoredRun, isAlive: (pid: number) => boolean = pidAlive): StoredRun["status"] | "interrupted" {
  if (run.status !== "running") return run.status;
  if (run.pid === undefined || run.host !== hostname()) return "running";
  return isAlive(run.pid) ? "running" : "interrupted";
}

function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
