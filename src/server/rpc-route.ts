/**
 * POST /rpc: JSON-RPC 2.0 over the Protocol Handler (single calls, batches, notifications).
 * The body is parsed here, not by Fastify, so a body that is not JSON gets the JSON-RPC
 * parse error (-32700) rather than an HTTP 400. A batch of notifications only is answered
 * with 204, as the spec says to send nothing.
 */
import type { FastifyInstance } from "fastify";
import type { ProtocolHandler } from "../protocol/handler.js";
import { handleJsonRpc } from "../protocol/jsonrpc.js";
import { methodContext } from "./api-routes.js";

/** JSON.parse without `__proto__` keys (prototype pollution when merged later). */
function parseJson(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(text, (k, v: unknown) => (k === "__proto__" ? undefined : v)) };
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
}

export async function rpcRoute(app: FastifyInstance, handler: ProtocolHandler): Promise<void> {
  await app.register(async (scope) => {
    // Encapsulated: only this route reads JSON bodies as text.
    scope.removeContentTypeParser(["application/json"]);
    scope.addContentTypeParser(["application/json", "application/json-rpc"], { parseAs: "string" }, (_req, body, done) => done(null, { text: body }));
    scope.post<{ Body: { text: string } }>("/rpc", async (req, reply) => {
      const parsed = parseJson(req.body.text);
      const answer = parsed.ok ? await handleJsonRpc(handler, parsed.value, methodContext(req, reply)) : await handleJsonRpc(handler, undefined, methodContext(req, reply), parsed.message);
      if (answer === undefined) return reply.code(204).send();
      return reply.code(200).header("content-type", "application/json; charset=utf-8").send(JSON.stringify(answer));
    });
  });
}
