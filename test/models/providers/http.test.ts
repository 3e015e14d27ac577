/**
 * The http provider against a local JSON endpoint: request/headers/response templates,
 * methods, the API key header, and the error kinds.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { closeConnections } from "../../../src/models/http-client.js";
import { HttpModel } from "../../../src/models/providers/http.js";
import { createModel } from "../../../src/models/providers/index.js";
import type { ModelConfig } from "../../../src/models/types.js";
import { FakeApiServer } from "../../helpers/fake-api-server.js";
import { ctx, failure } from "../../helpers/model-calls.js";

const KEY = "hf_test_key_abcdefghijklmnop";
const env = { HF_TOKEN: KEY };

let server: FakeApiServer;
beforeAll(async () => {
  // A text-classification endpoint in the shape Hugging Face Inference serves.
  server = await FakeApiServer.start(() => ({ json: [{ label: "POSITIVE", score: 0.9987 }] }));
});
afterAll(async () => {
  await server.close();
  await closeConnections();
});
beforeEach(() => {
  server.requests.length = 0;
});

function model(extra: Partial<ModelConfig> = {}): HttpModel {
  return new HttpModel({ name: "classifier", provider: "http", url: `${server.url}/models/sentiment`, capabilities: ["sentiment-analysis"], ...extra }, { env });
}

describe("http provider", () => {
  it("by default POSTs the input as JSON and returns the parsed body", async () => {
    const out = await model().process({ text: "I love it" }, ctx());
    expect(out).toEqual([{ label: "POSITIVE", score: 0.9987 }]);
    expect(server.last).toMatchObject({ method: "POST", path: "/models/sentiment", json: { text: "I love it" } });
    expect(server.last.headers["content-type"]).toBe("application/json");
    expect(server.last.headers.accept).toBe("application/json");
    expect(server.last.headers.authorization).toBeUndefined();
  });

  it("maps the input with the request template, headers with theirs, and the response with $response", async () => {
    const m = model({
      request: { inputs: "${{ $request.text }}", parameters: { top_k: 1 } },
      headers: { "X-Request-Lang": "${{ $request.lang }}", "X-Static": "yes" },
      response: { label: "${{ $lowercase($response[0].label) }}", score: "${{ $response[0].score }}", input: "${{ $request.text }}" },
      apiKeyEnv: "HF_TOKEN",
    });
    const out = await m.process({ text: "great", lang: "en" }, ctx());
    expect(out).toEqual({ label: "positive", score: 0.9987, input: "great" });
    expect(server.last.json).toEqual({ inputs: "great", parameters: { top_k: 1 } });
    expect(server.last.headers["x-request-lang"]).toBe("en");
    expect(server.last.headers["x-static"]).toBe("yes");
    expect(server.last.headers.authorization).toBe(`Bearer ${KEY}`);
  });

  it("uses templates compiled at load time (config.templates) when present", async () => {
    const { compileTemplateValue } = await import("../../../src/expr/template.js");
    const m = model({ templates: { request: compileTemplateValue({ q: "${{ $request.prompt }}" }) } });
    await m.process({ prompt: "hi" }, ctx());
    expect(server.last.json).toEqual({ q: "hi" });
  });

  it("sends the key in another header when options say so", async () => {
    await model({ apiKeyEnv: "HF_TOKEN", options: { apiKeyHeader: "X-Api-Key" } }).process({}, ctx());
    expect(server.last.headers["x-api-key"]).toBe(KEY);
    expect(server.last.headers.authorization).toBeUndefined();
    await model({ apiKeyEnv: "HF_TOKEN", options: { apiKeyPrefix: "Token " } }).process({}, ctx());
    expect(server.last.headers.authorization).toBe(`Token ${KEY}`);
  });

  it("GET sends the request object as query parameters and no body", async () => {
    await model({ method: "GET", url: `${server.url}/lookup?v=1`, request: { q: "${{ $request.text }}", tags: ["a", "b"] } }).process({ text: "x y" }, ctx());
    expect(server.last.method).toBe("GET");
    expect(server.last.path).toBe("/lookup?v=1&q=x+y&tags=a&tags=b");
    expect(server.last.body).toBe("");
  });

  it("PUT is supported; other methods and a missing url are TypeErrors", async () => {
    await model({ method: "PUT" }).process({ a: 1 }, ctx());
    expect(server.last.method).toBe("PUT");
    expect(() => model({ method: "DELETE" })).toThrow(TypeError);
    expect(() => new HttpModel({ name: "x", provider: "http", capabilities: [] }, { env })).toThrow(/needs `url`/);
  });

  it("is created through the provider table", async () => {
    expect(await createModel({ name: "h", provider: "http", url: server.url, capabilities: [] }, { env })).toBeInstanceOf(HttpModel);
  });

  // Aborts: cancellation.test.ts, for every provider.
  it("maps 429, 5xx, 4xx, bad JSON and timeouts to error kinds", async () => {
    server.reply({ status: 429, headers: { "retry-after": "1" }, json: { error: "Rate limit reached" } });
    let e = await failure(model().process({}, ctx()));
    expect([e.kind, e.retryAfterMs, e.message]).toEqual(["rate_limited", 1000, "http model 'classifier': HTTP 429 Too Many Requests: Rate limit reached (retry after 1s)"]);
    server.reply({ status: 503, json: { error: "Model is currently loading", estimated_time: 20 } });
    e = await failure(model().process({}, ctx()));
    expect(e.kind).toBe("retryable");
    expect(e.message).toContain("Model is currently loading");
    server.reply({ status: 422, json: { detail: [{ loc: ["body", "inputs"], msg: "field required", type: "value_error.missing" }] } });
    e = await failure(model().process({}, ctx()));
    expect(e.kind).toBe("fatal");
    expect(e.message).toContain("HTTP 422 Unprocessable Entity: field required");
    server.reply({ body: "oops" });
    expect((await failure(model().process({}, ctx()))).kind).toBe("malformed");
    server.reply({ hang: true });
    expect((await failure(model({ timeoutMs: 100 }).process({}, ctx()))).kind).toBe("retryable");
  });
});
