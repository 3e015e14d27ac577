import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, readSse, serve, type Served } from "./helpers.js";

const CONFIG = `version: 1
models:
  talker:
    provider: mock
    capabilities: [text-generation]
    options:
      reply: { text: "one two three four" }
      chunkDelay: 5ms
`;

const TALK = `version: 1
name: talk
steps:
  say:
    model: talker
    input: { prompt: hi }
`;

describe("streamed runs on the server", () => {
  let s: Served;
  beforeAll(async () => {
    s = await serve({ "mcp.yaml": CONFIG, "pipelines/talk.yaml": TALK });
  });
  afterAll(() => s.close());

  it("carry the model's text pieces as step.delta events on the SSE stream, in order, before step.finished", async () => {
    const r = await api(s.url, "/v1/pipelines/talk/runs", { body: { input: {}, stream: true, wait: true } });
    expect(r.status, r.text).toBe(200);
    const sse = await readSse(`${s.url}/v1/runs/${r.json.runId}/events`);
    const events = sse.messages.filter((m) => m.event).map((m) => JSON.parse(m.data) as { type: string; text?: string });
    const types = events.map((e) => e.type);
    expect(events.filter((e) => e.type === "step.delta").map((e) => e.text)).toEqual(["one ", "two ", "three ", "four"]);
    expect(types.lastIndexOf("step.delta")).toBeLessThan(types.indexOf("step.finished"));
    // Without `stream`, no deltas.
    const plain = await api(s.url, "/v1/pipelines/talk/runs", { body: { input: {}, wait: true } });
    const quiet = await readSse(`${s.url}/v1/runs/${plain.json.runId}/events`);
    expect(quiet.messages.some((m) => m.event === "step.delta")).toBe(false);
  });

  it("refuses a stream list naming a step the pipeline does not have (400), instead of streaming nothing", async () => {
    const r = await api(s.url, "/v1/pipelines/talk/runs", { body: { input: {}, stream: ["sya"] } });
    expect(r.status).toBe(400);
    expect(r.json.error).toEqual({ code: "bad_request", message: "stream: no step 'sya' in pipeline 'talk' (did you mean 'say'?) (steps: say)" });
    const ok = await api(s.url, "/v1/pipelines/talk/runs", { body: { input: {}, stream: ["say"], wait: true } });
    expect(ok.status).toBe(200);
  });
});
