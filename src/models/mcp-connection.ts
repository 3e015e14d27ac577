/**
 * Connections to external Model Context Protocol servers, on the official SDK client
 * (@modelcontextprotocol/client v2): one connection per server per process, opened on first
 * use and reused by every step and run. A stdio server is one child process; an HTTP server
 * one Streamable HTTP session.
 *
 * Failure handling (why it is here and not in the provider): a connection that closes (the
 * child exited, the network dropped) is forgotten, so the next call opens a new one; an HTTP
 * server that restarted answers 404 to the old session id, so the connection is opened again
 * once and the call retried on it. Anything else goes up to the provider, which maps it to a
 * ModelError for the orchestrator's retries and fallbacks.
 */
import { traceHeaders } from "../telemetry/propagation.js";
import { Client, SdkError, SdkErrorCode, StreamableHTTPClientTransport, type CallToolResult, type Tool } from "@modelcontextprotocol/client";
import { getDefaultEnvironment, StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { evaluateTemplate } from "../expr/template.js";
import { pooled } from "./mcp-pool.js";
import type { McpServerConfig } from "./types.js";

/** What a listing of a server's tools keeps: enough to check step inputs offline. */
export interface ToolListing {
  /** McpServerConfig.id */
  serverId: string;
  /** serverInfo of the initialize answer. */
  serverName: string;
  serverVersion: string;
  listedAt: number;
  tools: { name: string; description?: string; inputSchema: Record<string, unknown>; outputSchema?: Record<string, unknown> }[];
}

/** How a tool call is made. */
export interface ToolCallOptions {
  signal: AbortSignal;
  onProgress?: (p: { progress: number; total?: number; message?: string }) => void;
  /** Longest wait without progress. */
  timeoutMs: number;
}

const CLIENT_INFO = { name: "mcp-runner", version: "0.1.0" };
/** Lines of a stdio server's stderr kept to explain why it died. */
const STDERR_LINES = 20;

export class McpServerConnection {
  readonly server: McpServerConfig;
  readonly #env: NodeJS.ProcessEnv;
  #client: Promise<Client> | undefined;
  /** The client #client resolved to, once connected. */
  #current: Client | undefined;
  #stderr: string[] = [];

  constructor(server: McpServerConfig, env: NodeJS.ProcessEnv) {
    this.server = server;
    this.#env = env;
  }

  /** Process id of the stdio server while connected (for tests and diagnostics). */
  get pid(): number | undefined {
    return this.#pid ?? undefined;
  }
  #pid: number | null | undefined;

  /** The last lines the server wrote to stderr (stdio), for error messages. */
  get stderrTail(): string {
    return this.#stderr.join("\n");
  }

  /** The connected client, connecting first when there is none (concurrent callers share one attempt). */
  client(): Promise<Client> {
    if (!this.#client) {
      const p = this.#connect();
      this.#client = p;
      p.catch(() => {
        if (this.#client === p) this.#client = undefined;
      });
    }
    return this.#client;
  }

  async #connect(): Promise<Client> {
    const client = new Client(CLIENT_INFO, { capabilities: {} });
    const transport = this.server.command !== undefined ? this.#stdio() : await this.#http();
    client.onclose = () => {
      // The child exited or the session ended: the next call connects again.
      if (this.#current === client) {
        this.#current = undefined;
        this.#client = undefined;
      }
    };
    try {
      await client.connect(transport);
    } catch (e) {
      await client.close().catch(() => {});
      throw e;
    }
    this.#current = client;
    this.#pid = transport instanceof StdioClientTransport ? transport.pid : undefined;
    return client;
  }

  #stdio(): StdioClientTransport {
    const s = this.server;
    const env: Record<string, string> = getDefaultEnvironment();
    for (const name of s.env ?? []) {
      const v = this.#env[name];
      if (v !== undefined) env[name] = v;
    }
    const transport = new StdioClientTransport({ command: s.command!, args: s.args ?? [], env, ...(s.cwd ? { cwd: s.cwd } : {}), stderr: "pipe" });
    // Keep the tail of stderr (and keep the pipe drained so the child never blocks on it).
    transport.stderr?.on("data", (chunk: Buffer) => {
      for (const line of chunk.toString("utf8").split("\n")) if (line.trim()) this.#stderr.push(line);
      if (this.#stderr.length > STDERR_LINES) this.#stderr.splice(0, this.#stderr.length - STDERR_LINES);
    });
    return transport;
  }

  async #http(): Promise<StreamableHTTPClientTransport> {
    const s = this.server;
    const headers: Record<string, string> = {};
    if (s.headers) {
      const env: Record<string, string> = {};
      for (const n of s.envAllow ?? []) if (this.#env[n] !== undefined) env[n] = this.#env[n]!;
      const v = await evaluateTemplate(s.headers, { env });
      if (v && typeof v === "object" && !Array.isArray(v)) {
        for (const [k, val] of Object.entries(v)) if (val !== undefined && val !== null) headers[k] = typeof val === "string" ? val : JSON.stringify(val);
      }
    }
    return new StreamableHTTPClientTransport(new URL(s.url!), { requestInit: { headers } });
  }

  /** Calls a tool; a stale HTTP session (the server restarted) is re-initialised once. */
  async callTool(name: string, args: Record<string, unknown>, opts: ToolCallOptions): Promise<CallToolResult> {
    // The trace context of the calling span, as `_meta.traceparent` (W3C); none when tracing is off.
    const trace = traceHeaders();
    const meta = trace.traceparent ? { _meta: trace } : {};
    const call = async (client: Client) =>
      (await client.callTool(
        { name, arguments: args, ...meta },
        {
          signal: opts.signal,
          timeout: opts.timeoutMs,
          resetTimeoutOnProgress: true,
          ...(opts.onProgress
            ? {
                onprogress: (p: { progress: number; total?: number; message?: string }) =>
                  opts.onProgress!({ progress: p.progress, ...(p.total !== undefined ? { total: p.total } : {}), ...(p.message ? { message: p.message } : {}) }),
              }
            : {}),
        },
      )) as CallToolResult;
    const client = await this.client();
    try {
      return await call(client);
    } catch (e) {
      if (opts.signal.aborted || !isStaleSession(e)) {
        if (isConnectionGone(e)) await this.#forget(client);
        throw e;
      }
      await this.#forget(client);
      return await call(await this.client());
    }
  }

  /** The server's tools, all pages. */
  async listTools(signal?: AbortSignal): Promise<ToolListing> {
    const client = await this.client();
    const tools: Tool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : undefined, signal ? { signal } : undefined);
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor);
    const info = client.getServerVersion();
    return {
      serverId: this.server.id,
      serverName: info?.name ?? this.server.name,
      serverVersion: info?.version ?? "",
      listedAt: Date.now(),
      tools: tools.map((t) => ({
        name: t.name,
        ...(t.description ? { description: t.description } : {}),
        inputSchema: t.inputSchema as Record<string, unknown>,
        ...(t.outputSchema ? { outputSchema: t.outputSchema as Record<string, unknown> } : {}),
      })),
    };
  }

  async #forget(client: Client): Promise<void> {
    if (this.#current === client) {
      this.#current = undefined;
      this.#client = undefined;
    }
    await client.close().catch(() => {});
  }

  /** Closes the connection (a stdio server's process ends). */
  async close(): Promise<void> {
    const p = this.#client;
    this.#client = undefined;
    this.#current = undefined;
    const c = await p?.catch(() => undefined);
    await c?.close().catch(() => {});
  }
}

/** An HTTP 404 to a request: the server no longer knows the session. */
export function isStaleSession(e: unknown): boolean {
  const status = (e as { status?: unknown; data?: { status?: unknown } } | null)?.status ?? (e as { data?: { status?: unknown } } | null)?.data?.status;
  return status === 404;
}

/** The transport closed under the call (the server exited or the connection dropped). */
export function isConnectionGone(e: unknown): boolean {
  return e instanceof SdkError && (e.code === SdkErrorCode.ConnectionClosed || e.code === SdkErrorCode.NotConnected || e.code === SdkErrorCode.SendFailed);
}

/** The process's connection to a server (created on first use, then reused). */
export function mcpConnection(server: McpServerConfig, env: NodeJS.ProcessEnv): McpServerConnection {
  return pooled(server.id, () => new McpServerConnection(server, env));
}
