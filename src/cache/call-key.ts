/**
 * The identity of a model call, shared by the response cache and record/replay: the
 * provider, the model id, the endpoint, the model's options, the capabilities asked for and
 * the input, serialised with a stable key order and hashed with sha256.
 */
import { hash } from "node:crypto";
import type { CallModel, CallRequest } from "../events/ports.js";

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

/**
 * The identity's text, as `stableStringify(callIdentity(req))` gives it, with the model's
 * part (its members sorted before and after `input`) serialised once per model config
 * instead of at every call.
 */
export function callIdentityText(req: Pick<CallRequest, "model" | "input" | "capabilities">): string {
  const m = modelParts(req.model);
  const members: string[] = [];
  if (m.before) members.push(m.before);
  if (req.capabilities) members.push(`"capabilities":${stableStringify([...req.capabilities].sort())}`);
  if (m.middle) members.push(m.middle);
  const input = typeof req.input === "function" ? undefined : JSON.stringify(normalise(req.input));
  if (input !== undefined) members.push(`"input":${input}`);
  if (m.after) members.push(m.after);
  return `{${members.join(",")}}`;
}

/** The model's members of the identity, serialised: those sorted before `capabilities`, between it and `input`, and after `input`. */
const modelTexts = new WeakMap<CallModel, { before: string; middle: string; after: string }>();
function modelParts(model: CallModel): { before: string; middle: string; after: string } {
  let t = modelTexts.get(model);
  if (!t) {
    const own = normalise({ ...callIdentity({ model, input: undefined }), capabilities: undefined, input: undefined }) as Record<string, unknown>;
    const text = (keys: string[]) =>
      keys
        .filter((k) => k in own)
        .map((k) => `${JSON.stringify(k)}:${JSON.stringify(own[k])}`)
        .join(",");
    const keys = Object.keys(own);
    t = { before: text(keys.filter((k) => k < "capabilities")), middle: text(keys.filter((k) => k > "capabilities" && k < "input")), after: text(keys.filter((k) => k > "input")) };
    modelTexts.set(model, t);
  }
  return t;
}

/** sha256 (hex) of the call's identity. */
export function callKey(req: Pick<CallRequest, "model" | "input" | "capabilities">): string {
  return hash("sha256", callIdentityText(req), "hex");
}
