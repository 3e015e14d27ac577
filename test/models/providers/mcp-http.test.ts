/**
 * The `mcp` provider over Streamable HTTP, against a real MCP server on 127.0.0.1 built on
 * the SDK v1 server (sessionful, as most deployed servers are): headers from the
 * environment, one session reused, and a server that restarted (its sessions gone, 404)
 * re-initialised once with the call retried, without a failed attempt.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server as HttpServer } from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { loadPipeline } from "../../../src/compiler/load.js";
import type { RunEvent } from "../../../src/events/event.js";
import { closeMcpConnections } from "../../../src/models/mcp-pool.js";
import { TaskOrchestrator } from "../../../src/orchestrator/orchestrator.js";

const temp = mkdtempSync(join(tmpdir(), "mcp-http-tools-"));
afterAll(() => rmSync(temp, { recursive: true, force: true }));
afterEach(async () => closeMcpConnections());

/** A sessionful MCP server whose `restart()` forgets every session, as a restarted process would. */
async function toolServer() {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const stats = { initialized: 0, unknownSession: 0, auth: [] as string[] };
  const readBody = async (req: IncomingMessage) => {
    let s = "";
    for await (const c of req) s += String(c);
    return s ? (JSON.parse(s) as unknown) : undefined;
  };
  const http: HttpServer = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const id = req.headers["mcp-session-id"] as string | undefined;
      let transport = id ? sessions.get(id) : undefined;
      if (id && !transport) {
        stats.unknownSession++;
        res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", error: { code: -32001, message: "Session not found" }, id: null }));
        return;
      }
      if (!transport) {
        stats.initialized++;
        const t = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID(), onsessioninitialized: (sid) => void sessions.set(sid, t) });
        const server = new McpServer({ name: "http-tools", version: "1.2.3" });
        server.registerTool("whoami", { inputSchema: { greeting: z.string() } }, async ({ greeting }, extra) => {
          const auth = String(extra.requestInfo?.headers.authorization ?? "");
          stats.auth.push(auth);
          return { content: [{ type: "text", text: `${greeting}, ${auth}` }], structuredContent: { greeting, auth } };
        });
        await server.connect(t);
        transport = t;
      }
      await transport.handleRequest(req, res, body);
    })();
  });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  const { port } = http.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    stats,
    restart: () => sessions.clear(),
    close: () => new Promise<void>((r) => http.close(() => r())),
  };
}

describe("mcp provider over Streamable HTTP", () => {
  it("sends headers from the environment, reuses the session, and re-initialises once after the server restarted", async () => {
    const srv = await toolServer();
    try {
      const file = join(temp, "http.yaml");
      writeFileSync(join(temp, "mcp.yaml"), "version: 1\nenv: [TOOLS_TOKEN]\n");
      writeFileSync(
        file,
        `version: 1
mcpServers:
  remote:
    url: ${srv.url}
    headers: { Authorization: "Bearer \${{ $env.TOOLS_TOKEN }}" }
models:
  who: { provider: mcp, server: remote, tool: whoami }
steps:
  ask: { model: who, input: { greeting: "\${{ $input.greeting }}" }, retry: { attempts: 1 } }
output: \${{ $steps.ask.output }}
`,
      );
      const p = await loadPipeline(file);
      const orch = new TaskOrchestrator(undefined, { env: { TOOLS_TOKEN: "t0ken" } });
      const first = await orch.runPipeline(p, { greeting: "hi" });
      expect(first.output).toEqual({ greeting: "hi", auth: "Bearer t0ken" });
      await orch.runPipeline(p, { greeting: "again" });
      expect(srv.stats.initialized).toBe(1);

      srv.restart();
      const events: RunEvent[] = [];
      const after = await orch.runPipeline(p, { greeting: "back" }, { observer: { onEvent: (e) => events.push(e) } });
      expect(after.status).toBe("success");
      expect(after.output).toEqual({ greeting: "back", auth: "Bearer t0ken" });
      expect(srv.stats.unknownSession).toBe(1);
      expect(srv.stats.initialized).toBe(2);
      // One attempt (retry attempts: 1) was enough: the stale session was handled inside it.
      expect(events.filter((e) => e.type === "step.attempt_failed")).toEqual([]);
    } finally {
      await closeMcpConnections();
      await srv.close();
    }
  });
});
