/**
 * The LLM call shape shared by the chat providers (openai, anthropic): the step input
 * `{ prompt } | { messages, system?, temperature?, maxTokens?, json?, stream? }` merged over
 * the model's `options`, checked, and normalised into one ChatRequest each provider turns
 * into its wire format.
 */
import { CHAT_OPTION_KEYS } from "./provider-facts.js";

/** One chat message as the APIs take it; `content` is a string or the API's parts array. */
export interface ChatMessage {
  role: string;
  content: unknown;
  [key: string]: unknown;
}

/** JSON output wanted: any JSON object, or one matching a JSON Schema. */
export type JsonMode = { type: "object" } | { type: "schema"; name: string; schema: Record<string, unknown>; strict: boolean };

/** A checked chat call: the input's fields, else the model options', else nothing. */
export interface ChatRequest {
  messages: ChatMessage[];
  system?: string;
  temperature?: number;
  maxTokens?: number;
  json?: JsonMode;
  stream: boolean;
  /** Extra fields for the API's request body (`options.body`), merged last. */
  body?: Record<string, unknown>;
}

/**
 * Keys a chat model's `options` may have.
 * - `system`: default system prompt.
 * - `temperature`: default sampling temperature.
 * - `maxTokens`: default limit of generated tokens.
 * - `json`: default JSON mode (true or a JSON Schema).
 * - `body`: extra fields merged into the request body (top_p, seed, stop, ...).
 */
export { CHAT_OPTION_KEYS };

/** Reads the call shape; `fail` throws the provider's `fatal` error (the input is wrong). */
export function toChatRequest(input: unknown, options: Record<string, unknown>, defaults: { stream: boolean }, fail: (detail: string) => never): ChatRequest {
  if (!input || typeof input !== "object" || Array.isArray(input)) {
    fail(`expected the input { prompt } or { messages }, received ${describe(input)}`);
  }
  const i = input as Record<string, unknown>;
  const messages: ChatMessage[] = [];
  if (i.messages !== undefined) {
    if (!Array.isArray(i.messages)) fail(`input.messages must be an array, received ${describe(i.messages)}`);
    i.messages.forEach((m: unknown, k) => {
      const msg = m as Record<string, unknown> | null;
      if (!msg || typeof msg !== "object" || typeof msg.role !== "string") {
        fail(`input.messages[${k}] must be { role, content }, received ${describe(m)}`);
      }
      messages.push({ ...msg, role: msg.role, content: msg.content ?? "" });
    });
  }
  if (i.prompt !== undefined) {
    if (typeof i.prompt !== "string") fail(`input.prompt must be a string, received ${describe(i.prompt)}`);
    messages.push({ role: "user", content: i.prompt });
  }
  if (messages.length === 0) fail(`expected the input { prompt } or { messages }, received ${describe(input)}`);

  const pick = (key: string) => (i[key] !== undefined && i[key] !== null ? i[key] : options[key]);
  const req: ChatRequest = { messages, stream: defaults.stream };
  const system = pick("system");
  if (system !== undefined && system !== null) {
    if (typeof system !== "string") fail(`system must be a string, received ${describe(system)}`);
    if (system !== "") req.system = system;
  }
  const temperature = pick("temperature");
  if (temperature !== undefined && temperature !== null) {
    if (typeof temperature !== "number" || !Number.isFinite(temperature)) fail(`temperature must be a number, received ${describe(temperature)}`);
    req.temperature = temperature;
  }
  const maxTokens = pick("maxTokens");
  if (maxTokens !== undefined && maxTokens !== null) {
    if (typeof maxTokens !== "number" || !Number.isInteger(maxTokens) || maxTokens < 1) fail(`maxTokens must be a positive integer, received ${describe(maxTokens)}`);
    req.maxTokens = maxTokens;
  }
  const json = jsonMode(pick("json"), fail);
  if (json) req.json = json;
  if (typeof i.stream === "boolean") req.stream = i.stream;
  const body = options.body;
  if (body !== undefined && body !== null) {
    if (typeof body !== "object" || Array.isArray(body)) fail(`options.body must be an object, received ${describe(body)}`);
    req.body = body as Record<string, unknown>;
  }
  return req;
}

/**
 * `json: true` asks for any JSON object; an object is a JSON Schema the answer must match,
 * or `{ name?, schema, strict? }` to name it.
 */
function jsonMode(v: unknown, fail: (detail: string) => never): JsonMode | undefined {
  if (v === undefined || v === null || v === false) return undefined;
  if (v === true) return { type: "object" };
  if (typeof v !== "object" || Array.isArray(v)) fail(`json must be true or a JSON Schema object, received ${describe(v)}`);
  const o = v as Record<string, unknown>;
  const wrapped = o.schema && typeof o.schema === "object" && o.type === undefined && o.properties === undefined;
  const schema = (wrapped ? o.schema : o) as Record<string, unknown>;
  const rawName = wrapped && typeof o.name === "string" ? o.name : typeof schema.title === "string" ? schema.title : "output";
  const name = rawName.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 64) || "output";
  const strict = wrapped && typeof o.strict === "boolean" ? o.strict : true;
  return { type: "schema", name, schema, strict };
}

/**
 * Parses a JSON answer. Tolerates a Markdown code fence around it, which models without a
 * native JSON mode often add. Returns `undefined` with an error message when it is not JSON.
 */
export function parseJsonAnswer(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  let t = text.trim();
  const fence = /^```(?:json)?\s*\n([\s\S]*?)\n?```$/i.exec(t);
  if (fence) t = fence[1]!.trim();
  try {
    return { ok: true, value: JSON.parse(t) as unknown };
  } catch (e) {
    return { ok: false, message: e instanceof Error ? e.message : String(e) };
  }
}

/** Rough token count (4 characters a token) for servers that report no usage. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** The text of messages, for estimating input tokens. */
export function messagesText(req: ChatRequest): string {
  const parts = req.system !== undefined ? [req.system] : [];
  for (const m of req.messages) parts.push(typeof m.content === "string" ? m.content : JSON.stringify(m.content));
  return parts.join("\n");
}

/** A short description of a value for error messages (type and a little of it). */
export function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === "object") {
    const keys = Object.keys(v);
    return keys.length ? `an object with keys ${keys.slice(0, 6).join(", ")}${keys.length > 6 ? ", ..." : ""}` : "an empty object";
  }
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v)}`;
  return `${typeof v} ${String(v)}`;
}
