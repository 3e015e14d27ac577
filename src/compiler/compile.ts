/**
 * Compiles a parsed, schema-checked pipeline (and its mcp.yaml) into a CompiledPipeline:
 * merges models, tasks and defaults (models.ts); compiles every step and its expressions
 * once (steps.ts), inferring dependencies from `$steps` references (references.ts); checks
 * the graph (graph.ts). Every problem is recorded as a diagnostic and checking goes on, so
 * a file's errors are all reported at once.
 */
import { createHash } from "node:crypto";
import { basename, extname } from "node:path";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import type { SourceMap } from "../diagnostics/source.js";
import type { YamlFile } from "../config/yaml-file.js";
import { templateExpressions } from "../expr/template.js";
import type { ModelConfig } from "../models/types.js";
import { didYouMean } from "../util/suggest.js";
import { Compilation, obj, strings, type Obj } from "./compilation.js";
import { buildDag } from "./graph.js";
import { ChainResolver, compileModels } from "./models.js";
import { checkToolInputs, type ToolListings, type ToolStepCheck } from "./mcp-servers.js";
import { checkRefs, reportCycles } from "./references.js";
import { projectSettings } from "./settings.js";
import { checkTypedRefs, stepOutputSchemas } from "./typed-refs.js";
import { compileStep, DependencyCollector, STEP_ID } from "./steps.js";
import type { SubPipelineLoader } from "./sub-pipelines.js";
import type { CompiledPipeline, CompiledStep, ContextSettings } from "./types.js";

export { STEP_ID } from "./steps.js";

export interface CompileInput {
  pipeline: YamlFile;
  config?: YamlFile;
  sources: SourceMap;
  /** Extra models (e.g. registered through the library API), merged before the files'. */
  models?: readonly ModelConfig[];
  /** Listings of MCP servers' tools (from the store), to check the inputs of tool steps. */
  toolListings?: ToolListings;
  /** Loads the files of `pipeline:` steps (load.ts gives one that also finds cycles of files). */
  subPipeline?: SubPipelineLoader;
}

export function compilePipeline(input: CompileInput): { pipeline?: CompiledPipeline; diagnostics: Diagnostic[] } {
  const c = new Compilation();
  const { pipeline: file, config } = input;
  const doc = obj(file.value);
  const cfg = obj(config?.value);
  const env = strings(cfg.env);

  // Models: library-registered, then mcp.yaml's, then the pipeline's (later wins).
  const table = compileModels(c, [config, file], input.models, env);
  const { models } = table;

  const tasks = new Map<string, { file: YamlFile; value: Obj }>();
  for (const f of [config, file]) {
    if (!f) continue;
    for (const [name, raw] of Object.entries(obj(obj(f.value).tasks))) tasks.set(name, { file: f, value: obj(raw) });
  }
  const defaults: Obj = { ...obj(cfg.defaults), ...obj(doc.defaults) };

  const stepsRaw = obj(doc.steps);
  const stepIds = Object.keys(stepsRaw);
  const allIds = new Set(stepIds);
  const validIds = new Set(stepIds.filter((id) => STEP_ID.test(id)));
  const files = new Set<string>();
  const ctx = {
    file,
    stepsRaw,
    stepIds,
    allIds,
    validIds,
    tasks,
    defaults,
    env,
    table,
    chains: new ChainResolver(table),
    ...(input.subPipeline ? { subPipeline: input.subPipeline } : {}),
    files,
    dependencies: new DependencyCollector(stepIds),
  };
  const steps = new Map<string, CompiledStep>();
  const deps = new Map<string, readonly string[]>();
  const toolSteps: ToolStepCheck[] = [];
  for (const id of stepIds) {
    const step = compileStep(c, ctx, id);
    steps.set(id, step);
    deps.set(id, step.dependencies);
    if (input.toolListings && step.chain.some((n) => models.get(n)?.mcpServer)) {
      const raw = obj(stepsRaw[id]);
      const task = step.task !== undefined ? tasks.get(step.task)?.value : undefined;
      toolSteps.push({ id, path: ["steps", id], input: raw.input ?? task?.input, chain: step.chain });
    }
  }

  // The graph.
  const { dag, cycles } = buildDag({ nodes: stepIds, dependencies: deps });
  reportCycles(c, file, cycles, stepsRaw, steps);

  // Pipeline-level templates.
  const output = doc.output !== undefined ? c.template(file, ["output"], doc.output) : undefined;
  if (output) for (const e of templateExpressions(output)) checkRefs(c, e, undefined, validIds, allIds, env, new Set());
  const ctxRaw = obj(doc.context);
  let context: ContextSettings | undefined;
  if (doc.context !== undefined) {
    const conversation = ctxRaw.conversation !== undefined ? c.template(file, ["context", "conversation"], ctxRaw.conversation) : undefined;
    if (conversation) {
      for (const e of templateExpressions(conversation)) {
        const stepsAt = e.refs.variables.get("steps");
        if (stepsAt !== undefined) c.report("MCP202", "the conversation id can only use $input and $env: it is read before any step runs", c.locateInExpr(e, stepsAt, 6));
        checkRefs(c, e, undefined, validIds, allIds, env, new Set());
      }
    }
    const compress = obj(ctxRaw.compress);
    context = {
      ...(conversation ? { conversation } : {}),
      ...(typeof ctxRaw.maxHistory === "number" ? { maxHistory: ctxRaw.maxHistory } : {}),
      ...(typeof ctxRaw.maxTokens === "number" ? { maxTokens: ctxRaw.maxTokens } : {}),
      ...(typeof ctxRaw.recent === "number" ? { recent: ctxRaw.recent } : {}),
      ...(typeof ctxRaw.relevant === "number" ? { relevant: ctxRaw.relevant } : {}),
      ...(ctxRaw.compress !== undefined
        ? {
            compress: {
              threshold: (compress.threshold as number) ?? 20,
              ...(typeof compress.keep === "number" ? { keep: compress.keep } : {}),
              ...(typeof compress.model === "string" ? { model: compress.model } : {}),
            },
          }
        : {}),
    };
    if (typeof compress.model === "string" && !models.has(compress.model)) {
      c.report("MCP401", `unknown model '${compress.model}' for context compression${didYouMean(compress.model, models.keys())}`, file.locate(["context", "compress", "model"]));
    }
  }

  // $steps.<id>.output.<path> against the steps' output schemas.
  checkTypedRefs(c, steps, stepOutputSchemas(steps, models), [output, context?.conversation]);

  // The run input schema must itself be a valid schema.
  const inputs = doc.inputs !== undefined ? obj(doc.inputs) : undefined;

  if (input.toolListings && toolSteps.length)
    checkToolInputs(file, toolSteps, models, input.toolListings, { report: c.report.bind(c), template: c.template.bind(c), locateInExpr: c.locateInExpr.bind(c) });
  const settings = projectSettings(file, config, cfg, env);
  if (c.diagnostics.some((d) => d.severity === "error")) return { diagnostics: c.diagnostics };

  const h = createHash("sha256")
    .update(file.text)
    .update("\u0000")
    .update(config?.text ?? "");
  // A sub-pipeline is part of what runs: its hash is part of this one (so resume sees a changed child).
  for (const s of steps.values()) if (s.pipeline) h.update("\u0000").update(s.id).update("\u0000").update(s.pipeline.compiled.hash);
  const hash = h.digest("hex");
  const name = typeof doc.name === "string" ? doc.name : basename(file.path, extname(file.path));
  const budget = obj(doc.budget);
  return {
    diagnostics: c.diagnostics,
    pipeline: {
      version: 1,
      name,
      ...(typeof doc.description === "string" ? { description: doc.description } : {}),
      file: file.path,
      hash,
      ...(inputs ? { inputs } : {}),
      models: [...models.values()],
      ...(typeof (doc.concurrency ?? cfg.concurrency) === "number" ? { concurrency: (doc.concurrency ?? cfg.concurrency) as number } : {}),
      ...(context ? { context } : {}),
      ...(doc.budget !== undefined
        ? { budget: { ...(typeof budget.maxCost === "number" ? { maxCost: budget.maxCost } : {}), ...(typeof budget.maxTokens === "number" ? { maxTokens: budget.maxTokens } : {}) } }
        : {}),
      steps,
      order: dag.order,
      levels: dag.levels,
      dependants: dag.dependants,
      ...(doc.outputSchema && typeof doc.outputSchema === "object" ? { outputSchema: doc.outputSchema as Record<string, unknown> } : {}),
      ...(output ? { output } : {}),
      settings,
      ...(files.size ? { files: [...files].sort() } : {}),
      sources: input.sources,
    },
  };
}
