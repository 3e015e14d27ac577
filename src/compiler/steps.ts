/**
 * Compiles one step: its task, model chain, expressions (with the dependencies they imply),
 * explicit needs, and settings. Problems are recorded on the Compilation.
 */
import type { YamlFile } from "../config/yaml-file.js";
import { CompiledExpression } from "../expr/expression.js";
import type { SelectPolicy } from "../registry/model-registry.js";
import { didYouMean } from "../util/suggest.js";
import { parseDuration } from "../util/duration.js";
import { obj, str, strings, type Compilation, type Obj } from "./compilation.js";
import type { ChainResolver, ModelTable } from "./models.js";
import { checkItemVariables, checkRefs, expressionsOf } from "./references.js";
import { cachePolicy, retryPolicy } from "./settings.js";
import { checkLoopVariables, compileRepeat, compileSubPipeline, type SubPipelineLoader } from "./sub-pipelines.js";
import type { ApprovalSpec, CompiledStep, FailureMode } from "./types.js";

export const STEP_ID = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The task of a step that names none (read only). */
const NO_TASK: Obj = Object.freeze({});

/** What every step of a pipeline is compiled against. */
export interface StepContext {
  readonly file: YamlFile;
  readonly stepsRaw: Obj;
  readonly stepIds: readonly string[];
  /** Sets, not arrays: every reference is looked up, and a 5,000-step file has thousands. */
  readonly allIds: ReadonlySet<string>;
  readonly validIds: ReadonlySet<string>;
  readonly tasks: ReadonlyMap<string, { file: YamlFile; value: Obj }>;
  readonly defaults: Obj;
  readonly env: readonly string[];
  readonly table: ModelTable;
  readonly chains: ChainResolver;
  /** Loads the files of `pipeline:` steps (absent: sub-pipelines cannot be compiled). */
  readonly subPipeline?: SubPipelineLoader;
  /** Collects the sub-pipeline files read. */
  readonly files: Set<string>;
  /** Collects the dependencies of one step at a time. */
  readonly dependencies: DependencyCollector;
}

/**
 * The dependencies of one step, each once and sorted, collected by the rank of each id in
 * the pipeline's sorted ids: a mark per rank instead of a Set per step, and a sort of
 * numbers instead of strings (a step of a large pipeline reads tens of others).
 */
export class DependencyCollector {
  readonly #sorted: string[];
  readonly #rank = new Map<string, number>();
  readonly #mark: Int32Array;
  readonly #found: Int32Array;
  #stamp = 0;
  #count = 0;

  constructor(ids: readonly string[]) {
    this.#sorted = [...ids].sort();
    for (let i = 0; i < this.#sorted.length; i++) this.#rank.set(this.#sorted[i]!, i);
    this.#mark = new Int32Array(this.#sorted.length);
    this.#found = new Int32Array(this.#sorted.length);
  }

  /** Starts the list of the next step. */
  begin(): void {
    this.#stamp++;
    this.#count = 0;
  }

  /** Adds a step id (one of the pipeline's; others are ignored). */
  add(id: string): void {
    const r = this.#rank.get(id);
    if (r === undefined || this.#mark[r] === this.#stamp) return;
    this.#mark[r] = this.#stamp;
    this.#found[this.#count++] = r;
  }

  /** The ids added since begin(), sorted. */
  finish(): string[] {
    const found = this.#found.subarray(0, this.#count).sort();
    const out = new Array<string>(found.length);
    for (let i = 0; i < found.length; i++) out[i] = this.#sorted[found[i]!]!;
    return out;
  }
}

export function compileStep(c: Compilation, ctx: StepContext, id: string): CompiledStep {
  const { file, stepsRaw, stepIds, allIds, validIds, tasks, defaults, env, chains } = ctx;
  const { models } = ctx.table;
  const path = ["steps", id];
  const raw = obj(stepsRaw[id]);
  const stepLoc = file.locateKey(path);
  if (!STEP_ID.test(id)) {
    const fixed = id.replace(/[^A-Za-z0-9_]/g, "_").replace(/^(\d)/, "_$1");
    c.report("MCP302", `step id '${id}' is not an identifier`, stepLoc, {
      hint: `use letters, digits and _ and do not start with a digit (e.g. '${fixed}'), so $steps.${fixed} needs no quoting`,
    });
  }

  // Task: capabilities and defaults for the step.
  let task: Obj = NO_TASK;
  const taskName = str(raw.task);
  if (taskName !== undefined) {
    const t = tasks.get(taskName);
    if (!t)
      c.report(
        "MCP402",
        `unknown task '${taskName}'${didYouMean(taskName, tasks.keys())}`,
        file.locate([...path, "task"]),
        tasks.size ? {} : { hint: "tasks are defined under `tasks:` in mcp.yaml or the pipeline" },
      );
    else task = t.value;
  }
  const modelName = str(raw.model) ?? str(task.model);
  const capabilities = uniqueStrings(task.capabilities, raw.capabilities);
  const select = (str(raw.select) ?? str(task.select) ?? "first") as SelectPolicy;

  // A step that is not a mapping at all is the schema check's to report.
  const isMapping = stepsRaw[id] !== null && typeof stepsRaw[id] === "object" && !Array.isArray(stepsRaw[id]);
  const approvalRaw = raw.approval !== undefined && raw.approval !== null && typeof raw.approval === "object" ? obj(raw.approval) : undefined;
  if (approvalRaw) {
    for (const k of ["model", "capabilities", "task", "forEach", "fallback", "input"] as const) {
      if (raw[k] !== undefined)
        c.report("MCP303", `an approval step calls no model: remove '${k}' from step '${id}'`, file.locateKey([...path, k]), { hint: "a person answers an approval step; its output is the answer" });
    }
  }
  const isPipeline = typeof raw.pipeline === "string";
  if (isMapping && !approvalRaw && !isPipeline && modelName === undefined && capabilities.length === 0 && raw.task === undefined && raw.model === undefined && raw.capabilities === undefined) {
    c.report("MCP303", `step '${id}' has no model: give it 'model', 'capabilities' or 'task'`, stepLoc, {
      hint: models.size ? `models: ${[...models.keys()].join(", ")}` : undefined,
    } as { hint?: string });
  }

  // The chain of models this step may run on.
  const validChain = approvalRaw || isPipeline ? [] : chains.resolve(c, file, { id, path, raw, task, modelName, capabilities, select, stepLoc });
  const pipeline = isPipeline ? compileSubPipeline(c, file, path, raw, ctx.subPipeline, ctx.files) : undefined;
  const repeat = compileRepeat(c, file, path, raw);

  // Expressions.
  const inputT = c.template(file, [...path, "input"], raw.input ?? task.input ?? {});
  const outputT = raw.output !== undefined || task.output !== undefined ? c.template(file, [...path, "output"], raw.output ?? task.output) : undefined;
  const appendT = raw.appendToContext !== undefined && raw.appendToContext !== false ? c.template(file, [...path, "appendToContext"], raw.appendToContext) : undefined;
  let when: CompiledExpression | undefined;
  if (typeof raw.when === "string") when = c.expression(file, [...path, "when"], raw.when);
  else if (raw.when === false) when = CompiledExpression.compile("false") as CompiledExpression;
  const forEach = typeof raw.forEach === "string" ? c.expression(file, [...path, "forEach"], raw.forEach) : undefined;

  let approval: ApprovalSpec | undefined;
  if (approvalRaw) {
    const prompt = c.template(file, [...path, "approval", "prompt"], approvalRaw.prompt ?? "");
    const timeoutMs = parseDuration(approvalRaw.timeout as string | number | undefined);
    const schema = approvalRaw.schema;
    approval = {
      prompt,
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      ...(schema !== undefined && schema !== null && (typeof schema === "object" || typeof schema === "boolean") ? { schema: schema as Record<string, unknown> | boolean } : {}),
    };
  }

  const exprs = expressionsOf(inputT, outputT, appendT, when, forEach, approval?.prompt);
  if (repeat?.until) exprs.push(repeat.until);
  const stepDeps = ctx.dependencies;
  stepDeps.begin();
  // (Indexed loops here and below: this runs once per step, mostly before the JIT has
  // optimised it, and for-of would allocate an iterator and a result per element.)
  for (let k = 0; k < exprs.length; k++) checkRefs(c, exprs[k]!, id, validIds, allIds, env, stepDeps);
  if (!forEach) checkItemVariables(c, exprs);
  if (raw.repeat === undefined) checkLoopVariables(c, exprs);

  // Explicit needs.
  if (raw.needs !== undefined) {
    const needs: unknown[] = Array.isArray(raw.needs) ? raw.needs : [raw.needs];
    for (let i = 0; i < needs.length; i++) {
      const n = needs[i];
      if (typeof n !== "string") continue;
      const loc = () => file.locate(Array.isArray(raw.needs) ? [...path, "needs", i] : [...path, "needs"]);
      if (n === id) c.report("MCP304", `step '${id}' needs itself`, loc());
      else if (!allIds.has(n)) c.report("MCP012", `unknown step '${n}' in needs${didYouMean(n, stepIds)}`, loc());
      else stepDeps.add(n);
    }
  }
  // (a step never depends on itself: both ways of naming itself are reported above)
  const dependencies = stepDeps.finish();

  // (merged only when there is something to merge)
  const retry = retryPolicy(defaults.retry === undefined && task.retry === undefined ? obj(raw.retry) : { ...obj(defaults.retry), ...obj(task.retry), ...obj(raw.retry) });
  // (A sub-pipeline step's timeout bounds its nested run: only its own, not the per-call defaults.)
  const timeoutMs = parseDuration((isPipeline ? raw.timeout : (raw.timeout ?? task.timeout ?? defaults.timeout)) as string | number | undefined);
  const cache = cachePolicy(raw.cache ?? task.cache ?? defaults.cache);
  // Built key by key (not with conditional spreads, a temporary object each), in this
  // order: the order the keys have always had.
  const step: { -readonly [K in keyof CompiledStep]?: CompiledStep[K] } = { id };
  if (typeof raw.description === "string") step.description = raw.description;
  if (modelName !== undefined) step.model = modelName;
  step.capabilities = capabilities;
  if (taskName !== undefined) step.task = taskName;
  step.select = select;
  step.chain = validChain;
  step.input = inputT;
  if (when) step.when = when;
  if (forEach) step.forEach = forEach;
  if (typeof raw.concurrency === "number") step.concurrency = raw.concurrency;
  step.retry = retry;
  if (timeoutMs !== undefined) step.timeoutMs = timeoutMs;
  if (cache) step.cache = cache;
  step.onError = (raw.onError ?? defaults.onError ?? "fail") as FailureMode;
  if (outputT) step.output = outputT;
  if (appendT) step.appendToContext = appendT;
  if (pipeline) step.pipeline = pipeline;
  if (repeat) step.repeat = repeat;
  if (approval) step.approval = approval;
  if (raw.outputSchema !== undefined && (typeof raw.outputSchema === "object" || typeof raw.outputSchema === "boolean") && raw.outputSchema !== null)
    step.outputSchema = raw.outputSchema as Record<string, unknown> | boolean;
  step.dependencies = dependencies;
  step.location = stepLoc;
  return step as CompiledStep;
}

/** The strings of two lists, each once, in order: a step's task's capabilities and its own. */
function uniqueStrings(a: unknown, b: unknown): string[] {
  const first = strings(a);
  const second = strings(b);
  if (first.length === 0 && second.length <= 1) return second.slice();
  return [...new Set([...first, ...second])];
}
