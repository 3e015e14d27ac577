import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, MOCK_CONFIG, readSse, serve, type Served } from "./helpers.js";

const REVIEWED = `version: 1
name: reviewed
steps:
  draft:
    model: fake
    input: { prompt: "\${{ $input.text }}" }
  review:
    approval:
      prompt: "Send '\${{ $steps.draft.output.text }}'?"
      schema: { type: object, required: [ok], properties: { ok: { const: true } } }
  send:
    model: fake
    input: { prompt: "sent \${{ $steps.draft.output.text }}" }
output:
  text: "\${{ $steps.send.output.text }}"
`;

async function waitingRun(s: Served): Promise<string> {
  const r = await api(s.url, "/v1/pipelines/reviewed/runs", { body: { input: { text: "hi" }, wait: true } });
  expect(r.status).toBe(200);
  expect(r.json.status).toBe("waiting");
  return r.json.runId as string;
}

describe("approval steps over HTTP and JSON-RPC", () => {
  let s: Served;
  beforeAll(async () => {
    s = await serve({ "mcp.yaml": MOCK_CONFIG, "pipelines/reviewed.yaml": REVIEWED });
  });
  afterAll(() => s.close());

  it("show a waiting run in GET /v1/runs/{id}, and POST .../approve continues it under the same id", async () => {
    const runId = await waitingRun(s);
    const got = await api(s.url, `/v1/runs/${runId}`);
    expect(got.json.status).toBe("waiting");
    expect(got.json.steps.review).toMatchObject({ status: "waiting", approval: { prompt: "Send 'echo: hi'?" } });
    const list = await api(s.url, "/v1/runs");
    expect(list.json.runs.find((r: { runId: string }) => r.runId === runId).status).toBe("waiting");

    const bad = await api(s.url, `/v1/runs/${runId}/steps/review/approve`, { body: { input: { ok: false } } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe("invalid_input");
    expect(bad.json.error.message).toContain("the answer does not match the schema of approval step 'review'");
    const unknown = await api(s.url, `/v1/runs/${runId}/steps/send/approve`, { body: {} });
    expect(unknown.status).toBe(404);

    const ok = await api(s.url, `/v1/runs/${runId}/steps/review/approve`, { body: { input: { ok: true }, wait: true } });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json).toMatchObject({ runId, status: "success", output: { text: "echo: sent echo: hi" } });
    expect(ok.json.steps.review).toMatchObject({ status: "success", output: { ok: true }, approval: { decision: "approved", by: "anonymous" } });

    // The event log goes on after the first attempt's events: one numbering, no gap, no repeat.
    const sse = await readSse(`${s.url}/v1/runs/${runId}/events`);
    const seqs = sse.messages.filter((m) => m.id !== undefined).map((m) => Number(m.id));
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    const types = sse.messages.filter((m) => m.event).map((m) => m.event);
    expect(types.filter((t) => t === "run.started")).toHaveLength(2);
    expect(types).toContain("step.waiting");
    expect(types.at(-1)).toBe("run.finished");
  });

  it("answer runs.reject over JSON-RPC: the run fails with the reason", async () => {
    const runId = await waitingRun(s);
    const r = await api(s.url, "/rpc", { body: { jsonrpc: "2.0", id: 1, method: "runs.reject", params: { runId, stepId: "review", reason: "not today", wait: true } } });
    expect(r.json.result).toMatchObject({ runId, status: "failed", error: { reason: "rejected", message: "step 'review' was rejected by anonymous: not today" } });
    const again = await api(s.url, "/rpc", { body: { jsonrpc: "2.0", id: 2, method: "runs.approve", params: { runId, stepId: "review" } } });
    expect(again.json.error.message).toContain(`run '${runId}' is not waiting for an approval (it is failed)`);
  });
});
