/**
 * Compiles a parsed, schema-checked pipeline (and its mcp.yaml) into a CompiledPipeline:
 * merges models, tasks and defaults; compiles every expression once; infers dependencies
 * from `$steps` references in the JSONata ASTs; checks models, capabilities and the graph.
 * Every problem is recorded as a diagnostic and checking goes on, so a file's errors are
 * all reported at once.
 */
import { checkModelPolicy, keyPolicyOf } from "./model-policy.js";
import { createHash } from "node:crypto";
import { basename, dirname, extname } from "node:path";
import { error, warning, type Diagnostic, type Location } from "../diagnostics/diagnostic.js";
import type { DiagnosticCode } from "../diagnostics/codes.js";
import type { SourceMap } from "../diagnostics/source.js";
import { scalarOffsetMapper } from "../config/scalar-offsets.js";
import type { JsonPath, YamlFile } from "../config/yaml-file.js";
import { CompiledExpression, isSyntaxError } from "../expr/expression.js";
import { collectExpressions, compileString, scanTemplate, type Template, templateExpressions } from "../expr/template.js";
import type { ModelConfig } from "../models/types.js";
import { ModelRegistry, type SelectPolicy } from "../registry/model-registry.js";
import { didYouMean } from "../util/suggest.js";
import { parseDuration } from "../util/duration.js";
import { buildDag } from "./graph.js";
import { DEFAULT_RETRY, type CachePolicy, type CompiledPipeline, type CompiledStep, type ContextSettings, type FailureMode, type ProjectSettings, type RetryPolicy } from "./types.js";

export const STEP_ID = /^[A-Za-z_][A-Za-z0-9_]*$/;

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {});
/** The strings of a list; the schema check reports anything else. */
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
/** The task of a step that names none (read only). */
const NO_TASK: Obj = Object.freeze({});

export interface CompileInput {
  pipeline: YamlFile;
  config?: YamlFile;
  sources: SourceMap;
  /** Extra models (e.g. registered through the library API), merged before the files'. */
  models?: readonly ModelConfig[];
}

class Compilation {
  readonly diagnostics: Diagnostic[] = [];
  // A Map, not a WeakMap: the compilation is short-lived, and thousands of WeakMap entries
  // (ephemerons) make every garbage collection slower.
  // Where each expression's text starts: the string's file and path, and the offset in the
  // string. Offsets in the expression are mapped to the file only to report a problem.
  readonly #origins = new Map<CompiledExpression, { file: YamlFile; path: JsonPath; base: number }>();

  report(code: DiagnosticCode, message: string, location: Location | undefined, extra: { hint?: string; related?: { message: string; location?: Location }[] } = {}) {
    this.diagnostics.push(error(code, message, location, extra));
  }

  /** Compiles any YAML value at `path` of `file` into a template. */
  template(file: YamlFile, path: JsonPath, value: unknown): Template {
    if (typeof value === "string") {
      if (!value.includes("${{")) return { kind: "literal", value };
      const map = scalarOffsetMapper(file, path);
      const problems: Parameters<typeof compileString>[2] = [];
      const t = compileString(value, map, problems, (e, exprStart) => this.#origins.set(e, { file, path, base: exprStart }));
      for (const p of problems) {
        const loc = map(p.offset, p.length);
        if (p.kind === "unclosed") {
          this.report("MCP206", p.message, loc, { hint: 'close it with }}; inside flow mappings { } quote the value: key: "${{ expr }}"' });
        } else {
          this.report("MCP201", `expression syntax error: ${p.message}`, loc);
        }
      }
      return t;
    }
    if (Array.isArray(value)) {
      const items = value.map((v, i) => this.#child(file, path, i, v));
      return items.every((i) => i.kind === "literal") ? { kind: "literal", value } : { kind: "array", items };
    }
    if (value && typeof value === "object") {
      const keys = Object.keys(value);
      const entries = new Array<readonly [string, Template]>(keys.length);
      let literal = true;
      for (let i = 0; i < keys.length; i++) {
        const t = this.#child(file, path, keys[i]!, (value as Obj)[keys[i]!]);
        if (t.kind !== "literal") literal = false;
        entries[i] = [keys[i]!, t];
      }
      return literal ? { kind: "literal", value } : { kind: "object", entries };
    }
    return { kind: "literal", value };
  }

  /** template() of an element or entry; its path is made only when something needs it. */
  #child(file: YamlFile, path: JsonPath, key: string | number, value: unknown): Template {
    if (typeof value === "string" && !value.includes("${{")) return { kind: "literal", value };
    if (value === null || (typeof value !== "object" && typeof value !== "string")) return { kind: "literal", value };
    return this.template(file, [...path, key], value);
  }

  /** Compiles a bare JSONata expression (`when`, `forEach`); `${{ }}` around it is accepted. */
  expression(file: YamlFile, path: JsonPath, value: string): CompiledExpression | undefined {
    const map = scalarOffsetMapper(file, path);
    let source = value;
    let base = 0;
    const { spans } = scanTemplate(value);
    const only = spans[0];
    if (spans.length === 1 && only && value.slice(0, only.start).trim() === "" && value.slice(only.end).trim() === "") {
      source = value.slice(only.exprStart, only.exprEnd);
      base = only.exprStart;
    }
    if (source.trim() === "") {
      this.report("MCP201", "expression syntax error: the expression is empty", map(0, value.length));
      return undefined;
    }
    const r = CompiledExpression.compile(source, map(base, source.length));
    if (isSyntaxError(r)) {
      this.report("MCP201", `expression syntax error: ${r.message}`, map(base + r.offset, r.length));
      return undefined;
    }
    this.#origins.set(r, { file, path, base });
    return r;
  }

  locateInExpr(e: CompiledExpression, offset: number, length: number): Location | undefined {
    const o = this.#origins.get(e);
    return o ? scalarOffsetMapper(o.file, o.path)(o.base + offset, length) : e.location;
  }
}

export function compilePipeline(input: CompileInput): { pipeline?: CompiledPipeline; diagnostics: Diagnostic[] } {
  const c = new Compilation();
  const { pipeline: file, config } = input;
  const doc = obj(file.value);
  const cfg = obj(config?.value);
  const env = strings(cfg.env);

  // Models: library-registered, then mcp.yaml's, then the pipeline's (later wins).
  const models = new Map<string, ModelConfig>();
  for (const m of input.models ?? []) models.set(m.name, m);
  const modelSource = new Map<string, { file: YamlFile; path: JsonPath }>();
  // What a run would refuse about a model, and the project's key policy (model-policy.ts).
  const keyPolicy = keyPolicyOf(cfg, config?.path);
  for (const f of [config, file]) {
    if (!f) continue;
    for (const [name, raw] of Object.entries(obj(obj(f.value).models))) {
      const path = ["models", name];
      models.set(name, modelConfig(c, f, path, name, obj(raw)));
      checkModelPolicy((...a) => c.report(...a), f, path, name, obj(raw), keyPolicy);
      modelSource.set(name, { file: f, path });
    }
  }
  const registry = new ModelRegistry(models.values());

  // Model fallbacks must name models.
  for (const [name, src] of modelSource) {
    const fb = strings(models.get(name)?.fallback);
    fb.forEach((f, i) => {
      if (!models.has(f)) {
        c.report("MCP401", `unknown model '${f}' in the fallback of model '${name}'${didYouMean(f, models.keys())}`, src.file.locate([...src.path, "fallback", i]));
      }
    });
  }

  const tasks = new Map<string, { file: YamlFile; value: Obj }>();
  for (const f of [config, file]) {
    if (!f) continue;
    for (const [name, raw] of Object.entries(obj(obj(f.value).tasks))) tasks.set(name, { file: f, value: obj(raw) });
  }
  const defaults: Obj = { ...obj(cfg.defaults), ...obj(doc.defaults) };

  const stepsRaw = obj(doc.steps);
  const stepIds = Object.keys(stepsRaw);
  const steps = new Map<string, CompiledStep>();
  const deps = new Map<string, string[]>();
  // Steps asking for the same capabilities get the same candidates; steps with the same
  // chain share one (read-only) array of it.
  const candidatesFor = new Map<string, string[]>();
  const chains = new Map<string, readonly string[]>();
  const validChains = new Map<readonly string[], readonly string[]>();
  // registry.chain(), once per distinct first model, fallback list and candidates (read only).
  const chainsOf = new Map<string, string[]>();
  const chainOf = (first: string, explicitFallback: string[] | undefined, candidates?: string[]): string[] => {
    const key = JSON.stringify([first, explicitFallback ?? null, candidates ?? null]);
    let chain = chainsOf.get(key);
    if (!chain) chainsOf.set(key, (chain = registry.chain(first, explicitFallback, candidates?.slice(1))));
    return chain;
  };
  // Sets, not arrays: every reference is looked up, and a 5,000-step file has thousands.
  const allIds = new Set(stepIds);
  const validIds = new Set(stepIds.filter((id) => STEP_ID.test(id)));

  for (const id of stepIds) {
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
    if (isMapping && modelName === undefined && capabilities.length === 0 && raw.task === undefined && raw.model === undefined && raw.capabilities === undefined) {
      c.report("MCP303", `step '${id}' has no model: give it 'model', 'capabilities' or 'task'`, stepLoc, {
        hint: models.size ? `models: ${[...models.keys()].join(", ")}` : undefined,
      } as { hint?: string });
    }

    // The chain of models this step may run on.
    let chain: string[] = [];
    const explicitFallback = raw.fallback !== undefined ? strings(raw.fallback) : task.fallback !== undefined ? strings(task.fallback) : undefined;
    if (modelName !== undefined) {
      if (!models.has(modelName)) {
        c.report(
          "MCP401",
          `unknown model '${modelName}'${didYouMean(modelName, models.keys())}`,
          file.locate(raw.model !== undefined ? [...path, "model"] : path),
          models.size ? {} : { hint: "define models under `models:` in the pipeline or mcp.yaml" },
        );
      } else {
        chain = chainOf(modelName, explicitFallback);
      }
    } else if (capabilities.length > 0) {
      const selectKey = JSON.stringify([select, capabilities]);
      let candidates = candidatesFor.get(selectKey);
      if (!candidates) candidatesFor.set(selectKey, (candidates = registry.select({ capabilities, select }).map((m) => m.name)));
      const first = candidates[0];
      if (first === undefined) {
        const partial = registry
          .list()
          .map((m) => ({ m, missing: capabilities.filter((x) => !m.capabilities.includes(x)) }))
          .sort((a, b) => a.missing.length - b.missing.length)[0];
        c.report(
          "MCP403",
          `no model has the capabilities ${capabilities.map((x) => `'${x}'`).join(", ")} needed by step '${id}'`,
          file.locate(raw.capabilities !== undefined ? [...path, "capabilities"] : path),
          {
            hint: partial ? `closest: model '${partial.m.name}' lacks ${partial.missing.map((x) => `'${x}'`).join(", ")}` : "define a model with these capabilities under `models:`",
          },
        );
      } else {
        chain = chainOf(first, explicitFallback, candidates);
      }
    }
    // Capability contracts hold for the whole chain. A fallback comes from the step's (or
    // its task's) list, else from the chosen model's own `fallback:` list.
    const fromModel = explicitFallback === undefined && chain.length > 0 ? modelSource.get(chain[0]!) : undefined;
    const modelFallback = fromModel ? strings(models.get(chain[0]!)?.fallback) : [];
    for (let i = 0; i < chain.length; i++) {
      const name = chain[i]!;
      const m = models.get(name);
      const inModelList = i > 0 && modelFallback.includes(name);
      if (!m) {
        // An unknown name in a model's own list is reported there, once.
        if (!inModelList)
          c.report(
            "MCP401",
            `unknown model '${name}' in the fallback chain of step '${id}'${didYouMean(name, models.keys())}`,
            chainEntryLocation(file, path, raw, explicitFallback, stepLoc, name, i),
          );
        continue;
      }
      let missing: string[] | undefined;
      for (let k = 0; k < capabilities.length; k++) if (!m.capabilities.includes(capabilities[k]!)) (missing ??= []).push(capabilities[k]!);
      if (missing) {
        const related =
          inModelList && fromModel
            ? [{ message: `'${name}' is in the fallback list of model '${chain[0]}'`, location: fromModel.file.locate([...fromModel.path, "fallback", modelFallback.indexOf(name)]) }]
            : [];
        c.report(
          "MCP404",
          `model '${name}' ${i === 0 ? "chosen" : "in the fallback chain"} for step '${id}' lacks the capabilit${missing.length > 1 ? "ies" : "y"} ${missing.map((x) => `'${x}'`).join(", ")}`,
          chainEntryLocation(file, path, raw, explicitFallback, stepLoc, name, i),
          {
            hint: i === 0 ? "pick a model that has it, or drop the capability" : "remove it from the fallback list or give it the capability",
            related,
          },
        );
      }
    }
    let validChain = validChains.get(chain);
    if (!validChain) {
      const validNames = chain.filter((n) => models.has(n));
      const chainKey = JSON.stringify(validNames);
      validChain = chains.get(chainKey);
      if (!validChain) chains.set(chainKey, (validChain = validNames.slice()));
      validChains.set(chain, validChain);
    }

    // Expressions.
    const inputT = c.template(file, [...path, "input"], raw.input ?? task.input ?? {});
    const outputT = raw.output !== undefined || task.output !== undefined ? c.template(file, [...path, "output"], raw.output ?? task.output) : undefined;
    const appendT = raw.appendToContext !== undefined && raw.appendToContext !== false ? c.template(file, [...path, "appendToContext"], raw.appendToContext) : undefined;
    let when: CompiledExpression | undefined;
    if (typeof raw.when === "string") when = c.expression(file, [...path, "when"], raw.when);
    else if (raw.when === false) when = CompiledExpression.compile("false") as CompiledExpression;
    const forEach = typeof raw.forEach === "string" ? c.expression(file, [...path, "forEach"], raw.forEach) : undefined;

    const exprs = expressionsOf(inputT, outputT, appendT, when, forEach);
    const stepDeps = new Set<string>();
    // (Indexed loops here and below: this runs once per step, mostly before the JIT has
    // optimised it, and for-of would allocate an iterator and a result per element.)
    for (let k = 0; k < exprs.length; k++) checkRefs(c, exprs[k]!, id, validIds, allIds, env, stepDeps);
    if (!forEach) {
      for (let k = 0; k < exprs.length; k++) {
        const e = exprs[k]!;
        for (let vi = 0; vi < ITEM_VARIABLES.length; vi++) {
          const v = ITEM_VARIABLES[vi]!;
          const at = e.refs.variables.get(v);
          if (at !== undefined) c.diagnostics.push(warning("MCP205", `$${v} is only set in a step with forEach; here it is empty`, c.locateInExpr(e, at, v.length + 1)));
        }
      }
    }

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
    stepDeps.delete(id);
    const dependencies = [...stepDeps].sort();
    deps.set(id, dependencies);

    // (merged only when there is something to merge)
    const retry = retryPolicy(defaults.retry === undefined && task.retry === undefined ? obj(raw.retry) : { ...obj(defaults.retry), ...obj(task.retry), ...obj(raw.retry) });
    const timeoutMs = parseDuration((raw.timeout ?? task.timeout ?? defaults.timeout) as string | number | undefined);
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
    step.dependencies = dependencies;
    step.location = stepLoc;
    steps.set(id, step as CompiledStep);
  }

  // The graph.
  const { dag, cycles } = buildDag({ nodes: stepIds, dependencies: deps });
  for (const cyc of cycles) {
    const related = cyc.slice(0, -1).map((from, i) => {
      const to = cyc[i + 1]!;
      const needsIdx = needsIndex(stepsRaw[from], to);
      const refLoc = firstRefLocation(c, steps.get(from), to);
      return {
        message: `'${from}' needs '${to}'${needsIdx === undefined ? ` (it reads $steps.${to})` : ""}`,
        location: needsIdx !== undefined ? file.locate(needsIdx === -1 ? ["steps", from, "needs"] : ["steps", from, "needs", needsIdx]) : (refLoc ?? file.locateKey(["steps", from])),
      };
    });
    c.report("MCP301", `dependency cycle: ${cyc.join(" -> ")}`, file.locateKey(["steps", cyc[0]!]), {
      hint: "each arrow reads 'needs'; remove one of these dependencies",
      related,
    });
  }

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

  // The run input schema must itself be a valid schema.
  const inputs = doc.inputs !== undefined ? obj(doc.inputs) : undefined;

  const settings = projectSettings(file, config, cfg, env);
  if (c.diagnostics.some((d) => d.severity === "error")) return { diagnostics: c.diagnostics };

  const hash = createHash("sha256")
    .update(file.text)
    .update("\u0000")
    .update(config?.text ?? "")
    .digest("hex");
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
      ...(output ? { output } : {}),
      settings,
      sources: input.sources,
    },
  };
}

const ITEM_VARIABLES = ["item", "index"] as const;

/**
 * Where a step names the i-th model of its chain (the chosen one, or a fallback); found
 * only when reported: a mapping or a list would need the file's nodes.
 */
function chainEntryLocation(file: YamlFile, path: JsonPath, raw: Obj, explicitFallback: string[] | undefined, stepLoc: Location, name: string, i: number): Location | undefined {
  return i === 0
    ? file.locate(raw.model !== undefined ? [...path, "model"] : raw.capabilities !== undefined ? [...path, "capabilities"] : path)
    : explicitFallback && raw.fallback !== undefined
      ? file.locate([...path, "fallback", explicitFallback.indexOf(name)])
      : stepLoc;
}

/** The expressions of a step, in the order the compiler checks them. */
function expressionsOf(
  input: Template,
  output: Template | undefined,
  append: Template | undefined,
  when: CompiledExpression | undefined,
  forEach: CompiledExpression | undefined,
): CompiledExpression[] {
  const out: CompiledExpression[] = [];
  collectExpressions(input, out);
  if (output) collectExpressions(output, out);
  if (append) collectExpressions(append, out);
  if (when) out.push(when);
  if (forEach) out.push(forEach);
  return out;
}

function stepExpressions(s: CompiledStep): CompiledExpression[] {
  return expressionsOf(s.input, s.output, s.appendToContext, s.when, s.forEach);
}

/** The strings of two lists, each once, in order: a step's task's capabilities and its own. */
function uniqueStrings(a: unknown, b: unknown): string[] {
  const first = strings(a);
  const second = strings(b);
  if (first.length === 0 && second.length <= 1) return second.slice();
  return [...new Set([...first, ...second])];
}

/** Where step `from` first reads $steps.`to` (found again when a cycle needs explaining). */
function firstRefLocation(c: Compilation, from: CompiledStep | undefined, to: string): Location | undefined {
  for (const e of from ? stepExpressions(from) : []) {
    const offset = e.refs.steps.get(to);
    if (offset !== undefined) return c.locateInExpr(e, offset, to.length);
  }
  return undefined;
}

function checkRefs(c: Compilation, e: CompiledExpression, stepId: string | undefined, validIds: ReadonlySet<string>, allIds: ReadonlySet<string>, env: readonly string[], into: Set<string>) {
  for (const [ref, offset] of e.refs.steps) {
    if (allIds.has(ref)) {
      if (ref === stepId) c.report("MCP304", `step '${stepId}' reads its own output ($steps.${ref})`, c.locateInExpr(e, offset, ref.length));
      else into.add(ref);
    } else {
      c.report("MCP202", `unknown step '${ref}' in expression${didYouMean(ref, validIds)}`, c.locateInExpr(e, offset, ref.length));
    }
  }
  if (e.refs.bareSteps !== undefined) {
    c.report("MCP205", "'$steps' must be followed by a step id, as in $steps.<id>.output", c.locateInExpr(e, Math.max(0, e.refs.bareSteps), 6), {
      hint: "dependencies are inferred from $steps.<id>; list others in `needs`",
    });
  }
  for (const [name, offset] of e.refs.env) {
    if (!env.includes(name)) {
      c.report("MCP204", `$env.${name} is not allowed`, c.locateInExpr(e, offset, name.length), {
        hint: `add '${name}' to the env: list in mcp.yaml; expressions see only allow-listed variables`,
      });
    }
  }
}

function needsIndex(rawStep: unknown, to: string): number | undefined {
  const needs = obj(rawStep).needs;
  if (needs === to) return -1;
  if (Array.isArray(needs)) {
    const i = needs.indexOf(to);
    return i === -1 ? undefined : i;
  }
  return undefined;
}

function retryPolicy(r: Obj): RetryPolicy {
  return {
    attempts: typeof r.attempts === "number" ? r.attempts : DEFAULT_RETRY.attempts,
    backoff: (r.backoff as RetryPolicy["backoff"]) ?? DEFAULT_RETRY.backoff,
    initialDelayMs: parseDuration(r.initialDelay as string | number | undefined) ?? DEFAULT_RETRY.initialDelayMs,
    maxDelayMs: parseDuration(r.maxDelay as string | number | undefined) ?? DEFAULT_RETRY.maxDelayMs,
    jitter: typeof r.jitter === "boolean" ? r.jitter : DEFAULT_RETRY.jitter,
  };
}

function cachePolicy(v: unknown): CachePolicy | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "boolean") return { enabled: v };
  const ttlMs = parseDuration(obj(v).ttl as string | number | undefined);
  return { enabled: true, ...(ttlMs !== undefined ? { ttlMs } : {}) };
}

function modelConfig(c: Compilation, file: YamlFile, path: JsonPath, name: string, raw: Obj): ModelConfig {
  const templates: NonNullable<ModelConfig["templates"]> = {};
  if (raw.options !== undefined) templates.options = c.template(file, [...path, "options"], raw.options);
  if (raw.headers !== undefined) templates.headers = c.template(file, [...path, "headers"], raw.headers);
  if (raw.request !== undefined) templates.request = c.template(file, [...path, "request"], raw.request);
  if (raw.response !== undefined) templates.response = c.template(file, [...path, "response"], raw.response);
  const dur = (v: unknown) => parseDuration(v as string | number | undefined);
  const cache = cachePolicy(raw.cache);
  const { latency: _l, timeout: _t, connectTimeout: _c, ...rest } = raw;
  const m: ModelConfig = {
    ...(rest as Partial<ModelConfig>),
    name,
    provider: raw.provider as ModelConfig["provider"],
    capabilities: strings(raw.capabilities),
    baseDir: dirname(file.path),
    templates,
  };
  if (raw.provider === "module") m.moduleLocation = raw.module !== undefined ? file.locate([...path, "module"]) : file.locateKey(path);
  if (raw.latency !== undefined) m.latencyMs = dur(raw.latency);
  if (raw.timeout !== undefined) m.timeoutMs = dur(raw.timeout);
  if (raw.connectTimeout !== undefined) m.connectTimeoutMs = dur(raw.connectTimeout);
  if (cache) m.cache = cache.enabled ? (cache.ttlMs !== undefined ? { ttlMs: cache.ttlMs } : true) : false;
  return m;
}

function projectSettings(file: YamlFile, config: YamlFile | undefined, cfg: Obj, env: string[]): ProjectSettings {
  const cache = obj(cfg.cache);
  const ttlMs = parseDuration(cache.ttl as string | number | undefined);
  return {
    ...(config ? { configFile: config.path } : {}),
    projectDir: dirname(config?.path ?? file.path),
    env,
    ...(cfg.store !== undefined ? { store: obj(cfg.store) as ProjectSettings["store"] } : {}),
    ...(cfg.cache !== undefined ? { cache: { ...(typeof cache.enabled === "boolean" ? { enabled: cache.enabled } : {}), ...(ttlMs !== undefined ? { ttlMs } : {}) } } : {}),
    ...(cfg.server !== undefined ? { server: obj(cfg.server) } : {}),
  };
}
