/**
 * The spans of one run, through @opentelemetry/api: a no-op until the user registers an SDK
 * (docs/gateway.md, "Traces"). The tree:
 *
 *   run {pipeline}                    one per run
 *   └─ step {id}                      one per step (forEach items share it)
 *      └─ attempt {model} #{n}        one per attempt on a model (retries, fallbacks)
 *         └─ chat {model}             the model call (GenAI conventions), CLIENT
 *
 * Parents are passed explicitly, so the tree holds without a context manager; the model
 * call runs with its span active so HTTP providers and MCP calls carry its traceparent.
 * `RunTrace.start` returns undefined when the run span is not recording (no SDK, or
 * sampled out): the engine then makes no other span and pays one check per call.
 */
import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from "@opentelemetry/api";
import { callSpanName, requestAttributes, responseAttributes, type SpanModel } from "./gen-ai.js";

const TRACER = "mcp-runner";

/** Whether prompts and answers go into spans: OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true, or mcp.yaml telemetry.captureContent. */
export function captureContentFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return /^(true|1)$/i.test(env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT ?? "");
}

/** What ends a span: the error's reason and message, or none. */
export interface SpanOutcome {
  error?: { type: string; message: string };
}

export class RunTrace {
  readonly #run: Span;
  readonly #runCtx: Context;
  readonly #steps = new Map<string, { span: Span; ctx: Context }>();
  readonly #attempts = new Map<string, { span: Span; ctx: Context }>();
  readonly captureContent: boolean;

  private constructor(run: Span, captureContent: boolean) {
    this.#run = run;
    this.#runCtx = trace.setSpan(context.active(), run);
    this.captureContent = captureContent;
  }

  /** Starts the run span; undefined when it is not recording (tracing is off). */
  static start(pipeline: string, runId: string, options: { captureContent?: boolean; resumedFrom?: string } = {}): RunTrace | undefined {
    const span = trace.getTracer(TRACER).startSpan(`run ${pipeline}`, {
      kind: SpanKind.INTERNAL,
      attributes: { "mcp.pipeline.name": pipeline, "mcp.run.id": runId, ...(options.resumedFrom ? { "mcp.run.resumed_from": options.resumedFrom } : {}) },
    });
    if (!span.isRecording()) {
      span.end();
      return undefined;
    }
    return new RunTrace(span, options.captureContent ?? captureContentFromEnv());
  }

  /** Ends the run span with the run's status. */
  end(status: string, outcome: SpanOutcome = {}): void {
    for (const s of this.#attempts.values()) s.span.end();
    for (const s of this.#steps.values()) s.span.end();
    this.#run.setAttribute("mcp.run.status", status);
    end(this.#run, outcome);
  }

  /** Starts a step's span (after its dependencies are done). */
  startStep(stepId: string): void {
    const span = trace.getTracer(TRACER).startSpan(`step ${stepId}`, { attributes: { "mcp.step.id": stepId } }, this.#runCtx);
    this.#steps.set(stepId, { span, ctx: trace.setSpan(this.#runCtx, span) });
  }

  endStep(stepId: string, status: string, outcome: SpanOutcome = {}): void {
    const s = this.#steps.get(stepId);
    if (!s) return;
    this.#steps.delete(stepId);
    s.span.setAttribute("mcp.step.status", status);
    end(s.span, outcome);
  }

  /** Starts one attempt of a step (or of one forEach item) on a model. */
  startAttempt(stepId: string, item: number | undefined, model: string, attempt: number): void {
    const parent = this.#steps.get(stepId)?.ctx ?? this.#runCtx;
    const attributes: Attributes = { "mcp.step.id": stepId, "mcp.model": model, "mcp.attempt": attempt };
    if (item !== undefined) attributes["mcp.item"] = item;
    const span = trace.getTracer(TRACER).startSpan(`attempt ${model} #${attempt}`, { attributes }, parent);
    this.#attempts.set(key(stepId, item), { span, ctx: trace.setSpan(parent, span) });
  }

  endAttempt(stepId: string, item: number | undefined, outcome: SpanOutcome = {}): void {
    const k = key(stepId, item);
    const s = this.#attempts.get(k);
    if (!s) return;
    this.#attempts.delete(k);
    end(s.span, outcome);
  }

  /**
   * Runs a model call in its span (`chat {model}`, CLIENT), active while `fn` runs so that
   * outgoing HTTP and MCP calls carry its trace context; records usage and finish reasons.
   */
  async call<T>(stepId: string, item: number | undefined, model: SpanModel, input: unknown, fn: () => Promise<T>): Promise<T> {
    const parent = this.#attempts.get(key(stepId, item))?.ctx ?? this.#steps.get(stepId)?.ctx ?? this.#runCtx;
    const { name } = callSpanName(model);
    const span = trace.getTracer(TRACER).startSpan(name, { kind: SpanKind.CLIENT, attributes: requestAttributes(model, input, this.captureContent) }, parent);
    try {
      const out = await context.with(trace.setSpan(parent, span), fn);
      span.setAttributes(responseAttributes(out, this.captureContent));
      span.end();
      return out;
    } catch (e) {
      end(span, { error: errorOf(e, this.captureContent) });
      throw e;
    }
  }
}

/**
 * error.type and description of a failure: a ModelError's status (or kind), else its name.
 * The message only when content capture is on: a model's error may quote its answer.
 */
export function errorOf(e: unknown, withMessage: boolean): { type: string; message: string } {
  const x = e as { kind?: unknown; status?: unknown; name?: unknown; message?: unknown } | null;
  const type = typeof x?.status === "number" ? String(x.status) : typeof x?.kind === "string" ? x.kind : typeof x?.name === "string" ? x.name : "error";
  return { type, message: withMessage && typeof x?.message === "string" ? x.message : type };
}

function end(span: Span, outcome: SpanOutcome): void {
  if (outcome.error) {
    span.setAttribute("error.type", outcome.error.type);
    span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error.message });
  }
  span.end();
}

function key(stepId: string, item: number | undefined): string {
  return item === undefined ? stepId : `${stepId}\0${item}`;
}
