/**
 * The method table of the Protocol Handler: every operation a client can ask for, once, with
 * the JSON Schema of its params. HTTP routes, JSON-RPC and the Model Context Protocol all
 * call these through `ProtocolHandler.dispatch`; none has handlers of its own.
 */
import { formatHeadline } from "../diagnostics/printer.js";
import type { SequencedEvent } from "../orchestrator/run-service.js";
import type { LivePipelineInfo } from "../watch/live-pipeline-set.js";
import { ProtocolError } from "./errors.js";
import { didYouMean } from "../util/suggest.js";
import { approvalContinuation, waitingStep, type ApprovalRequest } from "./approvals.js";
import { checkInputLimits } from "./input-limits.js";
import { chainFor, oneStepPipeline } from "./model-calls.js";
import type { ChatInput } from "./chat.js";
import type { MethodContext, ProtocolServices } from "./services.js";

/** A JSON Schema (draft 2020-12 subset that ajv and Fastify both take). */
export type JsonSchema = Record<string, unknown>;

export interface MethodSpec {
  readonly name: string;
  readonly description: string;
  /** Schema of the params object. */
  readonly params: JsonSchema;
  call(params: Record<string, unknown>, ctx: MethodContext, services: ProtocolServices): Promise<unknown>;
}

const runId = { type: "string", minLength: 1, maxLength: 200 } as const;
const name = { type: "string", minLength: 1, maxLength: 200 } as const;
const conversationId = { type: "string", minLength: 1, maxLength: 500 } as const;
const capabilities = { type: "array", items: { type: "string", minLength: 1, maxLength: 200 }, maxItems: 50 } as const;

const obj = (properties: Record<string, unknown>, required: string[] = []): JsonSchema => ({ type: "object", properties, required, additionalProperties: false });

/** Params of `pipelines.run`, also the body of POST /v1/pipelines/{name}/runs (without `pipeline`). */
export const RUN_PARAMS = {
  input: { description: "The run input, checked against the pipeline's `inputs`." },
  conversationId,
  wait: { type: "boolean", description: "Answer with the finished run instead of its id." },
  stream: {
    description: "Stream model answers as step.delta events (GET /v1/runs/{id}/events): true for every step, or a list of step ids.",
    anyOf: [{ type: "boolean" }, { type: "array", items: { type: "string", minLength: 1, maxLength: 200 }, maxItems: 1000 }],
  },
} as const;

/** Params of `tasks.execute`, also the body of POST /v1/tasks. */
export const TASK_PARAMS = {
  input: { description: "The model input, e.g. { prompt } or { messages }." },
  capabilities,
  model: name,
  select: { enum: ["first", "cheapest", "fastest"] },
  taskType: { type: "string", maxLength: 200 },
} as const;

/** A pipeline of the live set as clients see it. */
export function pipelineView(p: LivePipelineInfo): Record<string, unknown> {
  return {
    name: p.name,
    file: p.file,
    status: p.status,
    ...(p.version !== undefined ? { version: p.version } : {}),
    ...(p.pipeline?.description !== undefined ? { description: p.pipeline.description } : {}),
    ...(p.pipeline?.inputs !== undefined ? { inputs: p.pipeline.inputs } : {}),
    ...(p.pipeline?.outputSchema !== undefined ? { outputSchema: p.pipeline.outputSchema } : {}),
    ...(p.pipeline ? { steps: [...p.pipeline.order] } : {}),
    diagnostics: p.diagnostics.map((d) => ({ code: d.code, severity: d.severity, message: d.message, text: formatHeadline(d, p.sources) })),
  };
}

async function forward(iter: AsyncIterable<SequencedEvent>, sink: (e: SequencedEvent) => void): Promise<void> {
  for await (const e of iter) {
    try {
      sink(e);
    } catch {
      // A transport's sink failing must not fail the run.
    }
  }
}

/** runs.approve and runs.reject: check the waiting step and the answer, then continue the run in place. */
async function answerApproval(p: Record<string, unknown>, ctx: MethodContext, s: ProtocolServices, req: ApprovalRequest): Promise<unknown> {
  const id = p.runId as string;
  const stored = await s.store.getRun(id);
  if (!stored) throw new ProtocolError("not_found", `no run '${id}'`);
  const waiting = await waitingStep(s.store, stored, req.stepId);
  const pipeline = s.pipelines.get(stored.pipeline);
  if (!pipeline) throw new ProtocolError("conflict", `pipeline '${stored.pipeline}' has no valid version in the live set`);
  if (req.decision === "approved") checkInputLimits(req.answer, s.limits, "the answer");
  const c = approvalContinuation(stored, pipeline, waiting, req);
  const { runId } = await s.runs.start({
    pipeline,
    input: stored.input,
    runId: id,
    ...(stored.conversationId !== undefined ? { conversationId: stored.conversationId } : {}),
    resume: c.resume,
    approvals: c.approvals,
  });
  if (!p.wait) return { runId, stepId: req.stepId, decision: req.decision, status: "running", ...(c.expired ? { expired: true } : {}) };
  return s.runs.wait(runId, ctx.signal);
}

export const METHODS: readonly MethodSpec[] = [
  {
    name: "pipelines.list",
    description: "The live pipeline set: each pipeline's name, version, status and current diagnostics.",
    params: obj({}),
    async call(_p, _ctx, s) {
      return { pipelines: s.pipelines.list().map(pipelineView) };
    },
  },
  {
    name: "pipelines.run",
    description: "Runs a pipeline of the live set. With `wait`, answers with the finished run; else with its id at once.",
    params: obj({ pipeline: name, ...RUN_PARAMS }, ["pipeline"]),
    async call(p, ctx, s) {
      const pipelineName = p.pipeline as string;
      const pipeline = s.pipelines.get(pipelineName);
      if (!pipeline) {
        const info = s.pipelines.list().find((i) => i.name === pipelineName);
        if (info) throw new ProtocolError("pipeline_invalid", `pipeline '${pipelineName}' has errors and no valid version to run`, pipelineView(info));
        throw new ProtocolError("not_found", `no pipeline named '${pipelineName}'`);
      }
      const input = p.input ?? {};
      checkInputLimits(input, s.limits);
      const stream = p.stream === true ? true : Array.isArray(p.stream) ? (p.stream as string[]) : undefined;
      // A step id that is not there would stream nothing, silently (a typo): say so, as `mcp run --stream` does.
      for (const id of Array.isArray(stream) ? stream : []) {
        if (!pipeline.steps.has(id))
          throw new ProtocolError("bad_request", `stream: no step '${id}' in pipeline '${pipelineName}'${didYouMean(id, pipeline.steps.keys())} (steps: ${[...pipeline.steps.keys()].join(", ")})`);
      }
      const { runId } = await s.runs.start({ pipeline, input, ...(p.conversationId !== undefined ? { conversationId: p.conversationId as string } : {}), ...(stream ? { stream } : {}) });
      if (!p.wait) return { runId, status: "running" };
      const follow = ctx.progress ? forward(s.runs.events(runId, { signal: ctx.signal }), ctx.progress) : undefined;
      try {
        const summary = await s.runs.wait(runId, ctx.signal);
        await follow;
        return summary;
      } catch (e) {
        if (ctx.signal.aborted && ctx.cancelRunOnAbort) await s.runs.cancel(runId);
        throw e;
      }
    },
  },
  {
    name: "runs.get",
    description: "A run: status, input, output or error, finished steps, totals.",
    params: obj({ runId }, ["runId"]),
    async call(p, _ctx, s) {
      const run = await s.runs.get(p.runId as string);
      if (!run) throw new ProtocolError("not_found", `no run '${String(p.runId)}'`);
      return run;
    },
  },
  {
    name: "runs.list",
    description: "Recent runs, newest first.",
    params: obj({ limit: { type: "integer", minimum: 1, maximum: 1000 }, pipeline: name }),
    async call(p, _ctx, s) {
      return { runs: await s.runs.list({ ...(p.limit !== undefined ? { limit: p.limit as number } : {}), ...(p.pipeline !== undefined ? { pipeline: p.pipeline as string } : {}) }) };
    },
  },
  {
    name: "runs.cancel",
    description: "Cancels a run in flight; its model calls are aborted.",
    params: obj({ runId }, ["runId"]),
    async call(p, _ctx, s) {
      const id = p.runId as string;
      const outcome = await s.runs.cancel(id);
      if (outcome === "not_found") throw new ProtocolError("not_found", `no run '${id}'`);
      if (outcome === "finished") throw new ProtocolError("conflict", `run '${id}' is not running here; it cannot be cancelled`);
      return (await s.runs.get(id)) ?? { runId: id, status: "cancelled" };
    },
  },
  {
    name: "runs.approve",
    description:
      "Approves a waiting approval step of a run; `input` (checked against the step's schema) becomes its output, and the run continues. With `wait`, answers with the run once it ends (or waits again).",
    params: obj({ runId, stepId: name, input: { description: "The answer. Default: {}." }, wait: { type: "boolean" } }, ["runId", "stepId"]),
    async call(p, ctx, s) {
      return answerApproval(p, ctx, s, { stepId: p.stepId as string, decision: "approved", answer: p.input ?? {}, ...(ctx.principal ? { by: ctx.principal.name } : {}) });
    },
  },
  {
    name: "runs.reject",
    description: "Rejects a waiting approval step of a run: the step fails with reason `rejected` and the given reason (with onError: fail, the run fails).",
    params: obj({ runId, stepId: name, reason: { type: "string", minLength: 1, maxLength: 10_000 }, wait: { type: "boolean" } }, ["runId", "stepId", "reason"]),
    async call(p, ctx, s) {
      return answerApproval(p, ctx, s, { stepId: p.stepId as string, decision: "rejected", reason: p.reason as string, ...(ctx.principal ? { by: ctx.principal.name } : {}) });
    },
  },
  {
    name: "runs.events",
    description: "A run's events after sequence number `after` (as far as they exist now); streams use GET /v1/runs/{id}/events.",
    params: obj({ runId, after: { type: "integer", minimum: 0 } }, ["runId"]),
    async call(p, ctx, s) {
      const id = p.runId as string;
      const run = await s.runs.get(id);
      if (!run) throw new ProtocolError("not_found", `no run '${id}'`);
      const events: SequencedEvent[] = [];
      for await (const e of s.runs.events(id, { after: (p.after as number | undefined) ?? 0, follow: false, signal: ctx.signal })) events.push(e);
      return { runId: id, status: run.status, events };
    },
  },
  {
    name: "tasks.execute",
    description: "One ad-hoc model call, picked by capabilities (or a model name), with retries, fallbacks and the cache.",
    params: obj(TASK_PARAMS, ["input"]),
    async call(p, ctx, s) {
      const input = p.input;
      checkInputLimits(input, s.limits, "the task input");
      const models = s.models();
      const caps = (p.capabilities as string[] | undefined) ?? [];
      if (p.model === undefined && caps.length === 0) throw new ProtocolError("bad_request", "give `capabilities` or `model`");
      const chain = chainFor({ ...(p.model !== undefined ? { model: p.model as string } : {}), capabilities: caps, ...(p.select ? { select: p.select as "first" } : {}) }, models);
      const pipeline = oneStepPipeline({ name: (p.taskType as string | undefined) ?? "task", models, chain, capabilities: caps, input, settings: s.settings() });
      const run = s.orchestrator.startRun(pipeline, {}, { signal: ctx.signal, hooks: s.hooks?.() ?? [] });
      const report = await run.done;
      const rec = report.steps.call;
      if (report.status !== "success" || !rec || rec.status !== "success") {
        throw new ProtocolError(report.status === "cancelled" ? "unavailable" : "run_failed", report.error?.message ?? "the task failed", report.error ? { error: report.error } : undefined);
      }
      return {
        ...(p.taskType !== undefined ? { taskType: p.taskType } : {}),
        output: rec.output,
        model: rec.model,
        usage: rec.usage,
        cost: rec.cost,
        cached: rec.cached,
        durationMs: rec.durationMs,
        attempts: rec.attempts,
      };
    },
  },
  {
    name: "chat.complete",
    description: "A chat answer from a registered model, a capability set (`capabilities/a,b`) or a pipeline (`pipeline/<name>`), through the registry.",
    params: obj(
      {
        model: { type: "string", minLength: 1, maxLength: 300 },
        messages: { type: "array", minItems: 1, maxItems: 10_000, items: obj({ role: { type: "string", maxLength: 50 }, content: { type: "string" } }, ["role", "content"]) },
        system: { type: "string" },
        temperature: { type: "number" },
        maxTokens: { type: "integer", minimum: 1 },
      },
      ["model", "messages"],
    ),
    async call(p, ctx, s) {
      if (!s.chat) throw new ProtocolError("unavailable", "chat completions are not available here");
      const { model, ...input } = p as unknown as { model: string } & ChatInput;
      return s.chat.complete(model, input, ctx);
    },
  },
  {
    name: "models.list",
    description: "The project's model registry: name, provider, capabilities, limits, cost.",
    params: obj({}),
    async call(_p, _ctx, s) {
      return {
        models: s.models().map((m) => ({
          name: m.name,
          provider: m.provider,
          ...(m.model !== undefined ? { model: m.model } : {}),
          ...(m.description !== undefined ? { description: m.description } : {}),
          capabilities: m.capabilities,
          ...(m.maxTokens !== undefined ? { maxTokens: m.maxTokens } : {}),
          ...(m.cost !== undefined ? { cost: m.cost } : {}),
          ...(m.fallback !== undefined ? { fallback: m.fallback } : {}),
        })),
      };
    },
  },
  {
    name: "conversations.get",
    description: "A conversation's stored turns and summary.",
    params: obj({ conversationId }, ["conversationId"]),
    async call(p, _ctx, s) {
      const id = p.conversationId as string;
      const [history, state] = await Promise.all([s.store.listTurns(id), s.store.getConversation(id)]);
      return { conversationId: id, history, ...(state.summary !== undefined ? { summary: state.summary } : {}) };
    },
  },
  {
    name: "conversations.clear",
    description: "Forgets a conversation: its turns and summary.",
    params: obj({ conversationId }, ["conversationId"]),
    async call(p, _ctx, s) {
      await s.store.clearConversation(p.conversationId as string);
      return { conversationId: p.conversationId, cleared: true };
    },
  },
];
