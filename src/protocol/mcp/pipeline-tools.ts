/**
 * The Model Context Protocol face of the Protocol Handler: every valid pipeline of the live
 * set is a tool, on the official SDK's low-level `Server` (@modelcontextprotocol/server v2).
 * Nothing here runs anything itself: `tools/list` is the `pipelines.list` method,
 * `tools/call` is `pipelines.run` with `wait`, run reports are `runs.get`, all through
 * `ProtocolHandler.dispatch` (the one method table).
 *
 * - inputSchema: the pipeline's `inputs` (an object schema; another schema is wrapped as
 *   `{ input }`); outputSchema: its `outputSchema`, when that is an object schema.
 * - A result is `structuredContent` (the run's output when it is an object, else
 *   `{ result: output }`) and a text rendering of it. A failed run is a result with
 *   `isError: true` naming the failed step and its error; so is an input that does not match
 *   the tool's schema (the model can correct it). An unknown tool is a protocol error.
 * - Progress: with a progress token, each step that starts or settles sends
 *   `notifications/progress` (progress grows by half a step per event; total = the steps),
 *   and a log message (`notifications/message`) at the level the client set.
 * - Cancellation (`notifications/cancelled`, or the client going away) cancels the run.
 * - Run reports are resources `mcp://runs/{id}` (JSON).
 */
import { ProtocolError as McpProtocolError, ProtocolErrorCode, Server, type CallToolResult, type ServerContext, type Tool } from "@modelcontextprotocol/server";

/** The part of the Protocol Handler this face uses (ProtocolHandler implements it). */
export interface MethodTable {
  dispatch(
    method: string,
    params: unknown,
    ctx: { signal: AbortSignal; progress?: (e: { seq: number; event: { type: string; stepId?: string } }) => void; cancelRunOnAbort?: boolean; principal?: { name: string } },
  ): Promise<{ ok: true; result: unknown } | { ok: false; error: { code: string; message: string; data?: unknown } }>;
  onPipelinesChanged(listener: () => void): () => void;
}

export interface PipelineToolsOptions {
  /** Server name and version in the initialize answer. */
  name?: string;
  version?: string;
  /** Who is calling (HTTP: the API key's name). */
  principal?: { name: string };
}

/** URI scheme of run reports. */
export const RUN_URI_PREFIX = "mcp://runs/";

interface PipelineView {
  name: string;
  status: string;
  description?: string;
  inputs?: Record<string, unknown>;
  outputSchema?: Record<string, unknown>;
  steps?: string[];
}

const isObjectSchema = (s: unknown): s is Record<string, unknown> =>
  !!s && typeof s === "object" && !Array.isArray(s) && ((s as { type?: unknown }).type === "object" || (s as { type?: unknown }).type === undefined);

/** How a pipeline's input is given as tool arguments. */
function argumentsSchema(p: PipelineView): { schema: Record<string, unknown>; wrapped: boolean } {
  if (p.inputs === undefined) return { schema: { type: "object" }, wrapped: false };
  if (isObjectSchema(p.inputs) && (p.inputs as { type?: unknown }).type === "object") return { schema: p.inputs, wrapped: false };
  return { schema: { type: "object", properties: { input: p.inputs }, required: ["input"] }, wrapped: true };
}

/** The tool of a pipeline. */
export function toolOf(p: PipelineView): Tool {
  // The schemas as written ($schema, $defs and all: clients validate with them).
  const inputSchema = argumentsSchema(p).schema;
  const out = p.outputSchema && (p.outputSchema as { type?: unknown }).type === "object" ? p.outputSchema : undefined;
  return {
    name: p.name,
    description: p.description ?? `Runs the pipeline '${p.name}'${p.steps ? ` (${p.steps.length} step${p.steps.length === 1 ? "" : "s"})` : ""}.`,
    inputSchema: inputSchema as Tool["inputSchema"],
    ...(out ? { outputSchema: out as NonNullable<Tool["outputSchema"]> } : {}),
  };
}

/** The valid pipelines of the live set, through `pipelines.list`. */
async function validPipelines(table: MethodTable, signal: AbortSignal): Promise<PipelineView[]> {
  const r = await table.dispatch("pipelines.list", {}, { signal });
  if (!r.ok) throw new McpProtocolError(ProtocolErrorCode.InternalError, r.error.message);
  // A pipeline whose last edit broke it keeps serving its last good version (it has steps);
  // a pipeline that never loaded has no tool.
  return ((r.result as { pipelines: PipelineView[] }).pipelines ?? []).filter((p) => p.steps !== undefined);
}

function text(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v, null, 2);
}

function errorResult(message: string, data?: Record<string, unknown>): CallToolResult {
  return { content: [{ type: "text", text: message }], isError: true, ...(data ? { structuredContent: data } : {}) };
}

interface RunSummaryView {
  runId: string;
  status: string;
  output?: unknown;
  error?: { message: string; stepId?: string; reason?: string };
  steps?: Record<string, { status: string; error?: { message: string } }>;
}

/** What a finished run becomes as a tool result. */
export function runResult(run: RunSummaryView, hasOutputSchema: boolean): CallToolResult {
  if (run.status !== "success") {
    const failed = Object.entries(run.steps ?? {}).find(([, s]) => s.status === "failed");
    const step = run.error?.stepId ?? failed?.[0];
    const why = run.error?.message ?? failed?.[1].error?.message ?? `the run ended ${run.status}`;
    // No structuredContent: with an outputSchema it would have to match it.
    return { content: [{ type: "text", text: `run ${run.runId} ${run.status}${step ? ` at step '${step}'` : ""}: ${why}` }], isError: true, _meta: { runId: run.runId, status: run.status } };
  }
  const output = run.output;
  const structured = output && typeof output === "object" && !Array.isArray(output) ? (output as Record<string, unknown>) : { result: output ?? null };
  void hasOutputSchema;
  return {
    content: [{ type: "text", text: text(output ?? null) }],
    structuredContent: structured,
    _meta: { runId: run.runId, resource: `${RUN_URI_PREFIX}${run.runId}` },
  };
}

/** A new SDK server over the method table: one per stdio connection or HTTP request. */
export function createPipelineToolServer(table: MethodTable, options: PipelineToolsOptions = {}): Server {
  const server = new Server(
    { name: options.name ?? "mcp-runner", version: options.version ?? "0.1.0" },
    {
      capabilities: { tools: { listChanged: true }, resources: {}, logging: {} },
      instructions: "Each tool runs one pipeline of this project (a YAML graph of model calls) and returns its output. Run reports are resources mcp://runs/{id}.",
    },
  );

  server.setRequestHandler("tools/list", async (_req, ctx) => ({ tools: (await validPipelines(table, ctx.mcpReq.signal)).map(toolOf) }));

  server.setRequestHandler("tools/call", async (req, ctx) => {
    const name = req.params.name;
    const pipelines = await validPipelines(table, ctx.mcpReq.signal);
    const p = pipelines.find((x) => x.name === name);
    if (!p) throw new McpProtocolError(ProtocolErrorCode.InvalidParams, `no tool '${name}' (tools: ${pipelines.map((x) => x.name).join(", ") || "none"})`);
    const args = (req.params.arguments ?? {}) as Record<string, unknown>;
    const input = argumentsSchema(p).wrapped ? args.input : args;
    const events = stepEventSink(ctx, p.steps?.length);
    const r = await table.dispatch(
      "pipelines.run",
      { pipeline: name, input, wait: true },
      {
        signal: ctx.mcpReq.signal,
        cancelRunOnAbort: true,
        ...(options.principal ? { principal: options.principal } : {}),
        progress: events.sink,
      },
    );
    await events.flushed();
    if (!r.ok) {
      if (r.error.code === "not_found") throw new McpProtocolError(ProtocolErrorCode.InvalidParams, r.error.message);
      // Bad input, a pipeline with errors, a full server: the caller can act on the message.
      return errorResult(r.error.message);
    }
    return runResult(r.result as RunSummaryView, p.outputSchema !== undefined);
  });

  server.setRequestHandler("resources/templates/list", async () => ({
    resourceTemplates: [
      {
        uriTemplate: `${RUN_URI_PREFIX}{id}`,
        name: "run",
        title: "Run report",
        description: "A run of a pipeline: status, input, output or error, steps, totals (JSON).",
        mimeType: "application/json",
      },
    ],
  }));

  server.setRequestHandler("resources/list", async (_req, ctx) => {
    const r = await table.dispatch("runs.list", { limit: 50 }, { signal: ctx.mcpReq.signal });
    const runs = r.ok ? ((r.result as { runs: { runId: string; pipeline: string; status: string; startedAt?: number }[] }).runs ?? []) : [];
    return {
      resources: runs.map((run) => ({
        uri: `${RUN_URI_PREFIX}${run.runId}`,
        name: run.runId,
        title: `${run.pipeline}: ${run.status}`,
        mimeType: "application/json",
      })),
    };
  });

  server.setRequestHandler("resources/read", async (req, ctx) => {
    const uri = req.params.uri;
    if (!uri.startsWith(RUN_URI_PREFIX)) throw new McpProtocolError(ProtocolErrorCode.InvalidParams, `unknown resource '${uri}' (runs are ${RUN_URI_PREFIX}{id})`);
    const r = await table.dispatch("runs.get", { runId: decodeURIComponent(uri.slice(RUN_URI_PREFIX.length)) }, { signal: ctx.mcpReq.signal });
    if (!r.ok) throw new McpProtocolError(ProtocolErrorCode.InvalidParams, `resource '${uri}': ${r.error.message}`);
    return { contents: [{ uri, mimeType: "application/json", text: JSON.stringify(r.result, null, 2) }] };
  });

  return server;
}

/**
 * Forwards step events: as log messages (`notifications/message`, logger "mcp-runner":
 * started at debug, finished or skipped at info, failed at warning), and, when the client
 * sent a progress token, as progress notifications.
 */
function stepEventSink(ctx: ServerContext, steps: number | undefined): { sink: (e: { seq: number; event: { type: string; stepId?: string } }) => void; flushed(): Promise<void> } {
  const token = ctx.mcpReq._meta?.progressToken;
  let progress = 0;
  // Sending is asynchronous: the result must not overtake the last notifications.
  const sent: Promise<void>[] = [];
  return {
    sink: ({ event: e }) => {
      let step: number;
      let level: "debug" | "info" | "warning";
      switch (e.type) {
        case "step.started":
          step = 0.5;
          level = "debug";
          break;
        case "step.finished":
          step = 0.5;
          level = "info";
          break;
        case "step.failed":
        case "step.aborted":
          step = 0.5;
          level = "warning";
          break;
        case "step.skipped":
          step = 1;
          level = "info";
          break;
        default:
          return;
      }
      const message = `step '${e.stepId}' ${e.type.slice(5)}`;
      progress += step;
      sent.push(ctx.mcpReq.log(level, message, "mcp-runner").catch(() => {}));
      if (token !== undefined) {
        sent.push(ctx.mcpReq.notify({ method: "notifications/progress", params: { progressToken: token, progress, ...(steps ? { total: steps } : {}), message } }).catch(() => {}));
      }
    },
    flushed: async () => void (await Promise.all(sent)),
  };
}
