/** Thrown failures. User mistakes are values (Diagnostic); these are for when a throw is needed. */
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import type { DiagnosticCode } from "../diagnostics/codes.js";
import type { SourceMap } from "../diagnostics/source.js";

/**
 * The code of every thrown failure: a diagnostic code of the catalog (src/diagnostics/codes.ts)
 * or one of the run-time codes below.
 */
export type ErrorCode =
  | DiagnosticCode
  /** A ConfigError made with no diagnostic (the runner never makes one). */
  | "MCP000"
  /** A step failed; the rest is its FailureReason, e.g. STEP_MODEL_ERROR, STEP_BUDGET_EXCEEDED. */
  | `STEP_${string}`
  /** A model call failed; the rest is the ModelError kind, e.g. MODEL_RATE_LIMITED. */
  | `MODEL_${string}`
  /** The run was aborted (the AbortSignal's reason). */
  | "RUN_ABORTED"
  /** A task of the tutorial API was cancelled, or failed. */
  | "CANCELLED"
  | "TASK_FAILED"
  /** A recording file cannot be read, or has no recording of a call. */
  | "RECORDING_INVALID"
  | "REPLAY_MISS"
  /** The store was closed, is of a kind not available, or was written by a newer version. */
  | "STORE_CLOSED"
  | "STORE_UNSUPPORTED"
  | "STORE_VERSION"
  /** A service the call needs is not there (no server, no queue). */
  | "UNAVAILABLE";

export class McpError<C extends string = ErrorCode> extends Error {
  constructor(
    readonly code: C,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "McpError";
  }
}

/** Invalid config, pipeline or input: nothing ran. The CLI exits 2. */
export class ConfigError extends McpError {
  constructor(
    readonly diagnostics: Diagnostic[],
    readonly sources?: SourceMap,
  ) {
    super(diagnostics[0]?.code ?? "MCP000", diagnostics.map((d) => `${d.code}: ${d.message}`).join("\n"));
    this.name = "ConfigError";
  }
}
