/**
 * A streamed answer is whole at its end-of-answer event (OpenAI's `data: [DONE]`, Anthropic's
 * `message_stop`): the call resolves then, with the full text and the usage sent before it,
 * even when the server keeps the response open for seconds after it; that connection is
 * closed a moment later instead of being kept forever.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeConnections } from "../../../src/models/http-client.js";
import { AnthropicModel } from "../../../src/models/providers/anthropic.js";
import { OpenAIModel } from "../../../src/models/providers/openai.js";
import type { ModelStreamEvent } from "../../../src/models/streaming.js";
import { sseEvent } from "../../helpers/fake-api-server.js";
import { ctx } from "../../helpers/model-calls.js";

/** How long the server keeps each response open after the answer's last event. */
const HOLD_MS = 5_000;

const openaiChunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
  id: "chatcmpl-1",
  object: "chat.completion.chunk",
  created: 1694268190,
  model: "gpt-4o-mini",
  choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
});

/** OpenAI's stream with include_usage: deltas, the finish chunk, the usage chunk, [DONE]. */
const OPENAI_EVENTS = [
  sseEvent(openaiChunk({ role: "assistant", content: "" })),
  sseEvent(openaiChunk({ content: "Hel" })),
  sseEvent(openaiChunk({ content: "lo" })),
  sseEvent(openaiChunk({}, "stop")),
  sseEvent({ id: "chatcmpl-1", object: "chat.completion.chunk", created: 1694268190, model: "gpt-4o-mini", choices: [], usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 } }),
  "data: [DONE]",
];

/** Anthropic's stream: usage in message_start and message_delta, then message_stop. */
const ANTHROPIC_EVENTS = [
  sseEvent(
    { type: "message_start", message: { id: "msg_1", type: "message", role: "assistant", content: [], model: "claude-sonnet-4-5", stop_reason: null, usage: { input_tokens: 25, output_tokens: 1 } } },
    "message_start",
  ),
  sseEvent({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }, "content_block_start"),
  sseEvent({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Hel" } }, "content_block_delta"),
  sseEvent({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "lo" } }, "content_block_delta"),
  sseEvent({ type: "content_block_stop", index: 0 }, "content_block_stop"),
  sseEvent({ type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 2 } }, "message_delta"),
  sseEvent({ type: "message_stop" }, "message_stop"),
];

/** Each response, in order: when the server saw its connection close (ms after its last event). */
const responses: { closedAfterMs?: number }[] = [];
let server: Server;
let baseUrl: string;

beforeAll(async () => {
  // Sends the whole stream at once, then holds the response open for HOLD_MS before ending it.
  server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const events = req.url?.endsWith("/messages") ? ANTHROPIC_EVENTS : OPENAI_EVENTS;
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      res.write(events.map((e) => `${e}\n\n`).join(""));
      const sentAt = performance.now();
      const response: { closedAfterMs?: number } = {};
      responses.push(response);
      res.socket?.once("close", () => (response.closedAfterMs = performance.now() - sentAt));
      const end = setTimeout(() => res.end(), HOLD_MS);
      res.on("close", () => clearTimeout(end));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await closeConnections();
});

const models = {
  openai: () => new OpenAIModel({ name: "m", provider: "openai", model: "gpt-4o-mini", baseUrl, stream: true, capabilities: ["text-generation"] }, { env: {} }),
  anthropic: () => new AnthropicModel({ name: "m", provider: "anthropic", model: "claude-sonnet-4-5", baseUrl, stream: true, capabilities: ["text-generation"] }, { env: {} }),
};
const usage = { openai: { inputTokens: 9, outputTokens: 2 }, anthropic: { inputTokens: 25, outputTokens: 2 } };

describe.each(["openai", "anthropic"] as const)("%s stream held open after its end-of-answer event", (provider) => {
  it("process() resolves at the end-of-answer event with the whole text and the usage sent before it", async () => {
    const first = responses.length;
    const t0 = performance.now();
    const out = await models[provider]().process({ prompt: "hi" }, ctx());
    const took = performance.now() - t0;
    expect(out).toEqual({ text: "Hello", usage: usage[provider], finishReason: "stop" });
    // Waiting for the body's end would take HOLD_MS; the bound only catches that.
    expect(took).toBeLessThan(900);
    // The held connection is not leaked: the client closes it well before the server would end it.
    expect(responses.length).toBe(first + 1);
    await expect.poll(() => responses[first]!.closedAfterMs, { timeout: HOLD_MS - 1_000, interval: 50 }).toBeLessThan(HOLD_MS - 1_000);
  });

  it("stream() yields the deltas and the done event at the end-of-answer event", async () => {
    const t0 = performance.now();
    const events: ModelStreamEvent[] = [];
    for await (const ev of models[provider]().stream({ prompt: "hi" }, ctx())) events.push(ev);
    expect(performance.now() - t0).toBeLessThan(900);
    expect(events.filter((e) => e.type === "delta").map((e) => e.text)).toEqual(["Hel", "lo"]);
    expect(events.at(-1)).toMatchObject({ type: "done", output: { text: "Hello", usage: usage[provider] } });
  });
});
