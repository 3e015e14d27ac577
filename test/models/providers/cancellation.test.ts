/**
 * Cancelling a call, the same for every network provider (openai, anthropic, http): against
 * a local server that never answers, aborting the call's signal ends it at once with an
 * `aborted` error (not retried) whose cause is the reason, and a signal aborted before the
 * call sends nothing.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { BaseModel } from "../../../src/models/base-model.js";
import { closeConnections } from "../../../src/models/http-client.js";
import { AnthropicModel } from "../../../src/models/providers/anthropic.js";
import { HttpModel } from "../../../src/models/providers/http.js";
import { OpenAIModel } from "../../../src/models/providers/openai.js";
import { FakeApiServer } from "../../helpers/fake-api-server.js";
import { ctx, failure } from "../../helpers/model-calls.js";

let server: FakeApiServer;
beforeAll(async () => {
  server = await FakeApiServer.start(() => ({ hang: true }));
});
afterAll(async () => {
  await server.close();
  await closeConnections();
});
beforeEach(() => {
  server.requests.length = 0;
});

const env = { OPENAI_API_KEY: "sk-test-0123456789abcdef", ANTHROPIC_API_KEY: "sk-ant-api03-test-key-0123456789" };
const backends: [string, () => BaseModel][] = [
  ["openai", () => new OpenAIModel({ name: "gpt", provider: "openai", model: "gpt-4o-mini", baseUrl: `${server.url}/v1`, apiKeyEnv: "OPENAI_API_KEY", capabilities: ["t"] }, { env })],
  [
    "anthropic",
    () => new AnthropicModel({ name: "claude", provider: "anthropic", model: "claude-sonnet-4-5", baseUrl: `${server.url}/v1`, apiKeyEnv: "ANTHROPIC_API_KEY", capabilities: ["t"] }, { env }),
  ],
  ["http", () => new HttpModel({ name: "endpoint", provider: "http", url: `${server.url}/call`, capabilities: ["t"] }, { env })],
];

describe.each(backends)("the %s provider, cancelled", (_name, model) => {
  it("ends the call at once with an aborted error whose cause is the reason", async () => {
    const ac = new AbortController();
    const reason = new Error("run cancelled");
    // Abort once the request has reached the server (a fixed delay may come first under load).
    const arrived = setInterval(() => {
      if (server.requests.length > 0) {
        clearInterval(arrived);
        ac.abort(reason);
      }
    }, 5);
    const t0 = performance.now();
    const e = await failure(model().process({ prompt: "x" }, ctx(ac.signal)));
    clearInterval(arrived);
    expect(performance.now() - t0).toBeLessThan(5000); // the server never answers: only catches a hang
    expect(e.kind).toBe("aborted");
    expect(e.retryable).toBe(false);
    expect(e.cause).toBe(reason);
    expect(server.requests).toHaveLength(1);
  });

  it("sends nothing when the signal was aborted before the call", async () => {
    const ac = new AbortController();
    ac.abort();
    expect((await failure(model().process({ prompt: "x" }, ctx(ac.signal)))).kind).toBe("aborted");
    expect(server.requests).toHaveLength(0);
  });
});
