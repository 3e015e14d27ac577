/**
 * `mcp resume ID`: continues a failed, cancelled or killed run from its journal. The
 * pipeline file is loaded again; if it changed since the run started (content hash of the
 * file and its mcp.yaml), resuming is refused unless --force, since the finished steps'
 * outputs may no longer fit it. Steps that succeeded are not run again (the report marks
 * them "resumed"); the rest run, under the same run id.
 */
import { existsSync } from "node:fs";
import { loadPipelineChecked } from "../../compiler/load.js";
import { resumableSteps } from "../../orchestrator/nested.js";
import { isRedacted, reusableSteps } from "../../store/redaction.js";
import { effectiveStatus } from "../../store/run-journal.js";
import { oneOf, parse, positiveInt } from "../args.js";
import { EXIT_CODES } from "../exit-codes.js";
import { printDiagnostics, UsageError, writeLine, type CliIo } from "../io.js";
import { openProjectStore } from "../project-store.js";
import { runEnvironmentFlags } from "../run-environment.js";
import { continueRun } from "../continue-run.js";
import { findRun } from "./runs.js";

export const help = `Usage: mcp resume ID [options]

Continues a failed, cancelled or interrupted (killed) run: steps that finished are not run
again (their outputs come from the run's journal), the others run. The pipeline file is
read again; if it changed since the run started, resume refuses unless --force.
ID may be a unique prefix ('mcp runs' lists runs).

Options:
  --force               resume even if the pipeline changed (or the run seems to be running)
  --json                print the whole run report instead of the output
  --progress MODE       auto|live|plain|json|none  [default: auto]
  --quiet               no progress and no report on stderr
  --concurrency N       most model calls in flight
  --project DIR         the project (folder of mcp.yaml)  [default: found from the current folder]
  --no-cache            do not read or fill the response cache
  --record FILE         record the model calls made by the resumed steps
  --replay FILE         answer the resumed steps' model calls from FILE
  --record-mode MODE    none|new|all with --record or --replay (docs/testing.md)
  -h, --help            show this help

Exit codes: 0 success, 1 the run failed again, 2 no such run, pipeline changed or invalid,
130 interrupted.`;

const OPTIONS = {
  force: { type: "boolean" },
  json: { type: "boolean" },
  progress: { type: "string" },
  quiet: { type: "boolean" },
  concurrency: { type: "string" },
  project: { type: "string" },
  "no-cache": { type: "boolean" },
  record: { type: "string" },
  replay: { type: "string" },
  "record-mode": { type: "string" },
} as const;

export async function resumeCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse("resume", argv, OPTIONS);
  if (values.help) {
    writeLine(io.stdout, help);
    return EXIT_CODES.ok;
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length ? `give one run id, got ${positionals.length}` : "give a run id: mcp resume ID ('mcp runs' lists them)", "resume");
  const progress = oneOf("resume", "progress", values.progress as string | undefined, ["auto", "live", "plain", "json", "none"] as const, values.quiet ? "none" : "auto");
  const concurrency = positiveInt("resume", "concurrency", values.concurrency as string | undefined);
  const flags = runEnvironmentFlags("resume", values);
  const force = !!values.force;

  const store = await openProjectStore("resume", (values.project as string | undefined) ?? io.cwd, process.env, io.cwd);
  try {
    const run = await findRun(store, "resume", positionals[0]!);
    const status = effectiveStatus(run);
    if (status === "success") {
      writeLine(io.stderr, `mcp resume: run ${run.id} already succeeded; nothing to resume`);
      return EXIT_CODES.ok;
    }
    if (status === "waiting") {
      const waiting = Object.entries(await store.getSteps(run.id))
        .filter(([, r]) => r.status === "waiting")
        .map(([id]) => id);
      // One waiting step: the commands name it, ready to paste.
      const step = waiting.length === 1 ? waiting[0]! : "STEP";
      writeLine(
        io.stderr,
        `mcp resume: run ${run.id} waits for an approval of ${waiting.map((w) => `'${w}'`).join(", ") || "a step"}; answer it with 'mcp approve ${run.id} ${step}' or 'mcp reject ${run.id} ${step} --reason ...'`,
      );
      return EXIT_CODES.invalid;
    }
    if (status === "running" && !force) {
      writeLine(io.stderr, `mcp resume: run ${run.id} is still running (process ${run.pid ?? "?"}${run.host ? ` on ${run.host}` : ""}); wait for it, or resume anyway with --force`);
      return EXIT_CODES.invalid;
    }
    if (isRedacted(run.input)) {
      writeLine(io.stderr, `mcp resume: run ${run.id} was journalled with store.redact: its input was not kept, so it cannot be resumed; start a new run with 'mcp run'`);
      return EXIT_CODES.invalid;
    }
    if (!existsSync(run.file)) {
      writeLine(io.stderr, `mcp resume: the pipeline file of run ${run.id} is gone: ${run.file}`);
      return EXIT_CODES.invalid;
    }
    const loaded = await loadPipelineChecked(run.file, { modules: "load" });
    printDiagnostics(io, "stderr", loaded.diagnostics, loaded.sources);
    if (!loaded.pipeline) return EXIT_CODES.invalid;
    const pipeline = loaded.pipeline;
    if (pipeline.hash !== run.hash) {
      if (!force) {
        writeLine(
          io.stderr,
          `mcp resume: the pipeline changed since run ${run.id} started (${changedFiles(run.file, loaded.configPath, pipeline.files)}: hash ${run.hash.slice(0, 12)} then, ${pipeline.hash.slice(0, 12)} now).\n` +
            "Its finished steps may not fit the new version. Start a new run with 'mcp run', or resume anyway with --force.",
        );
        return EXIT_CODES.invalid;
      }
      writeLine(io.stderr, `warning: the pipeline changed since run ${run.id} started; resuming anyway (--force)`);
    }

    const journal = await store.getSteps(run.id);
    const completed = resumableSteps(pipeline, reusableSteps(journal));
    const rest = pipeline.order.filter((id) => !completed[id]);
    if (!values.quiet) {
      const done = pipeline.order.filter((id) => completed[id]);
      writeLine(
        io.stderr,
        `resuming run ${run.id} (${status}): ${done.length} of ${pipeline.order.length} steps finished earlier${done.length ? ` (${done.join(", ")})` : ""}; running ${rest.length ? rest.join(", ") : "none"}`,
      );
    }

    return await continueRun(
      pipeline,
      {
        command: "resume",
        store,
        run,
        flags,
        options: { resume: { fromRunId: run.id, completed }, ...(concurrency ? { concurrency } : {}) },
        out: { progress, quiet: !!values.quiet, json: !!values.json },
        sources: loaded.sources,
      },
      io,
    );
  } finally {
    await store.close();
  }
}

/** The files the pipeline's hash covers, any of which may have changed: the file, its sub-pipelines, its mcp.yaml. */
function changedFiles(file: string, configPath: string | null | undefined, children: readonly string[] = []): string {
  const all = [file, ...children.filter((f) => f !== file), ...(configPath ? [configPath] : [])];
  return all.length === 1 ? all[0]! : `${all.slice(0, -1).join(", ")} or ${all.at(-1)!}`;
}
