/**
 * The `anthropic` provider: the Messages API, `POST {baseUrl}/messages`, with the
 * `x-api-key` and `anthropic-version` headers, a top-level `system` prompt, the required
 * `max_tokens`, and streamed events (message_start, content_block_delta, message_delta,
 * message_stop, error). docs/providers.md. The call itself (once or streamed) is ChatModel's;
 * this file is the wire format.
 */
import { ANTHROPIC_DEFAULT_BASE_URL } from "../provider-facts.js";
import type { ChatMessage, ChatRequest } from "../chat-request.js";
import type { ModelErrorKind } from "../errors.js";
import { malformed, modelError, type HttpCall } from "../http-client.js";
import type { SseEvent } from "../sse-parser.js";
import type { ModelConfig } from "../types.js";
import type { ProviderServices } from "./services.js";
import { ChatModel, num, type ChatAnswer, type StreamState } from "./chat-model.js";

export { ANTHROPIC_DEFAULT_BASE_URL };
/** The `anthropic-version` header sent unless the model's `headers` set another. */
export const ANTHROPIC_VERSION = "2023-06-01";
/** `max_tokens` when neither the input nor `options.maxTokens` gives one (the API requires it). */
export const ANTHROPIC_DEFAULT_MAX_TOKENS = 1024;

/**
 * Anthropic's stop reasons in the vocabulary every provider's `finishReason` uses (OpenAI's),
 * so a pipeline can test `finishReason = "length"` whichever model answered. Others pass as is.
 */
const FINISH_REASONS: Record<string, string> = {
  end_turn: "stop",
  stop_sequence: "stop",
  max_tokens: "length",
  tool_use: "tool_calls",
  refusal: "content_filter",
};

/** A Claude model through the Messages API. */
export class AnthropicModel extends ChatModel {
  constructor(config: ModelConfig, services: ProviderServices) {
    super("anthropic", config, services, { defaultBaseUrl: ANTHROPIC_DEFAULT_BASE_URL, path: "messages" });
  }

  protected requestBody(chat: ChatRequest): Record<string, unknown> {
    // The API takes the system prompt at the top level only; system messages move there.
    const systemParts = chat.system !== undefined ? [chat.system] : [];
    const messages: ChatMessage[] = [];
    for (const m of chat.messages) {
      if (m.role === "system") systemParts.push(typeof m.content === "string" ? m.content : JSON.stringify(m.content));
      else messages.push(m);
    }
    if (chat.json) systemParts.push(jsonInstruction(chat));
    return {
      model: this.apiModel,
      max_tokens: chat.maxTokens ?? ANTHROPIC_DEFAULT_MAX_TOKENS,
      ...(systemParts.length ? { system: systemParts.join("\n\n") } : {}),
      messages,
      ...(chat.temperature !== undefined ? { temperature: chat.temperature } : {}),
    };
  }

  protected streamFields(): Record<string, unknown> {
    return { stream: true };
  }

  protected defaultHeaders(): Record<string, string> {
    return { "anthropic-version": ANTHROPIC_VERSION };
  }

  protected keyHeaders(key: string): Record<string, string> {
    return { "x-api-key": key };
  }

  protected override finishReason(raw: string | undefined): string {
    return raw === undefined ? "stop" : (FINISH_REASONS[raw] ?? raw);
  }

  protected readAnswer(body: unknown, call: HttpCall): ChatAnswer {
    const b = body as { content?: unknown; stop_reason?: unknown; usage?: unknown } | null;
    if (!b || typeof b !== "object" || !Array.isArray(b.content)) throw malformed(call, "the response has no content array");
    const text = b.content
      .filter((c): c is { type: "text"; text: string } => (c as { type?: unknown })?.type === "text" && typeof (c as { text?: unknown }).text === "string")
      .map((c) => c.text)
      .join("");
    const u = b.usage as { output_tokens?: unknown } | undefined;
    const inputTokens = inputTokensOf(u);
    const outputTokens = num(u?.output_tokens);
    const usage = inputTokens !== undefined || outputTokens !== undefined ? { inputTokens: inputTokens ?? 0, outputTokens: outputTokens ?? 0 } : undefined;
    return { text, finishReason: typeof b.stop_reason === "string" ? b.stop_reason : undefined, usage };
  }

  protected readStreamEvent(ev: SseEvent, state: StreamState, call: HttpCall): string | undefined {
    const data = this.eventJson(ev, call, "event");
    const type = typeof data.type === "string" ? data.type : ev.event;
    switch (type) {
      case "message_start": {
        const u = (data.message as { usage?: unknown } | undefined)?.usage;
        state.inputTokens = inputTokensOf(u) ?? state.inputTokens;
        state.outputTokens = num((u as { output_tokens?: unknown } | undefined)?.output_tokens) ?? state.outputTokens;
        return undefined;
      }
      case "content_block_start": {
        const block = data.content_block as { type?: unknown; text?: unknown } | undefined;
        return block?.type === "text" && typeof block.text === "string" ? block.text : undefined;
      }
      case "content_block_delta": {
        const delta = data.delta as { type?: unknown; text?: unknown } | undefined;
        return delta?.type === "text_delta" && typeof delta.text === "string" ? delta.text : undefined;
      }
      case "message_delta": {
        const d = data.delta as { stop_reason?: unknown } | undefined;
        if (typeof d?.stop_reason === "string") state.finishReason = d.stop_reason;
        const u = data.usage as { output_tokens?: unknown } | undefined;
        state.outputTokens = num(u?.output_tokens) ?? state.outputTokens;
        state.inputTokens = inputTokensOf(u) ?? state.inputTokens;
        return undefined;
      }
      case "message_stop":
        state.ended = true;
        return undefined;
      case "error": {
        const e = data.error as { type?: unknown; message?: unknown } | undefined;
        const kind: ModelErrorKind = e?.type === "rate_limit_error" ? "rate_limited" : e?.type === "overloaded_error" || e?.type === "api_error" ? "retryable" : "fatal";
        throw modelError(call, kind, `the server reported an error mid-stream: ${typeof e?.message === "string" ? e.message : JSON.stringify(e)}`);
      }
      case undefined:
      default:
        // ping, content_block_stop and event types added later are ignored.
        return undefined;
    }
  }

  protected streamCut(state: StreamState): string | undefined {
    return state.ended ? undefined : "the stream ended before message_stop: the answer was cut";
  }
}

/**
 * The Messages API has no JSON mode switch; the system prompt asks for JSON (and the schema),
 * and the answer is parsed (a Markdown code fence around it is tolerated).
 */
function jsonInstruction(chat: ChatRequest): string {
  const j = chat.json;
  if (j?.type === "schema") return `Answer with only a JSON value that matches this JSON Schema, and nothing else:\n${JSON.stringify(j.schema)}`;
  return "Answer with only a JSON object, and nothing else.";
}

/** Input tokens: uncached plus cache writes plus cache reads, as the API splits them. */
function inputTokensOf(u: unknown): number | undefined {
  if (!u || typeof u !== "object") return undefined;
  const o = u as { input_tokens?: unknown; cache_creation_input_tokens?: unknown; cache_read_input_tokens?: unknown };
  const base = num(o.input_tokens);
  if (base === undefined) return undefined;
  return base + (num(o.cache_creation_input_tokens) ?? 0) + (num(o.cache_read_input_tokens) ?? 0);
}

/** Factory for the provider table. */
export function createAnthropicModel(config: ModelConfig, services: ProviderServices): AnthropicModel {
  return new AnthropicModel(config, services);
}
