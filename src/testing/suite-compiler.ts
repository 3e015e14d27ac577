/**
 * Compiling a test file's templates, expressions and assertions, recording every problem as
 * a diagnostic (MCP201 expressions, MCP6xx tests). Templates and expressions compile exactly
 * as in a pipeline (the compiler's Compilation).
 */
import { Compilation } from "../compiler/compilation.js";
import type { CompiledPipeline } from "../compiler/types.js";
import type { JsonPath, YamlFile } from "../config/yaml-file.js";
import { error, type Diagnostic } from "../diagnostics/diagnostic.js";
import type { CompiledExpression } from "../expr/expression.js";
import type { Template } from "../expr/template.js";
import { checkUserSchema, compileUserSchema } from "../schema/validate.js";
import { parseDuration } from "../util/duration.js";
import { didYouMean } from "../util/suggest.js";
import type { Assertion, Bound, Check } from "./assertion-types.js";
import { compileSafeRegex } from "./regex.js";

type Obj = Record<string, unknown>;

/** Checks needing `step:`. */
const STEP_ONLY = new Set(["model", "attempts", "fallbacks"]);
const CHECK_KEYS = ["equals", "contains", "matches", "schema", "expect", "status", "model", "attempts", "fallbacks", "tokens", "cost", "duration", "rubric"] as const;

export interface AssertionContext {
  steps: ReadonlySet<string>;
  pipeline: CompiledPipeline | undefined;
  grader: string | undefined;
}

/** Compiles templates, expressions and assertions of one file, recording diagnostics. */
export class SuiteCompiler {
  /** Templates and expressions compile as in a pipeline, with the same diagnostics. */
  readonly #c: Compilation;

  constructor(
    readonly file: YamlFile,
    readonly diagnostics: Diagnostic[],
  ) {
    this.#c = new Compilation(diagnostics);
  }

  template(path: JsonPath, value: unknown): Template {
    return this.#c.template(this.file, path, value);
  }

  /** A bare JSONata expression; `${{ }}` around it is accepted. */
  expression(path: JsonPath, value: string): CompiledExpression | undefined {
    return this.#c.expression(this.file, path, value);
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
