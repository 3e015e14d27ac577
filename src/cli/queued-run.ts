/**
 * `mcp run --queue URL FILE`: the run is validated here (pipeline and input, exit 2 as for a
 * local run), enqueued on Redis, and followed: its events come from whichever worker runs it
 * and feed the same progress reporters as a local run; the report is read from the shared
 * store at the end. Ctrl-C asks the run's worker to cancel it (exit 130 with the partial
 * report); a second Ctrl-C leaves at once and the run goes on.
 */
import { loadPipelineChecked } from "../compiler/load.js";
import { RunQueue } from "../queue/run-queue.js";
import { isRedacted } from "../store/redaction.js";
import { isRedisUrl, redact } from "../store/redis-connection.js";
import { ConfigError } from "../util/errors.js";
import { EXIT_CODES } from "./exit-codes.js";
import { printDiagnostics, UsageError, writeLine, type CliIo } from "./io.js";
import { exitCodeOf, printRunResult, progressObserver, type OutputOptions } from "./run-once.js";

export interface QueuedRunOptions {
  file: string;
  input: unknown;
  /** Where the input came from (`--input`, the --input-file), for its diagnostics. */
  inputOrigin?: string;
  url: string;
  concurrency?: number;
  conversation?: string;
  out: OutputOptions;
  /** Say "waiting for a worker" when no worker took the run after this long. @default 5000 */
  idleHintMs?: number;
}

export async function queuedRun(opts: QueuedRunOptions, io: CliIo): Promise<number> {
  if (!isRedisUrl(opts.url)) throw new UsageError(`--queue must be a redis:// or rediss:// URL; got '${opts.url}'`, "run");
  const loaded = await loadPipelineChecked(opts.file);
  printDiagnostics(io, "stderr", loaded.diagnostics, loaded.sources);
  if (!loaded.pipeline) return EXIT_CODES.invalid;
  const pipeline = loaded.pipeline;

  let queue: RunQueue;
  try {
    queue = await RunQueue.open(opts.url);
  } catch (e) {
    throw new UsageError((e as Error).message, "run", false);
  }
  try {
    for (const w of await queue.durabilityWarnings()) writeLine(io.stderr, `warning: ${w}`);
    let runId: string;
    try {
      runId = await queue.enqueue(pipeline, opts.input, {
        ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
        ...(opts.inputOrigin !== undefined ? { inputOrigin: opts.inputOrigin } : {}),
        ...(opts.conversation !== undefined ? { conversationId: opts.conversation } : {}),
      });
    } catch (e) {
      if (e instanceof ConfigError) {
        printDiagnostics(io, "stderr", e.diagnostics, e.sources ?? loaded.sources);
        return EXIT_CODES.invalid;
      }
      throw e;
    }
    if (!opts.out.quiet) writeLine(io.stderr, `queued run ${runId} on ${redact(opts.url)}`);

    const observer = await progressObserver(io, opts.out.progress);
    const stop = new AbortController();
    let interrupted = 0;
    const onSigint = () => {
      interrupted++;
      if (interrupted === 1) {
        writeLine(io.stderr, "\ninterrupted: cancelling the run on its worker (Ctrl-C again to leave; the run would go on)");
        void queue.cancel(runId, "interrupted (Ctrl-C)");
      } else {
        stop.abort();
        process.exit(EXIT_CODES.interrupted);
      }
    };
    process.on("SIGINT", onSigint);
    process.on("SIGTERM", onSigint);
    let started = false;
    const hint = setTimeout(() => {
      if (!started && !opts.out.quiet) writeLine(io.stderr, `waiting for a worker to take run ${runId} (is 'mcp worker --queue ${redact(opts.url)}' running?)`);
    }, opts.idleHintMs ?? 5000);
    try {
      for await (const { event } of queue.follow(runId, { signal: stop.signal })) {
        started = true;
        observer?.onEvent(event);
      }
    } finally {
      clearTimeout(hint);
      process.off("SIGINT", onSigint);
      process.off("SIGTERM", onSigint);
      await observer?.dispose?.();
    }
    const report = await queue.report(runId);
    if (!report) {
      writeLine(io.stderr, `error: run ${runId} ended but its report is not in the store`);
      return EXIT_CODES.runFailed;
    }
    // store.redact: the journal has a digest; the output itself is the job's, for a while.
    if (isRedacted(report.output)) {
      const kept = await queue.output(runId, { waitMs: 5000 }).catch(() => undefined);
      if (kept) report.output = kept.output;
    }
    printRunResult(report, io, opts.out);
    return exitCodeOf(report);
  } finally {
    await queue.close();
  }
}
