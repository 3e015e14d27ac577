/**
 * The identity of a model call, shared by the response cache and record/replay: the
 * provider, the model id, the endpoint, the model's options, the capabilities asked for and
 * the input, serialised with a stable key order and hashed with sha256.
 */
import { createHash } from "node:crypto";
import type { CallRequest } from "../events/ports.js";

/**
 * JSON with object keys sorted at every level and `undefined` members dropped, so two
 * inputs that differ only in key order are the same call.
 */
export function stableStringify(value: unknown): string {
  return JSON.stringify(normalise(value)) ?? "null";
}

function normalise(v: unknown): unknown {
  if (v === null || typeof v !== "object") return typeof v === "bigint" ? v.toString() : v;
  if (Array.isArray(v)) return v.map((x) => (x === undefined ? null : normalise(x)));
  if (typeof (v as { toJSON?: unknown }).toJSON === "function") return normalise((v as { toJSON(): unknown }).toJSON());
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) {
    const x = (v as Record<string, unknown>)[k];
    if (x !== undefined && typeof x !== "function") out[k] = normalise(x);
  }
  return out;
}

/** The parts of a call that decide its answer. */
export function callIdentity(req: Pick<CallRequest, "model" | "input" | "capabilities">): Record<string, unknown> {
  const m = req.model;
  return {
    provider: m.provider,
    model: m.model ?? m.name,
    baseUrl: m.baseUrl,
    url: m.url,
    module: m.module,
    export: m.export,
    request: m.request,
    mcp: m.mcpServer ? { server: m.mcpServer.id, tool: m.tool } : undefined,
    options: m.options,
    capabilities: req.capabilities ? [...req.capabilities].sort() : undefined,
    input: req.input,
  };
}

/** sha256 (hex) of the call's identity. */
export function callKey(req: Pick<CallRequest, "model" | "input" | "capabilities">): string {
  return createHash("sha256")
    .update(stableStringify(callIdentity(req)))
    .digest("hex");
}
