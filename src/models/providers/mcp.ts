/**
 * The `mcp` provider: a model that is one tool of an external Model Context Protocol
 * server (`mcpServers:` in mcp.yaml or the pipeline). The step input is the tool's
 * arguments; the tool's `structuredContent` is the output, else `{ text }` (the text blocks
 * joined, plus `content` when the result has non-text blocks).
 *
 *   mcpServers:
 *     everything: { command: npx, args: [-y, "@modelcontextprotocol/server-everything"] }
 *   models:
 *     echo: { provider: mcp, server: everything, tool: echo }
 *
 * Errors, so retries and fallbacks treat a tool like any model:
 * - a result with `isError: true`: `retryable`, with the tool's text as the message;
 * - the server could not be started or reached, or it exited mid-call: `retryable`
 *   (the next attempt starts or connects again);
 * - a JSON-RPC error (unknown tool, invalid arguments): `fatal`;
 * - cancellation: the call is cancelled on the server (notifications/cancelled) and the
 *   run's abort reason is thrown.
 */
import { ProtocolError, ProtocolErrorCode, SdkError, SdkErrorCode, type CallToolResult } from "@modelcontextprotocol/client";
import { BaseModel, type ModelCallContext } from "../base-model.js";
import { ModelError } from "../errors.js";
import { mcpConnection } from "../mcp-connection.js";
import type { ProviderServices } from "./services.js";
import type { McpServerConfig, ModelConfig } from "../types.js";

/** Default longest wait for one call without progress. */
export const DEFAULT_TOOL_TIMEOUT_MS = 5 * 60_000;

export class McpToolModel extends BaseModel {
  readonly #config: ModelConfig;
  readonly #server: McpServerConfig;
  readonly #tool: string;
  readonly #env: NodeJS.ProcessEnv;

  constructor(config: ModelConfig, services: ProviderServices) {
    super();
    if (!config.mcpServer || !config.tool) {
      throw new TypeError(`model '${config.name}': provider mcp needs server: (a key of mcpServers:) and tool:`);
    }
    this.#config = config;
    this.#server = config.mcpServer;
    this.#tool = config.tool;
    this.#env = services.env;
    this.capabilities = [...config.capabilities];
  }

  override async process(input: unknown, ctx: ModelCallContext): Promise<unknown> {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    const args = input === undefined || input === null ? {} : input;
    if (typeof args !== "object" || Array.isArray(args)) {
      throw this.#error(`the input of tool '${this.#tool}' must be an object of arguments, got ${Array.isArray(args) ? "an array" : typeof args}`, "fatal");
    }
    const conn = mcpConnection(this.#server, this.#env);
    let result: CallToolResult;
    try {
      result = await conn.callTool(this.#tool, args as Record<string, unknown>, {
        signal: ctx.signal,
        timeoutMs: this.#server.timeoutMs ?? this.#config.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS,
        ...(ctx.onProgress ? { onProgress: ctx.onProgress } : {}),
      });
    } catch (e) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      throw this.#mapError(e, conn.stderrTail);
    }
    if (result.isError) {
      throw this.#error(`tool '${this.#tool}' on server '${this.#server.name}' returned an error: ${textOf(result) || "(no message)"}`, "retryable");
    }
    if (result.structuredContent !== undefined) return result.structuredContent;
    const content = Array.isArray(result.content) ? result.content : [];
    const text = textOf(result);
    return content.some((b) => b.type !== "text") ? { text, content } : { text };
  }

  #mapError(e: unknown, stderr: string): ModelError {
    const where = `tool '${this.#tool}' on server '${this.#server.name}'`;
    if (e instanceof ProtocolError) {
      const fatal = e.code === ProtocolErrorCode.InvalidParams || e.code === ProtocolErrorCode.MethodNotFound || e.code === ProtocolErrorCode.InvalidRequest;
      return this.#error(`${where}: ${e.message}`, fatal ? "fatal" : "retryable", e);
    }
    const tail = stderr ? ` (server stderr: ${stderr.split("\n").slice(-3).join(" | ")})` : "";
    if (e instanceof SdkError) {
      if (e.code === SdkErrorCode.RequestTimeout) return this.#error(`${where}: no answer nor progress within the timeout`, "retryable", e);
      if (e.code === SdkErrorCode.ConnectionClosed) return this.#error(`${where}: the server closed the connection${tail}`, "retryable", e);
      const status = (e as { status?: number }).status;
      if (status === 401 || status === 403) return this.#error(`${where}: HTTP ${status} (check the server's headers)`, "fatal", e);
      return this.#error(`${where}: ${e.message}${tail}`, "retryable", e);
    }
    const code = (e as { code?: unknown } | null)?.code;
    if (code === "ENOENT") return this.#error(`server '${this.#server.name}': cannot start '${this.#server.command}' (not found)`, "retryable", e);
    const msg = e instanceof Error ? e.message : String(e);
    return this.#error(`${where}: ${msg}${tail}`, "retryable", e);
  }

  #error(message: string, kind: "fatal" | "retryable", cause?: unknown): ModelError {
    return new ModelError(message, { kind, provider: "mcp", model: this.#config.name, ...(cause !== undefined ? { cause } : {}) });
  }
}

/** The text blocks of a result, joined by newlines. */
function textOf(r: CallToolResult): string {
  const blocks = Array.isArray(r.content) ? r.content : [];
  return blocks
    .filter((b): b is { type: "text"; text: string } => b.type === "text" && typeof (b as { text?: unknown }).text === "string")
    .map((b) => b.text)
    .join("\n");
}

export function createMcpToolModel(config: ModelConfig, services: ProviderServices): BaseModel {
  return new McpToolModel(config, services);
}
