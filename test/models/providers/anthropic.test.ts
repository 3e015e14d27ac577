/**
 * The anthropic provider against a local server speaking the Messages API (POST /v1/messages),
 * with the request headers, bodies, responses and stream events of the API reference.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { closeConnections } from "../../../src/models/http-client.js";
import { AnthropicModel } from "../../../src/models/providers/anthropic.js";
import { createModel } from "../../../src/models/providers/index.js";
import type { ModelStreamEvent } from "../../../src/models/streaming.js";
import type { ModelConfig } from "../../../src/models/types.js";
import { FakeApiServer, sseEvent } from "../../helpers/fake-api-server.js";
import { ctx, failure } from "../../helpers/model-calls.js";

const KEY = "sk-ant-api03-test-key-0123456789";
const env = { ANTHROPIC_API_KEY: KEY };

/** A Message object as the API returns it. */
function message(texts: string[], stop = "end_turn", usage: Record<string, number> = { input_tokens: 21, output_tokens: 7 }) {
  return {
    id: "msg_013Zva2CMHLNnXjNJJKqJ2EF",
    type: "message",
    role: "assistant",
    model: "claude-sonnet-4-5-20250929",
    content: texts.map((text) => ({ type: "text", text })),
    stop_reason: stop,
    stop_sequence: null,
    usage: { cache_creation_input_tokens: 0, cache_read_input_tokens: 0, ...usage, service_tier: "standard" },
  };
}

/** The event sequence of a streamed message. */
function streamOf(parts: string[], stop = "end_turn"): string[] {
  return [
    sseEvent(
      {
        type: "message_start",
        message: {
          id: "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY",
          type: "message",
          role: "assistant",
          content: [],
          model: "claude-sonnet-4-5-20250929",
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: 25, output_tokens: 1 },
        },
      },
      "message_start",
    ),
    sseEvent({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }, "content_block_start"),
    sseEvent({ type: "ping" }, "ping"),
    ...parts.map((text) => sseEvent({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text } }, "content_block_delta")),
    sseEvent({ type: "content_block_stop", index: 0 }, "content_block_stop"),
    sseEvent({ type: "message_delta", delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: 15 } }, "message_delta"),
    sseEvent({ type: "message_stop" }, "message_stop"),
  ];
}

let server: FakeApiServer;
beforeAll(async () => {
  server = await FakeApiServer.start(() => ({ json: message(["Hi there."]) }));
});
afterAll(async () => {
  await server.close();
  await closeConnections();
});
beforeEach(() => {
  server.requests.length = 0;
});

function model(extra: Partial<ModelConfig> = {}): AnthropicModel {
  return new AnthropicModel(
    { name: "claude", provider: "anthropic", model: "claude-sonnet-4-5", baseUrl: `${server.url}/v1`, apiKeyEnv: "ANTHROPIC_API_KEY", capabilities: ["text-generation"], ...extra },
    { env },
  );
}

describe("anthropic provider: requests", () => {
  it("sends the documented POST /v1/messages request with x-api-key, anthropic-version and a top-level system", async () => {
    const out = await model().process({ prompt: "Hello", system: "Be brief.", temperature: 0.5 }, ctx());
    expect(out).toEqual({ text: "Hi there.", usage: { inputTokens: 21, outputTokens: 7 }, finishReason: "stop" });
    const req = server.last;
    expect(req.method).toBe("POST");
    expect(req.path).toBe("/v1/messages");
    expect(req.headers["x-api-key"]).toBe(KEY);
    expect(req.headers["anthropic-version"]).toBe("2023-06-01");
    expect(req.headers["content-type"]).toBe("application/json");
    expect(req.headers.authorization).toBeUndefined();
    expect(req.json).toEqual({ model: "claude-sonnet-4-5", max_tokens: 1024, system: "Be brief.", messages: [{ role: "user", content: "Hello" }], temperature: 0.5 });
  });

  it("moves system messages to the top-level system, takes max_tokens from the input or options", async () => {
    const m = model({ options: { maxTokens: 300, system: "Default." } });
    await m.process(
      {
        messages: [
          { role: "system", content: "Extra rule." },
          { role: "user", content: "Q" },
          { role: "assistant", content: "A" },
          { role: "user", content: "Q2" },
        ],
      },
      ctx(),
    );
    expect(server.last.json).toEqual({
      model: "claude-sonnet-4-5",
      max_tokens: 300,
      system: "Default.\n\nExtra rule.",
      messages: [
        { role: "user", content: "Q" },
        { role: "assistant", content: "A" },
        { role: "user", content: "Q2" },
      ],
    });
    await m.process({ prompt: "x", maxTokens: 20 }, ctx());
    expect((server.last.json as { max_tokens: number }).max_tokens).toBe(20);
  });

  it("lets headers set another anthropic-version and beta flags", async () => {
    await model({ headers: { "anthropic-version": "2024-01-01", "anthropic-beta": "prompt-caching-2024-07-31" } }).process({ prompt: "x" }, ctx());
    expect(server.last.headers["anthropic-version"]).toBe("2024-01-01");
    expect(server.last.headers["anthropic-beta"]).toBe("prompt-caching-2024-07-31");
  });

  it("concatenates text blocks, counts cached input tokens, and maps stop reasons to finishReason", async () => {
    server.reply({ json: message(["Part one. ", "Part two."], "max_tokens", { input_tokens: 5, output_tokens: 9, cache_read_input_tokens: 100, cache_creation_input_tokens: 10 }) });
    const out = await model().process({ prompt: "x" }, ctx());
    expect(out).toEqual({ text: "Part one. Part two.", usage: { inputTokens: 115, outputTokens: 9 }, finishReason: "length" });
  });

  it("is created through the provider table", async () => {
    expect(await createModel({ name: "c", provider: "anthropic", baseUrl: server.url, capabilities: [] }, { env })).toBeInstanceOf(AnthropicModel);
  });

  it("json: asks for JSON in the system prompt and parses the answer (code fences tolerated)", async () => {
    server.reply({ json: message(['```json\n{"ok": true}\n```']) });
    const out = await model().process({ prompt: "x", json: { type: "object", properties: { ok: { type: "boolean" } } } }, ctx());
    expect(out.json).toEqual({ ok: true });
    expect((server.last.json as { system: string }).system).toContain('{"type":"object","properties":{"ok":{"type":"boolean"}}}');
    server.reply({ json: message(["not json"]) });
    expect((await failure(model().process({ prompt: "x", json: true }, ctx()))).kind).toBe("malformed");
  });
});

describe("anthropic provider: streaming", () => {
  it("stream: true sends stream and assembles the events (usage from message_start and message_delta)", async () => {
    server.reply({ sse: streamOf(["Hello", "!"]) });
    const out = await model({ stream: true }).process({ prompt: "x" }, ctx());
    expect(out).toEqual({ text: "Hello!", usage: { inputTokens: 25, outputTokens: 15 }, finishReason: "stop" });
    expect(server.last.json).toMatchObject({ stream: true });
    expect(server.last.headers.accept).toBe("text/event-stream");
  });

  it("stream() yields deltas then done", async () => {
    server.reply({ sse: streamOf(["a", "b"]), chunkDelayMs: 2 });
    const events: ModelStreamEvent[] = [];
    for await (const ev of model().stream({ prompt: "x" }, ctx())) events.push(ev);
    expect(events.map((e) => e.type)).toEqual(["delta", "delta", "done"]);
    expect(events.at(-1)).toEqual({ type: "done", output: { text: "ab", usage: { inputTokens: 25, outputTokens: 15 }, finishReason: "stop" } });
  });

  it("an error event mid-stream (overloaded_error) is retryable with the API's message", async () => {
    server.reply({ sse: [...streamOf(["a"]).slice(0, 4), sseEvent({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } }, "error")] });
    const e = await failure(model({ stream: true }).process({ prompt: "x" }, ctx()));
    expect(e.kind).toBe("retryable");
    expect(e.message).toContain("Overloaded");
  });

  it("a stream cut before message_stop is retryable", async () => {
    server.reply({ sse: streamOf(["a", "b"]).slice(0, 4), cut: true });
    expect((await failure(model({ stream: true }).process({ prompt: "x" }, ctx()))).kind).toBe("retryable");
    server.reply({ sse: streamOf(["a", "b"]).slice(0, 5) });
    const e = await failure(model({ stream: true }).process({ prompt: "x" }, ctx()));
    expect(e.kind).toBe("retryable");
    expect(e.message).toMatch(/before message_stop/);
  });
});

describe("anthropic provider: errors", () => {
  it("429 rate_limit_error with retry-after is rate_limited", async () => {
    server.reply({
      status: 429,
      headers: { "retry-after": "3" },
      json: { type: "error", error: { type: "rate_limit_error", message: "Number of request tokens has exceeded your per-minute rate limit" } },
    });
    const e = await failure(model().process({ prompt: "x" }, ctx()));
    expect(e.kind).toBe("rate_limited");
    expect(e.retryAfterMs).toBe(3000);
    expect(e.message).toContain("per-minute rate limit");
  });

  it("529 overloaded_error and 500 api_error are retryable", async () => {
    server.reply({ status: 529, json: { type: "error", error: { type: "overloaded_error", message: "Overloaded" } } });
    const e = await failure(model().process({ prompt: "x" }, ctx()));
    expect(e.kind).toBe("retryable");
    expect(e.message).toBe("anthropic model 'claude': HTTP 529: Overloaded");
    server.reply({ status: 500, json: { type: "error", error: { type: "api_error", message: "Internal server error" } } });
    expect((await failure(model().process({ prompt: "x" }, ctx()))).kind).toBe("retryable");
  });

  it("400 invalid_request_error and 401 authentication_error are fatal with the API's message", async () => {
    server.reply({ status: 400, json: { type: "error", error: { type: "invalid_request_error", message: "max_tokens: Field required" } } });
    const e = await failure(model().process({ prompt: "x" }, ctx()));
    expect(e.kind).toBe("fatal");
    expect(e.message).toContain("HTTP 400 Bad Request: max_tokens: Field required");
    server.reply({ status: 401, json: { type: "error", error: { type: "authentication_error", message: "invalid x-api-key" } } });
    const e2 = await failure(model().process({ prompt: "x" }, ctx()));
    expect(e2.kind).toBe("fatal");
    expect(e2.message).toContain("$ANTHROPIC_API_KEY");
  });

  it("malformed bodies and timeouts", async () => {
    server.reply({ json: { type: "message", role: "assistant" } });
    expect((await failure(model().process({ prompt: "x" }, ctx()))).kind).toBe("malformed");
    server.reply({ json: message(["late"]), delayMs: 1500 });
    const e = await failure(model({ timeoutMs: 150 }).process({ prompt: "x" }, ctx()));
    expect(e.kind).toBe("retryable");
    expect(e.message).toMatch(/timeout/);
  });
  // Aborting through the signal: cancellation.test.ts, for every provider.
});
