/**
 * The REST routes of DESIGN section 6 (pipelines, runs, tasks, models, conversations): each
 * one maps its URL and body to a method of the Protocol Handler and its result to a status.
 * Pipeline names reach nothing but the live set's name table: no URL touches the file system.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ProtocolHandler } from "../protocol/handler.js";
import type { MethodContext } from "../protocol/services.js";
import type { TokenLimiter } from "./token-limit.js";
import { APPROVE_ROUTE, CONVERSATION_ROUTE, PIPELINES_ROUTE, REJECT_ROUTE, RUN_ID_ROUTE, RUN_ROUTE, RUNS_ROUTE, TASK_ROUTE } from "./schemas.js";

/** An AbortSignal that aborts when the client goes away before the reply was sent. */
export function clientSignal(reply: FastifyReply): AbortSignal {
  const ac = new AbortController();
  reply.raw.once("close", () => {
    // `close` after end() is a normal reply; before it, the client went away.
    if (!reply.raw.writableEnded) ac.abort(new DOMException("the client went away", "AbortError"));
  });
  return ac.signal;
}

/**
 * The method context of a request. Its signal is made on first use: a method that never
 * waits (a cache hit) costs no AbortController and no close listener.
 */
export function methodContext(req: FastifyRequest, reply: FastifyReply): MethodContext {
  let signal: AbortSignal | undefined;
  return {
    get signal() {
      return (signal ??= clientSignal(reply));
    },
    ...(req.principal ? { principal: req.principal } : {}),
  };
}

/** Calls a method and returns its result, or throws its ProtocolError (the error handler answers). */
export async function call(handler: ProtocolHandler, req: FastifyRequest, reply: FastifyReply, method: string, params: unknown): Promise<unknown> {
  const out = await handler.dispatch(method, params, methodContext(req, reply));
  if (!out.ok) throw out.error;
  return out.result;
}

export function apiRoutes(app: FastifyInstance, handler: ProtocolHandler, tokens?: TokenLimiter): void {
  app.get("/v1/pipelines", { schema: PIPELINES_ROUTE }, (req, reply) => call(handler, req, reply, "pipelines.list", {}));

  app.post<{ Params: { name: string }; Body: { input?: unknown; conversationId?: string; wait?: boolean } | null }>("/v1/pipelines/:name/runs", { schema: RUN_ROUTE }, async (req, reply) => {
    const body = req.body ?? {};
    const result = (await call(handler, req, reply, "pipelines.run", { ...body, pipeline: req.params.name })) as { runId: string };
    if (body.wait) return result;
    const run = `/v1/runs/${encodeURIComponent(result.runId)}`;
    reply.code(202).header("location", run);
    return { ...result, run, events: `${run}/events` };
  });

  app.get<{ Querystring: { limit?: number; pipeline?: string } }>("/v1/runs", { schema: RUNS_ROUTE }, (req, reply) => call(handler, req, reply, "runs.list", req.query));
  app.get<{ Params: { id: string } }>("/v1/runs/:id", { schema: RUN_ID_ROUTE }, (req, reply) => call(handler, req, reply, "runs.get", { runId: req.params.id }));
  app.delete<{ Params: { id: string } }>("/v1/runs/:id", { schema: RUN_ID_ROUTE }, (req, reply) => call(handler, req, reply, "runs.cancel", { runId: req.params.id }));

  // Answers to a waiting approval step; the run continues (202) or, with `wait`, is answered once it ends (200).
  for (const [verb, method, schema] of [
    ["approve", "runs.approve", APPROVE_ROUTE],
    ["reject", "runs.reject", REJECT_ROUTE],
  ] as const) {
    app.post<{ Params: { id: string; step: string }; Body: Record<string, unknown> | null }>(`/v1/runs/:id/steps/:step/${verb}`, { schema }, async (req, reply) => {
      const body = req.body ?? {};
      const result = await call(handler, req, reply, method, { ...body, runId: req.params.id, stepId: req.params.step });
      if (!body.wait) reply.code(202).header("location", `/v1/runs/${encodeURIComponent(req.params.id)}`);
      return result;
    });
  }

  app.post<{ Body: Record<string, unknown> }>("/v1/tasks", { schema: TASK_ROUTE }, async (req, reply) => {
    const key = req.principal?.name ?? "anonymous";
    tokens?.check(key);
    const result = (await call(handler, req, reply, "tasks.execute", req.body)) as { usage?: { inputTokens: number; outputTokens: number } };
    if (result.usage) tokens?.add(key, result.usage.inputTokens + result.usage.outputTokens);
    return result;
  });

  app.get<{ Params: { id: string } }>("/v1/conversations/:id", { schema: CONVERSATION_ROUTE }, (req, reply) => call(handler, req, reply, "conversations.get", { conversationId: req.params.id }));
  app.delete<{ Params: { id: string } }>("/v1/conversations/:id", { schema: CONVERSATION_ROUTE }, (req, reply) => call(handler, req, reply, "conversations.clear", { conversationId: req.params.id }));
}
