import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeApiServer } from "../helpers/fake-api-server.js";
import { chunkEvent, finishEvent } from "../helpers/openai-replies.js";
import { api, serve, type Served } from "./helpers.js";

const KEY = "stream-path-key-123";
const chunk = chunkEvent;
const finish = finishEvent({ prompt_tokens: 4, completion_tokens: 2 });

async function collect(stream: AsyncIterable<OpenAI.ChatCompletionChunk>): Promise<string> {
  let text = "";
  for await (const c of stream) text += c.choices[0]?.delta?.content ?? "";
  return text;
}

describe("a streamed chat completion goes down the same path as a whole one", () => {
  let upstream: FakeApiServer;
  const arrivals: number[] = [];
  let s: Served;
  let client: OpenAI;
  beforeAll(async () => {
    upstream = await FakeApiServer.start(() => {
      arrivals.push(Date.now());
      return { sse: [chunk("Hello"), chunk(" there"), finish, "data: [DONE]"], chunkDelayMs: 100 };
    });
    const config = `version: 1
models:
  cached:
    provider: openai
    baseUrl: ${upstream.url}/v1
    model: up-1
    capabilities: [chat]
    cache: true
  single:
    provider: openai
    baseUrl: ${upstream.url}/v1
    model: up-1
    capabilities: [chat]
    concurrency: 1
server:
  keys: [{ name: sdk, key: ${KEY} }]
`;
    s = await serve({ "mcp.yaml": config, "pipelines/.keep.yaml": "" });
    client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: KEY, maxRetries: 0, timeout: 30_000 });
  });
  afterAll(async () => {
    await s?.close();
    await upstream?.close();
  });

  it("fills the cache from a stream, and replays a repeat from the cache as a stream without calling the model", async () => {
    const before = upstream.requests.length;
    const messages = [{ role: "user" as const, content: "cache me" }];
    expect(await collect(await client.chat.completions.create({ model: "cached", stream: true, messages }))).toBe("Hello there");
    expect(upstream.requests.length - before).toBe(1);
    const again = await client.chat.completions.create({ model: "cached", stream: true, stream_options: { include_usage: true }, messages });
    let text = "";
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const c of again) {
      text += c.choices[0]?.delta?.content ?? "";
      if (c.usage) usage = c.usage;
    }
    expect(text).toBe("Hello there");
    expect(usage).toEqual({ prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 });
    expect(upstream.requests.length - before).toBe(1);
    // A whole (not streamed) request for the same messages is the same cache entry.
    const whole = await client.chat.completions.create({ model: "cached", messages });
    expect(whole.choices[0]!.message.content).toBe("Hello there");
    expect(upstream.requests.length - before).toBe(1);
    const metrics = (await api(s.url, "/metrics", { key: KEY })).text;
    expect(metrics).toMatch(/mcp_cache_lookups_total\{model="cached",result="hit"\} [2-9]/);
  });

  it("retries a stream that failed before its first token, waiting at least the provider's Retry-After", async () => {
    upstream.reply({ status: 429, headers: { "retry-after": "1" }, json: { error: { message: "slow down" } } });
    const before = upstream.requests.length;
    const t0 = arrivals.length;
    const started = Date.now();
    const text = await collect(await client.chat.completions.create({ model: "single", stream: true, messages: [{ role: "user", content: "retry me" }] }));
    expect(text).toBe("Hello there");
    expect(upstream.requests.length - before).toBe(2);
    // The 429 reply is queued, so only the second request went through the default reply.
    expect(arrivals.length - t0).toBe(1);
    expect(arrivals.at(-1)! - started).toBeGreaterThanOrEqual(950);
    const metrics = (await api(s.url, "/metrics", { key: KEY })).text;
    expect(metrics).toMatch(/mcp_retries_total\{model="single"\} 1/);
  });

  it("holds the model's concurrency limit across concurrent streams", async () => {
    const t0 = arrivals.length;
    const ask = (n: number) => client.chat.completions.create({ model: "single", stream: true, messages: [{ role: "user", content: `limit ${n}` }] }).then(collect);
    const texts = await Promise.all([ask(1), ask(2), ask(3)]);
    expect(texts).toEqual(["Hello there", "Hello there", "Hello there"]);
    const at = arrivals.slice(t0).sort((a, b) => a - b);
    expect(at).toHaveLength(3);
    // Each stream takes >= 300 ms (3 chunks, 100 ms apart); with concurrency 1 the next call
    // reaches the model only after the previous stream ended.
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(250);
    expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(250);
  });
});
