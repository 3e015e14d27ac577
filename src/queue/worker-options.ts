/** The options of `mcp worker` (RunWorker), and their defaults in one place. */

export interface RunWorkerOptions {
  /** The project folder: job files are relative to it. */
  dir: string;
  /** Runs at once in this process. @default 4 */
  concurrency?: number;
  /** forEach chunks at once in this process. @default concurrency */
  itemConcurrency?: number;
  /** Items per chunk job; a forEach with more items than this is split across the fleet. @default 10 */
  chunkSize?: number;
  /** Split large forEach steps across the fleet. @default true */
  fanOut?: boolean;
  /** Key prefix shared with producers. @default "mcp:" */
  prefix?: string;
  /** A job whose worker stops renewing its lock for this long is taken by another worker. @default 30000 */
  lockDurationMs?: number;
  /** A run whose worker died more than this many times fails. @default 2 */
  maxStalls?: number;
  /** On close(): how long runs in progress may take to finish before they are handed back. @default 30000 */
  graceMs?: number;
  /** Environment for providers' API keys and $env. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** How often the worker publishes its run metrics to Redis (and soon after each run). @default 5000 */
  metricsIntervalMs?: number;
  /** Where the worker says what it does (one line each). */
  log?: (level: "info" | "warn" | "error", message: string) => void;
}

/** The options with their defaults filled in (log, prefix and metrics interval stay optional). */
export type WorkerSettings = Required<Omit<RunWorkerOptions, "log" | "env" | "prefix" | "metricsIntervalMs">> & { env: NodeJS.ProcessEnv };

export function workerSettings(options: RunWorkerOptions): WorkerSettings {
  return {
    dir: options.dir,
    concurrency: options.concurrency ?? 4,
    itemConcurrency: options.itemConcurrency ?? options.concurrency ?? 4,
    chunkSize: options.chunkSize ?? 10,
    fanOut: options.fanOut ?? true,
    lockDurationMs: options.lockDurationMs ?? 30_000,
    maxStalls: options.maxStalls ?? 2,
    graceMs: options.graceMs ?? 30_000,
    env: options.env ?? process.env,
  };
}
