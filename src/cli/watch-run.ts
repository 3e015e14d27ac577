/**
 * `mcp run FILE --watch`: run, then run again whenever the pipeline, its mcp.yaml or one of
 * its module files changes. Built on the LivePipelineSet (src/watch/live-pipeline-set.ts),
 * which debounces saves and keeps the last good version when an edit is invalid.
 *
 *   waiting --(new valid version)--> running --(run ends)--> waiting
 *                                     |   ^
 *          (new valid version)        |   | (run ends, a newer version is waiting:
 *   mode cancel: cancel the run,      |   |  run it at once)
 *   mode queue:  let it finish    ----+---+
 *
 *   any --(Ctrl-C / SIGTERM)--> stopping: cancel the run, close the watcher, exit 130
 *
 * An invalid edit prints its diagnostics (after the current run, if one is going) and
 * changes nothing else: no run is cancelled, the next valid save runs.
 */
import { resolve } from "node:path";
import type { CompiledPipeline } from "../compiler/types.js";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import { paint } from "./reporters/format.js";
import { TaskOrchestrator } from "../orchestrator/orchestrator.js";
import type { RunOptions } from "../orchestrator/run.js";
import { ModelRegistry } from "../registry/model-registry.js";
import { formatDuration } from "../util/duration.js";
import { ConfigError } from "../util/errors.js";
import { LivePipelineSet, shortVersion, type LivePipelineSetOptions, type LiveSetEvent } from "../watch/live-pipeline-set.js";
import { formatPlan } from "./reporters/plan.js";
import { runOnce, type OutputOptions } from "./run-once.js";
import { EXIT_CODES } from "./exit-codes.js";
import { printDiagnostics, useColor, writeLine, type CliIo } from "./io.js";
import { CLEAR_SCREEN, listenForStop } from "./stop-signal.js";

/**
 * What a change during a run does.
 * - `cancel`: cancel the run (its in-flight model calls are aborted) and start the new version.
 * - `queue`: let the run finish, then run the newest version (versions saved meanwhile are skipped).
 */
export type WatchMode = "cancel" | "queue";

/** What one run needs beyond the pipeline (store, cache, journal), made fresh for each run. */
export interface WatchRunEnvironment {
  options: RunOptions;
  warnings?: string[];
  close(): Promise<void>;
}

export interface WatchRunOptions {
  /** The pipeline file. */
  file: string;
  /** The run input (read once, at start). */
  input: unknown;
  /** Options of every run (concurrency ...). */
  runOptions?: RunOptions;
  out: OutputOptions;
  /** @default "cancel" */
  mode?: WatchMode;
  /** Print the plan on each change instead of running. */
  dryRun?: boolean;
  /** Makes the store, cache and journal of each run (createRunEnvironment); closed after the run. */
  environment?: (pipeline: CompiledPipeline) => Promise<WatchRunEnvironment>;
  /** Options of the live set (debounceMs ...). */
  live?: LivePipelineSetOptions;
  /** Stops watching, as Ctrl-C does (for tests and embedding). */
  signal?: AbortSignal;
}

/** The terminal's "clear screen and scrollback, cursor home" (only written to a TTY). */

/** Runs the watch loop until Ctrl-C (or `signal`); resolves to the exit code (130). */
export async function watchRun(options: WatchRunOptions, io: CliIo): Promise<number> {
  const mode = options.mode ?? "cancel";
  const color = useColor(io.stderr, io.env);
  const path = resolve(io.cwd, options.file);
  const set = new LivePipelineSet(path, options.live);
  const orchestrator = new TaskOrchestrator(new ModelRegistry(), { env: io.env });

  let latest: { pipeline: CompiledPipeline; version: string; warnings: readonly Diagnostic[] } | undefined;
  type Current = { controller: AbortController; superseded: boolean; done: Promise<void> };
  let current: Current | undefined;
  let runs = 0;
  let stopping = false;
  /** Messages that arrive during a run are printed after it, not over its progress. */
  const deferred: (() => void)[] = [];
  const say = (f: () => void) => (current ? deferred.push(f) : f());
  const tag = paint(color, "36", "[watch]");
  const waiting = () => writeLine(io.stderr, `${tag} waiting for changes to ${options.file} (Ctrl-C to exit)`);

  const schedule = () => {
    if (stopping || !latest) return;
    if (current) {
      if (mode === "cancel" && !current.superseded) {
        current.superseded = true;
        current.controller.abort();
      }
      return;
    }
    const next = latest;
    latest = undefined;
    const controller = new AbortController();
    const run: Current = { controller, superseded: false, done: Promise.resolve() };
    current = run;
    run.done = runVersion(next, run).finally(() => {
      current = undefined;
      for (const f of deferred.splice(0)) f();
      if (stopping) return;
      if (latest) schedule();
      else waiting();
    });
  };

  const runVersion = async ({ pipeline, version, warnings }: NonNullable<typeof latest>, run: { controller: AbortController; superseded: boolean }) => {
    if (runs++ > 0 && io.stderr.isTTY) io.stderr.write(CLEAR_SCREEN);
    const label = `${pipeline.name} @${shortVersion(version)}`;
    printDiagnostics(io, "stderr", warnings, pipeline.sources);
    writeLine(io.stderr, `${tag} ${options.dryRun ? "planning" : "running"} ${label} (${options.file})`);
    const t0 = performance.now();
    let status: string;
    let env: WatchRunEnvironment | undefined;
    try {
      env = options.environment ? await options.environment(pipeline) : undefined;
      for (const w of env?.warnings ?? []) writeLine(io.stderr, `warning: ${w}`);
      if (options.dryRun) {
        const plan = await orchestrator.plan(pipeline, options.input);
        writeLine(io.stdout, options.out.json ? JSON.stringify(plan, null, 2) : formatPlan(plan, pipeline));
        status = paint(color, "32", "planned");
      } else {
        const report = await runOnce(orchestrator, pipeline, options.input, { ...env?.options, ...options.runOptions, signal: run.controller.signal }, io, options.out);
        status =
          report.status === "success"
            ? paint(color, "32", "success")
            : report.status === "cancelled"
              ? paint(color, "33", run.superseded ? "cancelled (the file changed)" : stopping ? "cancelled (Ctrl-C)" : "cancelled")
              : paint(color, "31", report.status);
      }
    } catch (e) {
      if (e instanceof ConfigError) {
        // The input does not fit this version's `inputs`.
        printDiagnostics(io, "stderr", e.diagnostics, e.sources ?? pipeline.sources);
        status = paint(color, "31", "invalid input");
      } else {
        // Keep watching: the next save may fix it (a bad --store, a model that cannot start).
        writeLine(io.stderr, `error: ${e instanceof Error ? e.message : String(e)}`);
        status = paint(color, "31", "error");
      }
    } finally {
      await env?.close();
    }
    const at = new Date().toTimeString().slice(0, 8);
    writeLine(io.stderr, `${tag} ${label}: ${status} in ${formatDuration(performance.now() - t0)} (${at})`);
  };

  const onEvent = (e: LiveSetEvent) => {
    switch (e.type) {
      case "loaded":
      case "updated":
        if (e.path !== path) return;
        latest = { pipeline: e.pipeline, version: e.version, warnings: e.diagnostics };
        schedule();
        return;
      case "invalid":
        if (e.path !== path) return;
        say(() => {
          printDiagnostics(io, "stderr", e.diagnostics, e.sources);
          const errors = e.diagnostics.filter((d) => d.severity === "error").length;
          const kept = e.lastGoodVersion ? `; ${e.name} @${shortVersion(e.lastGoodVersion)} stays loaded` : "";
          writeLine(io.stderr, `${tag} ${paint(color, "31", "invalid")}: ${errors} error${errors === 1 ? "" : "s"} in ${e.file}${kept}; fix it and save to run again`);
        });
        return;
      case "removed":
        if (e.path !== path) return;
        say(() => writeLine(io.stderr, `${tag} ${e.file} was removed; waiting for it to come back`));
        return;
      case "error":
        say(() => writeLine(io.stderr, `${tag} warning: watching failed: ${e.error.message}`));
        return;
      case "batch":
        return;
    }
  };
  set.on("all", onEvent);

  const stop = listenForStop(options.signal, () => {
    stopping = true;
    current?.controller.abort();
  });
  try {
    try {
      await Promise.race([set.ready, stop.stopped]);
    } catch (e) {
      writeLine(io.stderr, `mcp run: ${e instanceof Error ? e.message : String(e)}`);
      return EXIT_CODES.invalid;
    }
    if (!stopping) {
      // Nothing valid at start: the invalid event printed why.
      if (!current && !latest) waiting();
      await stop.stopped;
    }
    await current?.done.catch(() => {});
  } finally {
    stop.dispose();
    await set.close();
    await orchestrator.close();
  }
  writeLine(io.stderr, `${tag} stopped`);
  return EXIT_CODES.interrupted;
}
