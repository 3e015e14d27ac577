/**
 * `/mcp`: the Model Context Protocol over Streamable HTTP, stateless (every request is
 * served by a fresh SDK server instance over the Protocol Handler; no session to lose on a
 * restart). Built on the SDK's `createMcpHandler` (it serves the 2025 protocol revisions
 * and the 2026-07-28 one) and its Node and Fastify adapters.
 *
 * Security, in this order: the server's bearer keys (the global auth hook, as for every
 * route); then `Origin` (a browser page of another site gets 403: the DNS-rebinding and
 * cross-site class of attacks); then, on a loopback address, `Host` (403 unless localhost).
 */
import type { FastifyInstance, FastifyPluginAsync } from "fastify";
import { hostHeaderValidation, originValidation } from "@modelcontextprotocol/fastify";
import { toNodeHandler } from "@modelcontextprotocol/node";
import { createMcpHandler } from "@modelcontextprotocol/server";
import { createPipelineToolServer } from "../protocol/mcp/pipeline-tools.js";
import type { Runtime } from "../protocol/runtime.js";

export interface McpRouteOptions {
  runtime: Runtime;
  /** The address the server listens on: loopback turns on the Host check. */
  host: string;
  /** Origins (hostnames) allowed besides localhost ones, e.g. an internal UI. @default [] */
  allowedOrigins?: readonly string[];
  version?: string;
}

const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "[::1]"];
/** Marks a /mcp body that did not parse (its reason), for the handler to answer -32700. */
const NOT_JSON = Symbol("not-json");

/** Whether `host` is a loopback address. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\./.test(host);
}

/** The /mcp route as a Fastify plugin (pass it in `plugins` of buildServer / createServer). */
export function mcpRoute(options: McpRouteOptions): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    const table = options.runtime.handler;
    const handler = createMcpHandler(
      (ctx) =>
        createPipelineToolServer(table, {
          ...(options.version ? { version: options.version } : {}),
          ...(ctx.authInfo?.clientId ? { principal: { name: ctx.authInfo.clientId } } : {}),
        }),
      { legacy: "stateless", onerror: (e) => app.log.warn({ err: e.message }, "mcp: request failed") },
    );
    const node = toNodeHandler(handler, { onerror: (e) => app.log.error({ err: e.message }, "mcp: adapter error") });
    // Clients listening for changes (2026-07-28 subscriptions) hear of every reload.
    const unsubscribe = table.onPipelinesChanged(() => handler.notify.toolsChanged());
    app.addHook("onClose", async () => {
      unsubscribe();
      await handler.close();
    });

    await app.register(async (scope) => {
      // A body that is not JSON gets the JSON-RPC parse error (-32700) an MCP client reads,
      // not the REST error shape of the other routes. `__proto__` keys are dropped, as /rpc does.
      scope.removeContentTypeParser(["application/json"]);
      scope.addContentTypeParser("application/json", { parseAs: "string" }, (_req, text, done) => {
        try {
          done(
            null,
            JSON.parse(text as string, (k, v: unknown) => (k === "__proto__" ? undefined : v)),
          );
        } catch (e) {
          done(null, { [NOT_JSON]: (e as Error).message });
        }
      });
      scope.addHook("onRequest", originValidation([...LOOPBACK_NAMES, ...(options.allowedOrigins ?? [])]));
      if (isLoopback(options.host)) scope.addHook("onRequest", hostHeaderValidation(LOOPBACK_NAMES));
      scope.route({
        method: ["GET", "POST", "DELETE"],
        url: "/mcp",
        handler: async (req, reply) => {
          const bad = (req.body as Record<symbol, unknown> | undefined)?.[NOT_JSON];
          if (typeof bad === "string") return reply.code(400).send({ jsonrpc: "2.0", id: null, error: { code: -32700, message: `Parse error: ${bad}` } });
          const raw = req.raw as typeof req.raw & { auth?: { token: string; clientId: string; scopes: string[] } };
          if (req.principal) raw.auth = { token: "", clientId: req.principal.name, scopes: [] };
          reply.hijack();
          await node(raw, reply.raw, req.body);
        },
      });
    });
  };
}
