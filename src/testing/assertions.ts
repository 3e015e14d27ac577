/**
 * Judging one assertion against a finished run: picks the subject (the run's output, a
 * step, the run itself), the value (`at:`), and evaluates each check into a result with a
 * one-line message, expected and actual values and, for long values, a diff.
 */
import { isDeepStrictEqual } from "node:util";
import type { Location } from "../diagnostics/diagnostic.js";
import { evaluateTemplate } from "../expr/template.js";
import type { RunReport, StepRecord } from "../events/report.js";
import { formatDuration } from "../util/duration.js";
import { diffValues, show } from "./diff.js";
import type { AssertionResult, Where } from "./results.js";
import { safeTest } from "./regex.js";
import type { Assertion, Bound, Check } from "./assertion-types.js";

export interface JudgeContext {
  report: RunReport;
  /** $row, $index, $input of the case. */
  bindings: Record<string, unknown>;
  where(location: Location): Where;
  /** Asks the grader model; `pass` and its reason. */
  grade(rubric: string, grader: string, value: unknown): Promise<{ pass: boolean; reason: string }>;
  turn?: number;
}

/** Plain JSON (undefined members dropped), so deep equality matches what a user sees. */
function json(v: unknown): unknown {
  return v === undefined ? undefined : (JSON.parse(JSON.stringify(v)) as unknown);
}

/** The step's fallbacks: times the model changed between attempts (per forEach item). */
export function fallbackCount(rec: StepRecord): number {
  const last = new Map<number | undefined, string>();
  let n = 0;
  for (const a of rec.attempts) {
    const prev = last.get(a.item);
    if (prev !== undefined && prev !== a.model) n++;
    last.set(a.item, a.model);
  }
  return n;
}

export async function judgeAssertion(a: Assertion, ctx: JudgeContext): Promise<AssertionResult[]> {
  const { report } = ctx;
  const rec = a.step !== undefined ? report.steps[a.step] : undefined;
  const base = a.step !== undefined ? `step '${a.step}'` : "run";
  const outputOf = a.step !== undefined ? rec?.output : report.output;
  const outName = a.step !== undefined ? `step '${a.step}' output` : "output";
  const out: AssertionResult[] = [];

  // The value checked by equals/contains/matches/schema/rubric.
  let value: unknown = outputOf;
  let subject = outName;
  let atError: string | undefined;
  if (a.at) {
    subject = `${outName} at \`${a.at.source}\``;
    try {
      value = await a.at.expr.evaluate({ output: report.output, steps: stepBindings(report), row: ctx.bindings.row, index: ctx.bindings.index }, outputOf ?? {});
    } catch (e) {
      atError = (e as Error).message;
    }
  }

  for (const c of a.checks) {
    const r = (passed: boolean, message: string, extra: { expected?: unknown; actual?: unknown; subject?: string } = {}): AssertionResult => {
      const diff = !passed && (c.kind === "equals" || c.kind === "contains") ? diffValues(extra.expected, extra.actual) : undefined;
      return {
        passed,
        kind: c.kind,
        subject: extra.subject ?? subject,
        ...(a.name ? { name: a.name } : {}),
        message,
        ...("expected" in extra ? { expected: extra.expected } : {}),
        ...("actual" in extra ? { actual: extra.actual } : {}),
        ...(diff ? { diff } : {}),
        where: ctx.where(c.location),
        ...(ctx.turn !== undefined ? { turn: ctx.turn } : {}),
      };
    };
    if (a.step !== undefined && !rec) {
      out.push(r(false, `${base} did not run (no record in the report)`, { subject: base }));
      continue;
    }
    if (atError !== undefined && (c.kind === "equals" || c.kind === "contains" || c.kind === "matches" || c.kind === "schema" || c.kind === "rubric")) {
      out.push(r(false, `\`${a.at!.source}\` failed: ${atError}`));
      continue;
    }
    out.push(await judgeCheck(c, { value, subject, base, rec, ctx, r }));
  }
  return out;
}

type Make = (passed: boolean, message: string, extra?: { expected?: unknown; actual?: unknown; subject?: string }) => AssertionResult;

async function judgeCheck(c: Check, s: { value: unknown; subject: string; base: string; rec: StepRecord | undefined; ctx: JudgeContext; r: Make }): Promise<AssertionResult> {
  const { value, subject, base, rec, ctx, r } = s;
  const report = ctx.report;
  switch (c.kind) {
    case "equals": {
      const expected = json(await evaluateTemplate(c.expected, ctx.bindings));
      const actual = json(value);
      const ok = isDeepStrictEqual(actual, expected);
      return r(ok, ok ? `${subject} equals ${show(expected)}` : `expected ${subject} to equal ${show(expected)}, got ${show(actual)}`, { expected, actual });
    }
    case "contains": {
      const expected = json(await evaluateTemplate(c.expected, ctx.bindings));
      const actual = json(value);
      const ok = contains(actual, expected);
      return r(ok, ok ? `${subject} contains ${show(expected)}` : `expected ${subject} to contain ${show(expected)}, got ${show(actual)}`, { expected, actual });
    }
    case "matches": {
      const text = typeof value === "string" ? value : value === undefined ? "" : JSON.stringify(value);
      const ok = value !== undefined && safeTest(c.regex, text);
      return r(ok, ok ? `${subject} matches ${c.pattern}` : `expected ${subject} to match ${c.pattern}, got ${show(value)}`, { expected: c.pattern, actual: value });
    }
    case "schema": {
      const ok = value !== undefined && c.validate(json(value));
      const why = (c.validate.errors ?? []).map((e) => `${e.instancePath || "(root)"} ${e.message ?? "is invalid"}`).join("; ");
      return r(ok, ok ? `${subject} matches the schema` : `expected ${subject} to match the schema${value === undefined ? ", got undefined" : `: ${why}`}`, { expected: c.schema, actual: value });
    }
    case "expect": {
      let result: unknown;
      try {
        result = await c.expr.evaluate(
          { output: report.output, steps: stepBindings(report), run: runBinding(report), input: report.input, row: ctx.bindings.row, index: ctx.bindings.index },
          report.output ?? {},
        );
      } catch (e) {
        return r(false, `\`${c.source}\` failed: ${(e as Error).message}`, { subject: "expect" });
      }
      const ok = result === true;
      return r(ok, ok ? `\`${c.source}\` is true` : `expected \`${c.source}\` to be true, got ${show(result)}`, { subject: "expect", expected: true, actual: result });
    }
    case "status": {
      const actual = rec ? rec.status : report.status;
      const ok = actual === c.expected;
      const err = rec?.error?.message ?? (rec ? undefined : report.error?.message);
      return r(ok, ok ? `${base} status is ${actual}` : `expected ${base} status to be ${c.expected}, got ${actual}${err ? ` (${firstLine(err)})` : ""}`, {
        subject: base,
        expected: c.expected,
        actual,
      });
    }
    case "model": {
      const actual = rec?.model;
      const ok = actual === c.expected;
      return r(ok, ok ? `${base} ran on ${actual}` : `expected ${base} to run on model '${c.expected}', got ${actual ? `'${actual}'` : "no model"}`, { subject: base, expected: c.expected, actual });
    }
    case "attempts":
      return bound(r, `${base} attempts`, rec?.attempts.length ?? 0, c.bound, String);
    case "fallbacks":
      return bound(r, `${base} fallbacks`, rec ? fallbackCount(rec) : 0, c.bound, String);
    case "tokens": {
      const u = rec ? rec.usage : { inputTokens: report.totals.inputTokens, outputTokens: report.totals.outputTokens };
      return bound(r, `${base} tokens`, u.inputTokens + u.outputTokens, c.bound, String);
    }
    case "cost":
      return bound(r, `${base} cost`, rec ? rec.cost : report.totals.cost, c.bound, (n) => `$${n.toFixed(6).replace(/0+$/, "").replace(/\.$/, "")}`);
    case "duration":
      return bound(r, `${base} duration`, rec ? rec.durationMs : report.durationMs, c.bound, formatDuration);
    case "rubric": {
      try {
        const g = await ctx.grade(c.rubric, c.grader, value);
        return r(g.pass, g.pass ? `${subject} meets the rubric (${c.grader}: ${g.reason})` : `${subject} does not meet the rubric "${c.rubric}": ${c.grader} says ${g.reason}`, { actual: value });
      } catch (e) {
        return r(false, `the grader '${c.grader}' failed: ${firstLine((e as Error).message)}`);
      }
    }
  }
}

function bound(r: Make, what: string, actual: number, b: Bound, fmt: (n: number) => string): AssertionResult {
  let ok = true;
  let want = "";
  if (b.exact !== undefined) {
    ok = actual === b.exact;
    want = `${fmt(b.exact)}`;
  } else {
    if (b.min !== undefined && actual < b.min) ok = false;
    if (b.max !== undefined && actual > b.max) ok = false;
    want = b.min !== undefined && b.max !== undefined ? `between ${fmt(b.min)} and ${fmt(b.max)}` : b.max !== undefined ? `at most ${fmt(b.max)}` : `at least ${fmt(b.min ?? 0)}`;
  }
  return r(ok, ok ? `${what}: ${fmt(actual)} (${want})` : `expected ${what} to be ${want}, got ${fmt(actual)}`, { subject: what.split(" ").slice(0, -1).join(" "), expected: b, actual });
}

/** A string holds a substring; a list holds an element (deeply equal, or a partial mapping); a mapping holds the given keys and values. */
export function contains(actual: unknown, expected: unknown): boolean {
  if (typeof actual === "string") return typeof expected === "string" ? actual.includes(expected) : actual.includes(JSON.stringify(expected));
  if (Array.isArray(actual)) return actual.some((x) => isDeepStrictEqual(x, expected) || (isObj(expected) && isObj(x) && subset(x, expected)));
  if (isObj(actual) && isObj(expected)) return subset(actual, expected);
  return false;
}

function subset(actual: Record<string, unknown>, expected: Record<string, unknown>): boolean {
  return Object.entries(expected).every(([k, v]) => {
    const a = actual[k];
    if (isObj(v) && isObj(a)) return subset(a, v);
    return isDeepStrictEqual(a, v);
  });
}

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function firstLine(s: string): string {
  return s.split("\n")[0] ?? s;
}

/** `$steps` as pipeline expressions see it. */
function stepBindings(report: RunReport): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [id, s] of Object.entries(report.steps))
    out[id] = { output: s.output, status: s.status, model: s.model, usage: s.usage, attempts: s.attempts.length, cost: s.cost, durationMs: s.durationMs };
  return out;
}

/** `$run`: status, totals, duration. */
function runBinding(report: RunReport): Record<string, unknown> {
  return { status: report.status, durationMs: report.durationMs, tokens: report.totals.inputTokens + report.totals.outputTokens, cost: report.totals.cost, error: report.error };
}
