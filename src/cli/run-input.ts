/** Reading a run's input from --input, --input-file, or stdin. */
import { fstatSync, readFileSync, statSync } from "node:fs";
import { SourceMap } from "../diagnostics/source.js";
import { checkInputShape, RUN_INPUT_LIMITS } from "../orchestrator/input.js";
import { ConfigError } from "../util/errors.js";
import { UsageError, type CliIo } from "./io.js";

/** Largest input accepted from a file or stdin. docs/limits.md. */
export const MAX_INPUT_BYTES = RUN_INPUT_LIMITS.maxBytes;

function parseJson(text: string, from: string, command: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    // V8 quotes the text it read, line breaks and all: keep the message on one line.
    const msg = (e as Error).message.replace(/^JSON\.parse: /, "").replace(/\r?\n/g, "\\n");
    throw new UsageError(`${from} is not valid JSON: ${msg}${text.trim().startsWith("{") ? "" : ' (e.g. --input \'{"text": "hello"}\')'}`, command);
  }
}

/** Whether stdin carries data we should read: a pipe or a redirected file, not a terminal or /dev/null. */
function stdinHasData(io: CliIo): boolean {
  if (io.stdin !== process.stdin) return false;
  try {
    const st = fstatSync(0);
    return st.isFIFO() || (st.isFile() && st.size > 0);
  } catch {
    return false;
  }
}

async function readStdin(io: CliIo): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of io.stdin as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_INPUT_BYTES) throw new UsageError(`stdin input is larger than ${MAX_INPUT_BYTES} bytes`, "run");
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** The name run-input diagnostics carry as their file: the input file, else `--input` or `stdin`. */
export function runInputOrigin(values: { input?: string; "input-file"?: string }): string {
  if (values.input !== undefined) return "--input";
  const f = values["input-file"];
  return f === undefined || f === "-" ? "stdin" : f;
}

/**
 * Reads the run input and checks its shape (depth, values, size) at once, before anything
 * else touches it: past a limit it throws ConfigError (MCP501, exit 2). docs/limits.md.
 */
export async function readRunInput(values: { input?: string; "input-file"?: string }, io: CliIo, command = "run"): Promise<unknown> {
  const input = await readRawRunInput(values, io, command);
  const problems = checkInputShape(input, {}, { file: runInputOrigin(values) });
  if (problems.length) throw new ConfigError(problems, new SourceMap());
  return input;
}

async function readRawRunInput(values: { input?: string; "input-file"?: string }, io: CliIo, command: string): Promise<unknown> {
  if (values.input !== undefined && values["input-file"] !== undefined) throw new UsageError("give --input or --input-file, not both", command);
  if (values.input !== undefined) return parseJson(values.input, "--input", command);
  const file = values["input-file"];
  if (file === "-" || (file === undefined && stdinHasData(io))) {
    const text = await readStdin(io);
    if (file === undefined && text.trim() === "") return {};
    return parseJson(text, "stdin", command);
  }
  if (file !== undefined) {
    let text: string;
    try {
      const st = statSync(file);
      if (st.size > MAX_INPUT_BYTES) throw new UsageError(`--input-file ${file} is larger than ${MAX_INPUT_BYTES} bytes`, command);
      text = readFileSync(file, "utf8");
    } catch (e) {
      if (e instanceof UsageError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      throw new UsageError(`cannot read --input-file ${file}: ${code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a folder, not a file" : (e as Error).message}`, command);
    }
    return parseJson(text, `--input-file ${file}`, command);
  }
  return {};
}
