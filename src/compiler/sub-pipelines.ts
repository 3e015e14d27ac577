/**
 * Compiling a step's `pipeline:` (a sub-pipeline): the child file is loaded and compiled by
 * the loader (load.ts, which also finds cycles of files), its problems become the parent's,
 * and the input the parent passes is checked against the child's `inputs` schema where its
 * shape is known (literal keys and values; an expression's value is known only at run time).
 * Also `repeat:` (bounded loops), the other construct that wraps a step's run.
 */
import type { Diagnostic, Location } from "../diagnostics/diagnostic.js";
import { warning } from "../diagnostics/diagnostic.js";
import type { JsonPath, YamlFile } from "../config/yaml-file.js";
import type { CompiledExpression } from "../expr/expression.js";
import { didYouMean } from "../util/suggest.js";
import { obj, type Compilation, type Obj } from "./compilation.js";
import type { CompiledPipeline, RepeatPolicy, SubPipeline } from "./types.js";

/**
 * Loads and compiles the pipeline file `ref` names (relative to the file at `at`), or
 * reports why it cannot: `files` are the sub-pipeline files read, the child's own included,
 * even when it is invalid (so a watcher reloads the parent once the child is fixed).
 */
export type SubPipelineLoader = (ref: string, at: Location | undefined) => { pipeline?: CompiledPipeline; diagnostics: readonly Diagnostic[]; files: readonly string[] };

/** Keys of a step that choose or configure a model: meaningless on a sub-pipeline step. */
const MODEL_KEYS = ["model", "capabilities", "task", "select", "fallback", "retry", "cache"] as const;

/** A step's `pipeline:`, compiled; undefined when it cannot be (reported). */
export function compileSubPipeline(c: Compilation, file: YamlFile, path: JsonPath, raw: Obj, loader: SubPipelineLoader | undefined, files: Set<string>): SubPipeline | undefined {
  const ref = raw.pipeline as string;
  const id = String(path[path.length - 1]);
  const at = file.locate([...path, "pipeline"]);
  for (const k of MODEL_KEYS) {
    if (raw[k] !== undefined) {
      c.report("MCP311", `step '${id}' runs the sub-pipeline ${ref}: it has no '${k}' of its own`, file.locateKey([...path, k]), {
        hint: "the child's steps choose their models; remove the key (or move it into the child)",
      });
    }
  }
  if (!loader) {
    c.report("MCP311", `step '${id}': sub-pipelines are loaded only from files (this pipeline was compiled without a loader)`, at);
    return undefined;
  }
  const child = loader(ref, at);
  for (const f of child.files) files.add(f);
  const errors = child.diagnostics.filter((d) => d.severity === "error");
  c.diagnostics.push(...errors);
  if (!child.pipeline) {
    // A cycle is reported once, with its chain of files; anything else gets a pointer here.
    if (!errors.some((d) => d.code === "MCP310" || d.location?.offset === at?.offset)) {
      c.report("MCP311", `sub-pipeline ${ref} of step '${id}' has errors${errors.length ? ` (${errors.length}, reported with its file)` : ""}`, at);
    }
    return undefined;
  }
  const waits = [...child.pipeline.steps.values()].find((s) => s.approval);
  if (waits?.approval) {
    c.report("MCP311", `sub-pipeline ${ref} of step '${id}' has an approval step ('${waits.id}'): a nested run cannot wait for a person`, at, {
      hint: "put the approval step in the parent pipeline, after this step",
    });
  }
  checkChildInput(c, file, path, raw.input, child.pipeline, ref);
  return { ref, compiled: child.pipeline };
}

/** JSON Schema `type`s a literal value may have. */
function typesOf(v: unknown): string[] {
  if (v === null) return ["null"];
  if (Array.isArray(v)) return ["array"];
  if (typeof v === "number") return Number.isInteger(v) ? ["integer", "number"] : ["number"];
  return [typeof v];
}

const isExpression = (v: unknown): boolean => typeof v === "string" && v.includes("${{");

/**
 * The parent's `input` against the child's `inputs` schema, where the shape is known: a
 * required key missing, a key the child does not take (additionalProperties: false), a
 * literal value of the wrong type. Values computed by expressions are checked at run time.
 */
function checkChildInput(c: Compilation, file: YamlFile, path: JsonPath, input: unknown, child: CompiledPipeline, ref: string): void {
  const schema = child.inputs;
  if (!schema) return;
  const id = String(path[path.length - 1]);
  const what = `step '${id}' input for sub-pipeline ${ref}`;
  const inputLoc = file.locate(input !== undefined ? [...path, "input"] : path);
  if (input === undefined || isExpression(input)) {
    if (input === undefined && Array.isArray(schema.required) && schema.required.length) {
      c.report("MCP312", `${what}: the step has no input, and the child requires ${schema.required.map((r) => `'${String(r)}'`).join(", ")}`, file.locateKey(path));
    }
    return;
  }
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    if (schema.type === "object") c.report("MCP312", `${what} must be an object (the child's inputs are an object)`, inputLoc);
    return;
  }
  const given = input as Obj;
  const props = obj(schema.properties);
  for (const req of Array.isArray(schema.required) ? schema.required : []) {
    if (typeof req === "string" && !(req in given)) c.report("MCP312", `${what} lacks the required key '${req}'`, inputLoc, { hint: `the child's inputs: ${Object.keys(props).join(", ") || "none"}` });
  }
  for (const [k, val] of Object.entries(given)) {
    const p = props[k];
    if (p === undefined) {
      if (schema.additionalProperties === false) c.report("MCP312", `${what}: the child takes no input '${k}'${didYouMean(k, Object.keys(props))}`, file.locateKey([...path, "input", k]));
      continue;
    }
    const want = obj(p).type;
    if (isExpression(val) || want === undefined) continue;
    if (val !== null && typeof val === "object" && !Array.isArray(val) && JSON.stringify(val).includes("${{")) continue;
    const wanted = Array.isArray(want) ? want.map(String) : [String(want)];
    if (!typesOf(val).some((t) => wanted.includes(t))) {
      c.report("MCP312", `${what}: '${k}' must be ${wanted.join(" or ")}, found ${typesOf(val)[0]}`, file.locate([...path, "input", k]));
    }
  }
}

/** A step's `repeat:`, compiled. `max` is compulsory (the schema reports it missing). */
export function compileRepeat(c: Compilation, file: YamlFile, path: JsonPath, raw: Obj): RepeatPolicy | undefined {
  if (raw.repeat === undefined) return undefined;
  if (raw.approval !== undefined) {
    c.report("MCP311", `step '${String(path[path.length - 1])}' cannot both wait for an approval and repeat`, file.locateKey([...path, "repeat"]));
    return undefined;
  }
  const r = obj(raw.repeat);
  if (typeof r.max !== "number") return undefined;
  let until: CompiledExpression | undefined;
  if (typeof r.until === "string") until = c.expression(file, [...path, "repeat", "until"], r.until);
  return { ...(until ? { until } : {}), max: r.max, onMax: r.onMax === "last" ? "last" : "fail" };
}

const LOOP_VARIABLES = ["last", "iteration"] as const;

/** $last and $iteration outside a repeat step: a warning, they are empty there. */
export function checkLoopVariables(c: Compilation, exprs: readonly CompiledExpression[]): void {
  for (const e of exprs) {
    for (const v of LOOP_VARIABLES) {
      const at = e.refs.variables.get(v);
      if (at !== undefined) c.diagnostics.push(warning("MCP205", `$${v} is only set in a step with repeat; here it is empty`, c.locateInExpr(e, at, v.length + 1)));
    }
  }
}
