import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, MOCK_CONFIG, serve, SLOW, THREE_STEPS, type Served } from "./helpers.js";

describe("mcp serve routes over real HTTP", () => {
  let s: Served;
  beforeAll(async () => {
    s = await serve({
      "mcp.yaml": MOCK_CONFIG,
      "pipelines/three.yaml": THREE_STEPS,
      "pipelines/slow.yaml": SLOW,
      "pipelines/broken.yaml": "version: 1\nname: broken\nsteps:\n  a:\n    model: nope\n    input: {}\n",
    });
  });
  afterAll(() => s.close());

  it("answers /healthz and /readyz", async () => {
    expect((await api(s.url, "/healthz")).json).toEqual({ status: "ok" });
    const ready = await api(s.url, "/readyz");
    expect(ready.status).toBe(200);
    expect(ready.json.status).toBe("ready");
  });

  it("lists the live set with versions and diagnostics", async () => {
    const r = await api(s.url, "/v1/pipelines");
    expect(r.status).toBe(200);
    const byName = Object.fromEntries(r.json.pipelines.map((p: { name: string }) => [p.name, p]));
    expect(byName.three.status).toBe("valid");
    expect(byName.three.version).toMatch(/^[0-9a-f]{64}$/);
    expect(byName.three.steps).toEqual(["a", "b", "c"]);
    expect(byName.broken.status).toBe("invalid");
    expect(byName.broken.diagnostics[0].code).toBe("MCP401");
    expect(byName.broken.diagnostics[0].text).toMatch(/broken\.yaml:\d+:\d+: error MCP401/);
  });

  it("runs a pipeline with wait: true and answers with the result", async () => {
    const r = await api(s.url, "/v1/pipelines/three/runs", { body: { input: { text: "hi" }, wait: true } });
    expect(r.status).toBe(200);
    expect(r.json.status).toBe("success");
    expect(r.json.output).toEqual({ text: "echo: echo: echo: hi" });
    expect(Object.keys(r.json.steps)).toEqual(["a", "b", "c"]);
  });

  it("starts a run without wait: 202 with the run id, then GET shows it and /v1/runs lists it", async () => {
    const r = await api(s.url, "/v1/pipelines/three/runs", { body: { input: { text: "x" } } });
    expect(r.status).toBe(202);
    expect(r.json.runId).toMatch(/^run_/);
    expect(r.headers.get("location")).toBe(`/v1/runs/${r.json.runId}`);
    let got;
    for (let i = 0; i < 200; i++) {
      got = await api(s.url, `/v1/runs/${r.json.runId}`);
      if (got.json.status !== "running") break;
      await new Promise((res) => setTimeout(res, 20));
    }
    expect(got!.json.status).toBe("success");
    expect(got!.json.output).toEqual({ text: "echo: echo: echo: x" });
    const list = await api(s.url, "/v1/runs?limit=50");
    expect(list.json.runs.map((x: { runId: string }) => x.runId)).toContain(r.json.runId);
  });

  it("cancels a run in flight with DELETE, and answers 409 for a finished one", async () => {
    const r = await api(s.url, "/v1/pipelines/slow/runs", { body: {} });
    const del = await api(s.url, `/v1/runs/${r.json.runId}`, { method: "DELETE" });
    expect(del.status).toBe(200);
    expect(del.json.status).toBe("cancelled");
    const again = await api(s.url, `/v1/runs/${r.json.runId}`, { method: "DELETE" });
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe("conflict");
  });

  it("answers 400 for an input that does not match the pipeline's inputs, with the diagnostic", async () => {
    const r = await api(s.url, "/v1/pipelines/three/runs", { body: { input: { txt: 1 }, wait: true } });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe("invalid_input");
    expect(r.json.error.message).toContain("MCP501");
  });

  it("answers 400 for a body that does not match the route schema, and for bad JSON", async () => {
    const extra = await api(s.url, "/v1/pipelines/three/runs", { body: { input: {}, surprise: 1 } });
    expect(extra.status).toBe(400);
    expect(extra.json.error.code).toBe("bad_request");
    const bad = await api(s.url, "/v1/pipelines/three/runs", { body: "{not json" });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe("bad_request");
    expect(bad.text).not.toMatch(/at .*\.js:\d+/);
  });

  it("names the key a run body may not have, and asks for JSON when the body is a form", async () => {
    // The input given bare instead of under "input".
    const bare = await api(s.url, "/v1/pipelines/three/runs", { body: { text: "hi" } });
    expect(bare.status).toBe(400);
    expect(bare.json.error).toEqual({ code: "bad_request", message: "body must NOT have additional properties 'text'" });
    const form = await api(s.url, "/v1/pipelines/three/runs", { body: "text=hi", headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(form.status).toBe(400);
    expect(form.json.error).toEqual({ code: "bad_request", message: "the body must be JSON: send it with 'content-type: application/json'" });
    // JSON sent as text/plain (curl -H 'content-type: text/plain', fetch with a string body): the same answer, on /rpc too.
    for (const path of ["/v1/pipelines/three/runs", "/rpc"]) {
      const text = await api(s.url, path, { body: '{"input": {"text": "hi"}}', headers: { "content-type": "text/plain" } });
      expect(text.status, path).toBe(400);
      expect(text.json.error, path).toEqual({ code: "bad_request", message: "the body must be JSON: send it with 'content-type: application/json'" });
    }
  });

  it("parses a JSON body without its __proto__ key, as /rpc does, instead of calling it not JSON", async () => {
    const r = await api(s.url, "/v1/pipelines/three/runs", { body: '{"input": {"text": "hi"}, "wait": true, "__proto__": {"polluted": 1}}' });
    expect(r.status).toBe(200);
    expect(r.json.output).toEqual({ text: "echo: echo: echo: hi" });
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it("answers 404 for unknown pipelines, path-traversal names, unknown runs and routes", async () => {
    for (const name of ["nope", "..%2F..%2Fetc%2Fpasswd", "..%2Fmcp", "%2Fetc%2Fpasswd", "three.yaml"]) {
      const r = await api(s.url, `/v1/pipelines/${name}/runs`, { body: { input: {} } });
      expect(r.status, name).toBe(404);
      expect(r.json.error.code).toBe("not_found");
      expect(r.text).not.toContain("root:");
    }
    expect((await api(s.url, "/v1/runs/run_nope")).status).toBe(404);
    expect((await api(s.url, "/v1/runs/run_nope/events")).status).toBe(404);
    const route = await api(s.url, "/v1/../../etc/passwd");
    expect(route.status).toBe(404);
    expect(route.text).not.toContain("root:");
  });

  it("answers 409 for a pipeline whose every version is invalid", async () => {
    const r = await api(s.url, "/v1/pipelines/broken/runs", { body: { input: {} } });
    expect(r.status).toBe(409);
    expect(r.json.error.code).toBe("pipeline_invalid");
  });

  it("executes an ad-hoc task by capabilities", async () => {
    const r = await api(s.url, "/v1/tasks", { body: { capabilities: ["text-generation"], input: { prompt: "task" } } });
    expect(r.status).toBe(200);
    expect(r.json.model).toBe("fake");
    expect(r.json.output.text).toBe("echo: task");
    const none = await api(s.url, "/v1/tasks", { body: { capabilities: ["flying"], input: { prompt: "x" } } });
    expect(none.status).toBe(404);
  });

  it("reads and clears a conversation", async () => {
    const r = await api(s.url, "/v1/conversations/c1");
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ conversationId: "c1", history: [] });
    expect((await api(s.url, "/v1/conversations/c1", { method: "DELETE" })).json).toEqual({ conversationId: "c1", cleared: true });
  });
});
