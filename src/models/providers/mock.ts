/**
 * The `mock` provider: scripted replies, latency and failures, for tests, demos and
 * benchmarks. Options (DESIGN section 3):
 *
 *   reply: { text: "echo: ${{ $request.prompt }}" }   template over $request (the model input)
 *   replies: [ ... ]      replies used in turn (the last one repeats)
 *   latency: 20ms         per call; honours the call's AbortSignal
 *   failFirst: 2          the first 2 calls fail with a retryable error
 *   failRate: 0.1         or fail at random, seeded with `seed`
 *   failWith: { kind: rate_limited, status: 429, retryAfter: 1s, message: ... }
 *   usage: { inputTokens: 10, outputTokens: 5 }
 *   chunkDelay: 10ms      streamed (`mcp run --stream`): the reply's text comes word by word,
 *                         this long apart
 */
import { BaseModel, type ModelCallContext } from "../base-model.js";
import type { ModelStreamEvent, StreamingModel } from "../streaming.js";
import type { LlmOutput } from "../types.js";
import { ModelError, type ModelErrorKind } from "../errors.js";
import type { ModelConfig } from "../types.js";
import { compileTemplateValue, evaluateTemplate, type Template } from "../../expr/template.js";
import { parseDuration } from "../../util/duration.js";
import { sleep } from "../../util/sleep.js";

interface MockOptions {
  reply?: unknown;
  replies?: unknown[];
  latency?: string | number;
  failFirst?: number;
  failRate?: number;
  seed?: number;
  failWith?: { kind?: ModelErrorKind; status?: number; retryAfter?: string | number; message?: string };
  usage?: { inputTokens?: number; outputTokens?: number };
  chunkDelay?: string | number;
}

/** Small, fast, seedable PRNG (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class MockModel extends BaseModel implements StreamingModel {
  readonly #config: ModelConfig;
  readonly #options: Template;
  readonly #literal: MockOptions | undefined;
  /** The literal options' latency, parsed once. */
  readonly #latency: number | undefined;
  readonly #random: () => number;
  /** Calls received, including failed ones. */
  calls = 0;

  constructor(config: ModelConfig) {
    super();
    this.#config = config;
    this.capabilities = [...config.capabilities];
    this.#options = config.templates?.options ?? compileTemplateValue(config.options ?? {}, `model '${config.name}' options`);
    this.#literal = this.#options.kind === "literal" ? ((this.#options.value ?? {}) as MockOptions) : undefined;
    this.#latency = this.#literal ? (parseDuration(this.#literal.latency) ?? 0) : undefined;
    const seed = (config.options as MockOptions | undefined)?.seed;
    this.#random = typeof seed === "number" ? seededRandom(seed) : Math.random;
  }

  override async process(input: unknown, ctx: ModelCallContext): Promise<unknown> {
    const n = ++this.calls;
    const opts = this.#literal ?? ((await evaluateTemplate(this.#options, { request: input })) as MockOptions);
    const latency = this.#latency ?? parseDuration(opts.latency) ?? 0;
    if (latency > 0) await sleep(latency, ctx.signal);
    else if (ctx.signal.aborted) throw ctx.signal.reason;

    const failing = (opts.failFirst !== undefined && n <= opts.failFirst) || (opts.failRate !== undefined && this.#random() < opts.failRate);
    if (failing) {
      const f = opts.failWith ?? {};
      const kind = f.kind ?? "retryable";
      const retryAfterMs = parseDuration(f.retryAfter);
      throw new ModelError(f.message ?? `mock failure on call ${n} (${kind})`, {
        kind,
        provider: "mock",
        model: this.#config.name,
        ...(f.status !== undefined ? { status: f.status } : kind === "rate_limited" ? { status: 429 } : {}),
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      });
    }

    let reply: unknown;
    if (Array.isArray(opts.replies) && opts.replies.length) reply = opts.replies[Math.min(n - 1 - (opts.failFirst ?? 0), opts.replies.length - 1)] ?? opts.replies[opts.replies.length - 1];
    else reply = opts.reply ?? { text: defaultText(input) };
    if (reply && typeof reply === "object" && !Array.isArray(reply)) {
      const r = reply as Record<string, unknown>;
      const usage = opts.usage ? { inputTokens: opts.usage.inputTokens ?? 0, outputTokens: opts.usage.outputTokens ?? 0 } : r.usage;
      // Object.assign, not a spread: V8 (Node 20) copies a parsed object by spread, then adds
      // to it, about twenty times slower.
      const out: Record<string, unknown> = Object.assign({}, r);
      if (usage) out.usage = usage;
      if (typeof r.text === "string" && r.finishReason === undefined) out.finishReason = "stop";
      return out;
    }
    return reply;
  }

  /**
   * Streams a reply: the same answer as process(), its text handed out word by word
   * (`chunkDelay` apart), then the whole output. A reply without text streams no delta.
   */
  async *stream(input: unknown, ctx: ModelCallContext): AsyncGenerator<ModelStreamEvent> {
    const output = (await this.process(input, ctx)) as LlmOutput;
    const text = (output as { text?: unknown } | null)?.text;
    if (typeof text === "string") {
      const delay = parseDuration((await this.#optionsFor(input)).chunkDelay) ?? 0;
      const pieces = text.match(/\s*\S+\s*/g) ?? [];
      for (let i = 0; i < pieces.length; i++) {
        if (i > 0 && delay > 0) await sleep(delay, ctx.signal);
        else if (ctx.signal.aborted) throw ctx.signal.reason;
        yield { type: "delta", text: pieces[i]! };
      }
    }
    yield { type: "done", output };
  }

  async #optionsFor(input: unknown): Promise<MockOptions> {
    return this.#literal ?? ((await evaluateTemplate(this.#options, { request: input })) as MockOptions);
  }
}

function defaultText(input: unknown): string {
  const p = (input as { prompt?: unknown } | null)?.prompt;
  return typeof p === "string" ? p : JSON.stringify(input ?? null);
}

export function createMockModel(config: ModelConfig): BaseModel {
  return new MockModel(config);
}
