/**
 * The `anthropic` provider: the Messages API, `POST {baseUrl}/messages`, with the
 * `x-api-key` and `anthropic-version` headers, a top-level `system` prompt, the required
 * `max_tokens`, and streamed events (message_start, content_block_delta, message_delta,
 * message_stop, error). docs/providers.md.
 */
import { ANTHROPIC_DEFAULT_BASE_URL } from "../provider-facts.js";
import type { ModelCallContext } from "../base-model.js";
import { CHAT_OPTION_KEYS, estimateTokens, messagesText, parseJsonAnswer, toChatRequest, type ChatMessage, type ChatRequest } from "../chat-request.js";
import type { ModelErrorKind } from "../errors.js";
import { malformed, modelError, readJson, readSse, send, snippet, type HttpCall } from "../http-client.js";
import type { ModelStreamEvent, StreamingModel } from "../streaming.js";
import type { LlmOutput, ModelConfig, Usage } from "../types.js";
import type { ProviderServices } from "./services.js";
import { endpoint, parseUrl, RemoteModel } from "./remote-model.js";

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
export class AnthropicModel extends RemoteModel implements StreamingModel {
  readonly #url: URL;

  constructor(config: ModelConfig, services: ProviderServices) {
    super("anthropic", config, services, CHAT_OPTION_KEYS);
    this.#url = endpoint(parseUrl(config.baseUrl ?? ANTHROPIC_DEFAULT_BASE_URL, "baseUrl", config), "messages");
  }

  async process(input: unknown, ctx: ModelCallContext): Promise<LlmOutput> {
    const req = await this.#request(input);
    if (req.chat.stream) {
      for await (const ev of this.#streamRequest(req, ctx)) if (ev.type === "done") return ev.output;
      throw new Error("Internal error: the stream ended without a done event");
    }
    const call = req.call(ctx.signal, false);
    const res = await send(call);
    return this.#answer(await readJson(res, call), req.chat, call);
  }

  /** Streams the answer: text deltas, then the assembled output. */
  async *stream(input: unknown, ctx: ModelCallContext): AsyncGenerator<ModelStreamEvent> {
    yield* this.#streamRequest(await this.#request(input), ctx);
  }

  async #request(input: unknown) {
    const options = await this.options(input);
    const chat = toChatRequest(input, options, { stream: this.config.stream ?? false }, (d) => {
      throw this.fatal(d);
    });
    const headers = await this.headers(input);
    const key = this.apiKey();
    // The API takes the system prompt at the top level only; system messages move there.
    const systemParts = chat.system !== undefined ? [chat.system] : [];
    const messages: ChatMessage[] = [];
    for (const m of chat.messages) {
      if (m.role === "system") systemParts.push(typeof m.content === "string" ? m.content : JSON.stringify(m.content));
      else messages.push(m);
    }
    if (chat.json) systemParts.push(jsonInstruction(chat));
    const base = {
      model: this.apiModel,
      max_tokens: chat.maxTokens ?? ANTHROPIC_DEFAULT_MAX_TOKENS,
      ...(systemParts.length ? { system: systemParts.join("\n\n") } : {}),
      messages,
      ...(chat.temperature !== undefined ? { temperature: chat.temperature } : {}),
    };
    const call = (signal: AbortSignal, stream: boolean): HttpCall =>
      this.call(this.#url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: stream ? "text/event-stream" : "application/json",
          "anthropic-version": ANTHROPIC_VERSION,
          ...headers,
          ...(key !== undefined ? { "x-api-key": key } : {}),
        },
        body: JSON.stringify(stream ? { ...base, stream: true, ...chat.body } : { ...base, ...chat.body }),
        signal,
        stream,
        key,
      });
    return { chat, call };
  }

  async *#streamRequest(req: { chat: ChatRequest; call: (s: AbortSignal, stream: boolean) => HttpCall }, ctx: ModelCallContext): AsyncGenerator<ModelStreamEvent> {
    const call = req.call(ctx.signal, true);
    const res = await send(call);
    let text = "";
    let stopReason: string | undefined;
    let inputTokens: number | undefined;
    let outputTokens: number | undefined;
    let stopped = false;
    for await (const ev of readSse(res, call)) {
      let data: Record<string, unknown>;
      try {
        data = JSON.parse(ev.data) as Record<string, unknown>;
      } catch {
        throw malformed(call, `a stream event is not JSON: ${snippet(ev.data, call.secrets)}`);
      }
      const type = typeof data.type === "string" ? data.type : ev.event;
      if (type === "message_start") {
        const u = (data.message as { usage?: unknown } | undefined)?.usage;
        inputTokens = inputTokensOf(u) ?? inputTokens;
        outputTokens = num((u as { output_tokens?: unknown } | undefined)?.output_tokens) ?? outputTokens;
      } else if (type === "content_block_start") {
        const block = data.content_block as { type?: unknown; text?: unknown } | undefined;
        if (block?.type === "text" && typeof block.text === "string" && block.text !== "") {
          text += block.text;
          yield { type: "delta", text: block.text };
        }
      } else if (type === "content_block_delta") {
        const delta = data.delta as { type?: unknown; text?: unknown } | undefined;
        if (delta?.type === "text_delta" && typeof delta.text === "string" && delta.text !== "") {
          text += delta.text;
          yield { type: "delta", text: delta.text };
        }
      } else if (type === "message_delta") {
        const d = data.delta as { stop_reason?: unknown } | undefined;
        if (typeof d?.stop_reason === "string") stopReason = d.stop_reason;
        const u = data.usage as { output_tokens?: unknown } | undefined;
        outputTokens = num(u?.output_tokens) ?? outputTokens;
        inputTokens = inputTokensOf(u) ?? inputTokens;
      } else if (type === "message_stop") {
        stopped = true;
        break;
      } else if (type === "error") {
        const e = data.error as { type?: unknown; message?: unknown } | undefined;
        const kind: ModelErrorKind = e?.type === "rate_limit_error" ? "rate_limited" : e?.type === "overloaded_error" || e?.type === "api_error" ? "retryable" : "fatal";
        throw modelError(call, kind, `the server reported an error mid-stream: ${typeof e?.message === "string" ? e.message : JSON.stringify(e)}`);
      }
      // ping, content_block_stop and event types added later are ignored.
    }
    if (!stopped) throw modelError(call, "retryable", "the stream ended before message_stop: the answer was cut");
    const usage: Usage | undefined = inputTokens !== undefined || outputTokens !== undefined ? { inputTokens: inputTokens ?? 0, outputTokens: outputTokens ?? 0 } : undefined;
    yield { type: "done", output: this.#output(text, stopReason, usage, req.chat, call) };
  }

  #answer(body: unknown, chat: ChatRequest, call: HttpCall): LlmOutput {
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
    return this.#output(text, typeof b.stop_reason === "string" ? b.stop_reason : undefined, usage, chat, call);
  }

  #output(text: string, stopReason: string | undefined, usage: Usage | undefined, chat: ChatRequest, call: HttpCall): LlmOutput {
    const finishReason = stopReason === undefined ? "stop" : (FINISH_REASONS[stopReason] ?? stopReason);
    const out: LlmOutput = {
      text,
      usage: usage ?? { inputTokens: estimateTokens(messagesText(chat)), outputTokens: estimateTokens(text) },
      finishReason,
    };
    if (chat.json) {
      const parsed = parseJsonAnswer(text);
      if (!parsed.ok) {
        const cut = finishReason === "length" ? " (the answer was cut at maxTokens)" : "";
        throw malformed(call, `JSON was asked for, but the answer is not JSON${cut}: ${parsed.message}`);
      }
      out.json = parsed.value;
    }
    return out;
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

function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/** Factory for the provider table. */
export function createAnthropicModel(config: ModelConfig, services: ProviderServices): AnthropicModel {
  return new AnthropicModel(config, services);
}
