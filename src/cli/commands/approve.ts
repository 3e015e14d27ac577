/**
 * `mcp approve RUN_ID STEP [--input JSON]` and `mcp reject RUN_ID STEP --reason TEXT`: answer
 * an approval step of a waiting run (one that `mcp run` left with exit code 3), in any
 * process, also after a restart: the run is found in the project's journal, its pipeline
 * file loaded again, and the run continues under its own id from its finished steps.
 */
import { existsSync } from "node:fs";
import { userInfo } from "node:os";
import { loadPipelineChecked } from "../../compiler/load.js";
import { approvalContinuation, waitingStep, type ApprovalRequest } from "../../protocol/approvals.js";
import { ProtocolError } from "../../protocol/errors.js";
import { oneOf, parse } from "../args.js";
import { EXIT_CODES } from "../exit-codes.js";
import { printDiagnostics, UsageError, writeLine, type CliIo } from "../io.js";
import { openProjectStore } from "../project-store.js";
import { readRunInput } from "../run-input.js";
import { continueRun } from "../continue-run.js";
import { findRun } from "./runs.js";

const COMMON = `Options:
  --by NAME             who answers  [default: the user name]
  --force               answer even if the pipeline file changed since the run started
  --json                print the whole run report instead of the output
  --progress MODE       auto|live|plain|json|none  [default: auto]
  --quiet               no progress and no report on stderr
  --project DIR         the project (folder of mcp.yaml)  [default: found from the current folder]
  -h, --help            show this help

The run then continues in this process: steps that finished are not run again.
Exit codes: 0 the run succeeded, 1 it failed (a rejection with onError: fail, or an answer
after the step's timeout), 2 no such waiting run or step, or an answer that does not match
the step's schema (nothing changed), 3 the run waits for another approval.`;

export const approveHelp = `Usage: mcp approve RUN_ID STEP [--input JSON | --input-file F] [options]

Approves a waiting approval step. The answer (JSON, checked against the step's
approval schema) becomes the step's output.

  --input JSON          the answer, e.g. --input '{"ok": true, "comment": "ship it"}'  [default: {}]
  --input-file F        read it from a file (- for stdin)
${COMMON}`;

export const rejectHelp = `Usage: mcp reject RUN_ID STEP --reason TEXT [options]

Rejects a waiting approval step: the step fails with reason 'rejected' and your text
(with onError: fail, the default, the run fails).

  --reason TEXT         why (required)
${COMMON}`;

const OPTIONS = {
  input: { type: "string" },
  "input-file": { type: "string" },
  reason: { type: "string" },
  by: { type: "string" },
  force: { type: "boolean" },
  json: { type: "boolean" },
  progress: { type: "string" },
  quiet: { type: "boolean" },
  project: { type: "string" },
} as const;

export function approveCommand(argv: string[], io: CliIo): Promise<number> {
  return answer("approve", argv, io);
}

export function rejectCommand(argv: string[], io: CliIo): Promise<number> {
  return answer("reject", argv, io);
}

async function answer(command: "approve" | "reject", argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(command, argv, OPTIONS);
  if (values.help) {
    writeLine(io.stdout, command === "approve" ? approveHelp : rejectHelp);
    return EXIT_CODES.ok;
  }
  if (positionals.length !== 2) throw new UsageError(`give a run id and a step: mcp ${command} RUN_ID STEP ('mcp runs' lists waiting runs)`, command);
  const [runArg, stepId] = positionals as [string, string];
  const progress = oneOf(command, "progress", values.progress as string | undefined, ["auto", "live", "plain", "json", "none"] as const, values.quiet ? "none" : "auto");
  let req: ApprovalRequest;
  const by = (values.by as string | undefined) ?? currentUser();
  if (command === "reject") {
    if (values.input !== undefined || values["input-file"] !== undefined) throw new UsageError("a rejection takes --reason, not --input", command);
    const reason = (values.reason as string | undefined)?.trim();
    if (!reason) throw new UsageError("say why with --reason TEXT", command);
    req = { stepId, decision: "rejected", reason, ...(by ? { by } : {}) };
  } else {
    if (values.reason !== undefined) throw new UsageError("--reason goes with mcp reject", command);
    const given = values.input !== undefined || values["input-file"] !== undefined;
    const input = given ? await readRunInput(values as { input?: string; "input-file"?: string }, io, command) : {};
    req = { stepId, decision: "approved", answer: input, ...(by ? { by } : {}) };
  }

  const store = await openProjectStore(command, (values.project as string | undefined) ?? io.cwd, io.env, io.cwd);
  try {
    const run = await findRun(store, command, runArg);
    if (!existsSync(run.file)) {
      writeLine(io.stderr, `mcp ${command}: the pipeline file of run ${run.id} is gone: ${run.file}`);
      return EXIT_CODES.invalid;
    }
    let continuation;
    let pipeline;
    try {
      const waiting = await waitingStep(store, run, stepId);
      const loaded = await loadPipelineChecked(run.file, { modules: "load" });
      printDiagnostics(io, "stderr", loaded.diagnostics, loaded.sources);
      if (!loaded.pipeline) return EXIT_CODES.invalid;
      pipeline = loaded.pipeline;
      continuation = approvalContinuation(run, pipeline, waiting, req, { force: !!values.force });
    } catch (e) {
      if (e instanceof ProtocolError) {
        writeLine(io.stderr, `mcp ${command}: ${e.message}`);
        const schema = (e.details as { schema?: unknown } | undefined)?.schema;
        if (e.code === "invalid_input" && schema) writeLine(io.stderr, `the answer's schema: ${JSON.stringify(schema)}`);
        return EXIT_CODES.invalid;
      }
      throw e;
    }
    if (!values.quiet) {
      const what = command === "approve" ? "approved" : "rejected";
      writeLine(io.stderr, `${what} step '${stepId}' of run ${run.id}${continuation.expired ? " (after its timeout: the step fails)" : ""}; continuing the run`);
    }
    return await continueRun(
      pipeline,
      { command, store, run, options: { resume: continuation.resume, approvals: continuation.approvals }, out: { progress, quiet: !!values.quiet, json: !!values.json } },
      io,
    );
  } finally {
    await store.close();
  }
}

function currentUser(): string | undefined {
  try {
    return userInfo().username || undefined;
  } catch {
    return undefined;
  }
}
