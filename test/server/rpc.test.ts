import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, MOCK_CONFIG, serve, SLOW, THREE_STEPS, type Served } from "./helpers.js";

const rpc = (s: Served, body: unknown) => api(s.url, "/rpc", { body: typeof body === "string" ? body : JSON.stringify(body) });
const call = async (s: Served, method: string, params?: unknown) => (await rpc(s, { jsonrpc: "2.0", id: 1, method, ...(params !== undefined ? { params } : {}) })).json;

describe("JSON-RPC 2.0 on POST /rpc", () => {
  let s: Served;
  beforeAll(async () => {
    s = await serve({ "mcp.yaml": MOCK_CONFIG, "pipelines/three.yaml": THREE_STEPS, "pipelines/slow.yaml": SLOW });
  });
  afterAll(() => s.close());

  it("serves every method of the table", async () => {
    expect((await call(s, "pipelines.list")).result.pipelines.map((p: { name: string }) => p.name).sort()).toEqual(["slow", "three"]);
    const run = (await call(s, "pipelines.run", { pipeline: "three", input: { text: "r" }, wait: true })).result;
    expect(run.status).toBe("success");
    expect(run.output).toEqual({ text: "echo: echo: echo: r" });
    expect((await call(s, "runs.get", { runId: run.runId })).result.runId).toBe(run.runId);
    expect((await call(s, "runs.list", { limit: 5 })).result.runs[0].runId).toBe(run.runId);
    const ev = (await call(s, "runs.events", { runId: run.runId, after: 1 })).result;
    expect(ev.events[0].seq).toBe(2);
    expect(ev.events.at(-1).event.type).toBe("run.finished");
    const started = (await call(s, "pipelines.run", { pipeline: "slow" })).result;
    expect(started.status).toBe("running");
    expect((await call(s, "runs.cancel", { runId: started.runId })).result.status).toBe("cancelled");
    expect((await call(s, "tasks.execute", { capabilities: ["text-generation"], input: { prompt: "t" } })).result.output.text).toBe("echo: t");
    expect((await call(s, "chat.complete", { model: "fake", messages: [{ role: "user", content: "c" }] })).result.text).toBe("echo: c");
    expect((await call(s, "models.list")).result.models.map((m: { name: string }) => m.name)).toEqual(["fake", "slow"]);
    expect((await call(s, "conversations.get", { conversationId: "k" })).result).toEqual({ conversationId: "k", history: [] });
    expect((await call(s, "conversations.clear", { conversationId: "k" })).result.cleared).toBe(true);
  });

  it("answers a batch in one array, without entries for notifications", async () => {
    const r = await rpc(s, [
      { jsonrpc: "2.0", id: "a", method: "models.list" },
      { jsonrpc: "2.0", method: "models.list" },
      { jsonrpc: "2.0", id: 7, method: "nope" },
    ]);
    expect(r.status).toBe(200);
    expect(r.json.map((x: { id: unknown }) => x.id)).toEqual(["a", 7]);
    expect(r.json[1].error.code).toBe(-32601);
  });

  it("sends nothing (204) for notifications only", async () => {
    const r = await rpc(s, [{ jsonrpc: "2.0", method: "models.list" }]);
    expect(r.status).toBe(204);
    expect((await rpc(s, { jsonrpc: "2.0", method: "models.list" })).status).toBe(204);
  });

  it("uses the standard error codes", async () => {
    expect((await rpc(s, "{oops")).json.error.code).toBe(-32700);
    expect((await rpc(s, "{oops")).json.id).toBe(null);
    expect((await rpc(s, [])).json.error.code).toBe(-32600);
    expect((await rpc(s, { id: 1, method: "models.list" })).json.error.code).toBe(-32600);
    expect((await rpc(s, { jsonrpc: "2.0", id: 1, method: 5 })).json.error.code).toBe(-32600);
    expect((await rpc(s, [1])).json[0].error.code).toBe(-32600);
    expect((await call(s, "no.such")).error.code).toBe(-32601);
    expect((await call(s, "runs.get", {})).error.code).toBe(-32602);
    expect((await call(s, "runs.get", ["positional"])).error.code).toBe(-32602);
    expect((await call(s, "pipelines.run", { pipeline: "three", input: { nope: 1 }, wait: true })).error).toMatchObject({ code: -32602, data: { code: "invalid_input" } });
  });

  it("uses its own codes for the protocol's errors, with the stable code in data", async () => {
    const e = (await call(s, "runs.get", { runId: "run_missing" })).error;
    expect(e.code).toBe(-32002);
    expect(e.data.code).toBe("not_found");
  });
});
