/**
 * Templates: any YAML value in which strings may hold `${{ expr }}`. A string that is exactly
 * one `${{ expr }}` becomes the expression's value; `${{ }}` inside other text is
 * interpolated into a string. Templates are compiled once; subtrees without expressions
 * are kept as literals and cost nothing to evaluate.
 */
import type { Location } from "../diagnostics/diagnostic.js";
import { CompiledExpression, NOT_FAST, type Bindings, type ExprSyntaxError, isSyntaxError } from "./expression.js";

export type Template =
  | { readonly kind: "literal"; readonly value: unknown }
  | { readonly kind: "expr"; readonly expr: CompiledExpression }
  | { readonly kind: "interp"; readonly parts: readonly (string | CompiledExpression)[] }
  | { readonly kind: "array"; readonly items: readonly Template[] }
  | { readonly kind: "object"; readonly entries: readonly (readonly [string, Template])[] };

/** One `${{ ... }}` found in a string: offsets of the expression text inside the string. */
export interface TemplateSpan {
  start: number; // offset of "${{"
  end: number; // offset after "}}"
  exprStart: number;
  exprEnd: number;
}

export interface TemplateProblem {
  kind: "syntax" | "unclosed";
  message: string;
  /** Offset and length inside the string value. */
  offset: number;
  length: number;
}

/**
 * Finds `${{ ... }}` spans. The closing `}}` is the first one outside string literals and
 * outside braces opened inside the expression, so `${{ {"a": {"b": 1}} }}` works.
 */
export function scanTemplate(s: string): { spans: TemplateSpan[]; unclosedAt?: number } {
  const spans: TemplateSpan[] = [];
  let i = s.indexOf("${{");
  while (i !== -1) {
    const end = closingBraces(s, i + 3);
    if (end === -1) return { spans, unclosedAt: i };
    spans.push({ start: i, end: end + 2, exprStart: i + 3, exprEnd: end });
    i = s.indexOf("${{", end + 2);
  }
  return { spans };
}

/** The characters that matter when looking for the end of an expression. */
const SPECIAL = /["'`{}]|\/\*/g;

/** The offset of the `}}` that closes the expression starting at `exprStart`, or -1. */
function closingBraces(s: string, exprStart: number): number {
  let depth = 0;
  let j = exprStart;
  for (;;) {
    // Straight to the next character that matters (a regex search, not a loop over each).
    // (test, not exec: no match object per character found)
    SPECIAL.lastIndex = j;
    if (!SPECIAL.test(s)) return -1;
    j = SPECIAL.lastIndex - 1;
    const c = s[j]!;
    if (c === "}") {
      if (depth === 0 && s[j + 1] === "}") return j;
      depth = Math.max(0, depth - 1);
    } else if (c === "{") depth++;
    else if (c === "*") {
      // the end of a `/*`: skip the comment
      const close = s.indexOf("*/", j + 1);
      if (close === -1) return -1;
      j = close + 1;
    } else {
      // a string literal: to its closing quote, over backslash escapes
      for (j++; j < s.length && s[j] !== c; j++) if (s[j] === "\\") j++;
      if (j >= s.length) return -1;
    }
    j++;
  }
}

export function hasTemplate(v: unknown): boolean {
  if (typeof v === "string") return v.includes("${{");
  if (Array.isArray(v)) return v.some(hasTemplate);
  if (v && typeof v === "object") return Object.values(v).some(hasTemplate);
  return false;
}

/**
 * Where a string's text is in a file, when the string is a verbatim copy of the file from
 * `start` on (a plain or quoted YAML scalar without escapes): its expressions are compiled
 * with compileAt, their locations made only if asked for.
 */
export interface VerbatimPlace {
  readonly file: string;
  readonly start: number;
}

/**
 * Compiles one string. `locate` maps an offset inside the string to a file location (or
 * says where the string is verbatim in a file).
 * Problems are returned, not thrown, so every error of a file is reported at once.
 */
export function compileString(
  s: string,
  locate: ((offset: number, length: number) => Location | undefined) | VerbatimPlace,
  problems: TemplateProblem[],
  /** Receives each compiled expression with the offset of its text inside `s`. */
  onExpression?: (expr: CompiledExpression, exprStart: number) => void,
): Template {
  // One pass: each span is compiled as it is found. An unclosed `${{` anywhere is the one
  // problem reported (the rest of the string is not an expression); else the first syntax
  // error is, and the string stays a literal.
  let i = s.indexOf("${{");
  if (i === -1) return { kind: "literal", value: s };
  const parts: (string | CompiledExpression)[] = [];
  let at = 0;
  let first: CompiledExpression | undefined;
  let whole = false;
  let failed: TemplateProblem | undefined;
  while (i !== -1) {
    const exprStart = i + 3;
    const exprEnd = closingBraces(s, exprStart);
    if (exprEnd === -1) {
      problems.push({ kind: "unclosed", message: "'${{' is not closed by '}}'", offset: i, length: 3 });
      return { kind: "literal", value: s };
    }
    const end = exprEnd + 2;
    if (!failed) {
      const r = compileSpan(s, i, exprStart, exprEnd, end, locate);
      if (r instanceof CompiledExpression) {
        onExpression?.(r, exprStart);
        if (i > at) parts.push(s.slice(at, i));
        parts.push(r);
        if (i === 0 && end === s.length) whole = true;
        first ??= r;
      } else failed = r;
    }
    at = end;
    i = s.indexOf("${{", end);
  }
  if (failed) {
    problems.push(failed);
    return { kind: "literal", value: s };
  }
  if (whole) return { kind: "expr", expr: first! };
  if (at < s.length) parts.push(s.slice(at));
  // (a copy of exact size: the template is kept as long as the pipeline)
  return { kind: "interp", parts: parts.slice() };
}

/** Compiles the expression of one span, or says what is wrong with it. */
function compileSpan(
  s: string,
  start: number,
  exprStart: number,
  exprEnd: number,
  end: number,
  locate: ((offset: number, length: number) => Location | undefined) | VerbatimPlace,
): CompiledExpression | TemplateProblem {
  const text = s.slice(exprStart, exprEnd);
  // (as text.trim(), text.trimStart() would give, without making those strings)
  const lead = leadingSpace(text);
  if (lead === text.length) return { kind: "syntax", message: "empty expression '${{ }}'", offset: start, length: end - start };
  const r =
    typeof locate === "function"
      ? CompiledExpression.compile(text, locate(exprStart + lead, text.length - lead - trailingSpace(text)))
      : CompiledExpression.compileAt(text, locate.file, locate.start + exprStart);
  return isSyntaxError(r) ? syntaxProblem(r, exprStart) : r;
}

const SPACE_CHAR = /\s/;
/** Whether a character is one String.prototype.trim removes. */
function isSpace(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  if (c === 32 || (c >= 9 && c <= 13)) return true;
  return c > 127 && SPACE_CHAR.test(s[i]!);
}
/** How many characters s.trimStart() would remove. */
function leadingSpace(s: string): number {
  let i = 0;
  while (i < s.length && isSpace(s, i)) i++;
  return i;
}
/** How many characters s.trimEnd() would remove (s not all space). */
function trailingSpace(s: string): number {
  let i = s.length;
  while (i > 0 && isSpace(s, i - 1)) i--;
  return s.length - i;
}

function syntaxProblem(r: ExprSyntaxError, base: number): TemplateProblem {
  return { kind: "syntax", message: r.message, offset: base + r.offset, length: r.length };
}

/** Every compiled expression of a template, in document order. */
export function templateExpressions(t: Template): CompiledExpression[] {
  const out: CompiledExpression[] = [];
  collectExpressions(t, out);
  return out;
}

/** Appends every compiled expression of a template to `out`, in document order. */
export function collectExpressions(t: Template, out: CompiledExpression[]): void {
  switch (t.kind) {
    case "literal":
      return;
    case "expr":
      out.push(t.expr);
      return;
    case "interp":
      for (const p of t.parts) if (typeof p !== "string") out.push(p);
      return;
    case "array":
      for (const item of t.items) collectExpressions(item, out);
      return;
    case "object":
      for (const [, v] of t.entries) collectExpressions(v, out);
      return;
  }
}

/**
 * Evaluates a template synchronously when every expression in it is a simple path (the
 * common case: `${{ $steps.a.output.text }}`); NOT_FAST when JSONata is needed.
 */
export function evaluateTemplateFast(t: Template, bindings: Bindings): unknown {
  switch (t.kind) {
    case "literal":
      return t.value;
    case "expr":
      return t.expr.tryFast(bindings);
    case "interp": {
      let out = "";
      for (const p of t.parts) {
        if (typeof p === "string") out += p;
        else {
          const v = p.tryFast(bindings);
          if (v === NOT_FAST) return NOT_FAST;
          out += stringify(v);
        }
      }
      return out;
    }
    case "array": {
      const out: unknown[] = [];
      for (const item of t.items) {
        const v = evaluateTemplateFast(item, bindings);
        if (v === NOT_FAST) return NOT_FAST;
        out.push(v);
      }
      return out;
    }
    case "object": {
      const out: Record<string, unknown> = {};
      for (const [k, tv] of t.entries) {
        const v = evaluateTemplateFast(tv, bindings);
        if (v === NOT_FAST) return NOT_FAST;
        if (v !== undefined) out[k] = v;
      }
      return out;
    }
  }
}

/** Evaluates a template to a plain value; `input` is JSONata's context value `$`. */
export async function evaluateTemplate(t: Template, bindings: Bindings, input?: unknown): Promise<unknown> {
  switch (t.kind) {
    case "literal":
      return t.value;
    case "expr":
      return t.expr.evaluate(bindings, input);
    case "interp": {
      let out = "";
      for (const p of t.parts) out += typeof p === "string" ? p : stringify(await p.evaluate(bindings, input));
      return out;
    }
    case "array": {
      const out: unknown[] = [];
      for (const item of t.items) out.push(await evaluateTemplate(item, bindings, input));
      return out;
    }
    case "object": {
      const out: Record<string, unknown> = {};
      for (const [k, v] of t.entries) {
        const val = await evaluateTemplate(v, bindings, input);
        if (val !== undefined) out[k] = val;
      }
      return out;
    }
  }
}

/** How a value reads inside interpolated text: strings as they are, others as JSON. */
export function stringify(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return JSON.stringify(v);
}

/**
 * Compiles a plain value (no file positions) into a template: for configs built in code.
 * Throws an Error naming the bad expression on a syntax error.
 */
export function compileTemplateValue(value: unknown, what = "template"): Template {
  if (typeof value === "string") {
    const problems: TemplateProblem[] = [];
    const t = compileString(value, () => undefined, problems);
    const p = problems[0];
    if (p) throw new Error(`${what}: ${p.message} in ${JSON.stringify(value)}`);
    return t;
  }
  if (Array.isArray(value)) {
    const items = value.map((v) => compileTemplateValue(v, what));
    return items.every((i) => i.kind === "literal") ? { kind: "literal", value } : { kind: "array", items };
  }
  if (value && typeof value === "object") {
    const entries = Object.entries(value).map(([k, v]) => [k, compileTemplateValue(v, what)] as const);
    return entries.every(([, t]) => t.kind === "literal") ? { kind: "literal", value } : { kind: "object", entries };
  }
  return { kind: "literal", value };
}
