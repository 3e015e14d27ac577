/** One run from the command line: progress on stderr, the result on stdout, Ctrl-C cancels. */
import type { CompiledPipeline } from "../compiler/types.js";
import { CombinedObserver, type RunObserver } from "../events/event.js";
import { AlertWebhook } from "../telemetry/alert-webhook.js";
import type { RunReport } from "../events/report.js";
import type { TaskOrchestrator } from "../orchestrator/orchestrator.js";
import type { RunOptions } from "../orchestrator/run.js";
import { EXIT_CODES } from "./exit-codes.js";
import { useColor, writeLine, type CliIo } from "./io.js";
import { formatReport } from "./reporters/format.js";
import type { LiveReporter } from "./reporters/live.js";
import { NdjsonReporter } from "./reporters/ndjson.js";
import { PlainReporter } from "./reporters/plain.js";
import { StreamPrinter } from "./reporters/stream.js";

export interface OutputOptions {
  progress: "auto" | "live" | "plain" | "json" | "none";
  quiet: boolean;
  json: boolean;
  /** `--stream`: these steps' text goes to stdout as it arrives, instead of the result JSON. */
  stream?: readonly string[];
}

/** The live view, loaded only when used: log-update costs tens of milliseconds to import. */
async function liveReporter(io: CliIo, color: boolean): Promise<LiveReporter> {
  const { LiveReporter } = await import("./reporters/live.js");
  return new LiveReporter(io.stderr, color);
}

export async function progressObserver(io: CliIo, mode: OutputOptions["progress"]): Promise<RunObserver | undefined> {
  const color = useColor(io.stderr, io.env);
  switch (mode) {
    case "none":
      return undefined;
    case "json":
      return new NdjsonReporter(io.stderr);
    case "plain":
      return new PlainReporter(io.stderr, color);
    case "live":
      return liveReporter(io, color);
    case "auto":
      return io.stderr.isTTY && io.env.CI === undefined ? liveReporter(io, color) : new PlainReporter(io.stderr, color);
  }
}

function isLive(o: RunObserver | undefined): o is LiveReporter {
  return typeof (o as Partial<LiveReporter> | undefined)?.streamTo === "function";
}

/**
 * Runs once with progress on stderr and the result on stdout. Ctrl-C cancels the run:
 * in-flight model calls are aborted, the partial report is printed, exit 130.
 */
export async function runOnce(orchestrator: TaskOrchestrator, pipeline: CompiledPipeline, input: unknown, options: RunOptions, io: CliIo, out: OutputOptions, extra?: RunObserver): Promise<RunReport> {
  let progress = await progressObserver(io, out.progress);
  if (out.stream?.length) {
    // On a terminal the live view prints the text itself (both write to the same screen);
    // else the text goes to stdout, and the view (if any) to stderr.
    const printer = isLive(progress) && io.stdout.isTTY ? progress.streamTo(out.stream) : new StreamPrinter(io.stdout, out.stream, io.stderr);
    if (printer !== progress) progress = progress ? new CombinedObserver([printer, progress]) : printer;
  }
  // mcp.yaml `alerts:` fire from a CLI run as from the server (a breaker opening, a budget passed).
  const alerts = pipeline.settings.alerts?.webhook
    ? new AlertWebhook({ settings: () => pipeline.settings.alerts, onError: (e) => writeLine(io.stderr, `warning: the alert webhook failed: ${e.message}`) })
    : undefined;
  const parts = [progress, extra, alerts].filter((o): o is RunObserver => o !== undefined);
  const observer = parts.length > 1 ? new CombinedObserver(parts) : parts[0];
  const run = orchestrator.startRun(pipeline, input, { ...options, ...(out.stream?.length ? { stream: out.stream } : {}), ...(observer ? { observer } : {}) });
  let interrupted = 0;
  const onSigint = () => {
    interrupted++;
    if (interrupted === 1) {
      writeLine(io.stderr, "\ninterrupted: cancelling the run (Ctrl-C again to quit at once)");
      run.cancel("interrupted (Ctrl-C)");
    } else {
      process.exit(EXIT_CODES.interrupted);
    }
  };
  process.on("SIGINT", onSigint);
  process.on("SIGTERM", onSigint);
  let report: RunReport;
  try {
    report = await run.done;
  } finally {
    process.off("SIGINT", onSigint);
    process.off("SIGTERM", onSigint);
    await observer?.dispose?.();
  }
  printRunResult(report, io, out);
  return report;
}

/** The result on stdout (output, or the whole report with --json); the report and any error on stderr. */
export function printRunResult(report: RunReport, io: CliIo, out: OutputOptions): void {
  if (out.json) writeLine(io.stdout, JSON.stringify(report, null, 2));
  else if (report.status === "success" && !out.stream?.length) writeLine(io.stdout, JSON.stringify(report.output ?? null, null, 2));
  if (!out.quiet) {
    writeLine(io.stderr, "");
    writeLine(io.stderr, formatReport(report, useColor(io.stderr, io.env)));
  }
  if (report.status === "waiting") {
    for (const [id, r] of Object.entries(report.steps)) {
      if (r.status !== "waiting" || !r.approval) continue;
      const until = r.approval.expiresAt !== undefined ? ` (answer before ${new Date(r.approval.expiresAt).toISOString()})` : "";
      writeLine(io.stderr, `waiting: step '${id}' needs approval${until}: ${r.approval.prompt}`);
      writeLine(io.stderr, `  approve: mcp approve ${report.runId} ${id}${r.approval.schema !== undefined ? " --input '<JSON answer>'" : ""}`);
      writeLine(io.stderr, `  reject:  mcp reject ${report.runId} ${id} --reason '...'`);
    }
  }
  if (report.status !== "success" && report.error) {
    writeLine(io.stderr, `${report.status === "cancelled" ? "cancelled" : "error"}: ${report.error.message}`);
  }
}

export function exitCodeOf(report: RunReport): number {
  return report.status === "success" ? EXIT_CODES.ok : report.status === "waiting" ? EXIT_CODES.waiting : report.status === "cancelled" ? EXIT_CODES.interrupted : EXIT_CODES.runFailed;
}
