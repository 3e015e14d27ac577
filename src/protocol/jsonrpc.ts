/**
 * JSON-RPC 2.0 over the Protocol Handler: single calls, batches and notifications, with the
 * standard error codes (-32700 parse error, -32600 invalid request, -32601 method not found,
 * -32602 invalid params, -32603 internal error) and ours (errors.ts JSONRPC_CODE). A
 * transport passes the request text; the answer is the text to send, or undefined when
 * nothing is to be sent (only notifications).
 */
import { JSONRPC_CODE, errorBody, type ProtocolError } from "./errors.js";
import type { ProtocolHandler } from "./handler.js";
import type { MethodContext } from "./services.js";

type Id = string | number | null;

export interface JsonRpcError {
  code: number;
  message: string;
  data?: unknown;
}

export type JsonRpcResponse = { jsonrpc: "2.0"; id: Id; result: unknown } | { jsonrpc: "2.0"; id: Id; error: JsonRpcError };

/** Most calls in one batch. */
export const MAX_BATCH = 100;

const fail = (id: Id, code: number, message: string, data?: unknown): JsonRpcResponse => ({ jsonrpc: "2.0", id, error: { code, message, ...(data !== undefined ? { data } : {}) } });

/** The JSON-RPC error of a protocol error: its code, message, and `data: { code, details }`. */
export function jsonRpcError(e: ProtocolError): JsonRpcError {
  const body = errorBody(e);
  return { code: JSONRPC_CODE[e.code], message: e.message, data: { code: body.code, ...(body.details !== undefined ? { details: body.details } : {}) } };
}

function validId(id: unknown): id is Id {
  return id === null || typeof id === "string" || (typeof id === "number" && Number.isFinite(id));
}

/** Answers one request object; undefined for a notification. */
async function one(handler: ProtocolHandler, req: unknown, ctx: MethodContext): Promise<JsonRpcResponse | undefined> {
  if (!req || typeof req !== "object" || Array.isArray(req)) return fail(null, -32600, "Invalid Request: expected an object");
  const r = req as { jsonrpc?: unknown; method?: unknown; params?: unknown; id?: unknown };
  const isNotification = !("id" in r);
  const id: Id = validId(r.id) ? r.id : null;
  if (r.jsonrpc !== "2.0") return fail(id, -32600, 'Invalid Request: "jsonrpc" must be "2.0"');
  if (typeof r.method !== "string") return fail(id, -32600, 'Invalid Request: "method" must be a string');
  if (!isNotification && !validId(r.id)) return fail(null, -32600, 'Invalid Request: "id" must be a string, a number or null');
  if (r.params !== undefined && (r.params === null || typeof r.params !== "object" || Array.isArray(r.params))) {
    if (isNotification) return undefined;
    return fail(id, -32602, "Invalid params: params must be an object (by-name)");
  }
  const out = await handler.dispatch(r.method, r.params, ctx);
  if (isNotification) return undefined;
  return out.ok ? { jsonrpc: "2.0", id, result: out.result } : { jsonrpc: "2.0", id, error: jsonRpcError(out.error) };
}

/**
 * Answers a JSON-RPC request body (already parsed, or `parseError` when it was not JSON).
 * Returns undefined when there is nothing to send back.
 */
export async function handleJsonRpc(handler: ProtocolHandler, body: unknown, ctx: MethodContext, parseError?: string): Promise<JsonRpcResponse | JsonRpcResponse[] | undefined> {
  if (parseError !== undefined) return fail(null, -32700, `Parse error: ${parseError}`);
  if (Array.isArray(body)) {
    if (body.length === 0) return fail(null, -32600, "Invalid Request: empty batch");
    if (body.length > MAX_BATCH) return fail(null, -32600, `Invalid Request: a batch holds at most ${MAX_BATCH} calls, got ${body.length}`);
    const answers = await Promise.all(body.map((r) => one(handler, r, ctx)));
    const sent = answers.filter((a): a is JsonRpcResponse => a !== undefined);
    return sent.length ? sent : undefined;
  }
  return one(handler, body, ctx);
}
