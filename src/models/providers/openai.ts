/**
 * The `openai` provider: the OpenAI-compatible Chat Completions API,
 * `POST {baseUrl}/chat/completions`. Besides OpenAI it speaks to every server that copies
 * it: Ollama, vLLM, llama.cpp server, LM Studio, OpenRouter, Groq. docs/providers.md.
 */
import { OPENAI_DEFAULT_BASE_URL } from "../provider-facts.js";
import type { ModelCallContext } from "../base-model.js";
import { CHAT_OPTION_KEYS, estimateTokens, messagesText, parseJsonAnswer, toChatRequest, type ChatRequest } from "../chat-request.js";
import { malformed, modelError, readJson, readSse, send, snippet, type HttpCall } from "../http-client.js";
import type { ModelStreamEvent, StreamingModel } from "../streaming.js";
import type { LlmOutput, ModelConfig, Usage } from "../types.js";
import type { ProviderServices } from "./services.js";
import { endpoint, parseUrl, RemoteModel } from "./remote-model.js";

export { OPENAI_DEFAULT_BASE_URL };

/** An OpenAI-compatible chat model. */
export class OpenAIModel extends RemoteModel implements StreamingModel {
  readonly #url: URL;

  constructor(config: ModelConfig, services: ProviderServices) {
    super("openai", config, services, CHAT_OPTION_KEYS);
    this.#url = endpoint(parseUrl(config.baseUrl ?? OPENAI_DEFAULT_BASE_URL, "baseUrl", config), "chat/completions");
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
    const req = await this.#request(input);
    yield* this.#streamRequest(req, ctx);
  }

  async #request(input: unknown) {
    const options = await this.options(input);
    const chat = toChatRequest(input, options, { stream: this.config.stream ?? false }, (d) => {
      throw this.fatal(d);
    });
    const headers = await this.headers(input);
    const key = this.apiKey();
    const messages = chat.system !== undefined ? [{ role: "system", content: chat.system }, ...chat.messages] : chat.messages;
    const base = {
      model: this.apiModel,
      messages,
      ...(chat.temperature !== undefined ? { temperature: chat.temperature } : {}),
      ...(chat.maxTokens !== undefined ? { max_tokens: chat.maxTokens } : {}),
      ...(chat.json ? { response_format: responseFormat(chat) } : {}),
    };
    const call = (signal: AbortSignal, stream: boolean): HttpCall => {
      const body = stream ? { ...base, stream: true, stream_options: { include_usage: true }, ...chat.body } : { ...base, ...chat.body };
      return this.call(this.#url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: stream ? "text/event-stream" : "application/json",
          ...headers,
          ...(key !== undefined ? { authorization: `Bearer ${key}` } : {}),
        },
        body: JSON.stringify(body),
        signal,
        stream,
        key,
      });
    };
    return { chat, call };
  }

  async *#streamRequest(req: { chat: ChatRequest; call: (s: AbortSignal, stream: boolean) => HttpCall }, ctx: ModelCallContext): AsyncGenerator<ModelStreamEvent> {
    const call = req.call(ctx.signal, true);
    const res = await send(call);
    let text = "";
    let finishReason: string | undefined;
    let usage: Usage | undefined;
    let done = false;
    for await (const ev of readSse(res, call)) {
      if (ev.data === "[DONE]") {
        done = true;
        break;
      }
      let chunk: Record<string, unknown>;
      try {
        chunk = JSON.parse(ev.data) as Record<string, unknown>;
      } catch {
        throw malformed(call, `a stream chunk is not JSON: ${snippet(ev.data, call.secrets)}`);
      }
      if (chunk.error !== undefined) {
        const e = chunk.error as { message?: unknown } | string;
        const msg = typeof e === "string" ? e : typeof e?.message === "string" ? e.message : JSON.stringify(e);
        throw modelError(call, "retryable", `the server reported an error mid-stream: ${msg}`);
      }
      const choice = (Array.isArray(chunk.choices) ? chunk.choices[0] : undefined) as { delta?: { content?: unknown }; finish_reason?: unknown } | undefined;
      const delta = choice?.delta?.content;
      if (typeof delta === "string" && delta !== "") {
        text += delta;
        yield { type: "delta", text: delta };
      }
      if (typeof choice?.finish_reason === "string") finishReason = choice.finish_reason;
      const u = readUsage(chunk.usage);
      if (u) usage = u;
    }
    // Some servers end with the finish reason and no [DONE]; without either the answer was cut.
    if (!done && finishReason === undefined) {
      throw modelError(call, "retryable", "the stream ended before the answer was complete");
    }
    yield { type: "done", output: this.#output(text, finishReason ?? "stop", usage, req.chat, call) };
  }

  #answer(body: unknown, chat: ChatRequest, call: HttpCall): LlmOutput {
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
    const finishReason = typeof choice.finish_reason === "string" ? choice.finish_reason : "stop";
    return this.#output(text, finishReason, readUsage(b?.usage), chat, call);
  }

  #output(text: string, finishReason: string, usage: Usage | undefined, chat: ChatRequest, call: HttpCall): LlmOutput {
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
