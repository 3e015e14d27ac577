/**
 * Trace context into Model Context Protocol calls: a step calling a tool of an MCP server
 * (Streamable HTTP, on 127.0.0.1) sends the `execute_tool` span's traceparent in
 * `params._meta`, where the server's tool handler sees it.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { context, propagation, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { loadPipeline } from "../../src/compiler/load.js";
import { closeMcpConnections } from "../../src/models/mcp-pool.js";
import { TaskOrchestrator } from "../../src/orchestrator/orchestrator.js";

const temp = mkdtempSync(join(tmpdir(), "mcp-trace-"));
const exporter = new InMemorySpanExporter();

beforeAll(() => {
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
});

afterAll(async () => {
  await closeMcpConnections();
  rmSync(temp, { recursive: true, force: true });
  trace.disable();
  context.disable();
  propagation.disable();
});

describe("trace context into MCP tool calls", () => {
  it("sends the execute_tool span's traceparent in the call's _meta", async () => {
    const seen: (string | undefined)[] = [];
    const sessions = new Map<string, StreamableHTTPServerTransport>();
    const readBody = async (req: IncomingMessage) => {
      let s = "";
      for await (const c of req) s += String(c);
      return s ? (JSON.parse(s) as unknown) : undefined;
    };
    const http = createServer((req, res) => {
      void (async () => {
        const body = await readBody(req);
        const id = req.headers["mcp-session-id"] as string | undefined;
        let transport = id ? sessions.get(id) : undefined;
        if (!transport) {
          const t = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID(), onsessioninitialized: (sid) => void sessions.set(sid, t) });
          const server = new McpServer({ name: "traced-tools", version: "1.0.0" });
          server.registerTool("echo", { inputSchema: { text: z.string() } }, async ({ text }, extra) => {
            seen.push((extra._meta as { traceparent?: string } | undefined)?.traceparent);
            return { content: [{ type: "text", text }], structuredContent: { text } };
          });
          await server.connect(t);
          transport = t;
        }
        await transport.handleRequest(req, res, body);
      })();
    });
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    try {
      const { port } = http.address() as { port: number };
      writeFileSync(join(temp, "mcp.yaml"), "version: 1\n");
      const file = join(temp, "p.yaml");
      writeFileSync(
        file,
        `version: 1
mcpServers:
  tools: { url: "http://127.0.0.1:${port}/mcp" }
models:
  echo: { provider: mcp, server: tools, tool: echo }
steps:
  call: { model: echo, input: { text: hello } }
`,
      );
      const orch = new TaskOrchestrator();
      const r = await orch.runPipeline(await loadPipeline(file));
      expect(r.status).toBe("success");
      const span = exporter.getFinishedSpans().find((s) => s.name === "execute_tool echo")!;
      expect(span.attributes).toMatchObject({ "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "echo", "gen_ai.provider.name": "mcp" });
      expect(seen).toEqual([`00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`]);
      await orch.close();
    } finally {
      await closeMcpConnections();
      await new Promise<void>((r) => http.close(() => r()));
    }
  });
});
