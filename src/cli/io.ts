/** Terminal I/O for the CLI: streams, colour policy, and printing diagnostics. */
import type { Writable } from "node:stream";
import { capDiagnostics } from "../diagnostics/cap.js";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import { formatDiagnostics, type DiagnosticFormat } from "../diagnostics/printer.js";
import type { SourceMap } from "../diagnostics/source.js";

export interface CliIo {
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable & { isTTY?: boolean; columns?: number };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export function defaultIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd() };
}

/** Colours only on a terminal, never with NO_COLOR (https://no-color.org), forced by FORCE_COLOR. */
export function useColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "0") return true;
  return !!stream.isTTY && env.TERM !== "dumb";
}

export function writeLine(stream: Writable, s = ""): void {
  stream.write(s.endsWith("\n") ? s : s + "\n");
}

export function printDiagnostics(io: CliIo, stream: "stdout" | "stderr", diagnostics: readonly Diagnostic[], sources: SourceMap, format: DiagnosticFormat = "text"): void {
  if (diagnostics.length === 0) return;
  const s = io[stream];
  writeLine(s, formatDiagnostics(capDiagnostics(diagnostics), sources, format, { color: useColor(s, io.env), cwd: io.cwd }));
}

/** A usage mistake: printed with the command's help hint, exit 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
    /** Whether to add "Run 'mcp CMD --help' for usage." (not for a service that cannot be reached). */
    readonly showHelp = true,
  ) {
    super(message);
  }
}
