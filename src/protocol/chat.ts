/**
 * Chat completions through the registry, for the OpenAI-compatible endpoint: `model` names a
 * registered model, a capability set (`capabilities/a,b` or one capability name), or a
 * pipeline (`pipeline/<name>`, its input the messages, its output the answer).
 *
 * A whole answer (`complete`) runs as a one-step pipeline: selection, retries, fallbacks,
 * the response cache, the budget and per-model limits, like any step. A streamed answer
 * (`stream`) is the same run with the orchestrator's `onDelta` on, and fails honestly: a
 * model that fails before its first token reached the client is retried (with the step's
 * backoff and the provider's Retry-After) or replaced by the next one, and the client never
 * knows; once a token was
 * sent, a failure ends the stream with a StreamCutError, never with a clean finish that would
 * hide a cut answer. A failed completion is journalled as a run with one failed step.
 */
import type { RunObserver } from "../events/event.js";
import type { CallRequest } from "../events/ports.js";
import { usageOf } from "../models/base-model.js";
import type { RunReport } from "../events/report.js";
import type { Usage } from "../models/types.js";
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

  readonly #observer: RunObserver | undefined;

  /** `_env` is kept for callers: model instances (and their environment) are the orchestrator's. */
  constructor(services: ProtocolServices, _env: NodeJS.ProcessEnv = process.env, observer?: RunObserver) {
    this.#s = services;
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
   * A streamed answer, down the same path as a whole one: the cache (a hit is replayed as
   * the stream), the chain with its retries, backoff and fallbacks, the per-model limits,
   * the journal. Throws (before yielding anything) when every model failed before its first
   * token; throws StreamCutError when a model failed after it (no retry, no fallback then).
   */
  async *stream(model: string, input: ChatInput, signal: AbortSignal): AsyncGenerator<ChatStreamEvent> {
    checkInputLimits(input, this.#s.limits, "the messages");
    const target = chatTarget(model, this.#s);
    if (target.kind === "pipeline") {
      const a = await this.#pipeline(target.name, input, signal);
      yield { type: "delta", text: a.text, model: a.model };
      yield { type: "done", answer: a };
      return;
    }
    const hit = await this.#cached(target, input);
    if (hit) {
      yield { type: "delta", text: hit.text, model: hit.model };
      yield { type: "done", answer: hit };
      return;
    }
    const pending: ChatStreamEvent[] = [];
    let wake: (() => void) | undefined;
    let ended = false;
    let sent = false;
    const pipeline = oneStepPipeline({ name: "chat.completions", models: this.#s.models(), chain: target.chain, capabilities: target.capabilities, input, settings: this.#s.settings() });
    const run = this.#s.orchestrator.startRun(
      pipeline,
      {},
      {
        signal,
        hooks: this.#s.hooks?.() ?? [],
        onDelta: (d) => {
          sent = true;
          pending.push({ type: "delta", text: d.text, model: d.model });
          wake?.();
        },
      },
    );
    const done = run.done.finally(() => {
      ended = true;
      wake?.();
    });
    while (!ended || pending.length > 0) {
      if (pending.length === 0) {
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
        continue;
      }
      yield pending.shift()!;
    }
    const report = await done;
    const rec = report.steps.call;
    if (report.status !== "success" || rec?.status !== "success") {
      await this.#journalFailure(report);
      if (signal.aborted) throw new ProtocolError("unavailable", "the client went away");
      const error = report.error ?? rec?.error;
      if (sent || error?.kind === "stream_cut") throw new StreamCutError(error?.model ?? rec?.model ?? target.chain[0]!, error?.message ?? "the answer was cut after it began");
      throw new ProtocolError("run_failed", error?.message ?? "every model failed before answering", error ? { error } : undefined);
    }
    const answer: ChatAnswer = {
      text: answerText(rec.output),
      model: rec.model ?? target.chain[0]!,
      usage: rec.usage,
      finishReason: (rec.output as { finishReason?: string } | null)?.finishReason ?? "stop",
      ...(rec.cached ? { cached: true } : {}),
    };
    // A model that cannot stream (or a cache hit inside the run) answers in one piece.
    if (!sent) yield { type: "delta", text: answer.text, model: answer.model };
    yield { type: "done", answer };
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

  /** Nothing of its own to close: the runs and their models are the orchestrator's. */
  async close(): Promise<void> {}
}
