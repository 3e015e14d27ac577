/**
 * OpenTelemetry spans of a run, through an in-memory exporter (the documented example of
 * docs/gateway.md): names, parents and GenAI attributes; the traceparent reaching the HTTP
 * provider; no key and no prompt in any span unless content capture is on.
 */
import { context, propagation, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { closeConnections } from "../../src/models/http-client.js";
import { TaskOrchestrator } from "../../src/orchestrator/orchestrator.js";
import { FakeApiServer } from "../helpers/fake-api-server.js";
import { compileYaml } from "../helpers/pipelines.js";
import { completion } from "../helpers/openai-replies.js";

const KEY = "sk-live-SECRET-0123456789";
const PROMPT = "my very private question 42";
const exporter = new InMemorySpanExporter();
let server: FakeApiServer;

beforeAll(async () => {
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  server = await FakeApiServer.start(() => completion("the answer"));
});

afterEach(() => exporter.reset());

afterAll(async () => {
  await server.close();
  await closeConnections();
  trace.disable();
  context.disable();
  propagation.disable();
});

function pipeline() {
  return compileYaml(`
models:
  llm:
    provider: openai
    model: gpt-local
    baseUrl: "${server.url}/v1"
    apiKeyEnv: TEST_KEY
    capabilities: [text-generation]
steps:
  ask: { model: llm, input: { prompt: "\${{ $input.q }}", temperature: 0.2 }, retry: { attempts: 2, initialDelay: 1ms } }
`);
}

const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

describe("spans of a run", () => {
  it("form a tree run > step > attempt > chat with the GenAI names and attributes, and the traceparent reaches the server", async () => {
    server.reply({ status: 500, json: { error: { message: "boom" } } });
    const orch = new TaskOrchestrator(undefined, { env: { TEST_KEY: KEY } });
    const report = await orch.runPipeline(pipeline(), { q: PROMPT });
    expect(report.status).toBe("success");
    const spans = exporter.getFinishedSpans();
    const byName = (n: string) => spans.filter((s) => s.name === n);
    const [run] = byName("run test");
    const [step] = byName("step ask");
    const attempts = spans.filter((s) => s.name.startsWith("attempt "));
    const chats = byName("chat gpt-local");
    expect(run).toBeDefined();
    expect(parentOf(run!)).toBeUndefined();
    expect(parentOf(step!)).toBe(run!.spanContext().spanId);
    expect(attempts.map((a) => a.name)).toEqual(["attempt llm #1", "attempt llm #2"]);
    for (const a of attempts) expect(parentOf(a)).toBe(step!.spanContext().spanId);
    expect(chats).toHaveLength(2);
    expect(chats.map((c) => parentOf(c))).toEqual(attempts.map((a) => a.spanContext().spanId));
    expect(new Set(spans.map((s) => s.spanContext().traceId)).size).toBe(1);

    const [failed, ok] = chats;
    expect(failed!.attributes["error.type"]).toBe("500");
    expect(failed!.status.code).toBe(2);
    expect(ok!.kind).toBe(2); // CLIENT
    expect(ok!.attributes).toMatchObject({
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": "openai",
      "gen_ai.request.model": "gpt-local",
      "gen_ai.request.temperature": 0.2,
      "gen_ai.usage.input_tokens": 7,
      "gen_ai.usage.output_tokens": 3,
      "gen_ai.response.finish_reasons": ["stop"],
      "server.address": "127.0.0.1",
    });
    expect(run!.attributes).toMatchObject({ "mcp.pipeline.name": "test", "mcp.run.id": report.runId, "mcp.run.status": "success" });

    // Each HTTP request carried the trace context of its chat span.
    const parents = server.requests.slice(-2).map((r) => r.headers.traceparent);
    expect(parents).toEqual(chats.map((c) => `00-${c.spanContext().traceId}-${c.spanContext().spanId}-01`));

    // No key and no prompt anywhere in the spans.
    const text = JSON.stringify(spans.map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status })));
    expect(text).not.toContain(KEY);
    expect(text).not.toContain(PROMPT);
    expect(text).not.toContain("the answer");
    await orch.close();
  });

  it("carry prompts and answers only when content capture is on", async () => {
    const orch = new TaskOrchestrator(undefined, { env: { TEST_KEY: KEY }, defaults: { captureContent: true } });
    await orch.runPipeline(pipeline(), { q: PROMPT });
    const chat = exporter.getFinishedSpans().find((s) => s.name === "chat gpt-local")!;
    expect(JSON.parse(chat.attributes["gen_ai.input.messages"] as string)).toEqual([{ role: "user", parts: [{ type: "text", content: PROMPT }] }]);
    expect(JSON.parse(chat.attributes["gen_ai.output.messages"] as string)).toEqual([{ role: "assistant", parts: [{ type: "text", content: "the answer" }], finish_reason: "stop" }]);
    expect(JSON.stringify(chat.attributes)).not.toContain(KEY);
    await orch.close();
  });

  it("name the deployment that answered a model with deployments, and record the one that failed as an event", async () => {
    const down = await FakeApiServer.start(() => ({ status: 503, json: { error: { message: "down" } } }));
    try {
      const p = compileYaml(`
models:
  llm:
    provider: openai
    model: gpt-local
    capabilities: [text-generation]
    balance: round-robin
    deployments:
      - { name: down, baseUrl: "${down.url}/v1" }
      - { name: up, baseUrl: "${server.url}/v1" }
steps:
  ask: { model: llm, input: { prompt: hi } }
`);
      const orch = new TaskOrchestrator();
      expect((await orch.runPipeline(p)).status).toBe("success");
      const chats = exporter.getFinishedSpans().filter((s) => s.name === "chat gpt-local");
      expect(chats).toHaveLength(1);
      expect(chats[0]!.attributes["mcp.deployment"]).toBe("up");
      expect(chats[0]!.attributes["server.port"]).toBe(Number(new URL(server.url).port));
      expect(chats[0]!.events.map((e) => [e.name, e.attributes?.["error.type"]])).toEqual([["mcp.deployment.failed", "503"]]);
      await orch.close();
    } finally {
      await down.close();
    }
  });
});
