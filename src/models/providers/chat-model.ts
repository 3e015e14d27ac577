/**
 * What the chat providers (openai, anthropic) share: reading the call shape, sending it once
 * or as a stream, assembling deltas into the answer, counting tokens when the server does
 * not, parsing a JSON answer, and the errors of a cut or garbled stream. A provider adds only
 * its wire format: the request body and headers, the answer's fields, the stream's events.
 */
import type { ModelCallContext } from "../base-model.js";
import { CHAT_OPTION_KEYS, estimateTokens, messagesText, parseJsonAnswer, toChatRequest, type ChatRequest } from "../chat-request.js";
import { malformed, modelError, readJson, readSse, send, snippet, type HttpCall } from "../http-client.js";
import type { SseEvent } from "../sse-parser.js";
import type { ModelStreamEvent, StreamingModel } from "../streaming.js";
import type { LlmOutput, ModelConfig, Usage } from "../types.js";
import type { ProviderServices } from "./services.js";
import { endpoint, parseUrl, RemoteModel } from "./remote-model.js";

/** What a provider read from a whole (non-streamed) answer. */
export interface ChatAnswer {
  text: string;
  /** The provider's own finish (stop) reason, if it gave one. */
  finishReason: string | undefined;
  usage: Usage | undefined;
}

/** What a stream told so far; a provider's event reader fills it in. */
export interface StreamState {
  finishReason?: string;
  inputTokens?: number;
  outputTokens?: number;
  /** The provider's end-of-answer event arrived: the loop stops reading. */
  ended: boolean;
}

/** One prepared call: the checked request and its HttpCall, streamed or not. */
interface PreparedCall {
  chat: ChatRequest;
  call: (signal: AbortSignal, stream: boolean) => HttpCall;
}

/** A chat model reached over HTTP. Subclasses describe the wire format only. */
export abstract class ChatModel extends RemoteModel implements StreamingModel {
  readonly #url: URL;

  constructor(provider: string, config: ModelConfig, services: ProviderServices, endpointOf: { defaultBaseUrl: string; path: string }) {
    super(provider, config, services, CHAT_OPTION_KEYS);
    this.#url = endpoint(parseUrl(config.baseUrl ?? endpointOf.defaultBaseUrl, "baseUrl", config), endpointOf.path);
  }

  /** The request body without the streaming fields and `options.body`. */
  protected abstract requestBody(chat: ChatRequest): Record<string, unknown>;
  /** Fields the body gets when the answer is streamed (`stream: true`, ...). */
  protected abstract streamFields(): Record<string, unknown>;
  /** Headers sent before the model's own `headers` (which may override them). */
  protected abstract defaultHeaders(): Record<string, string>;
  /** The header carrying the API key; sent last. */
  protected abstract keyHeaders(key: string): Record<string, string>;
  /** Reads a whole answer's body; throws `malformed` when it lacks what the protocol promises. */
  protected abstract readAnswer(body: unknown, call: HttpCall): ChatAnswer;
  /**
   * Reads one stream event into `state`; returns the text delta it carried, if any. Throws
   * the error the event reports.
   */
  protected abstract readStreamEvent(ev: SseEvent, state: StreamState, call: HttpCall): string | undefined;
  /** Why a stream that ended in this state was cut, or undefined when the answer is complete. */
  protected abstract streamCut(state: StreamState): string | undefined;

  /** The finish reason in the vocabulary every provider uses (OpenAI's); "stop" when none. */
  protected finishReason(raw: string | undefined): string {
    return raw ?? "stop";
  }

  async process(input: unknown, ctx: ModelCallContext): Promise<LlmOutput> {
    const req = await this.#prepare(input);
    if (req.chat.stream) {
      for await (const ev of this.#streamCall(req, ctx)) if (ev.type === "done") return ev.output;
      throw new Error("Internal error: the stream ended without a done event");
    }
    const call = req.call(ctx.signal, false);
    const res = await send(call);
    const answer = this.readAnswer(await readJson(res, call), call);
    return this.#output(answer, req.chat, call);
  }

  /** Streams the answer: text deltas, then the assembled output. */
  async *stream(input: unknown, ctx: ModelCallContext): AsyncGenerator<ModelStreamEvent> {
    yield* this.#streamCall(await this.#prepare(input), ctx);
  }

  /** A stream event's data as a JSON object; `malformed` when it is not JSON. */
  protected eventJson(ev: SseEvent, call: HttpCall, noun: string): Record<string, unknown> {
    try {
      return JSON.parse(ev.data) as Record<string, unknown>;
    } catch {
      throw malformed(call, `a stream ${noun} is not JSON: ${snippet(ev.data, call.secrets)}`);
    }
  }

  async #prepare(input: unknown): Promise<PreparedCall> {
    const options = await this.options(input);
    const chat = toChatRequest(input, options, { stream: this.config.stream ?? false }, (d) => {
      throw this.fatal(d);
    });
    const headers = await this.headers(input);
    const key = this.apiKey();
    const base = this.requestBody(chat);
    const call = (signal: AbortSignal, stream: boolean): HttpCall =>
      this.call(this.#url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: stream ? "text/event-stream" : "application/json",
          ...this.defaultHeaders(),
          ...headers,
          ...(key !== undefined ? this.keyHeaders(key) : {}),
        },
        body: JSON.stringify(stream ? { ...base, ...this.streamFields(), ...chat.body } : { ...base, ...chat.body }),
        signal,
        stream,
        key,
      });
    return { chat, call };
  }

  async *#streamCall(req: PreparedCall, ctx: ModelCallContext): AsyncGenerator<ModelStreamEvent> {
    const call = req.call(ctx.signal, true);
    const res = await send(call);
    let text = "";
    const state: StreamState = { ended: false };
    // The events end at the provider's end-of-answer event.
    for await (const ev of readSse(res, call, () => state.ended)) {
      const delta = this.readStreamEvent(ev, state, call);
      if (delta !== undefined && delta !== "") {
        text += delta;
        yield { type: "delta", text: delta };
      }
    }
    const cut = this.streamCut(state);
    if (cut !== undefined) throw modelError(call, "retryable", cut);
    const usage = state.inputTokens !== undefined || state.outputTokens !== undefined ? { inputTokens: state.inputTokens ?? 0, outputTokens: state.outputTokens ?? 0 } : undefined;
    yield { type: "done", output: this.#output({ text, finishReason: state.finishReason, usage }, req.chat, call) };
  }

  #output(answer: ChatAnswer, chat: ChatRequest, call: HttpCall): LlmOutput {
    const { text } = answer;
    const finishReason = this.finishReason(answer.finishReason);
    const out: LlmOutput = {
      text,
      usage: answer.usage ?? { inputTokens: estimateTokens(messagesText(chat)), outputTokens: estimateTokens(text) },
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

/** A number, or undefined for anything else (usage fields). */
export function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}
