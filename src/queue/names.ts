/**
 * Names shared by the producer (`mcp run --queue`, `mcp serve --queue`) and `mcp worker`:
 * BullMQ queue names, Redis keys and channels, and the job payloads. One place, so a
 * producer and a worker of the same version always agree.
 *
 * Keys of one run carry the run id as a Redis Cluster hash tag (`{run_...}`), like the
 * store's, so they land in one slot.
 */

/** The default key prefix (BullMQ's own keys are `mcp:bull:<queue>:...`). */
export const DEFAULT_PREFIX = "mcp:";

/** BullMQ queues: whole runs, forEach chunks, and the flow parent that gathers chunks. */
export const RUNS_QUEUE = "runs";
export const ITEMS_QUEUE = "items";
export const GATHER_QUEUE = "gather";

export interface QueueNames {
  prefix: string;
  /** BullMQ's `prefix` option. */
  bullPrefix: string;
  events(runId: string): string;
  cancelKey(runId: string): string;
  cancelChannel: string;
  finalizedKey(runId: string): string;
  limitKey(model: string): string;
  /** The fleet-wide slots of one run's pipeline `concurrency`. */
  runLimitKey(runId: string): string;
  /** The fleet-wide slots of one forEach step's `concurrency` in a run (its chunks share them). */
  itemLimitKey(runId: string, stepId: string): string;
  /** What one run spent and has reserved of its pipeline `budget`, fleet-wide. */
  budgetKey(runId: string): string;
  limitChannel: string;
  /** The workers' published run metrics (a hash, a field per worker process). */
  metricsKey: string;
}

export function queueNames(prefix = DEFAULT_PREFIX): QueueNames {
  return {
    prefix,
    bullPrefix: `${prefix}bull`,
    events: (runId) => `${prefix}events:{${runId}}`,
    cancelKey: (runId) => `${prefix}cancel:{${runId}}`,
    cancelChannel: `${prefix}cancel`,
    finalizedKey: (runId) => `${prefix}finalized:{${runId}}`,
    limitKey: (model) => `${prefix}limit:{${model}}`,
    runLimitKey: (runId) => `${prefix}run-limit:{${runId}}`,
    itemLimitKey: (runId, stepId) => `${prefix}item-limit:{${runId}}:${stepId}`,
    budgetKey: (runId) => `${prefix}budget:{${runId}}`,
    limitChannel: `${prefix}limit-released`,
    metricsKey: `${prefix}metrics`,
  };
}

/** A queued run: what a worker needs to load the pipeline and run it. */
export interface RunJobData {
  runId: string;
  /** Pipeline name, and its content hash when it was enqueued (the worker must load the same). */
  pipeline: string;
  hash: string;
  /** The pipeline file, relative to the project folder (the folder of mcp.yaml), with `/`. */
  file: string;
  input: unknown;
  conversationId?: string;
  /** Most model calls in flight in this run. */
  concurrency?: number;
  /** Continue this earlier run: its finished steps (in the shared journal) are not run again. */
  resumeFrom?: string;
  enqueuedAt: number;
}

/** A chunk of a forEach step, run by any worker: items [start, end) of step `stepId`. */
export interface ChunkJobData {
  run: RunJobData;
  stepId: string;
  start: number;
  end: number;
}

/** BullMQ custom job ids may not contain ':'; run ids never do. */
export function chunkJobId(runId: string, stepId: string, index: number): string {
  return `${runId}.${stepId}.${index}`;
}
export function gatherJobId(runId: string, stepId: string): string {
  return `${runId}.${stepId}.gather`;
}
