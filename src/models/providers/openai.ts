/**
 * The `openai` provider: the OpenAI-compatible Chat Completions API,
 * `POST {baseUrl}/chat/completions`. Besides OpenAI it speaks to every server that copies
 * it: Ollama, vLLM, llama.cpp server, LM Studio, OpenRouter, Groq. docs/providers.md.
 * The call itself (once or streamed) is ChatModel's; this file is the wire format.
 */
import { OPENAI_DEFAULT_BASE_URL } from "../provider-facts.js";
import type { ChatRequest } from "../chat-request.js";
import { malformed, modelError, type HttpCall } from "../http-client.js";
import type { SseEvent } from "../sse-parser.js";
import type { ModelConfig, Usage } from "../types.js";
import type { ProviderServices } from "./services.js";
import { ChatModel, type ChatAnswer, type StreamState } from "./chat-model.js";

export { OPENAI_DEFAULT_BASE_URL };

/** An OpenAI-compatible chat model. */
export class OpenAIModel extends ChatModel {
  constructor(config: ModelConfig, services: ProviderServices) {
    super("openai", config, services, { defaultBaseUrl: OPENAI_DEFAULT_BASE_URL, path: "chat/completions" });
  }

  protected requestBody(chat: ChatRequest): Record<string, unknown> {
    const messages = chat.system !== undefined ? [{ role: "system", content: chat.system }, ...chat.messages] : chat.messages;
    return {
      model: this.apiModel,
      messages,
      ...(chat.temperature !== undefined ? { temperature: chat.temperature } : {}),
      ...(chat.maxTokens !== undefined ? { max_tokens: chat.maxTokens } : {}),
      ...(chat.json ? { response_format: responseFormat(chat) } : {}),
    };
  }

  protected streamFields(): Record<string, unknown> {
    return { stream: true, stream_options: { include_usage: true } };
  }

  protected defaultHeaders(): Record<string, string> {
    return {};
  }

  protected keyHeaders(key: string): Record<string, string> {
    return { authorization: `Bearer ${key}` };
  }

  protected readAnswer(body: unknown, call: HttpCall): ChatAnswer {
    const b = body as { choices?: unknown; usage?: unknown } | null;
    const choice = (b && Array.isArray(b.choices) ? b.choices[0] : undefined) as { message?: { content?: unknown; refusal?: unknown }; finish_reason?: unknown } | undefined;
    if (!choice || !choice.message || typeof choice.message !== "object") {
      throw malformed(call, "the response has no choices[0].message");
    }
    const { content, refusal } = choice.message;
    if ((content === null || content === undefined) && typeof refusal === "string") {
      throw modelError(call, "fatal", `the model refused: ${refusal}`);
    }
    let text: string;
    if (typeof content === "string") text = content;
    else if (content === null || content === undefined) text = "";
    else if (Array.isArray(content)) text = content.map((p) => (typeof (p as { text?: unknown })?.text === "string" ? (p as { text: string }).text : "")).join("");
    else throw malformed(call, "choices[0].message.content is not text");
    return { text, finishReason: typeof choice.finish_reason === "string" ? choice.finish_reason : undefined, usage: readUsage(b?.usage) };
  }

  protected readStreamEvent(ev: SseEvent, state: StreamState, call: HttpCall): string | undefined {
    if (ev.data === "[DONE]") {
      state.ended = true;
      return undefined;
    }
    const chunk = this.eventJson(ev, call, "chunk");
    if (chunk.error !== undefined) {
      const e = chunk.error as { message?: unknown } | string;
      const msg = typeof e === "string" ? e : typeof e?.message === "string" ? e.message : JSON.stringify(e);
      throw modelError(call, "retryable", `the server reported an error mid-stream: ${msg}`);
    }
    const choice = (Array.isArray(chunk.choices) ? chunk.choices[0] : undefined) as { delta?: { content?: unknown }; finish_reason?: unknown } | undefined;
    if (typeof choice?.finish_reason === "string") state.finishReason = choice.finish_reason;
    const u = readUsage(chunk.usage);
    if (u) {
      state.inputTokens = u.inputTokens;
      state.outputTokens = u.outputTokens;
    }
    const delta = choice?.delta?.content;
    return typeof delta === "string" ? delta : undefined;
  }

  protected streamCut(state: StreamState): string | undefined {
    // Some servers end with the finish reason and no [DONE]; without either the answer was cut.
    return !state.ended && state.finishReason === undefined ? "the stream ended before the answer was complete" : undefined;
  }
}

/** OpenAI's `response_format` for a JSON mode. */
function responseFormat(chat: ChatRequest): Record<string, unknown> {
  const j = chat.json;
  if (!j || j.type === "object") return { type: "json_object" };
  return { type: "json_schema", json_schema: { name: j.name, schema: j.schema, strict: j.strict } };
}

/** `usage.prompt_tokens` / `completion_tokens`, when the server reported them. */
function readUsage(u: unknown): Usage | undefined {
  if (!u || typeof u !== "object") return undefined;
  const { prompt_tokens: i, completion_tokens: o } = u as { prompt_tokens?: unknown; completion_tokens?: unknown };
  if (typeof i !== "number" && typeof o !== "number") return undefined;
  return { inputTokens: typeof i === "number" ? i : 0, outputTokens: typeof o === "number" ? o : 0 };
}

/** Factory for the provider table. */
export function createOpenAIModel(config: ModelConfig, services: ProviderServices): OpenAIModel {
  return new OpenAIModel(config, services);
}
