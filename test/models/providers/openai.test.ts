/**
 * The openai provider against a local server speaking the Chat Completions API, with the
 * request and response shapes of the API reference (POST /v1/chat/completions).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { closeConnections } from "../../../src/models/http-client.js";
import { createModel } from "../../../src/models/providers/index.js";
import { OpenAIModel } from "../../../src/models/providers/openai.js";
import type { ModelStreamEvent } from "../../../src/models/streaming.js";
import type { ModelConfig } from "../../../src/models/types.js";
import { FakeApiServer, sseEvent, type RecordedRequest } from "../../helpers/fake-api-server.js";
import { ctx, failure } from "../../helpers/model-calls.js";

const KEY = "sk-test-0123456789abcdef";
const env = { OPENAI_API_KEY: KEY, EMPTY_KEY: "" };

/** A chat.completion object as the API returns it. */
function completion(content: string | null, usage = { prompt_tokens: 12, completion_tokens: 5 }, finish = "stop") {
  return {
    id: "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
    object: "chat.completion",
    created: 1741569952,
    model: "gpt-4o-mini-2024-07-18",
    choices: [{ index: 0, message: { role: "assistant", content, refusal: null, annotations: [] }, logprobs: null, finish_reason: finish }],
    usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens, prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 } },
    service_tier: "default",
    system_fingerprint: "fp_06737a9306",
  };
}

/** A chat.completion.chunk. */
function chunk(delta: Record<string, unknown>, finish: string | null = null) {
  return {
    id: "chatcmpl-123",
    object: "chat.completion.chunk",
    created: 1694268190,
    model: "gpt-4o-mini",
    system_fingerprint: "fp_44709d6fcb",
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  };
}

function streamOf(parts: string[], usage = { prompt_tokens: 9, completion_tokens: 3 }): string[] {
  return [
    sseEvent(chunk({ role: "assistant", content: "", refusal: null })),
    ...parts.map((p) => sseEvent(chunk({ content: p }))),
    sseEvent(chunk({}, "stop")),
    sseEvent({
      id: "chatcmpl-123",
      object: "chat.completion.chunk",
      created: 1694268190,
      model: "gpt-4o-mini",
      choices: [],
      usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
    }),
    "data: [DONE]",
  ];
}

let server: FakeApiServer;
beforeAll(async () => {
  server = await FakeApiServer.start(() => ({ json: completion("Hello!") }));
});
afterAll(async () => {
  await server.close();
  await closeConnections();
});
beforeEach(() => {
  server.requests.length = 0;
});

function model(extra: Partial<ModelConfig> = {}): OpenAIModel {
  return new OpenAIModel({ name: "drafter", provider: "openai", model: "gpt-4o-mini", baseUrl: `${server.url}/v1`, apiKeyEnv: "OPENAI_API_KEY", capabilities: ["text-generation"], ...extra }, { env });
}

describe("openai provider: requests", () => {
  it("sends a prompt as the documented POST /chat/completions request and reads text, usage and finish reason", async () => {
    const out = await model().process({ prompt: "Say hello", system: "Be brief.", temperature: 0.2, maxTokens: 50 }, ctx());
    expect(out).toEqual({ text: "Hello!", usage: { inputTokens: 12, outputTokens: 5 }, finishReason: "stop" });
    const req = server.last;
    expect(req.method).toBe("POST");
    expect(req.path).toBe("/v1/chat/completions");
    expect(req.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(req.headers["content-type"]).toBe("application/json");
    expect(req.headers.accept).toBe("application/json");
    expect(req.json).toEqual({
      model: "gpt-4o-mini",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Say hello" },
      ],
      temperature: 0.2,
      max_tokens: 50,
    });
  });

  it("passes messages through, with extra headers, and sends no Authorization without apiKeyEnv (local servers)", async () => {
    const m = model({ apiKeyEnv: undefined, headers: { "X-Title": "mcp" }, model: "llama3.2" });
    const messages = [
      { role: "user", content: "Hi" },
      { role: "assistant", content: "Hello" },
      { role: "user", content: [{ type: "text", text: "How are you?" }] },
    ];
    await m.process({ messages }, ctx());
    expect(server.last.headers.authorization).toBeUndefined();
    expect(server.last.headers["x-title"]).toBe("mcp");
    expect(server.last.json).toEqual({ model: "llama3.2", messages });
  });

  it("takes defaults from options (templates over $request) and lets the input override them", async () => {
    const m = model({ options: { temperature: 0.7, maxTokens: 100, system: "Topic: ${{ $request.topic }}", body: { top_p: 0.9, seed: 7 } } });
    await m.process({ prompt: "x", topic: "cats" }, ctx());
    expect(server.last.json).toMatchObject({
      temperature: 0.7,
      max_tokens: 100,
      top_p: 0.9,
      seed: 7,
      messages: [
        { role: "system", content: "Topic: cats" },
        { role: "user", content: "x" },
      ],
    });
    await m.process({ prompt: "x", temperature: 0, maxTokens: 5 }, ctx());
    expect(server.last.json).toMatchObject({ temperature: 0, max_tokens: 5 });
  });

  it("uses the registry name as the API model name when `model` is not set (the tutorial's registerModel)", async () => {
    const m = new OpenAIModel({ name: "gpt-4", provider: "openai", baseUrl: server.url, capabilities: [] }, { env });
    await m.process({ prompt: "x" }, ctx());
    expect(server.last.path).toBe("/chat/completions");
    expect((server.last.json as { model: string }).model).toBe("gpt-4");
  });

  it("is created through the provider table", async () => {
    const m = await createModel({ name: "drafter", provider: "openai", baseUrl: server.url, capabilities: ["text-generation"] }, { env });
    expect(m).toBeInstanceOf(OpenAIModel);
    expect(m.capabilities).toEqual(["text-generation"]);
  });

  it("rejects unknown options and bad URLs when the model is created", () => {
    expect(() => model({ options: { temprature: 1 } })).toThrow(/unknown option 'temprature' for provider openai/);
    expect(() => model({ baseUrl: "localhost:11434" })).toThrow(TypeError);
  });

  it("fails with a fatal error naming the variable when apiKeyEnv is set but empty, sending nothing", async () => {
    const e = await failure(model({ apiKeyEnv: "EMPTY_KEY" }).process({ prompt: "x" }, ctx()));
    expect(e.kind).toBe("fatal");
    expect(e.message).toContain("$EMPTY_KEY");
    expect(server.requests).toHaveLength(0);
  });

  it("rejects an input without prompt or messages as fatal", async () => {
    const e = await failure(model().process({ text: "x" }, ctx()));
    expect(e.kind).toBe("fatal");
    expect(e.message).toMatch(/expected the input \{ prompt \} or \{ messages \}/);
  });
});

describe("openai provider: JSON mode", () => {
  it("json: true asks for a json_object and parses the answer into output.json", async () => {
    server.reply({ json: completion('{"label":"positive"}') });
    const out = await model().process({ prompt: "classify", json: true }, ctx());
    expect((server.last.json as Record<string, unknown>).response_format).toEqual({ type: "json_object" });
    expect(out.json).toEqual({ label: "positive" });
    expect(out.text).toBe('{"label":"positive"}');
  });

  it("a JSON Schema becomes response_format json_schema with strict: true", async () => {
    const schema = { title: "Sentiment result", type: "object", properties: { label: { type: "string" } }, required: ["label"], additionalProperties: false };
    server.reply({ json: completion('{"label":"neutral"}') });
    const out = await model().process({ prompt: "classify", json: schema }, ctx());
    expect((server.last.json as Record<string, unknown>).response_format).toEqual({ type: "json_schema", json_schema: { name: "Sentiment_result", schema, strict: true } });
    expect(out.json).toEqual({ label: "neutral" });
  });

  it("an answer that is not JSON is a malformed error", async () => {
    server.reply({ json: completion("Sure! Here it is: {label: positive}") });
    const e = await failure(model().process({ prompt: "classify", json: true }, ctx()));
    expect(e.kind).toBe("malformed");
    expect(e.retryable).toBe(true);
  });

  it("a refusal is fatal", async () => {
    const body = completion(null);
    (body.choices[0]!.message as Record<string, unknown>).refusal = "I can't help with that.";
    server.reply({ json: body });
    const e = await failure(model().process({ prompt: "x" }, ctx()));
    expect(e.kind).toBe("fatal");
    expect(e.message).toContain("I can't help with that.");
  });
});

describe("openai provider: streaming", () => {
  it("stream: true sends stream and stream_options.include_usage, and assembles the chunks", async () => {
    server.reply({ sse: streamOf(["Hel", "lo", " world"]) });
    const out = await model({ stream: true }).process({ prompt: "hi" }, ctx());
    expect(out).toEqual({ text: "Hello world", usage: { inputTokens: 9, outputTokens: 3 }, finishReason: "stop" });
    expect(server.last.json).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(server.last.headers.accept).toBe("text/event-stream");
  });

  it("stream() yields the deltas in order, then the assembled output", async () => {
    server.reply({ sse: streamOf(["a", "b", "c"]), chunkDelayMs: 5 });
    const events: ModelStreamEvent[] = [];
    for await (const ev of model().stream({ prompt: "hi" }, ctx())) events.push(ev);
    expect(events).toEqual([
      { type: "delta", text: "a" },
      { type: "delta", text: "b" },
      { type: "delta", text: "c" },
      { type: "done", output: { text: "abc", usage: { inputTokens: 9, outputTokens: 3 }, finishReason: "stop" } },
    ]);
  });

  it("the input's stream: true streams even when the model does not", async () => {
    server.reply({ sse: streamOf(["x"]) });
    const out = await model().process({ prompt: "hi", stream: true }, ctx());
    expect(out.text).toBe("x");
    expect((server.last.json as { stream?: boolean }).stream).toBe(true);
  });

  it("a stream cut before the end is a retryable error", async () => {
    server.reply({ sse: streamOf(["Hel", "lo"]).slice(0, 2), cut: true });
    const e = await failure(model({ stream: true }).process({ prompt: "hi" }, ctx()));
    expect(e.kind).toBe("retryable");
  });

  it("a stream that ends cleanly without [DONE] or a finish reason is a retryable error", async () => {
    server.reply({ sse: streamOf(["Hel", "lo"]).slice(0, 2) });
    const e = await failure(model({ stream: true }).process({ prompt: "hi" }, ctx()));
    expect(e.kind).toBe("retryable");
    expect(e.message).toMatch(/ended before the answer was complete/);
  });

  it("estimates usage when the server reports none (older local servers)", async () => {
    server.reply({ sse: [sseEvent(chunk({ content: "12345678" })), sseEvent(chunk({}, "stop")), "data: [DONE]"] });
    const out = await model({ stream: true }).process({ prompt: "abcd" }, ctx());
    expect(out.usage).toEqual({ inputTokens: 1, outputTokens: 2 });
  });

  it("breaking out of stream() closes the connection", async () => {
    server.reply({ sse: [...streamOf(["a", "b", "c", "d"])], chunkDelayMs: 30 });
    for await (const ev of model().stream({ prompt: "hi" }, ctx())) {
      expect(ev).toEqual({ type: "delta", text: "a" });
      break;
    }
    // The next call works (a fresh or reused connection).
    const out = await model().process({ prompt: "again" }, ctx());
    expect(out.text).toBe("Hello!");
  });
});

describe("openai provider: errors", () => {
  it("429 with Retry-After in seconds is rate_limited with retryAfterMs", async () => {
    server.reply({ status: 429, headers: { "retry-after": "2" }, json: { error: { message: "Rate limit reached for gpt-4o-mini", type: "requests", param: null, code: "rate_limit_exceeded" } } });
    const e = await failure(model().process({ prompt: "x" }, ctx()));
    expect(e.kind).toBe("rate_limited");
    expect(e.status).toBe(429);
    expect(e.retryAfterMs).toBe(2000);
    expect(e.message).toBe("openai model 'drafter': HTTP 429 Too Many Requests: Rate limit reached for gpt-4o-mini (retry after 2s)");
  });

  it("429 reads retry-after-ms first, and Retry-After as an HTTP date", async () => {
    server.reply({ status: 429, headers: { "retry-after-ms": "350", "retry-after": "1" }, json: { error: { message: "slow down" } } });
    expect((await failure(model().process({ prompt: "x" }, ctx()))).retryAfterMs).toBe(350);
    const at = new Date(Date.now() + 5000).toUTCString();
    server.reply({ status: 429, headers: { "retry-after": at }, json: { error: { message: "slow down" } } });
    const ms = (await failure(model().process({ prompt: "x" }, ctx()))).retryAfterMs ?? -1;
    expect(ms).toBeGreaterThan(3000);
    expect(ms).toBeLessThanOrEqual(5000);
  });

  it("429 insufficient_quota is fatal: waiting does not help", async () => {
    server.reply({ status: 429, json: { error: { message: "You exceeded your current quota", type: "insufficient_quota", param: null, code: "insufficient_quota" } } });
    expect((await failure(model().process({ prompt: "x" }, ctx()))).kind).toBe("fatal");
  });

  it("500 and 503 are retryable and carry the API's message", async () => {
    server.reply({ status: 500, json: { error: { message: "The server had an error while processing your request.", type: "server_error" } } });
    const e = await failure(model().process({ prompt: "x" }, ctx()));
    expect(e.kind).toBe("retryable");
    expect(e.message).toContain("HTTP 500 Internal Server Error: The server had an error while processing your request.");
    server.reply({ status: 503, body: "<html>busy</html>", headers: { "content-type": "text/html" } });
    const e2 = await failure(model().process({ prompt: "x" }, ctx()));
    expect(e2.kind).toBe("retryable");
    expect(e2.message).toBe("openai model 'drafter': HTTP 503 Service Unavailable");
  });

  it("400 is fatal with the API's message; 401 names the key variable", async () => {
    server.reply({ status: 400, json: { error: { message: "Invalid value for 'temperature': must be <= 2.", type: "invalid_request_error", param: "temperature", code: "invalid_value" } } });
    const e = await failure(model().process({ prompt: "x" }, ctx()));
    expect(e.kind).toBe("fatal");
    expect(e.message).toContain("HTTP 400 Bad Request: Invalid value for 'temperature': must be <= 2.");
    server.reply({ status: 401, json: { error: { message: "Incorrect API key provided: sk-test-****cdef.", type: "invalid_request_error", code: "invalid_api_key" } } });
    const e2 = await failure(model().process({ prompt: "x" }, ctx()));
    expect(e2.kind).toBe("fatal");
    expect(e2.message).toContain("(check the API key in $OPENAI_API_KEY)");
  });

  it("a body that is not JSON, or lacks choices, is malformed", async () => {
    server.reply({ body: "{ not json" });
    expect((await failure(model().process({ prompt: "x" }, ctx()))).kind).toBe("malformed");
    server.reply({ json: { object: "chat.completion", choices: [] } });
    const e = await failure(model().process({ prompt: "x" }, ctx()));
    expect(e.kind).toBe("malformed");
    expect(e.message).toContain("no choices[0].message");
  });

  it("a slow server runs into the read timeout: retryable, close to timeoutMs", async () => {
    server.reply({ json: completion("late"), delayMs: 2000 });
    const t0 = performance.now();
    const e = await failure(model({ timeoutMs: 200 }).process({ prompt: "x" }, ctx()));
    const took = performance.now() - t0;
    expect(e.kind).toBe("retryable");
    expect(e.message).toMatch(/within 200ms \(timeout\)/);
    expect(took).toBeGreaterThanOrEqual(180);
    expect(took).toBeLessThan(1500);
  });

  it("a stream that stalls runs into the read timeout between chunks", async () => {
    server.reply({ hang: true });
    const e = await failure(model({ timeoutMs: 150, stream: true }).process({ prompt: "x" }, ctx()));
    expect(e.kind).toBe("retryable");
  });

  it("a dropped connection is retryable; a closed port is retryable with a hint", async () => {
    server.reply({ drop: true });
    expect((await failure(model().process({ prompt: "x" }, ctx()))).kind).toBe("retryable");
    const e = await failure(model({ baseUrl: "http://127.0.0.1:9/v1" }).process({ prompt: "x" }, ctx()));
    expect(e.kind).toBe("retryable");
    expect(e.message).toMatch(/connection refused by http:\/\/127\.0\.0\.1:9 \(is the server running\?\)/);
  });

  // Aborting a call (and a signal aborted before it): cancellation.test.ts, for every provider.
  it("aborting during a stream ends the iterator with an aborted error", async () => {
    server.reply({ sse: streamOf(["a", "b", "c", "d", "e"]), chunkDelayMs: 50 });
    const ac = new AbortController();
    const seen: string[] = [];
    const e = await failure(
      (async () => {
        for await (const ev of model().stream({ prompt: "x" }, ctx(ac.signal))) {
          if (ev.type === "delta") seen.push(ev.text);
          if (seen.length === 2) ac.abort();
        }
      })(),
    );
    expect(e.kind).toBe("aborted");
    expect(seen).toEqual(["a", "b"]);
  });
});

describe("openai provider: connections", () => {
  it("reuses one keep-alive connection for sequential calls of different models on one origin", async () => {
    const a = model();
    const b = model({ name: "other", model: "gpt-4o" });
    await a.process({ prompt: "x" }, ctx());
    await b.process({ prompt: "y" }, ctx());
    const before = server.connections;
    for (let i = 0; i < 5; i++) {
      await a.process({ prompt: "x" }, ctx());
      await b.process({ prompt: "y" }, ctx());
    }
    expect(server.connections - before).toBe(0);
  });

  it("after a stream is left early (break or abort), later calls reuse a pooled connection", async () => {
    const leave = {
      break: async () => {
        for await (const ev of model().stream({ prompt: "x" }, ctx())) {
          expect(ev).toEqual({ type: "delta", text: "a" });
          break;
        }
      },
      abort: async () => {
        const ac = new AbortController();
        const e = await failure(
          (async () => {
            for await (const ev of model().stream({ prompt: "x" }, ctx(ac.signal))) if (ev.type === "delta") ac.abort();
          })(),
        );
        expect(e.kind).toBe("aborted");
      },
    };
    for (const [how, run] of Object.entries(leave)) {
      server.reply({ sse: streamOf(["a", "b", "c", "d"]), chunkDelayMs: 30 });
      await run();
      // The left stream's socket is closed (its body was not read to the end), so the next
      // call may open a connection; the calls after it must not.
      await model().process({ prompt: "first" }, ctx());
      const before = server.connections;
      for (let i = 0; i < 5; i++) await model().process({ prompt: "again" }, ctx());
      expect(server.connections - before, `after ${how}`).toBe(0);
    }
  });

  it("a finished stream's connection goes back to the pool, for the next call at once when the body ends with [DONE]", async () => {
    await model().process({ prompt: "warm" }, ctx());
    const before = server.connections;
    for (let i = 0; i < 3; i++) {
      server.reply({ sse: streamOf(["a", "b"]) });
      expect((await model({ stream: true }).process({ prompt: "x" }, ctx())).text).toBe("ab");
      await model().process({ prompt: "y" }, ctx());
    }
    expect(server.connections - before).toBe(0);
  });

  it("a finished stream's connection goes back to the pool also when the body ends a moment after [DONE]", async () => {
    await model().process({ prompt: "warm" }, ctx());
    const before = server.connections;
    for (let i = 0; i < 3; i++) {
      server.reply({ sse: streamOf(["a", "b"]), chunkDelayMs: 20 });
      // The call ends at [DONE]; the body's end, 20 ms later, is read in the background.
      expect((await model({ stream: true }).process({ prompt: "x" }, ctx())).text).toBe("ab");
      await new Promise((r) => setTimeout(r, 100));
      await model().process({ prompt: "y" }, ctx());
    }
    expect(server.connections - before).toBe(0);
  });

  it("a server that holds the stream open after [DONE] does not hold the call", async () => {
    server.reply({ sse: streamOf(["a", "b"]), hold: true });
    const out = await model({ stream: true }).process({ prompt: "x" }, ctx());
    expect(out.text).toBe("ab");
    // Its connection was closed, not pooled: the next call opens one and gets its answer.
    expect((await model().process({ prompt: "y" }, ctx())).text).toBe("Hello!");
  });

  it("runs parallel calls on parallel connections", async () => {
    server.defaultReply = () => ({ json: completion("ok"), delayMs: 500 });
    try {
      const t0 = performance.now();
      await Promise.all(Array.from({ length: 8 }, () => model().process({ prompt: "x" }, ctx())));
      expect(performance.now() - t0).toBeLessThan(3000); // one connection would take 4 s
    } finally {
      server.defaultReply = () => ({ json: completion("Hello!") });
    }
  });
});

export type { RecordedRequest };
