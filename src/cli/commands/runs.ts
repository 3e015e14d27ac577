/** `mcp runs`: recent runs from the journal; `mcp runs show ID`: one run and its steps. */
import { formatCost, MARK } from "../reporters/format.js";
import type { StepStatus } from "../../events/event.js";
import type { StepRecord } from "../../events/report.js";
import { effectiveStatus } from "../../store/run-journal.js";
import type { Store, StoredRun } from "../../store/store.js";
import { formatDuration } from "../../util/duration.js";
import { parse, positiveInt } from "../args.js";
import { EXIT_CODES } from "../exit-codes.js";
import { UsageError, writeLine, type CliIo } from "../io.js";
import { openProjectStore, otherStoresHint, projectStoreSettings } from "../project-store.js";
import { loadPipelineFile } from "../../compiler/load.js";
import { eventsFromRecords } from "../../report/events-from-records.js";
import { writeReports } from "../run-report.js";

export const help = `Usage: mcp runs [--json] [--limit N] [--project DIR]
       mcp runs show ID [--json] [--report F.html] [--project DIR]

Lists recent runs of the project (newest first) from its journal: id, status, pipeline,
start time, duration and steps finished; 'show' prints one run with its input, steps,
output or error. A run whose process died (killed, crashed) shows as 'interrupted':
continue it with 'mcp resume ID'. ID may be a unique prefix.

Options:
  --json                print JSON instead of a table
  --limit N             most runs listed  [default: 20]
  --report F.html       (show) also write the run's self-contained HTML report (DAG,
                        timeline, step details; opens offline)
  --project DIR         the project (folder of mcp.yaml)  [default: found from the current folder]
  -h, --help            show this help`;

const OPTIONS = {
  json: { type: "boolean" },
  limit: { type: "string" },
  report: { type: "string" },
  project: { type: "string" },
} as const;

export async function runsCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse("runs", argv, OPTIONS);
  if (values.help) {
    writeLine(io.stdout, help);
    return EXIT_CODES.ok;
  }
  const [sub, id, ...extra] = positionals;
  if (sub !== undefined && sub !== "show") throw new UsageError(`unknown subcommand '${sub}' (runs takes 'show ID' or nothing)`, "runs");
  if (sub === "show" && id === undefined) throw new UsageError("give a run id: mcp runs show ID", "runs");
  if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`, "runs");
  const limit = positiveInt("runs", "limit", values.limit as string | undefined) ?? 20;
  const dir = (values.project as string | undefined) ?? io.cwd;
  const store = await openProjectStore("runs", dir, process.env, io.cwd);
  try {
    if (values.report !== undefined && sub !== "show") throw new UsageError("--report needs one run: mcp runs show ID --report F.html", "runs");
    if (sub === "show") {
      const code = await show(store, id!, io, !!values.json);
      if (values.report !== undefined) return (await writeStoredReport(store, id!, values.report as string, io)) ? code : EXIT_CODES.runFailed;
      return code;
    }
    const runs = await store.listRuns({ limit });
    const rows = await Promise.all(runs.map(async (r) => ({ run: r, steps: await store.getSteps(r.id) })));
    if (values.json) {
      writeLine(
        io.stdout,
        JSON.stringify(
          rows.map(({ run, steps }) => summary(run, steps)),
          null,
          2,
        ),
      );
      return EXIT_CODES.ok;
    }
    if (rows.length === 0) {
      // An empty journal here, while `mcp run dir/x.yaml` (no mcp.yaml) journals in dir/.mcp/.
      const elsewhere = store.kind === "sqlite" ? otherStoresHint(projectStoreSettings(dir).projectDir, io.cwd) : undefined;
      writeLine(io.stdout, `no runs yet in ${store.location}${elsewhere ? `; ${elsewhere}` : ""}`);
      return EXIT_CODES.ok;
    }
    const table = [["run", "status", "pipeline", "started", "time", "steps", "cost"]];
    for (const { run, steps } of rows) {
      const s = summary(run, steps);
      table.push([
        run.id,
        s.status,
        run.pipeline,
        localTime(run.startedAt),
        run.durationMs !== undefined ? formatDuration(run.durationMs) : "-",
        `${s.stepsDone}${s.stepsTotal !== undefined ? `/${s.stepsTotal}` : ""}`,
        run.totals ? formatCost(run.totals.cost) : "-",
      ]);
    }
    writeLine(io.stdout, pad(table).join("\n"));
    return EXIT_CODES.ok;
  } finally {
    await store.close();
  }
}

/** A run's id from a full id or a unique prefix; UsageError when none or several match. */
export async function findRun(store: Store, command: string, id: string): Promise<StoredRun> {
  const exact = await store.getRun(id);
  if (exact) return exact;
  const matches = (await store.listRuns({ limit: 10_000 })).filter((r) => r.id.startsWith(id));
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1)
    throw new UsageError(
      `'${id}' matches ${matches.length} runs (${matches
        .slice(0, 3)
        .map((r) => r.id)
        .join(", ")}${matches.length > 3 ? ", ..." : ""}); give more of the id`,
      command,
    );
  throw new UsageError(`no run '${id}' in ${store.location}; 'mcp runs' lists them`, command);
}

interface RunSummary {
  id: string;
  status: string;
  pipeline: string;
  file: string;
  hash: string;
  startedAt: string;
  durationMs?: number;
  stepsDone: number;
  stepsTotal?: number;
  attempts: number;
  conversationId?: string;
  resumedFrom?: string;
  error?: StoredRun["error"];
}

function summary(run: StoredRun, steps: Record<string, StepRecord>): RunSummary {
  const reportSteps = run.report?.steps;
  // (Steps of the pipeline: not a loop's iterations `draft#2` nor a sub-pipeline's steps `summary/extract`.)
  const done = Object.entries(reportSteps ?? steps).filter(([k, s]) => s.status === "success" && !/[#/[]/.test(k)).length;
  return {
    id: run.id,
    status: effectiveStatus(run),
    pipeline: run.pipeline,
    file: run.file,
    hash: run.hash,
    startedAt: new Date(run.startedAt).toISOString(),
    ...(run.durationMs !== undefined ? { durationMs: run.durationMs } : {}),
    stepsDone: done,
    ...(reportSteps ? { stepsTotal: Object.keys(reportSteps).length } : {}),
    attempts: run.attempts,
    ...(run.conversationId !== undefined ? { conversationId: run.conversationId } : {}),
    ...(run.resumedFrom !== undefined ? { resumedFrom: run.resumedFrom } : {}),
    ...(run.error ? { error: run.error } : {}),
  };
}

async function show(store: Store, id: string, io: CliIo, json: boolean): Promise<number> {
  const run = await findRun(store, "runs", id);
  const journal = await store.getSteps(run.id);
  const steps = stepsOf(run, journal);
  const status = effectiveStatus(run);
  if (json) {
    const { report: _r, ...rest } = run;
    writeLine(io.stdout, JSON.stringify({ ...rest, status, steps }, null, 2));
    return EXIT_CODES.ok;
  }
  const resumable = status === "failed" || status === "cancelled" || status === "interrupted";
  const waitingOn = Object.entries(steps).filter(([, r]) => r.status === "waiting");
  const lines = [
    `run ${run.id}: ${status}${resumable ? ` (continue it with: mcp resume ${run.id})` : ""}`,
    ...waitingOn.map(([sid, r]) => `waiting    step '${sid}' needs approval: ${r.approval?.prompt ?? ""} (mcp approve ${run.id} ${sid} / mcp reject ${run.id} ${sid} --reason ...)`),
    `pipeline   ${run.pipeline} (${run.file})`,
    `hash       ${run.hash.slice(0, 12)}`,
    `started    ${localTime(run.startedAt)}${run.durationMs !== undefined ? `, took ${formatDuration(run.durationMs)}` : ""}${run.attempts > 1 ? `, resumed ${run.attempts - 1} time${run.attempts > 2 ? "s" : ""}` : ""}`,
    ...(run.conversationId !== undefined ? [`conversation ${run.conversationId}`] : []),
    `input      ${JSON.stringify(run.input)}`,
    "",
    "steps:",
  ];
  const ids = withNestedAfter(Object.keys(steps));
  if (ids.length === 0) lines.push("  (none finished)");
  for (const sid of ids) {
    const r = steps[sid]!;
    const mark = MARK[r.status as StepStatus] ?? "?";
    const extra = [r.model, r.status === "success" ? formatDuration(r.durationMs) : r.status, r.resumed ? "resumed" : r.cached ? "cached" : undefined].filter(Boolean).join(", ");
    lines.push(`  ${mark} ${sid}${extra ? `  (${extra})` : ""}${r.error ? `: ${r.error.message}` : ""}`);
  }
  if (run.output !== undefined) lines.push("", "output:", JSON.stringify(run.output, null, 2));
  if (run.error) lines.push("", `error: ${run.error.message}`);
  writeLine(io.stdout, lines.join("\n"));
  return EXIT_CODES.ok;
}

/**
 * The step records of a run: the report's (every step, failed and skipped too, in the
 * pipeline's order, as `mcp run` prints them), then any the journal has beyond it (a killed
 * run has only the journal, in the order the steps finished).
 */
function stepsOf(run: StoredRun, journal: Record<string, StepRecord>): Record<string, StepRecord> {
  const steps: Record<string, StepRecord> = { ...(run.report?.steps ?? {}) };
  for (const [id, r] of Object.entries(journal)) if (!Object.hasOwn(steps, id)) steps[id] = r;
  return steps;
}

/** Step keys with the work inside each step (`draft#2`, `summary/extract`) listed right after it, in order. */
function withNestedAfter(keys: string[]): string[] {
  const head = (k: string) => /^[^#/[]*/.exec(k)![0];
  const tops = [...new Set(keys.map(head))];
  return tops.flatMap((t) => [...(keys.includes(t) ? [t] : []), ...keys.filter((k) => k !== t && head(k) === t)]);
}

/** `runs show ID --report F.html`: the report of a stored run, rebuilt from its journal. */
async function writeStoredReport(store: Store, id: string, file: string, io: CliIo): Promise<boolean> {
  const run = await findRun(store, "runs", id);
  const journal = await store.getSteps(run.id);
  const steps = stepsOf(run, journal);
  const status = effectiveStatus(run);
  // The events the server journalled for the run, when it ran there; else rebuilt from the step records.
  const stored = await store.listEvents(run.id);
  const events = stored.length
    ? stored.map((e) => e.event)
    : eventsFromRecords({
        runId: run.id,
        pipeline: run.pipeline,
        startedAt: run.startedAt,
        status: status === "interrupted" ? "cancelled" : status,
        ...(run.durationMs !== undefined ? { durationMs: run.durationMs } : {}),
        ...(run.output !== undefined ? { output: run.output } : {}),
        ...(run.error ? { error: run.error } : {}),
        steps,
      });
  const notes: string[] = stored.length ? [] : ["Times are rebuilt from the journal: attempts are laid end to end, without the waits between retries."];
  if (status === "interrupted") notes.push("The run's process died before it ended (interrupted); resume it with mcp resume.");
  // The DAG comes from the pipeline file as it is now; say so when it changed since the run.
  const loaded = run.file.startsWith("<") ? undefined : loadPipelineFile(run.file);
  if (!loaded?.pipeline) notes.push(`The pipeline file ${run.file} could not be loaded now, so the report has no graph.`);
  else if (loaded.pipeline.hash !== run.hash) notes.push(`The pipeline file ${run.file} changed since this run; the graph shows it as it is now.`);
  return writeReports(
    io,
    { htmlFile: file, ...(loaded?.pipeline ? { pipeline: loaded.pipeline } : {}), events, ...(run.report ? { report: run.report } : {}), source: stored.length ? "events" : "journal", notes },
    false,
  );
}

function localTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function pad(rows: string[][]): string[] {
  const w: number[] = [];
  for (const r of rows) r.forEach((c, i) => (w[i] = Math.max(w[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]!))).join("  "));
}
