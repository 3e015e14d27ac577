/**
 * Issue 16, "Done when", as a new user would try it: a model pointed at two local
 * OpenAI-compatible servers, 200 calls through `mcp serve`, one server stopped midway: every
 * call succeeds; the breaker's opening (and, once the server is back, its closing) shows in
 * the run events, in /metrics and at an alert webhook; the spans of a run form a tree in an
 * in-memory exporter (the example of docs/gateway.md).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { context, propagation, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeConnections } from "../../src/models/http-client.js";
import { FakeApiServer } from "../helpers/fake-api-server.js";
import { completion } from "../helpers/openai-replies.js";
import { runCli } from "../helpers/cli.js";
import { api, readSse, serve, type Served } from "../server/helpers.js";

const exporter = new InMemorySpanExporter();
let a: FakeApiServer;
let b: FakeApiServer;
let hook: FakeApiServer;
let s: Served;

beforeAll(async () => {
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  a = await FakeApiServer.start(() => ({ ...completion("from a"), delayMs: 3 }));
  b = await FakeApiServer.start(() => ({ ...completion("from b"), delayMs: 3 }));
  hook = await FakeApiServer.start(() => ({ status: 204 }));
  s = await serve({
    "mcp.yaml": `version: 1
models:
  llm:
    provider: openai
    model: local-model
    capabilities: [text-generation]
    cost: { input: 100000, output: 100000 }
    breaker: { failures: 3, cooldown: 400ms }
    deployments:
      - { name: a, baseUrl: "${a.url}/v1" }
      - { name: b, baseUrl: "${b.url}/v1" }
alerts:
  webhook: "${hook.url}/alerts"
  budgetThreshold: 0.5
`,
    "pipelines/ask.yaml": `version: 1
name: ask
steps:
  answer: { model: llm, input: { prompt: "\${{ $input.q }}" } }
output: \${{ $steps.answer.output.text }}
`,
    "pipelines/pricey.yaml": `version: 1
name: pricey
budget: { maxCost: 2 }
steps:
  answer: { model: llm, input: { prompt: "hello" } }
`,
  });
});

afterAll(async () => {
  await s?.close();
  await Promise.all([a, b, hook].map((x) => x?.close().catch(() => undefined)));
  await closeConnections();
  trace.disable();
  context.disable();
  propagation.disable();
});

const run = (pipeline: string, q = "hi") => api(s.url, `/v1/pipelines/${pipeline}/runs`, { body: { input: { q }, wait: true } });

async function breakerEvents(runIds: string[]): Promise<{ deployment: string; state: string }[]> {
  const out: { deployment: string; state: string }[] = [];
  for (const id of runIds) {
    const r = await readSse(`${s.url}/v1/runs/${id}/events`, { stopAfter: (m) => m.event === "run.finished" || m.data.includes('"run.finished"') });
    for (const m of r.messages) {
      const e = JSON.parse(m.data) as { type?: string; deployment?: string; state?: string };
      if (e.type === "model.breaker") out.push({ deployment: e.deployment!, state: e.state! });
    }
  }
  return out;
}

function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
}

describe("issue 16: a model on two local servers, one stopped midway", () => {
  it("answers all 200 calls; the breaker opens and closes in the run events, /metrics and the alert webhook; the spans form a tree", async () => {
    const ids: string[] = [];
    const statuses: string[] = [];
    for (let batch = 0; batch < 10; batch++) {
      if (batch === 5) await b.close(); // stop one server midway
      const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => run("ask", `q${batch}-${i}`)));
      for (const r of rs) {
        statuses.push(r.status === 200 ? r.json.status : `HTTP ${r.status}`);
        ids.push(r.json.runId);
      }
    }
    expect(statuses.filter((x) => x !== "success")).toEqual([]);
    expect(statuses).toHaveLength(200);

    // Opened: in the run events, the metrics and at the webhook.
    // (While b stays down, each cool-down ends in a probe that fails and opens it again.)
    const seen = await breakerEvents(ids);
    expect(seen.every((e) => e.deployment === "b")).toBe(true);
    expect(seen.map((e) => e.state).join(" ")).toMatch(/^open( half-open open)*$/);
    let metrics = (await api(s.url, "/metrics")).text;
    expect(sample(metrics, "mcp_breaker_transitions_total", { model: "llm", deployment: "b", state: "open" })).toBe(seen.filter((e) => e.state === "open").length);
    // Open, or half-open when its cool-down is over by now (2 and 1), and out of the rotation.
    expect(sample(metrics, "mcp_breaker_state", { model: "llm", deployment: "b" })).toBeGreaterThanOrEqual(1);
    expect(sample(metrics, "mcp_deployment_up", { model: "llm", deployment: "b" })).toBe(0);
    expect(sample(metrics, "mcp_deployment_up", { model: "llm", deployment: "a" })).toBe(1);
    const live = (await api(s.url, "/v1/deployments")).json;
    expect(live.data[0].deployments.map((d: { name: string; state: string }) => `${d.name}:${d.state}`)).toEqual(["a:closed", expect.stringMatching(/^b:(open|half-open)$/)]);
    const until = Date.now() + 5000;
    while (!hook.requests.some((r) => (r.json as { alert?: string })?.alert === "breaker-open") && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(hook.requests.map((r) => r.json)).toContainEqual(expect.objectContaining({ alert: "breaker-open", model: "llm", deployment: "b" }));

    // The server comes back on its port; after the cool-down a probe closes the breaker.
    b = await FakeApiServer.start(() => ({ ...completion("from b"), delayMs: 3 }), Number(new URL(b.url).port));
    await new Promise((r) => setTimeout(r, 450));
    const later: string[] = [];
    for (let i = 0; i < 6; i++) later.push((await run("ask")).json.runId);
    // (half-open may have been entered during a scrape, not a run: then only `closed` is a run event.)
    const back = await breakerEvents(later);
    expect(back.every((e) => e.deployment === "b")).toBe(true);
    expect(back.map((e) => e.state).join(" ")).toMatch(/^(half-open )?closed$/);
    metrics = (await api(s.url, "/metrics")).text;
    expect(sample(metrics, "mcp_breaker_transitions_total", { model: "llm", deployment: "b", state: "closed" })).toBe(1);
    expect(sample(metrics, "mcp_breaker_state", { model: "llm", deployment: "b" })).toBe(0);
    expect(b.requests.length).toBeGreaterThan(0);

    // The spans of one run: run > step > attempt > chat, one trace.
    const spans = exporter.getFinishedSpans().filter(
      (x) =>
        x.attributes["mcp.run.id"] === later[0] ||
        x.spanContext().traceId ===
          exporter
            .getFinishedSpans()
            .find((y) => y.attributes["mcp.run.id"] === later[0])
            ?.spanContext().traceId,
    );
    const names = spans.map((x) => x.name).sort();
    expect(names).toEqual(["attempt llm #1", "chat local-model", "run ask", "step answer"]);
    const byName = Object.fromEntries(spans.map((x) => [x.name, x]));
    expect(byName["step answer"]!.parentSpanContext?.spanId).toBe(byName["run ask"]!.spanContext().spanId);
    expect(byName["attempt llm #1"]!.parentSpanContext?.spanId).toBe(byName["step answer"]!.spanContext().spanId);
    expect(byName["chat local-model"]!.parentSpanContext?.spanId).toBe(byName["attempt llm #1"]!.spanContext().spanId);
  });

  it("sends a budget alert when a run's spend passes the threshold of its budget", async () => {
    const r = await run("pricey");
    expect(r.json.status).toBe("success");
    const until = Date.now() + 5000;
    while (!hook.requests.some((x) => (x.json as { alert?: string })?.alert === "budget") && Date.now() < until) await new Promise((res) => setTimeout(res, 20));
    const alert = hook.requests.map((x) => x.json as Record<string, unknown>).find((x) => x.alert === "budget");
    expect(alert).toMatchObject({ alert: "budget", runId: r.json.runId, pipeline: "pricey", budget: { maxCost: 2 }, threshold: 0.5 });
    expect((alert!.spent as { cost: number }).cost).toBeGreaterThanOrEqual(1);
  });

  it("shows the deployments live with mcp models --watch", async () => {
    const r = await runCli(["models", "--watch", s.url, "--interval", "100ms", "--count", "2"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const blocks = r.stdout.trim().split("\n\n");
    expect(blocks).toHaveLength(2);
    expect(blocks[1]).toMatch(
      /^llm {2}balance least-in-flight {2}breaker 3 failures \/ 0\.4s cool-down \/ 1 probe\n {2}deployment +state +in flight +calls +errors +limit waits +url\n {2}a +closed +0 +\d+ +0 +0 +http:\/\/127\.0\.0\.1:\d+\/v1\n {2}b +closed +0 +\d+ +[1-9]\d* +0 +http/,
    );
  });

  it("says clearly when the server cannot be reached", async () => {
    // A port nothing listens on (fetch refuses some ports, 9 among them, before connecting).
    const probe = createServer();
    await new Promise<void>((res) => probe.listen(0, "127.0.0.1", res));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((res) => probe.close(res));
    const r = await runCli(["models", "--watch", `http://127.0.0.1:${port}`, "--count", "1"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`mcp models --watch: cannot read http://127.0.0.1:${port}/v1/deployments: connection refused (is 'mcp serve' listening there?)\n`);
  });
});
