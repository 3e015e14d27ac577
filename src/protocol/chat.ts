/**
 * Chat completions through the registry, for the OpenAI-compatible endpoint: `model` names a
 * registered model, a capability set (`capabilities/a,b` or one capability name), or a
 * pipeline (`pipeline/<name>`, its input the messages, its output the answer).
 *
 * A whole answer (`complete`) runs as a one-step pipeline: selection, retries, fallbacks,
 * the response cache and per-model limits, like any step. A streamed answer (`stream`) goes
 * down the same chain itself, and fails honestly: a model that fails before its first token
 * reached the client is replaced by the next one (the client never knows); once a token was
 * sent, a failure ends the stream with a StreamCutError, never with a clean finish that would
 * hide a cut answer. A failed completion is journalled as a run with one failed step.
 */
import type { ErrorInfo, RunObserver } from "../events/event.js";
import type { CallRequest } from "../events/ports.js";
import { usageOf } from "../models/base-model.js";
import type { BaseModel } from "../models/base-model.js";
import { estimateTokens, messagesText, type ChatRequest } from "../models/chat-request.js";
import { isRetryable } from "../models/errors.js";
import { createModel } from "../models/providers/index.js";
import { isStreamingModel } from "../models/streaming.js";
import type { ModelConfig, Usage } from "../models/types.js";
import { newRunId, toErrorInfo } from "../orchestrator/run.js";
import type { AttemptRecord, RunReport, StepRecord } from "../events/report.js";
import { ProtocolError } from "./errors.js";
import { checkInputLimits } from "./input-limits.js";
import { chainFor, oneStepPipeline, registryOf } from "./model-calls.js";
import type { ProtocolServices } from "./services.js";

/** A chat request in the runner's LLM call shape (DESIGN section 3). */
export interface ChatInput {
  messages: { role: string; content: string }[];
  system?: string;
  temperature?: number;
  maxTokens?: number;
}

/** What a completion returns. */
export interface ChatAnswer {
  text: string;
  model: string;
  usage: Usage;
  finishReason: string;
  cached?: boolean;
}

/** A piece of a streamed answer, then the end. */
export type ChatStreamEvent = { type: "delta"; text: string; model: string } | { type: "done"; answer: ChatAnswer };

/** The stream failed after its first token: the answer the client has is cut. */
export class StreamCutError extends ProtocolError {
  constructor(
    readonly model: string,
    message: string,
  ) {
    super("run_failed", message);
    this.name = "StreamCutError";
  }
}

type Target = { kind: "models"; chain: string[]; capabilities: string[] } | { kind: "pipeline"; name: string };

/** Resolves the `model` of a request against the registry and the live set. */
export function chatTarget(model: string, services: ProtocolServices): Target {
  if (model.startsWith("pipeline/")) return { kind: "pipeline", name: model.slice("pipeline/".length) };
  const models = services.models();
  if (registryOf(models).has(model)) return { kind: "models", chain: chainFor({ model }, models), capabilities: [] };
  const caps = (model.startsWith("capabilities/") ? model.slice("capabilities/".length) : model)
    .split(",")
    .map((c) => c.trim())
    .filter(Boolean);
  if (caps.length === 0) throw new ProtocolError("not_found", `no model '${model}'`);
  try {
    return { kind: "models", chain: chainFor({ capabilities: caps }, models), capabilities: caps };
  } catch {
    throw new ProtocolError("not_found", `no model, capability or pipeline '${model}' (models: ${registryOf(models).names().join(", ") || "none"}; pipelines: pipeline/<name>)`);
  }
}

function answerText(output: unknown): string {
  if (typeof output === "string") return output;
  const t = (output as { text?: unknown } | null)?.text;
  if (typeof t === "string") return t;
  return JSON.stringify(output ?? null);
}

export class ChatService {
  readonly #s: ProtocolServices;
  readonly #instances = new Map<ModelConfig, Promise<BaseModel>>();
  readonly #env: NodeJS.ProcessEnv;

  readonly #observer: RunObserver | undefined;

  constructor(services: ProtocolServices, env: NodeJS.ProcessEnv = process.env, observer?: RunObserver) {
    this.#s = services;
    this.#env = env;
    this.#observer = observer;
  }

  /**
   * The cached answer of the chain's first model, if the cache has it: the lookup the run's
   * first call would make, without building a run for it (a hit calls no model, so there is
   * nothing for retries, fallbacks or limits to do).
   */
  async #cached(target: { chain: readonly string[]; capabilities: readonly string[] }, input: ChatInput): Promise<ChatAnswer | undefined> {
    const hooks = this.#s.hooks?.() ?? [];
    if (hooks.length === 0) return undefined;
    const registry = registryOf(this.#s.models());
    const configs = target.chain.map((n) => registry.get(n)!);
    // A chain with size limits is filtered by the input's tokens first; let the run do that.
    if (configs.some((m) => m.maxTokens !== undefined)) return undefined;
    const model = configs[0]!;
    const req: CallRequest = { runId: "", stepId: "call", model, input, capabilities: target.capabilities };
    for (const h of hooks) {
      if (!h.lookup || (h.applies && !h.applies(req))) continue;
      const hit = await h.lookup(req);
      if (!hit) return undefined;
      this.#observer?.onEvent({ type: "step.cache", runId: "", ts: Date.now(), stepId: "call", model: model.name, hit: true, source: hit.source });
      const usage = hit.usage ?? usageOf(hit.output) ?? { inputTokens: 0, outputTokens: 0 };
      return { text: answerText(hit.output), model: model.name, usage, finishReason: (hit.output as { finishReason?: string } | null)?.finishReason ?? "stop", cached: true };
    }
    return undefined;
  }

  /** One whole answer. */
  async complete(model: string, input: ChatInput, ctx: { readonly signal: AbortSignal }): Promise<ChatAnswer> {
    checkInputLimits(input, this.#s.limits, "the messages");
    const target = chatTarget(model, this.#s);
    if (target.kind === "pipeline") return this.#pipeline(target.name, input, ctx.signal);
    const hit = await this.#cached(target, input);
    if (hit) return hit;
    const signal = ctx.signal;
    const models = this.#s.models();
    const pipeline = oneStepPipeline({ name: "chat.completions", models, chain: target.chain, capabilities: target.capabilities, input, settings: this.#s.settings() });
    const run = this.#s.orchestrator.startRun(pipeline, {}, { signal, hooks: this.#s.hooks?.() ?? [] });
    const report = await run.done;
    const rec = report.steps.call;
    if (report.status !== "success" || rec?.status !== "success") {
      await this.#journalFailure(report);
      throw new ProtocolError(report.status === "cancelled" ? "unavailable" : "run_failed", report.error?.message ?? "the model call failed", report.error ? { error: report.error } : undefined);
    }
    return {
      text: answerText(rec.output),
      model: rec.model ?? target.chain[0]!,
      usage: rec.usage,
      finishReason: (rec.output as { finishReason?: string } | null)?.finishReason ?? "stop",
      cached: rec.cached,
    };
  }

  async #pipeline(name: string, input: ChatInput, signal: AbortSignal): Promise<ChatAnswer> {
    const pipeline = this.#s.pipelines.get(name);
    if (!pipeline) throw new ProtocolError("not_found", `no pipeline named '${name}'`);
    const { runId } = await this.#s.runs.start({ pipeline, input });
    const summary = await this.#s.runs.wait(runId, signal);
    if (!summary || summary.status !== "success")
      throw new ProtocolError("run_failed", summary?.error?.message ?? `the run of pipeline '${name}' did not succeed (${summary?.status ?? "gone"})`, { runId });
    return {
      text: answerText(summary.output),
      model: `pipeline/${name}`,
      usage: { inputTokens: summary.totals?.inputTokens ?? 0, outputTokens: summary.totals?.outputTokens ?? 0 },
      finishReason: "stop",
    };
  }

  /**
   * A streamed answer. Throws (before yielding anything) when every model failed before its
   * first token; throws StreamCutError when a model failed after it.
   */
  async *stream(model: string, input: ChatInput, signal: AbortSignal, onModelCall?: (model: string, ok: boolean, ms: number, usage?: Usage, kind?: string) => void): AsyncGenerator<ChatStreamEvent> {
    checkInputLimits(input, this.#s.limits, "the messages");
    const target = chatTarget(model, this.#s);
    if (target.kind === "pipeline") {
      const a = await this.#pipeline(target.name, input, signal);
      yield { type: "delta", text: a.text, model: a.model };
      yield { type: "done", answer: a };
      return;
    }
    const registry = registryOf(this.#s.models());
    const started = Date.now();
    const attempts: AttemptRecord[] = [];
    let last: unknown;
    for (const name of target.chain) {
      const config = registry.get(name)!;
      // Two attempts per model for transient failures, as long as nothing was sent.
      for (let attempt = 1; attempt <= 2; attempt++) {
        const t0 = Date.now();
        let sent = false;
        try {
          const instance = await this.#instance(config);
          const ctx = { signal, capabilities: target.capabilities, attempt };
          if (isStreamingModel(instance)) {
            for await (const ev of instance.stream(input, ctx)) {
              if (ev.type === "delta") {
                sent = true;
                yield { type: "delta", text: ev.text, model: name };
              } else {
                onModelCall?.(name, true, Date.now() - t0, ev.output.usage);
                yield { type: "done", answer: { text: ev.output.text, model: name, usage: ev.output.usage, finishReason: ev.output.finishReason } };
                return;
              }
            }
            throw new Error("the model's stream ended without its last event");
          }
          const out = await instance.process(input, ctx);
          const text = answerText(out);
          const usage = (out as { usage?: Usage } | null)?.usage ?? { inputTokens: estimateTokens(messagesText(input as ChatRequest)), outputTokens: estimateTokens(text) };
          onModelCall?.(name, true, Date.now() - t0, usage);
          sent = true;
          yield { type: "delta", text, model: name };
          yield { type: "done", answer: { text, model: name, usage, finishReason: (out as { finishReason?: string } | null)?.finishReason ?? "stop" } };
          return;
        } catch (e) {
          const info: ErrorInfo = toErrorInfo(e, "model-error");
          onModelCall?.(name, false, Date.now() - t0, undefined, info.kind ?? info.reason);
          attempts.push({ model: name, attempt, ok: false, durationMs: Date.now() - t0, error: info });
          if (signal.aborted) throw e;
          if (sent) {
            await this.#journalStreamFailure(started, attempts, info, input);
            throw new StreamCutError(name, `the answer of model '${name}' was cut after it began: ${info.message}`);
          }
          last = e;
          if (!isRetryable(e)) break;
        }
      }
    }
    const info = toErrorInfo(last, "model-error");
    await this.#journalStreamFailure(started, attempts, info, input);
    throw new ProtocolError("run_failed", `every model failed before answering (${[...new Set(attempts.map((a) => a.model))].join(", ")}): ${info.message}`);
  }

  async #instance(config: ModelConfig): Promise<BaseModel> {
    let m = this.#instances.get(config);
    if (!m) {
      m = createModel(config, { env: this.#env });
      this.#instances.set(config, m);
      m.catch(() => this.#instances.delete(config));
    }
    return m;
  }

  async #journalStreamFailure(started: number, attempts: AttemptRecord[], error: ErrorInfo, input: ChatInput): Promise<void> {
    const step: StepRecord = { status: "failed", attempts, durationMs: Date.now() - started, usage: { inputTokens: 0, outputTokens: 0 }, cost: 0, cached: false, error, startedAt: started };
    const report: RunReport = {
      runId: newRunId(),
      pipeline: "chat.completions",
      file: "<chat>",
      hash: "",
      status: "failed",
      startedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      input,
      error,
      steps: { completion: step },
      totals: { inputTokens: 0, outputTokens: 0, cost: 0, calls: attempts.length, cacheHits: 0, cacheMisses: 0 },
    };
    await this.#journalFailure(report);
  }

  /** Writes a failed completion to the journal (`mcp runs` lists it). */
  async #journalFailure(report: RunReport): Promise<void> {
    const store = this.#s.store;
    try {
      const startedAt = Date.parse(report.startedAt);
      await store.runStarted({ id: report.runId, pipeline: report.pipeline, file: "<chat>", hash: "", input: report.input, startedAt, pid: process.pid });
      for (const [id, rec] of Object.entries(report.steps)) await store.putStep(report.runId, id, rec);
      await store.runFinished(report.runId, {
        status: "failed",
        finishedAt: Date.now(),
        durationMs: report.durationMs,
        ...(report.error ? { error: report.error } : {}),
        totals: report.totals,
        report,
      });
    } catch {
      // The journal is best effort here; the client has its error either way.
    }
  }

  async close(): Promise<void> {
    const all = [...this.#instances.values()];
    this.#instances.clear();
    await Promise.all(all.map(async (p) => (await p.catch(() => undefined))?.close()));
  }
}
