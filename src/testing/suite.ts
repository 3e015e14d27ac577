/**
 * Loading a test suite (`*.test.yaml`): read it within the load limits, check it against
 * schemas/test.schema.json, load the pipeline under test, and compile every case and
 * assertion, reporting all problems of the file at once as diagnostics (MCP1xx schema,
 * MCP201 expressions, MCP6xx tests). A data set case becomes one case per row.
 */
import { basename, dirname, join } from "node:path";
import type { ValidateFunction } from "ajv";
import { loadPipelineChecked, readSource } from "../compiler/load.js";
import { isTestFile } from "../config/file-kinds.js";
import { DEFAULT_LIMITS, type LoadLimits } from "../config/limits.js";
import { scalarOffsetMapper } from "../config/scalar-offsets.js";
import { parseYaml, type JsonPath, type YamlFile } from "../config/yaml-file.js";
import type { CompiledPipeline } from "../compiler/types.js";
import { error, hasErrors, sortDiagnostics, type Diagnostic, type Location } from "../diagnostics/diagnostic.js";
import { SourceMap } from "../diagnostics/source.js";
import { CompiledExpression, isSyntaxError } from "../expr/expression.js";
import { compileString, scanTemplate, type Template } from "../expr/template.js";
import { checkUserSchema, compileUserSchema, validateTestSchema } from "../schema/validate.js";
import { parseDuration } from "../util/duration.js";
import { didYouMean } from "../util/suggest.js";
import { readDataset } from "./dataset.js";
import { compileSafeRegex } from "./regex.js";

type Obj = Record<string, unknown>;

/** A number bound: `exact` for counts written as a bare number, else min/max. */
export interface Bound {
  min?: number;
  max?: number;
  exact?: number;
}

/** One check of an assertion; `location` is its key in the test file. */
export type Check = { readonly location: Location; readonly key: string } & (
  | { readonly kind: "equals" | "contains"; readonly expected: Template }
  | { readonly kind: "matches"; readonly regex: RegExp; readonly pattern: string }
  | { readonly kind: "schema"; readonly validate: ValidateFunction; readonly schema: unknown }
  | { readonly kind: "expect"; readonly expr: CompiledExpression; readonly source: string }
  | { readonly kind: "status" | "model"; readonly expected: string }
  | { readonly kind: "attempts" | "fallbacks" | "tokens" | "cost" | "duration"; readonly bound: Bound }
  | { readonly kind: "rubric"; readonly rubric: string; readonly grader: string }
);

export type CheckKind = Check["kind"];

export interface Assertion {
  readonly name?: string;
  readonly step?: string;
  /** Selects the value checked; source kept for messages. */
  readonly at?: { readonly expr: CompiledExpression; readonly source: string };
  readonly checks: readonly Check[];
  readonly location: Location;
}

export interface Turn {
  readonly name?: string;
  readonly input: Template;
  readonly mocks: Readonly<Record<string, Obj>>;
  readonly assertions: readonly Assertion[];
}

export interface TestCase {
  /** Unique in the suite: the name, with the row for data set cases. */
  readonly name: string;
  readonly location: Location;
  readonly skip: boolean;
  readonly conversation?: string;
  readonly mocks: Readonly<Record<string, Obj>>;
  readonly turns: readonly Turn[];
  /** A name over $row and $index, evaluated when the case runs (data set cases). */
  readonly nameTemplate?: Template;
  /** Where the case is written in the test file (for a data set case, `location` is its row). */
  readonly caseLocation?: Location;
  /** The data set row (a data set case). */
  readonly row?: Obj;
  readonly index?: number;
}

export interface TestSuite {
  /** The test file as given. */
  readonly file: string;
  readonly description?: string;
  readonly pipeline: CompiledPipeline;
  readonly cases: readonly TestCase[];
  /** Where this suite's model calls are recorded. */
  readonly recordingPath: string;
  readonly sources: SourceMap;
}

export interface SuiteLoad {
  suite?: TestSuite;
  diagnostics: Diagnostic[];
  sources: SourceMap;
  /** Files the suite depends on (pipeline, data sets), for watch. */
  files: string[];
}

export { isTestFile };

/** The recording beside a test file: `x.test.yaml` -> `x.test.recording.json`. */
export function recordingPathOf(testFile: string): string {
  return join(dirname(testFile), `${basename(testFile).replace(/\.ya?ml$/i, "")}.recording.json`);
}

/** Checks needing `step:`. */
const STEP_ONLY = new Set(["model", "attempts", "fallbacks"]);
const CHECK_KEYS = ["equals", "contains", "matches", "schema", "expect", "status", "model", "attempts", "fallbacks", "tokens", "cost", "duration", "rubric"] as const;

/**
 * Loads and checks one test file; never throws for user mistakes.
 * @example const { suite, diagnostics } = await loadSuite("pipelines/ticket-triage.test.yaml");
 */
export async function loadSuite(path: string, opts: { sources?: SourceMap; limits?: LoadLimits } = {}): Promise<SuiteLoad> {
  const sources = opts.sources ?? new SourceMap();
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const files: string[] = [path];
  const read = readSource(path, limits);
  if (read.diagnostic) return { diagnostics: [read.diagnostic], sources, files };
  sources.add(path, read.text!);
  const file = parseYaml(path, read.text!, limits);
  const diagnostics: Diagnostic[] = [...file.diagnostics];
  if (hasErrors(file.diagnostics)) return { diagnostics, sources, files };
  if (!isObj(file.value)) {
    diagnostics.push(error("MCP008", "a test file must be a mapping with `pipeline:` and `tests:`", file.locate([]), { hint: "see pipelines/*.test.yaml for examples" }));
    return { diagnostics, sources, files };
  }
  diagnostics.push(...validateTestSchema(file));
  const doc = file.value;
  const c = new SuiteCompiler(file, diagnostics);

  // The pipeline under test.
  let pipeline: CompiledPipeline | undefined;
  if (typeof doc.pipeline === "string" && doc.pipeline !== "") {
    const pipelinePath = join(dirname(path), doc.pipeline);
    files.push(pipelinePath);
    const loaded = await loadPipelineChecked(pipelinePath, { sources });
    if (loaded.pipeline) pipeline = loaded.pipeline;
    else {
      const unreadable = loaded.diagnostics.find((d) => d.code === "MCP006" && d.message.startsWith("cannot read ") && d.location?.offset === 0);
      diagnostics.push(
        error(
          "MCP601",
          unreadable
            ? `the pipeline under test ${doc.pipeline} cannot be read: ${unreadable.message.replace(/^cannot read [^:]*: /, "")}`
            : `the pipeline under test ${doc.pipeline} has errors (below)`,
          file.locate(["pipeline"]),
        ),
      );
      if (!unreadable) diagnostics.push(...loaded.diagnostics);
    }
  }

  const models = new Set(pipeline?.models.map((m) => m.name) ?? []);
  const steps = new Set(pipeline ? [...pipeline.steps.keys()] : []);
  const checkModel = (name: unknown, p: JsonPath, key: boolean) => {
    if (!pipeline || typeof name !== "string" || models.has(name)) return;
    diagnostics.push(error("MCP605", `unknown model '${name}' in pipeline '${pipeline.name}'${didYouMean(name, models)}`, key ? file.locateKey(p) : file.locate(p)));
  };
  const mocksAt = (p: JsonPath): Record<string, Obj> => {
    const m = valueAt(doc, p);
    if (!isObj(m)) return {};
    for (const name of Object.keys(m)) checkModel(name, [...p, name], true);
    return Object.fromEntries(Object.entries(m).filter(([, v]) => isObj(v))) as Record<string, Obj>;
  };
  const suiteMocks = mocksAt(["mocks"]);
  const grader = typeof doc.grader === "string" ? doc.grader : undefined;
  if (grader) checkModel(grader, ["grader"], false);

  const cases: TestCase[] = [];
  const tests = Array.isArray(doc.tests) ? doc.tests : [];
  const names = new Map<string, number>();
  tests.forEach((raw, i) => {
    if (!isObj(raw)) return;
    const base: JsonPath = ["tests", i];
    const caseLoc = file.locate(base);
    const written = typeof raw.name === "string" ? raw.name : undefined;
    const has = (k: string) => raw[k] !== undefined;
    if (!has("input") && !has("dataset") && !has("turns")) {
      diagnostics.push(error("MCP607", `test ${written ? `'${written}'` : i + 1} has no input: give input:, dataset: or turns:`, file.locate(base)));
      return;
    }
    if (has("turns") && (has("input") || has("dataset") || has("assert"))) {
      diagnostics.push(error("MCP607", "a case with turns: has its inputs and assertions in the turns; remove input:, dataset: and assert: here", file.locateKey([...base, "turns"])));
      return;
    }
    const mocks = { ...suiteMocks, ...mocksAt([...base, "mocks"]) };
    const ctx = { steps, pipeline, grader };
    const turns: Turn[] = [];
    if (Array.isArray(raw.turns)) {
      raw.turns.forEach((t, k) => {
        if (!isObj(t)) return;
        const tp: JsonPath = [...base, "turns", k];
        turns.push({
          ...(typeof t.name === "string" ? { name: t.name } : {}),
          input: c.template(tp.concat("input"), t.input ?? {}),
          mocks: mocksAt([...tp, "mocks"]),
          assertions: c.assertions([...tp, "assert"], t.assert, ctx),
        });
      });
    } else {
      turns.push({ input: has("input") ? c.template([...base, "input"], raw.input) : { kind: "expr", expr: rowExpr() }, mocks: {}, assertions: c.assertions([...base, "assert"], raw.assert, ctx) });
    }
    const nameTemplate = written !== undefined ? c.template([...base, "name"], written) : undefined;
    const common = {
      location: caseLoc,
      skip: raw.skip === true,
      ...(typeof raw.conversation === "string" ? { conversation: raw.conversation } : {}),
      mocks,
      turns,
    };
    if (typeof raw.dataset === "string") {
      const dsPath = join(dirname(path), raw.dataset);
      files.push(dsPath);
      const ds = readDataset(dsPath, sources);
      diagnostics.push(...ds.diagnostics.map((d) => (d.location ? d : { ...d, location: file.locate([...base, "dataset"]) })));
      ds.rows.forEach((row, r) => {
        const fixed = nameTemplate?.kind === "literal" ? String(nameTemplate.value) : basename(dsPath);
        cases.push({
          ...common,
          name: `${fixed} [row ${r + 1}]`,
          ...(nameTemplate && nameTemplate.kind !== "literal" ? { nameTemplate } : {}),
          row: row.value,
          index: r,
          location: { file: dsPath, offset: row.offset, length: 0 },
          caseLocation: caseLoc,
        });
      });
    } else {
      const name = written ?? `test ${i + 1}`;
      const seen = names.get(name) ?? 0;
      names.set(name, seen + 1);
      cases.push({ ...common, name: seen ? `${name} (${seen + 1})` : name });
    }
  });

  if (hasErrors(diagnostics) || !pipeline) return { diagnostics: sortDiagnostics(diagnostics), sources, files };
  return {
    suite: {
      file: path,
      ...(typeof doc.description === "string" ? { description: doc.description } : {}),
      pipeline,
      cases,
      recordingPath: recordingPathOf(path),
      sources,
    },
    diagnostics: sortDiagnostics(diagnostics),
    sources,
    files,
  };
}

let rowExpression: CompiledExpression | undefined;
/** `$row`: the input of a data set case that gives no input template. */
function rowExpr(): CompiledExpression {
  const r = CompiledExpression.compile("$row");
  if (isSyntaxError(r)) throw new Error("Internal error: $row does not compile");
  return (rowExpression ??= r);
}

interface AssertionContext {
  steps: ReadonlySet<string>;
  pipeline: CompiledPipeline | undefined;
  grader: string | undefined;
}

/** Compiles templates, expressions and assertions of one file, recording diagnostics. */
class SuiteCompiler {
  constructor(
    readonly file: YamlFile,
    readonly diagnostics: Diagnostic[],
  ) {}

  template(path: JsonPath, value: unknown): Template {
    if (typeof value === "string") {
      if (!value.includes("${{")) return { kind: "literal", value };
      const map = scalarOffsetMapper(this.file, path);
      const problems: Parameters<typeof compileString>[2] = [];
      const t = compileString(value, map, problems);
      for (const p of problems)
        this.diagnostics.push(error(p.kind === "unclosed" ? "MCP206" : "MCP201", p.kind === "unclosed" ? p.message : `expression syntax error: ${p.message}`, map(p.offset, p.length)));
      return t;
    }
    if (Array.isArray(value)) {
      const items = value.map((v, i) => this.template([...path, i], v));
      return items.every((i) => i.kind === "literal") ? { kind: "literal", value } : { kind: "array", items };
    }
    if (isObj(value)) {
      const entries = Object.entries(value).map(([k, v]) => [k, this.template([...path, k], v)] as const);
      return entries.every(([, t]) => t.kind === "literal") ? { kind: "literal", value } : { kind: "object", entries };
    }
    return { kind: "literal", value };
  }

  /** A bare JSONata expression; `${{ }}` around it is accepted. */
  expression(path: JsonPath, value: string): CompiledExpression | undefined {
    const map = scalarOffsetMapper(this.file, path);
    let source = value;
    let base = 0;
    const { spans } = scanTemplate(value);
    const only = spans[0];
    if (spans.length === 1 && only && value.slice(0, only.start).trim() === "" && value.slice(only.end).trim() === "") {
      source = value.slice(only.exprStart, only.exprEnd);
      base = only.exprStart;
    }
    if (source.trim() === "") {
      this.diagnostics.push(error("MCP201", "expression syntax error: the expression is empty", map(0, value.length)));
      return undefined;
    }
    const r = CompiledExpression.compile(source, map(base, source.length));
    if (isSyntaxError(r)) {
      this.diagnostics.push(error("MCP201", `expression syntax error: ${r.message}`, map(base + r.offset, r.length)));
      return undefined;
    }
    return r;
  }

  assertions(path: JsonPath, raw: unknown, ctx: AssertionContext): Assertion[] {
    if (!Array.isArray(raw)) return [];
    const out: Assertion[] = [];
    raw.forEach((a, j) => {
      if (!isObj(a)) return;
      const ap: JsonPath = [...path, j];
      const r = this.assertion(ap, a, ctx);
      if (r) out.push(r);
    });
    return out;
  }

  assertion(ap: JsonPath, a: Obj, ctx: AssertionContext): Assertion | undefined {
    const f = this.file;
    const d = this.diagnostics;
    const step = typeof a.step === "string" ? a.step : undefined;
    if (step !== undefined && ctx.pipeline && !ctx.steps.has(step)) {
      d.push(error("MCP602", `unknown step '${step}' in pipeline '${ctx.pipeline.name}'${didYouMean(step, ctx.steps)}`, f.locate([...ap, "step"])));
    }
    const at = typeof a.at === "string" ? this.expression([...ap, "at"], a.at) : undefined;
    const checks: Check[] = [];
    for (const key of CHECK_KEYS) {
      const v = a[key];
      if (v === undefined) continue;
      const p: JsonPath = [...ap, key];
      const location = f.locateKey(p);
      if (STEP_ONLY.has(key) && step === undefined) {
        d.push(error("MCP606", `'${key}' checks a step: add step: <id> to this assertion`, location));
        continue;
      }
      switch (key) {
        case "equals":
        case "contains":
          checks.push({ kind: key, key, location, expected: this.template(p, v) });
          break;
        case "matches": {
          if (typeof v !== "string") break;
          const r = compileSafeRegex(v);
          if ("problem" in r) d.push(error("MCP604", `invalid regular expression: ${r.problem}`, f.locate(p)));
          else checks.push({ kind: "matches", key, location, regex: r.regex, pattern: v });
          break;
        }
        case "schema": {
          const problems = checkUserSchema(f, p);
          if (problems.length) d.push(...problems);
          else if (typeof v === "object" || typeof v === "boolean") checks.push({ kind: "schema", key, location, validate: compileUserSchema(v as object), schema: v });
          break;
        }
        case "expect": {
          if (typeof v !== "string") break;
          const e = this.expression(p, v);
          if (e) checks.push({ kind: "expect", key, location, expr: e, source: e.source.trim() });
          break;
        }
        case "status":
          if (typeof v !== "string") break;
          if (step === undefined && (v === "skipped" || v === "aborted")) d.push(error("MCP606", `a run's status is success, failed or cancelled; '${v}' is a step's (add step: <id>)`, f.locate(p)));
          else if (step !== undefined && v === "cancelled") d.push(error("MCP606", "a step's status is success, failed, skipped or aborted; 'cancelled' is a run's", f.locate(p)));
          else checks.push({ kind: "status", key, location, expected: v });
          break;
        case "model":
          if (typeof v === "string") {
            if (ctx.pipeline && !ctx.pipeline.models.some((m) => m.name === v))
              d.push(
                error(
                  "MCP605",
                  `unknown model '${v}' in pipeline '${ctx.pipeline.name}'${didYouMean(
                    v,
                    ctx.pipeline.models.map((m) => m.name),
                  )}`,
                  f.locate(p),
                ),
              );
            checks.push({ kind: "model", key, location, expected: v });
          }
          break;
        case "attempts":
        case "fallbacks":
        case "tokens":
        case "cost": {
          const b = numberBound(v, key === "attempts" || key === "fallbacks");
          if (b) checks.push({ kind: key, key, location, bound: b });
          break;
        }
        case "duration": {
          const b = durationBound(v);
          if (b) checks.push({ kind: "duration", key, location, bound: b });
          break;
        }
        case "rubric": {
          if (typeof v !== "string") break;
          const grader = typeof a.grader === "string" ? a.grader : ctx.grader;
          if (typeof a.grader === "string" && ctx.pipeline && !ctx.pipeline.models.some((m) => m.name === a.grader)) {
            d.push(
              error(
                "MCP605",
                `unknown model '${a.grader}' in pipeline '${ctx.pipeline.name}'${didYouMean(
                  a.grader,
                  ctx.pipeline.models.map((m) => m.name),
                )}`,
                f.locate([...ap, "grader"]),
              ),
            );
          } else if (!grader) d.push(error("MCP606", "a rubric needs a grader model: set grader: on the suite or on this assertion", location));
          else checks.push({ kind: "rubric", key, location, rubric: v, grader });
          break;
        }
      }
    }
    if (checks.length === 0) {
      if (!CHECK_KEYS.some((k) => a[k] !== undefined)) d.push(error("MCP606", `this assertion checks nothing: add one of ${CHECK_KEYS.join(", ")}`, f.locate(ap)));
      return undefined;
    }
    return {
      ...(typeof a.name === "string" ? { name: a.name } : {}),
      ...(step !== undefined ? { step } : {}),
      ...(at && typeof a.at === "string" ? { at: { expr: at, source: a.at } } : {}),
      checks,
      location: f.locate(ap),
    };
  }
}

function numberBound(v: unknown, countsAreExact: boolean): Bound | undefined {
  if (typeof v === "number") return countsAreExact ? { exact: v } : { max: v };
  if (isObj(v)) return { ...(typeof v.min === "number" ? { min: v.min } : {}), ...(typeof v.max === "number" ? { max: v.max } : {}) };
  return undefined;
}

function durationBound(v: unknown): Bound | undefined {
  if (typeof v === "number" || typeof v === "string") {
    const ms = parseDuration(v);
    return ms === undefined ? undefined : { max: ms };
  }
  if (isObj(v)) {
    const min = parseDuration(v.min as string | number | undefined);
    const max = parseDuration(v.max as string | number | undefined);
    return { ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}) };
  }
  return undefined;
}

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function valueAt(root: unknown, path: JsonPath): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}
