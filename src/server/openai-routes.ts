/**
 * The OpenAI-compatible endpoint: POST /v1/chat/completions (whole or streamed, with
 * `stream_options.include_usage`) and GET /v1/models, so the official SDKs and the tools
 * built on them talk to the registry (selection, fallbacks, retries, cache) and to pipelines.
 *
 * A stream's headers go out with its first token, so a request whose every model fails
 * before answering gets a plain JSON error with its HTTP status. After the first token a
 * failure ends the stream with an `error` event and no `data: [DONE]`: the client knows the
 * answer is cut (the official SDK throws an APIError).
 */
import { randomUUID } from "node:crypto";
import type { FastifyInstance, FastifyReply } from "fastify";
import { ChatService, StreamCutError, type ChatAnswer, type ChatInput } from "../protocol/chat.js";
import { ProtocolError, toProtocolError } from "../protocol/errors.js";
import type { Runtime } from "../protocol/runtime.js";
import { clientSignal, methodContext } from "./api-routes.js";
import { ERROR_REPLIES } from "./schemas.js";
import type { ServerMetrics } from "./metrics.js";
import type { TokenLimiter } from "./token-limit.js";

const message = {
  type: "object",
  properties: {
    role: { enum: ["system", "developer", "user", "assistant", "tool"] },
    content: { anyOf: [{ type: "string" }, { type: "null" }, { type: "array", items: { type: "object" }, maxItems: 1000 }] },
    name: { type: "string" },
  },
  required: ["role"],
} as const;

const CHAT_BODY = {
  type: "object",
  properties: {
    model: { type: "string", minLength: 1, maxLength: 300 },
    messages: { type: "array", items: message, minItems: 1, maxItems: 10_000 },
    stream: { type: "boolean" },
    stream_options: { type: ["object", "null"], properties: { include_usage: { type: "boolean" } } },
    temperature: { type: ["number", "null"] },
    max_tokens: { type: ["integer", "null"], minimum: 1 },
    max_completion_tokens: { type: ["integer", "null"], minimum: 1 },
  },
  required: ["model", "messages"],
} as const;

const CHAT_REPLY = {
  type: "object",
  properties: {
    id: { type: "string" },
    object: { type: "string" },
    created: { type: "integer" },
    model: { type: "string" },
    choices: {
      type: "array",
      items: {
        type: "object",
        properties: {
          index: { type: "integer" },
          message: { type: "object", properties: { role: { type: "string" }, content: { type: "string" } } },
          finish_reason: { type: "string" },
        },
      },
    },
    usage: { type: "object", properties: { prompt_tokens: { type: "integer" }, completion_tokens: { type: "integer" }, total_tokens: { type: "integer" } } },
  },
} as const;

interface ChatBody {
  model: string;
  messages: { role: string; content?: string | null | { type?: string; text?: string }[] }[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean } | null;
  temperature?: number | null;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
}

/** The runner's LLM input of an OpenAI request. */
export function chatInput(body: ChatBody): ChatInput {
  const text = (c: ChatBody["messages"][number]["content"]): string => (typeof c === "string" ? c : Array.isArray(c) ? c.map((p) => (typeof p.text === "string" ? p.text : "")).join("") : "");
  const system = body.messages.filter((m) => m.role === "system" || m.role === "developer").map((m) => text(m.content));
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  return {
    messages: body.messages.filter((m) => m.role !== "system" && m.role !== "developer").map((m) => ({ role: m.role, content: text(m.content) })),
    ...(system.length ? { system: system.join("\n\n") } : {}),
    ...(typeof body.temperature === "number" ? { temperature: body.temperature } : {}),
    ...(typeof maxTokens === "number" ? { maxTokens } : {}),
  };
}

const usageOf = (u: { inputTokens: number; outputTokens: number }) => ({ prompt_tokens: u.inputTokens, completion_tokens: u.outputTokens, total_tokens: u.inputTokens + u.outputTokens });

export function openaiRoutes(app: FastifyInstance, runtime: Runtime, metrics: ServerMetrics, tokens?: TokenLimiter): ChatService {
  const chat = runtime.handler.services.chat ?? new ChatService(runtime.handler.services);

  app.get("/v1/models", async () => {
    const created = Math.floor(Date.now() / 1000);
    const models = runtime.handler.services.models().map((m) => ({ id: m.name, object: "model", created, owned_by: m.provider }));
    const pipelines = runtime.pipelines
      .list()
      .filter((p) => p.pipeline)
      .map((p) => ({ id: `pipeline/${p.name}`, object: "model", created, owned_by: "pipeline" }));
    return { object: "list", data: [...models, ...pipelines] };
  });

  app.post<{ Body: ChatBody }>("/v1/chat/completions", { schema: { body: CHAT_BODY, response: { 200: CHAT_REPLY, ...ERROR_REPLIES } } }, async (req, reply) => {
    const input = chatInput(req.body);
    const key = req.principal?.name ?? "anonymous";
    tokens?.check(key);
    const id = `chatcmpl-${randomUUID().replace(/-/g, "")}`;
    const created = Math.floor(Date.now() / 1000);
    if (!req.body.stream) {
      const out = await runtime.handler.dispatch<ChatAnswer>("chat.complete", { model: req.body.model, ...input }, methodContext(req, reply));
      if (!out.ok) throw out.error;
      const a = out.result;
      tokens?.add(key, a.usage.inputTokens + a.usage.outputTokens);
      return {
        id,
        object: "chat.completion",
        created,
        model: a.model,
        choices: [{ index: 0, message: { role: "assistant", content: a.text }, finish_reason: a.finishReason }],
        usage: usageOf(a.usage),
      };
    }
    return streamCompletion(reply, chat, req.body, input, {
      id,
      created,
      signal: clientSignal(reply),
      includeUsage: req.body.stream_options?.include_usage === true,
      metrics,
      onUsage: (u) => tokens?.add(key, u.inputTokens + u.outputTokens),
    });
  });
  return chat;
}

async function streamCompletion(
  reply: FastifyReply,
  chat: ChatService,
  body: ChatBody,
  input: ChatInput,
  o: { id: string; created: number; signal: AbortSignal; includeUsage: boolean; metrics: ServerMetrics; onUsage: (u: { inputTokens: number; outputTokens: number }) => void },
): Promise<void> {
  const res = reply.raw;
  const chunk = (model: string, delta: Record<string, unknown>, finish: string | null, extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({ id: o.id, object: "chat.completion.chunk", created: o.created, model, choices: [{ index: 0, delta, finish_reason: finish }], ...extra })}\n\n`;
  let started = false;
  const t0 = performance.now();
  const start = () => {
    if (started) return;
    started = true;
    reply.hijack();
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache, no-transform", connection: "keep-alive", "x-accel-buffering": "no" });
  };
  try {
    for await (const ev of chat.stream(body.model, input, o.signal)) {
      if (ev.type === "delta") {
        const first = !started;
        start();
        res.write(chunk(ev.model, first ? { role: "assistant", content: ev.text } : { content: ev.text }, null));
      } else {
        start();
        const a = ev.answer;
        o.onUsage(a.usage);
        res.write(chunk(a.model, {}, a.finishReason));
        if (o.includeUsage) res.write(`data: ${JSON.stringify({ id: o.id, object: "chat.completion.chunk", created: o.created, model: a.model, choices: [], usage: usageOf(a.usage) })}\n\n`);
        res.write("data: [DONE]\n\n");
      }
    }
  } catch (e) {
    if (!started) throw e instanceof ProtocolError ? e : toProtocolError(e);
    // After the first token: say so, and do not send [DONE].
    const err = e instanceof StreamCutError ? e : toProtocolError(e);
    const payload = { error: { message: err.message, type: "upstream_error", code: err instanceof StreamCutError ? "stream_cut" : err.code } };
    if (!res.destroyed) res.write(`event: error\ndata: ${JSON.stringify(payload)}\n\n`);
    reply.log.warn({ model: body.model, code: payload.error.code }, "stream ended with an error after its first token");
  } finally {
    if (started) {
      res.end();
      o.metrics.request("POST", "/v1/chat/completions", 200, (performance.now() - t0) / 1000);
    }
  }
}
