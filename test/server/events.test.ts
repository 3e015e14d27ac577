import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, MOCK_CONFIG, readSse, serve, SLOW, THREE_STEPS, waitForRun, type Served } from "./helpers.js";

describe("run events over Server-Sent Events", () => {
  let s: Served;
  beforeAll(async () => {
    s = await serve({ "mcp.yaml": MOCK_CONFIG, "pipelines/three.yaml": THREE_STEPS, "pipelines/slow.yaml": SLOW });
  });
  afterAll(() => s.close());

  it("streams a run's events with id = sequence number, then closes after run.finished", async () => {
    const { runId } = (await api(s.url, "/v1/pipelines/slow/runs", { body: {} })).json;
    const r = await readSse(`${s.url}/v1/runs/${runId}/events`);
    expect(r.status).toBe(200);
    expect(r.contentType).toMatch(/^text\/event-stream/);
    expect(r.ended).toBe(true);
    const events = r.messages.filter((m) => m.id !== undefined);
    expect(events.map((m) => Number(m.id))).toEqual(events.map((_, i) => i + 1));
    expect(events[0]!.event).toBe("run.started");
    expect(events.at(-1)!.event).toBe("run.finished");
    for (const m of events) expect(JSON.parse(m.data).type).toBe(m.event);
    expect(events.filter((m) => m.event === "step.finished").map((m) => JSON.parse(m.data).stepId)).toEqual(["first", "second", "third"]);
  });

  it("a client that reconnects with Last-Event-ID gets exactly the events it missed, and the run outlived the first connection", async () => {
    const { runId } = (await api(s.url, "/v1/pipelines/slow/runs", { body: {} })).json;
    // First connection: go away after the first step finished.
    const first = await readSse(`${s.url}/v1/runs/${runId}/events`, { stopAfter: (m) => m.event === "step.finished" });
    expect(first.ended).toBe(false);
    const seen = first.messages.filter((m) => m.id !== undefined);
    const last = seen.at(-1)!;
    expect(last.event).toBe("step.finished");
    // The run keeps going without a client.
    const summary = await waitForRun(s.url, runId);
    expect(summary.status).toBe("success");
    // Reconnect: the rest, and nothing already seen.
    const second = await readSse(`${s.url}/v1/runs/${runId}/events`, { headers: { "last-event-id": last.id! } });
    const rest = second.messages.filter((m) => m.id !== undefined);
    expect(Number(rest[0]!.id)).toBe(Number(last.id) + 1);
    expect(rest.at(-1)!.event).toBe("run.finished");
    // Together they are the whole journal, once each.
    const all = await readSse(`${s.url}/v1/runs/${runId}/events`);
    expect([...seen, ...rest].map((m) => m.id)).toEqual(all.messages.filter((m) => m.id !== undefined).map((m) => m.id));
  });

  it("reconnecting while the run is still going gets the missed events, then the live ones", async () => {
    const { runId } = (await api(s.url, "/v1/pipelines/slow/runs", { body: {} })).json;
    const first = await readSse(`${s.url}/v1/runs/${runId}/events`, { stopAfter: (m) => m.event === "step.started" });
    const lastId = first.messages.filter((m) => m.id !== undefined).at(-1)!.id!;
    const second = await readSse(`${s.url}/v1/runs/${runId}/events`, { headers: { "last-event-id": lastId } });
    const ids = second.messages.filter((m) => m.id !== undefined).map((m) => Number(m.id));
    expect(ids[0]).toBe(Number(lastId) + 1);
    expect(ids).toEqual(ids.map((_, i) => Number(lastId) + 1 + i));
    expect(second.messages.at(-1)!.event).toBe("run.finished");
    expect(second.ended).toBe(true);
  });

  it("a finished run's stream replays from the journal (after=N works too) and closes", async () => {
    const done = (await api(s.url, "/v1/pipelines/three/runs", { body: { input: { text: "q" }, wait: true } })).json;
    const r = await readSse(`${s.url}/v1/runs/${done.runId}/events?after=2`);
    const ids = r.messages.filter((m) => m.id !== undefined).map((m) => Number(m.id));
    expect(ids[0]).toBe(3);
    expect(r.messages.at(-1)!.event).toBe("run.finished");
    expect(JSON.parse(r.messages.at(-1)!.data).output).toEqual({ text: "echo: echo: echo: q" });
  });

  it("events are journalled in the store with their sequence numbers", async () => {
    const done = (await api(s.url, "/v1/pipelines/three/runs", { body: { input: { text: "j" }, wait: true } })).json;
    const stored = await s.server.runtime.store.listEvents(done.runId);
    expect(stored.map((e) => e.seq)).toEqual(stored.map((_, i) => i + 1));
    expect(stored.at(-1)!.event.type).toBe("run.finished");
  });

  it("rejects a malformed Last-Event-ID with 400", async () => {
    const done = (await api(s.url, "/v1/pipelines/three/runs", { body: { input: { text: "m" }, wait: true } })).json;
    const r = await api(s.url, `/v1/runs/${done.runId}/events`, { headers: { "last-event-id": "abc" } });
    expect(r.status).toBe(400);
  });
});
