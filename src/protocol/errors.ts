/**
 * The envelope's errors: one stable code per kind of failure, with its HTTP status and its
 * JSON-RPC code, mapped in this one place (hono's http-exception). Every transport (HTTP
 * routes, JSON-RPC, the Model Context Protocol) turns a failure into `{ code, message }`
 * through `toProtocolError`; messages never carry stack traces, file contents, environment
 * values or keys.
 */
import { ModelError } from "../models/errors.js";
import { formatHeadline } from "../diagnostics/printer.js";
import { McpError, ConfigError } from "../util/errors.js";
import { SourceMap } from "../diagnostics/source.js";

/** The stable error codes of the protocol, one documented member each. */
export type ProtocolErrorCode =
  /** The request is malformed: params do not match the method's schema, bad JSON. */
  | "bad_request"
  /** The run input does not match the pipeline's `inputs`, or passes the input limits. */
  | "invalid_input"
  /** No API key, or a wrong or malformed one. */
  | "unauthorized"
  /** No such pipeline, run, model, conversation or route. */
  | "not_found"
  /** No such method (JSON-RPC -32601). */
  | "method_not_found"
  /** The pipeline exists but none of its versions is valid. */
  | "pipeline_invalid"
  /** The action does not fit the resource's state (cancel a finished run). */
  | "conflict"
  /** The body is larger than the server's `bodyLimit`. */
  | "payload_too_large"
  /** Too many requests for this key; see Retry-After. */
  | "rate_limited"
  /** A model or the pipeline failed (the run's error says why). */
  | "run_failed"
  /** The server is shutting down or not ready. */
  | "unavailable"
  /** The request took longer than the server allows. */
  | "timeout"
  /** A bug in the server. */
  | "internal";

/** HTTP status of each code. */
export const HTTP_STATUS: Readonly<Record<ProtocolErrorCode, number>> = {
  bad_request: 400,
  invalid_input: 400,
  unauthorized: 401,
  not_found: 404,
  method_not_found: 404,
  pipeline_invalid: 409,
  conflict: 409,
  payload_too_large: 413,
  rate_limited: 429,
  run_failed: 502,
  unavailable: 503,
  timeout: 504,
  internal: 500,
};

/** JSON-RPC 2.0 error code of each code: the standard ones, then ours in the server range. */
export const JSONRPC_CODE: Readonly<Record<ProtocolErrorCode, number>> = {
  bad_request: -32602,
  invalid_input: -32602,
  method_not_found: -32601,
  internal: -32603,
  unauthorized: -32001,
  not_found: -32002,
  pipeline_invalid: -32003,
  conflict: -32004,
  payload_too_large: -32005,
  rate_limited: -32006,
  run_failed: -32007,
  unavailable: -32008,
  timeout: -32009,
};

/** A failure to report to a client; `details` is JSON safe to show. */
export class ProtocolError extends McpError {
  declare readonly code: ProtocolErrorCode;
  constructor(
    code: ProtocolErrorCode,
    message: string,
    readonly details?: unknown,
    options?: { cause?: unknown; retryAfterSeconds?: number },
  ) {
    super(code, message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = "ProtocolError";
    if (options?.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
  }
  /** Seconds to wait before trying again (429, 503). */
  retryAfterSeconds?: number;

  get status(): number {
    return HTTP_STATUS[this.code];
  }
}

/** The error member of the envelope, as every transport sends it. */
export interface ErrorBody {
  code: ProtocolErrorCode;
  message: string;
  details?: unknown;
}

/** The envelope's error of any thrown value; unknown errors become `internal` without their text. */
export function toProtocolError(e: unknown): ProtocolError {
  if (e instanceof ProtocolError) return e;
  if (e instanceof ConfigError) {
    const sources = e.sources ?? new SourceMap();
    const diagnostics = e.diagnostics.map((d) => ({ code: d.code, severity: d.severity, message: d.message, text: formatHeadline(d, sources) }));
    const code: ProtocolErrorCode = e.diagnostics.some((d) => d.code === "MCP501") ? "invalid_input" : "bad_request";
    return new ProtocolError(code, e.diagnostics.map((d) => `${d.code}: ${d.message}`).join("; "), { diagnostics });
  }
  if (e instanceof ModelError) {
    // Provider messages are built without keys (http-client redacts them).
    return new ProtocolError(
      e.kind === "rate_limited" ? "rate_limited" : "run_failed",
      e.message,
      { kind: e.kind, model: e.model },
      e.retryAfterMs !== undefined ? { retryAfterSeconds: Math.ceil(e.retryAfterMs / 1000) } : undefined,
    );
  }
  if (e instanceof McpError && e.code === "UNAVAILABLE") return new ProtocolError("unavailable", e.message);
  if (e instanceof McpError && /^MCP4\d\d$/.test(e.code)) return new ProtocolError("not_found", e.message, { diagnostic: e.code });
  if (e instanceof TypeError && /unknown model/.test(e.message)) return new ProtocolError("not_found", e.message);
  const name = (e as { name?: unknown } | null)?.name;
  if (name === "AbortError") return new ProtocolError("unavailable", "the request was cancelled");
  return new ProtocolError("internal", "internal error", undefined, { cause: e });
}

/** The body sent for an error. */
export function errorBody(e: ProtocolError): ErrorBody {
  return { code: e.code, message: e.message, ...(e.details !== undefined ? { details: e.details } : {}) };
}
