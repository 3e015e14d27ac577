/** `mcp run FILE`: run a pipeline; the result on stdout, progress and the report on stderr. */
import { existsSync } from "node:fs";
import { resolve as resolvePath } from "node:path";
import { loadPipelineChecked } from "../../compiler/load.js";
import type { CompiledPipeline } from "../../compiler/types.js";
import { formatPlan } from "../reporters/plan.js";
import { TaskOrchestrator } from "../../orchestrator/orchestrator.js";
import { ModelRegistry } from "../../registry/model-registry.js";
import { ConfigError } from "../../util/errors.js";
import { oneOf, parse, positiveInt } from "../args.js";
import { printDiagnostics, writeLine, type CliIo, UsageError } from "../io.js";
import { readRunInput, runInputOrigin } from "../run-input.js";
import { checkPipelineArg } from "../pipeline-arg.js";
import { createRunEnvironment, RUN_ENVIRONMENT_HELP, RUN_ENVIRONMENT_OPTIONS, runEnvironmentFlags } from "../run-environment.js";
import { EXIT_CODES } from "../exit-codes.js";
import { exitCodeOf, runOnce } from "../run-once.js";
import { EventRecorder, writeReports } from "../run-report.js";
import { STEP_ID } from "../../compiler/steps.js";
import { templateExpressions } from "../../expr/template.js";
import { didYouMean } from "../../util/suggest.js";

export const help = `Usage: mcp run FILE [options]

Runs a pipeline. The result (the pipeline's output) is printed on stdout as JSON;
progress and the per-step report go to stderr.

Input (JSON, checked against the pipeline's inputs schema before any step runs):
  --input JSON          the run input, e.g. --input '{"text": "hello"}'
  --input-file F        read it from a file (- for stdin); piped stdin is read too

Options:
  --json                print the whole run report (steps, models, tokens, cost) instead of the output
  --dry-run             print the plan (order, parallel groups, models, fallbacks, token and
                        cost estimates) and call no model
  --concurrency N       most model calls in flight  [default: pipeline's, else 1000]
  --progress MODE       auto|live|plain|json|none: how progress is shown on stderr
                        (json: one event per line)  [default: auto = live on a terminal]
  --quiet               no progress and no report on stderr
  --stream [STEP]       print the text of STEP's model answer on stdout as it arrives (token
                        by token for streaming models: openai, anthropic, mock; in one piece
                        from others), instead of the result JSON; the live view on stderr
                        shows the other steps. An answer that is data, not text, gets a
                        one-line note on stderr.
                        Default STEP: the last step the output reads (else the last step).
                        Repeat for several steps (--stream a --stream b)
  --report F.html       write a self-contained HTML report of the run (DAG, timeline,
                        step details; opens offline). With GITHUB_STEP_SUMMARY set, a
                        Markdown summary of the run is appended to that file too
  --watch               run again whenever the pipeline, its mcp.yaml or a module file
                        changes; an invalid edit is reported and waited out (docs/watch.md)
  --watch-mode MODE     cancel|queue: a change during a run cancels it, or lets it finish
                        first  [default: cancel]
  --queue URL           enqueue the run on Redis (redis://HOST:PORT) for 'mcp worker' processes
                        and follow its events; Ctrl-C cancels it on its worker (docs/scale-out.md)
  -h, --help            show this help

${RUN_ENVIRONMENT_HELP}

Exit codes: 0 success, 1 the run failed, 2 invalid pipeline or input (nothing ran),
3 the run waits for an approval (mcp approve / mcp reject continue it),
130 interrupted (Ctrl-C; the partial report is printed).`;

export const RUN_OPTIONS = {
  input: { type: "string" },
  "input-file": { type: "string" },
  json: { type: "boolean" },
  "dry-run": { type: "boolean" },
  concurrency: { type: "string" },
  progress: { type: "string" },
  quiet: { type: "boolean" },
  report: { type: "string" },
  stream: { type: "string", multiple: true },
  watch: { type: "boolean" },
  "watch-mode": { type: "string" },
  queue: { type: "string" },
  ...RUN_ENVIRONMENT_OPTIONS,
} as const;

export async function runCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse("run", streamArgs(argv), RUN_OPTIONS);
  if (values.help) {
    writeLine(io.stdout, help);
    return 0;
  }
  if (positionals.length !== 1)
    throw new UsageError(positionals.length ? `give one pipeline file, got ${positionals.length}` : "give a pipeline file, e.g. mcp run pipelines/ticket-triage.yaml", "run");
  const file = positionals[0]!;
  checkPipelineArg(file, "run");
  const progress = oneOf("run", "progress", values.progress as string | undefined, ["auto", "live", "plain", "json", "none"] as const, values.quiet ? "none" : "auto");
  const concurrency = positiveInt("run", "concurrency", values.concurrency as string | undefined);
  const input = await readRunInput(values as { input?: string; "input-file"?: string }, io);
  const inputOrigin = runInputOrigin(values as { input?: string; "input-file"?: string });
  const noInput = values.input === undefined && values["input-file"] === undefined && inputOrigin === "stdin" && isEmptyObject(input);
  const flags = runEnvironmentFlags("run", values);
  if (values["watch-mode"] !== undefined && !values.watch) throw new UsageError("--watch-mode needs --watch", "run");
  if (values.queue !== undefined) {
    if (values.watch || values["dry-run"] || values.stream !== undefined) throw new UsageError("--queue does not go with --watch, --dry-run or --stream", "run");
    if (values.report !== undefined) throw new UsageError("--report does not go with --queue yet; write it afterwards with 'mcp runs show ID --report F.html' (MCP_STORE=redis://...)", "run");
    const { queuedRun } = await import("../queued-run.js");
    return queuedRun(
      {
        file,
        input,
        inputOrigin,
        url: values.queue as string,
        ...(concurrency ? { concurrency } : {}),
        ...(flags.conversation !== undefined ? { conversation: flags.conversation } : {}),
        out: { progress, quiet: !!values.quiet, json: !!values.json },
      },
      io,
    );
  }
  const streamFlags = values.stream as string[] | undefined;
  if (streamFlags !== undefined) {
    if (values.json) throw new UsageError("--stream prints the answer's text on stdout; it does not go with --json", "run");
    if (values.watch || values["dry-run"]) throw new UsageError("--stream does not go with --watch or --dry-run", "run");
  }
  const reportFile = values.report as string | undefined;
  if (reportFile !== undefined && values.watch) throw new UsageError("--report writes one run's report; it cannot be used with --watch", "run");
  if (reportFile !== undefined && values["dry-run"]) throw new UsageError("--report needs a run; it cannot be used with --dry-run", "run");
  if (values.watch) {
    const mode = oneOf("run", "watch-mode", values["watch-mode"] as string | undefined, ["cancel", "queue"] as const, "cancel");
    // A file that is not there at start is a mistyped path, as without --watch (exit 2), not
    // an edit to wait for (a file deleted while watching is waited for).
    if (!existsSync(resolvePath(io.cwd, file))) {
      const missing = await loadPipelineChecked(file, { modules: "load" });
      printDiagnostics(io, "stderr", missing.diagnostics, missing.sources);
      return EXIT_CODES.invalid;
    }
    const { watchRun } = await import("../watch-run.js");
    const out = { progress, quiet: !!values.quiet, json: !!values.json };
    const environment = (p: CompiledPipeline) => createRunEnvironment(p, flags, { env: io.env });
    return watchRun({ file, input, runOptions: { inputOrigin, ...(concurrency ? { concurrency } : {}) }, out, mode, dryRun: !!values["dry-run"], environment }, io);
  }

  const loaded = await loadPipelineChecked(file, { modules: "load" });
  printDiagnostics(io, "stderr", loaded.diagnostics, loaded.sources);
  if (!loaded.pipeline) return EXIT_CODES.invalid;
  const pipeline = loaded.pipeline;

  const orchestrator = new TaskOrchestrator(new ModelRegistry(), { env: io.env });
  try {
    if (values["dry-run"]) {
      const plan = await orchestrator.plan(pipeline, input);
      writeLine(io.stdout, values.json ? JSON.stringify(plan, null, 2) : formatPlan(plan, pipeline));
      return EXIT_CODES.ok;
    }
    const stream = streamFlags !== undefined ? streamSteps(pipeline, streamFlags) : undefined;
    const environment = await createRunEnvironment(pipeline, flags, { env: io.env });
    try {
      for (const w of environment.warnings) writeLine(io.stderr, `warning: ${w}`);
      const summaryFile = io.env.GITHUB_STEP_SUMMARY || undefined;
      const recorder = reportFile !== undefined || summaryFile !== undefined ? new EventRecorder() : undefined;
      const report = await runOnce(
        orchestrator,
        pipeline,
        input,
        { ...environment.options, inputOrigin, ...(concurrency ? { concurrency } : {}) },
        io,
        { progress, quiet: !!values.quiet, json: !!values.json, ...(stream ? { stream } : {}) },
        recorder,
      );
      // A --report that could not be written fails the command (exit 1), as `mcp runs show --report` does.
      const reported = recorder
        ? await writeReports(
            io,
            { ...(reportFile !== undefined ? { htmlFile: reportFile } : {}), ...(summaryFile !== undefined ? { summaryFile } : {}), pipeline, events: recorder.events, report, source: "events" },
            !!values.quiet,
          )
        : true;
      const rec = environment.recording;
      if (rec && rec.mode !== "none" && !values.quiet) {
        const replayed = rec.mode === "new" ? ` (${rec.replayed} replayed from it)` : "";
        // Nothing recorded from a run that made calls: they were in-process ones, said so.
        const why = rec.recorded === 0 && rec.mode === "all" && report.totals.calls > 0 ? " (calls to nlp and mock models run in-process and are not recorded)" : "";
        writeLine(io.stderr, `recorded ${rec.recorded} model call${rec.recorded === 1 ? "" : "s"} to ${rec.path}${replayed}${why}`);
      }
      const code = exitCodeOf(report);
      return reportFile !== undefined && !reported && code === EXIT_CODES.ok ? EXIT_CODES.runFailed : code;
    } finally {
      await environment.close();
    }
  } catch (e) {
    if (e instanceof ConfigError) {
      printDiagnostics(io, "stderr", e.diagnostics, e.sources ?? loaded.sources);
      if (noInput && e.diagnostics.some((d) => d.code === "MCP501")) writeLine(io.stderr, howToGiveInput(file, pipeline));
      return EXIT_CODES.invalid;
    }
    throw e;
  } finally {
    await orchestrator.close();
  }
}

/**
 * `--stream` takes an optional step: a bare `--stream` (or one followed by the file or an
 * option) becomes `--stream=`, the default; `--stream ID` with ID a step id (no dot or
 * slash, so never a file) keeps it.
 */
function streamArgs(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a !== "--stream") out.push(a);
    else if (argv[i + 1] !== undefined && STEP_ID.test(argv[i + 1]!)) out.push(`--stream=${argv[++i]!}`);
    else out.push("--stream=");
  }
  return out;
}

/** The steps `--stream` names; "" is the default: the last step the output reads, else the last step. */
function streamSteps(pipeline: CompiledPipeline, flags: readonly string[]): string[] {
  const out = new Set<string>();
  for (const f of flags) {
    if (f !== "") {
      if (!pipeline.steps.has(f)) throw new UsageError(`--stream: no step '${f}' in ${pipeline.file}${didYouMean(f, pipeline.steps.keys())}`, "run");
      out.add(f);
      continue;
    }
    const read = new Set<string>();
    if (pipeline.output) for (const e of templateExpressions(pipeline.output)) for (const id of e.refs.steps.keys()) read.add(id);
    const candidates = pipeline.order.filter((id) => read.has(id));
    const last = candidates.at(-1) ?? pipeline.order.at(-1);
    if (last !== undefined) out.add(last);
  }
  return [...out];
}

function isEmptyObject(v: unknown): boolean {
  return v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0;
}

/** For a run whose input is empty (none given, or `{}` on stdin: the same once read): how to give one, with the pipeline's required keys. */
export function howToGiveInput(file: string, pipeline: CompiledPipeline): string {
  const schema = pipeline.inputs as { required?: unknown; properties?: Record<string, { type?: unknown }> } | undefined;
  const required = Array.isArray(schema?.required) ? schema.required.filter((k): k is string => typeof k === "string").slice(0, 3) : [];
  const sample = (k: string) => {
    const t = schema?.properties?.[k]?.type;
    return t === "number" || t === "integer" ? "1" : t === "boolean" ? "true" : t === "array" ? "[]" : t === "object" ? "{}" : '"..."';
  };
  const example = `{${required.map((k) => `${JSON.stringify(k)}: ${sample(k)}`).join(", ")}}`;
  return `hint: the run's input is empty (no --input, --input-file or stdin, or an empty {}); pass it as JSON with --input, from a file with --input-file, or on stdin:\n  mcp run ${file} --input '${example}'\n  mcp run ${file} --input-file input.json`;
}
