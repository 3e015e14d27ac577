/**
 * The API key never appears in an error: every error kind is provoked with a key set, against
 * a server that echoes the key back in its error bodies, and the key is looked for in the
 * message, String(err), JSON.stringify(err), util.inspect(err) and the whole cause chain.
 */
import { inspect } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BaseModel } from "../../../src/models/base-model.js";
import { ModelError, type ModelErrorKind } from "../../../src/models/errors.js";
import { closeConnections } from "../../../src/models/http-client.js";
import { AnthropicModel } from "../../../src/models/providers/anthropic.js";
import { HttpModel } from "../../../src/models/providers/http.js";
import { OpenAIModel } from "../../../src/models/providers/openai.js";
import type { ModelConfig } from "../../../src/models/types.js";
import { FakeApiServer, sseEvent, type Reply } from "../../helpers/fake-api-server.js";

const KEY = "sk-SECRET-redaction-test-7f3a9c2e1b";
// Set with surrounding whitespace, as a pasted .env line may be: neither form may leak.
const env = { API_KEY: `  ${KEY}\n` };

let server: FakeApiServer;
beforeAll(async () => {
  server = await FakeApiServer.start();
});
afterAll(async () => {
  await server.close();
  await closeConnections();
});

/** Every string an error can be turned into, through its cause chain. */
function renderings(e: unknown): string[] {
  const out: string[] = [];
  let cur: unknown = e;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 10; depth++) {
    out.push(String(cur), inspect(cur, { depth: 10, showHidden: true }));
    try {
      out.push(JSON.stringify(cur) ?? "");
    } catch {
      // circular: inspect covers it
    }
    if (cur instanceof Error) out.push(cur.message, cur.stack ?? "");
    cur = (cur as { cause?: unknown }).cause;
  }
  return out;
}

function expectNoKey(e: unknown): void {
  for (const text of renderings(e)) {
    expect(text).not.toContain(KEY);
    expect(text).not.toContain(KEY.slice(0, 20));
  }
}

const echo = `Incorrect API key provided: ${KEY}. You can find your API key at https://example.invalid.`;

type Case = { name: string; reply?: Reply; kind: ModelErrorKind; stream?: boolean; extra?: Partial<ModelConfig>; abortAfterMs?: number };

const commonCases: Case[] = [
  { name: "429 echoing the key", reply: { status: 429, headers: { "retry-after": "1" }, json: { error: { message: echo } } }, kind: "rate_limited" },
  { name: "500 echoing the key", reply: { status: 500, json: { error: { message: echo } } }, kind: "retryable" },
  { name: "400 echoing the key", reply: { status: 400, json: { error: { message: echo, type: "invalid_request_error" } } }, kind: "fatal" },
  { name: "401 with the key as plain text", reply: { status: 401, body: echo, headers: { "content-type": "text/plain" } }, kind: "fatal" },
  { name: "403 with the key as a JSON string", reply: { status: 403, json: echo }, kind: "fatal" },
  { name: "a non-JSON body echoing the key", reply: { status: 200, body: `oops ${KEY}` }, kind: "malformed" },
  { name: "a slow answer (timeout)", reply: { json: {}, delayMs: 1000 }, kind: "retryable", extra: { timeoutMs: 100 } },
  { name: "an abort", reply: { hang: true }, kind: "aborted", abortAfterMs: 30 },
  { name: "a dropped connection", reply: { drop: true }, kind: "retryable" },
  { name: "a refused connection", kind: "retryable", extra: { baseUrl: "http://127.0.0.1:9/v1", url: "http://127.0.0.1:9/x" } },
];

const openaiCases: Case[] = [
  ...commonCases,
  { name: "a response without choices", reply: { json: { error_detail: KEY } }, kind: "malformed" },
  { name: "a stream chunk that is not JSON", reply: { sse: [`data: {${KEY}`] }, kind: "malformed", stream: true },
  { name: "an error chunk mid-stream", reply: { sse: [sseEvent({ error: { message: echo } })] }, kind: "retryable", stream: true },
  { name: "a cut stream", reply: { sse: [sseEvent({ choices: [{ index: 0, delta: { content: "a" } }] })], cut: true }, kind: "retryable", stream: true },
  { name: "a JSON answer that does not parse", reply: { json: { choices: [{ message: { content: `not json ${KEY}` } }] } }, kind: "malformed", extra: { options: { json: true } } },
];

const anthropicCases: Case[] = [
  ...commonCases,
  { name: "a response without content", reply: { json: { type: "message", note: KEY } }, kind: "malformed" },
  { name: "an error event echoing the key", reply: { sse: [sseEvent({ type: "error", error: { type: "overloaded_error", message: echo } }, "error")] }, kind: "retryable", stream: true },
  { name: "a stream event that is not JSON", reply: { sse: [`event: message_start\ndata: ${KEY}`] }, kind: "malformed", stream: true },
  { name: "a cut stream", reply: { sse: [sseEvent({ type: "message_start", message: { usage: { input_tokens: 1 } } }, "message_start")], cut: true }, kind: "retryable", stream: true },
];

const base = (extra: Partial<ModelConfig> | undefined) => ({ capabilities: [], apiKeyEnv: "API_KEY", ...extra });

const providers: [string, Case[], (c: Case) => BaseModel, string][] = [
  ["openai", openaiCases, (c) => new OpenAIModel({ name: "o", provider: "openai", model: "m", ...base({ baseUrl: `${server.url}/v1`, ...c.extra }) }, { env }), "authorization"],
  ["anthropic", anthropicCases, (c) => new AnthropicModel({ name: "a", provider: "anthropic", model: "m", ...base({ baseUrl: `${server.url}/v1`, ...c.extra }) }, { env }), "x-api-key"],
  ["http", commonCases, (c) => new HttpModel({ name: "h", provider: "http", ...base({ url: `${server.url}/x`, ...c.extra }) }, { env }), "authorization"],
];

describe.each(providers)("the %s provider never shows the key", (_name, cases, make, header) => {
  it.each(cases.map((c) => [c.name, c] as const))("on %s", async (_n, c) => {
    if (c.reply) server.reply(c.reply);
    const model = make(c);
    const ac = new AbortController();
    if (c.abortAfterMs !== undefined) setTimeout(() => ac.abort(new Error("cancelled by the test")), c.abortAfterMs);
    const err = await model.process({ prompt: "hi", ...(c.stream ? { stream: true } : {}) }, { signal: ac.signal }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).kind).toBe(c.kind);
    expectNoKey(err);
  });

  it("sends the trimmed key in its header (so the check above is meaningful)", async () => {
    server.reply({ status: 500, json: {} });
    await make({ name: "", kind: "retryable" })
      .process({ prompt: "hi" }, { signal: new AbortController().signal })
      .catch(() => undefined);
    expect(String(server.last.headers[header])).toMatch(new RegExp(`^(Bearer )?${KEY}$`));
  });
});

describe("a missing key", () => {
  it("names the variable, never a value", async () => {
    const m = new OpenAIModel({ name: "o", provider: "openai", baseUrl: server.url, apiKeyEnv: "NOT_SET_ANYWHERE", capabilities: [] }, { env });
    const e = (await m.process({ prompt: "x" }, { signal: new AbortController().signal }).catch((x: unknown) => x)) as ModelError;
    expect(e.kind).toBe("fatal");
    expect(e.message).toBe("openai model 'o': the API key variable $NOT_SET_ANYWHERE is not set (apiKeyEnv); set it in the environment, or remove apiKeyEnv for a server that needs no key");
  });
});
