import OpenAI, { APIError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeApiServer } from "../helpers/fake-api-server.js";
import { chunkEvent, finishEvent } from "../helpers/openai-replies.js";
import { api, MOCK_CONFIG, serve, type Served } from "./helpers.js";

const chunk = chunkEvent;
const finish = finishEvent({ prompt_tokens: 7, completion_tokens: 3 });

const CHAT_PIPELINE = `version: 1
name: chatty
inputs:
  type: object
  required: [messages]
steps:
  answer:
    model: fake
    input: { prompt: "\${{ $input.messages[-1].content }}" }
output: "\${{ $steps.answer.output.text }}"
`;

describe("the OpenAI-compatible endpoint, with the official openai client", () => {
  let upstream: FakeApiServer;
  let s: Served;
  let client: OpenAI;
  beforeAll(async () => {
    upstream = await FakeApiServer.start(() => ({ sse: [chunk("Hello"), chunk(" world"), finish, "data: [DONE]"] }));
    const config = `${MOCK_CONFIG}  upstream:
    provider: openai
    baseUrl: ${upstream.url}/v1
    model: up-1
    capabilities: [chat]
    fallback: [backup]
  backup:
    provider: mock
    capabilities: [chat]
    options:
      reply: { text: "backup answer" }
server:
  keys: [{ name: sdk, key: sdk-secret-key-123 }]
`;
    s = await serve({ "mcp.yaml": config, "pipelines/chatty.yaml": CHAT_PIPELINE });
    client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: "sdk-secret-key-123", maxRetries: 0, timeout: 20_000 });
  });
  afterAll(async () => {
    await s.close();
    await upstream.close();
  });

  it("answers a plain completion routed through the registry", async () => {
    const r = await client.chat.completions.create({ model: "fake", messages: [{ role: "user", content: "ping" }] });
    expect(r.object).toBe("chat.completion");
    expect(r.model).toBe("fake");
    expect(r.choices[0]!.message.content).toBe("echo: ping");
    expect(r.choices[0]!.finish_reason).toBe("stop");
    expect(r.usage!.total_tokens).toBeGreaterThan(0);
  });

  it("routes a capability name and a pipeline/<name> model", async () => {
    const byCap = await client.chat.completions.create({ model: "text-generation", messages: [{ role: "user", content: "cap" }] });
    expect(byCap.choices[0]!.message.content).toBe("echo: cap");
    const byPipeline = await client.chat.completions.create({ model: "pipeline/chatty", messages: [{ role: "user", content: "via pipeline" }] });
    expect(byPipeline.choices[0]!.message.content).toBe("echo: via pipeline");
    expect(byPipeline.model).toBe("pipeline/chatty");
  });

  it("lists models and pipelines at /v1/models", async () => {
    const ids: string[] = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids).toEqual(expect.arrayContaining(["fake", "upstream", "backup", "pipeline/chatty"]));
  });

  it("streams an upstream answer with usage when include_usage is set", async () => {
    const stream = await client.chat.completions.create({ model: "upstream", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "hi" }] });
    let text = "";
    let usage: OpenAI.CompletionUsage | undefined | null;
    let finishReason: string | null | undefined;
    for await (const c of stream) {
      text += c.choices[0]?.delta?.content ?? "";
      if (c.choices[0]?.finish_reason) finishReason = c.choices[0].finish_reason;
      if (c.usage) usage = c.usage;
    }
    expect(text).toBe("Hello world");
    expect(finishReason).toBe("stop");
    expect(usage).toEqual({ prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 });
    const body = upstream.last.json as { stream: boolean; model: string };
    expect(body.stream).toBe(true);
    expect(body.model).toBe("up-1");
  });

  it("falls back to the next model when the upstream fails before the first token (after its retries), and the client never sees it", async () => {
    upstream.reply({ status: 500, json: { error: { message: "boom" } } }, { sse: [], cut: true }, { status: 503, json: { error: { message: "busy" } } });
    const before = upstream.requests.length;
    const stream = await client.chat.completions.create({ model: "upstream", stream: true, messages: [{ role: "user", content: "hi" }] });
    let text = "";
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? "";
    expect(text).toBe("backup answer");
    // The step's three attempts (with backoff) on the upstream, then the fallback.
    expect(upstream.requests.length - before).toBe(3);
  });

  it("ends a stream cut after the first token with an error event and no [DONE]; the SDK throws; the journal has a failed step", async () => {
    upstream.reply({ sse: [chunk("Hel")], cut: true });
    const stream = await client.chat.completions.create({ model: "upstream", stream: true, messages: [{ role: "user", content: "hi" }] });
    let text = "";
    const consume = async () => {
      for await (const c of stream) text += c.choices[0]?.delta?.content ?? "";
    };
    const err = await consume().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(APIError);
    expect(String((err as APIError).message)).toMatch(/cut after it began/);
    expect(text).toBe("Hel");

    // Raw bytes: an error event, and no [DONE].
    upstream.reply({ sse: [chunk("Hel")], cut: true });
    const raw = await fetch(`${s.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer sdk-secret-key-123" },
      body: JSON.stringify({ model: "upstream", stream: true, messages: [{ role: "user", content: "hi" }] }),
    });
    const textRaw = await raw.text();
    expect(textRaw).toContain("event: error");
    expect(textRaw).toContain('"code":"stream_cut"');
    expect(textRaw).not.toContain("[DONE]");

    const runs = (await api(s.url, "/v1/runs?pipeline=chat.completions", { key: "sdk-secret-key-123" })).json.runs;
    expect(runs.length).toBeGreaterThanOrEqual(2);
    const run = (await api(s.url, `/v1/runs/${runs[0].runId}`, { key: "sdk-secret-key-123" })).json;
    expect(run.status).toBe("failed");
    expect(run.steps.call.status).toBe("failed");
    expect(run.steps.call.error.kind).toBe("stream_cut");
    // Cut after the first token: not retried, no fallback.
    expect(run.steps.call.attempts).toHaveLength(1);
    expect(run.steps.call.attempts[0].model).toBe("upstream");
  });

  it("answers a JSON error with a status when every model fails before answering (stream and plain)", async () => {
    const r = await client.chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "x" }] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(r).toBeInstanceOf(APIError);
    expect((r as APIError).status).toBe(404);
  });

  it("refuses the client without the right key", async () => {
    const bad = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: "wrong-key-0000", maxRetries: 0 });
    const e = await bad.chat.completions.create({ model: "fake", messages: [{ role: "user", content: "x" }] }).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect((e as APIError).status).toBe(401);
  });
});
