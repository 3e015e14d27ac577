/**
 * HTTP for the remote providers (openai, anthropic, http): one keep-alive connection pool per
 * origin (undici's Pool), shared by every model and step of the process; connect and read timeouts; calls
 * cancelled through AbortSignal; and every failure mapped to a ModelError kind the
 * orchestrator acts on.
 *
 * Secrets (API keys) given with a call are scrubbed from every message this module builds,
 * including text echoed back by a server, and transport errors are re-created with scrubbed
 * messages instead of being attached as they are.
 */
import { STATUS_CODES } from "node:http";
import { Pool, type Dispatcher } from "undici";
import { ModelError, parseRetryAfter, type ModelErrorKind } from "./errors.js";
import { parseSse, type SseEvent } from "./sse-parser.js";
import { withTraceHeaders } from "../telemetry/propagation.js";

/**
 * Default read timeout of one call, in ms: how long to wait for the response headers, and
 * (for a non-streamed call) for the whole answer. The OpenAI SDK uses the same 10 minutes.
 */
export const DEFAULT_TIMEOUT_MS = 600_000;
/** Default time to open a connection, in ms. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** Error bodies are read up to this many characters for their message. */
const MAX_ERROR_BODY = 64 * 1024;

/**
 * One undici Pool per origin (scheme://host:port) and connect timeout (in practice one per
 * origin): the keep-alive connections of that server, created on first use and kept for the
 * life of the process; idle sockets do not keep the process alive. The map is ours, not
 * undici's `Agent`: undici 7's Agent (the last line that runs on Node 20) closes an origin's
 * pool when its connection count drops to zero, and keys that bookkeeping by origin, so the
 * late `disconnect` of a closed pool closes its successor, whose own disconnect closes the next
 * one (nodejs/undici#5022, fixed in undici 8 only). One destroyed socket (a stream left
 * early) then made every later back-to-back call open a new connection.
 */
const pools = new Map<string, Pool>();

/** The connection pool of `origin` for calls with this connect timeout. */
export function poolFor(origin: string, connectTimeoutMs = DEFAULT_CONNECT_TIMEOUT_MS): Pool {
  const key = `${connectTimeoutMs} ${origin}`;
  let pool = pools.get(key);
  if (!pool || pool.closed || pool.destroyed) {
    pool = new Pool(origin, { connect: { timeout: connectTimeoutMs } });
    pools.set(key, pool);
  }
  return pool;
}

/** How many origins have a pool (for tests and metrics). */
export function poolCount(): number {
  return new Set([...pools.keys()].map((k) => k.slice(k.indexOf(" ") + 1))).size;
}

/** Closes every pool, waiting for calls in flight. For shutdown and tests. */
export async function closeConnections(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((p) => p.close().catch(() => undefined)));
}

/** One HTTP call of a model. */
export interface HttpCall {
  /** Provider kind, for messages ("openai"). */
  provider: string;
  /** Registry name of the model, for messages. */
  model: string;
  url: URL;
  method: string;
  headers: Record<string, string>;
  /** Request body, already serialised. */
  body?: string;
  /** Cancels the call; its reason becomes the ModelError's cause. */
  signal: AbortSignal;
  /**
   * Read timeout in ms: for the response headers, then between body chunks.
   * @default DEFAULT_TIMEOUT_MS
   */
  timeoutMs?: number;
  /** @default DEFAULT_CONNECT_TIMEOUT_MS */
  connectTimeoutMs?: number;
  /**
   * Whether `timeoutMs` also bounds the whole call (headers and body). True for ordinary
   * calls; false for streams, which may run long as long as chunks keep coming.
   */
  deadline: boolean;
  /** Strings that must never appear in an error (the API key). */
  secrets: readonly string[];
  /** Environment variable the key came from, named (never its value) in 401/403 errors. */
  keyEnv?: string;
}

/** A response with a 2xx/3xx status whose body is still to be read. */
export interface HttpResponse {
  status: number;
  headers: Record<string, string | undefined>;
  body: Dispatcher.ResponseData["body"];
  /** Aborted by the caller's signal or by the call's deadline. */
  readonly signal: AbortSignal;
  /** The deadline signal, to tell a timeout from a cancellation. */
  readonly deadline: AbortSignal | undefined;
}

/**
 * Sends a request. Resolves when the response headers arrived with a status below 400;
 * throws a ModelError for an error status, a transport failure, a timeout or cancellation.
 */
export async function send(call: HttpCall): Promise<HttpResponse> {
  if (call.signal.aborted) throw abortedError(call);
  const timeoutMs = call.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const deadline = call.deadline && timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : undefined;
  const signal = deadline ? AbortSignal.any([call.signal, deadline]) : call.signal;
  let res: Dispatcher.ResponseData;
  try {
    res = await poolFor(call.url.origin, call.connectTimeoutMs).request({
      path: call.url.pathname + call.url.search,
      method: call.method as Dispatcher.HttpMethod,
      headers: withTraceHeaders(call.headers),
      body: call.body ?? null,
      signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
  } catch (e) {
    throw transportError(e, call, deadline);
  }
  const headers = flattenHeaders(res.headers);
  if (res.statusCode >= 400) {
    let text = "";
    try {
      text = await readLimited(res.body, MAX_ERROR_BODY);
    } catch {
      // The status says enough.
    }
    throw statusError(res.statusCode, headers, text, call);
  }
  return { status: res.statusCode, headers, body: res.body, signal, deadline };
}

/** Reads a whole response body as JSON. A body that is not JSON is a `malformed` error. */
export async function readJson(res: HttpResponse, call: HttpCall): Promise<unknown> {
  let text: string;
  try {
    text = await res.body.text();
  } catch (e) {
    throw transportError(e, call, res.deadline);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw malformed(call, `the response is not JSON: ${snippet(text, call.secrets)}`);
  }
}

/**
 * How long the rest of a finished stream's body is read in the background (its end may
 * arrive a moment after the answer's last event) before its connection is closed instead of
 * going back to the pool.
 */
const STREAM_TAIL_MS = 1_000;

/**
 * The Server-Sent Events of a streamed response. Leaving the loop early (or an error)
 * closes the connection; a connection that breaks mid-stream is a `retryable` error.
 * Once `complete()` says the answer is whole (OpenAI's `[DONE]`, Anthropic's `message_stop`)
 * the events end there, at once: every event the answer has (OpenAI's usage chunk, Anthropic's
 * message_delta) came before it. The rest of the body is read in the background for at most
 * STREAM_TAIL_MS, so that the connection goes back to the pool when the body ends, and is
 * closed when the server holds it open.
 */
export async function* readSse(res: HttpResponse, call: HttpCall, complete: () => boolean = () => false): AsyncGenerator<SseEvent> {
  const chunks = res.body[Symbol.asyncIterator]();
  // The parser reads through an iterable without `return`: leaving it after a whole answer
  // does not close the body, which drainTail then reads to its end.
  const unclosed: AsyncIterable<Uint8Array> = { [Symbol.asyncIterator]: () => ({ next: () => chunks.next() }) };
  let finished = false;
  try {
    for await (const ev of parseSse(unclosed)) {
      yield ev;
      if (complete()) {
        finished = true;
        drainTail(res.body, chunks);
        return;
      }
    }
    finished = true;
  } catch (e) {
    throw transportError(e, call, res.deadline);
  } finally {
    if (!finished && !res.body.destroyed) res.body.destroy();
  }
}

/** Reads what is left of a body, destroying it if it has not ended within STREAM_TAIL_MS. */
function drainTail(body: HttpResponse["body"], chunks: AsyncIterator<unknown>): void {
  const tail = setTimeout(() => body.destroy(), STREAM_TAIL_MS);
  void (async () => {
    try {
      while (!(await chunks.next()).done) {
        // The answer is whole: what is left is read, not used.
      }
    } catch {
      // A body destroyed after the tail time (or a call cancelled then) only loses its connection.
    } finally {
      clearTimeout(tail);
    }
  })();
}

/** Builds a ModelError for this call, scrubbing secrets from the message. */
export function modelError(
  call: Pick<HttpCall, "provider" | "model" | "secrets">,
  kind: ModelErrorKind,
  detail: string,
  extra: { status?: number; retryAfterMs?: number; cause?: unknown } = {},
): ModelError {
  return new ModelError(redact(`${call.provider} model '${call.model}': ${detail}`, call.secrets), {
    kind,
    provider: call.provider,
    model: call.model,
    ...extra,
  });
}

/** A `malformed` error: the response lacks what the protocol promises. */
export function malformed(call: Pick<HttpCall, "provider" | "model" | "secrets">, detail: string): ModelError {
  return modelError(call, "malformed", detail);
}

/** Replaces each secret in `text` with "[redacted]". */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join("[redacted]");
  return out;
}

/** The API's own explanation in an error body: OpenAI, Anthropic, FastAPI and plain shapes. */
export function errorMessageOf(text: string): string | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    const t = text.trim();
    if (!t || /^<(!doctype|html)/i.test(t)) return undefined;
    return t;
  }
  const b = body as Record<string, unknown> | null;
  if (!b || typeof b !== "object") return typeof body === "string" ? body : undefined;
  const err = b.error;
  if (err && typeof err === "object") {
    const m = (err as Record<string, unknown>).message;
    if (typeof m === "string" && m) return m;
  }
  if (typeof err === "string" && err) return err;
  if (typeof b.message === "string" && b.message) return b.message;
  if (typeof b.detail === "string" && b.detail) return b.detail;
  if (Array.isArray(b.detail)) {
    const first = b.detail[0] as { msg?: unknown } | undefined;
    if (typeof first?.msg === "string") return first.msg;
  }
  return undefined;
}

function statusError(status: number, headers: Record<string, string | undefined>, text: string, call: HttpCall): ModelError {
  const reason = STATUS_CODES[status] ?? "";
  const apiMessage = errorMessageOf(text);
  let detail = `HTTP ${status}${reason ? ` ${reason}` : ""}${apiMessage ? `: ${clip(redact(apiMessage, call.secrets), 500)}` : ""}`;
  const retryAfterMs = retryAfterOf(headers);
  const extra = { status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  if (status === 429) {
    // A spent quota is also a 429, but waiting does not help: it is not retried.
    if (/insufficient_quota/.test(text)) return modelError(call, "fatal", `${detail} (quota exhausted)`, extra);
    if (retryAfterMs !== undefined) detail += ` (retry after ${Math.ceil(retryAfterMs / 100) / 10}s)`;
    return modelError(call, "rate_limited", detail, extra);
  }
  if (status === 408 || status === 409 || status >= 500) return modelError(call, "retryable", detail, extra);
  if ((status === 401 || status === 403) && call.keyEnv) detail += ` (check the API key in $${call.keyEnv})`;
  if ((status === 401 || status === 403) && !call.keyEnv) detail += " (no API key was sent: set apiKeyEnv)";
  return modelError(call, "fatal", detail, extra);
}

function retryAfterOf(headers: Record<string, string | undefined>): number | undefined {
  const ms = Number(headers["retry-after-ms"]);
  if (headers["retry-after-ms"] !== undefined && Number.isFinite(ms) && ms >= 0) return ms;
  return parseRetryAfter(headers["retry-after"]);
}

const RETRYABLE_CODES = new Set([
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
]);

/** Maps an error thrown while sending or reading to a ModelError. */
export function transportError(e: unknown, call: HttpCall, deadline: AbortSignal | undefined): ModelError {
  if (e instanceof ModelError) return e;
  if (call.signal.aborted) return abortedError(call);
  const timeoutMs = call.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const cause = scrubbed(e, call.secrets);
  if (deadline?.aborted) return modelError(call, "retryable", `no complete answer within ${timeoutMs}ms (timeout)`, { cause });
  const code = codeOf(e);
  const message = e instanceof Error ? e.message : String(e);
  switch (code) {
    case "UND_ERR_CONNECT_TIMEOUT":
      return modelError(call, "retryable", `could not connect to ${call.url.origin} within ${call.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS}ms (connect timeout)`, { cause });
    case "UND_ERR_HEADERS_TIMEOUT":
      return modelError(call, "retryable", `no response within ${timeoutMs}ms (timeout)`, { cause });
    case "UND_ERR_BODY_TIMEOUT":
      return modelError(call, "retryable", `the response stalled for ${timeoutMs}ms (timeout)`, { cause });
    case "ENOTFOUND":
      return modelError(call, "fatal", `host not found: ${call.url.hostname} (check baseUrl/url)`, { cause });
    case "ECONNREFUSED":
      return modelError(call, "retryable", `connection refused by ${call.url.origin} (is the server running?)`, { cause });
    case undefined:
    default:
      break;
  }
  if (code && RETRYABLE_CODES.has(code)) return modelError(call, "retryable", `connection failed: ${message} (${code})`, { cause });
  if (code === "UND_ERR_INVALID_ARG") return modelError(call, "fatal", `invalid request: ${message}`, { cause });
  return modelError(call, code ? "retryable" : "fatal", `request failed: ${message}${code ? ` (${code})` : ""}`, { cause });
}

/** The `aborted` error of a cancelled call; its cause is the signal's reason. */
export function abortedError(call: Pick<HttpCall, "provider" | "model" | "secrets" | "signal">): ModelError {
  return modelError(call, "aborted", "the call was cancelled", { cause: call.signal.reason });
}

/**
 * A copy of a transport error holding only its name, code and scrubbed message: the
 * original may reference sockets, request options or headers.
 */
function scrubbed(e: unknown, secrets: readonly string[]): Error {
  const message = e instanceof Error ? e.message : String(e);
  const copy = new Error(redact(message, secrets));
  copy.name = e instanceof Error ? e.name : "Error";
  const code = codeOf(e);
  if (code) Object.defineProperty(copy, "code", { value: code, enumerable: true });
  return copy;
}

function codeOf(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let i = 0; i < 4 && cur && typeof cur === "object"; i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === "string") return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

function flattenHeaders(h: Record<string, string | string[] | undefined>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(h)) out[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : v;
  return out;
}

async function readLimited(body: AsyncIterable<Uint8Array>, max: number): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of body) {
    text += decoder.decode(chunk, { stream: true });
    if (text.length >= max) break;
  }
  return text.slice(0, max);
}

function clip(s: string, n: number): string {
  const one = s.replace(/\s+/g, " ").trim();
  return one.length > n ? `${one.slice(0, n - 3)}...` : one;
}

/** A short, scrubbed excerpt of a body for messages. */
export function snippet(text: string, secrets: readonly string[]): string {
  const t = clip(redact(text, secrets), 200);
  return t === "" ? "(empty body)" : JSON.stringify(t);
}
