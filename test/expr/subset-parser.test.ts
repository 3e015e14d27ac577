/**
 * The JSONata subset parser (src/expr/subset-parser.ts) against JSONata's own parser:
 * whatever text it accepts, JSONata accepts too and builds the same AST, node for node and
 * key for key; texts outside the subset (near misses included) are left to JSONata.
 */
import fc from "fast-check";
import jsonata from "jsonata";
import { describe, expect, it } from "vitest";
import { collectRefs, CompiledExpression, isSyntaxError, type ExprRefs } from "../../src/expr/expression.js";
import { subsetAst } from "../../src/expr/subset-parser.js";

/** FUZZ_RUNS=20 npx vitest run test/expr/subset-parser.test.ts searches 20 times as long. */
const scale = Number(process.env.FUZZ_RUNS ?? 1);
const runs = (n: number) => ({ numRuns: Math.round(n * scale) });

/** Same own keys in the same order, same values; -0 and NaN told apart. */
function same(a: unknown, b: unknown): boolean {
  if (typeof a === "number" && typeof b === "number") return Object.is(a, b);
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => same(x, b[i]));
  if (a && b && typeof a === "object" && typeof b === "object") {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k, i) => k === kb[i] && same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return a === b;
}

/** Whether the subset parser took the text; if it did, asserts JSONata agrees. */
function check(source: string): boolean {
  const ours = subsetAst(source);
  let theirs: unknown;
  let error: unknown;
  try {
    theirs = jsonata(source).ast();
  } catch (e) {
    error = e;
  }
  if (ours === undefined) return false;
  expect(error, source).toBeUndefined();
  if (!same(ours, theirs)) expect(ours, source).toEqual(theirs);
  // The references found while loading (from the subset's AST, by a walker of its own).
  const compiled = CompiledExpression.compile(source);
  if (isSyntaxError(compiled)) throw new Error(`${source}: ${compiled.message}`);
  expect(listed(compiled.refs), source).toEqual(listed(collectRefs(theirs)));
  return true;
}

const listed = (r: ExprRefs) => ({ steps: [...r.steps], bareSteps: r.bareSteps, env: [...r.env], variables: [...r.variables] });

const ident = fc.constantFrom("a", "b", "steps", "env", "input", "x_1", "output", "text", "status", "join", "and", "or", "in", "true", "null", "A9");
const ws = fc.constantFrom("", "", "", " ", "  ", "\n", "\t ");
const path = fc.tuple(ident, fc.array(ident, { maxLength: 4 })).map(([h, names]) => `$${h}${names.map((n) => `.${n}`).join("")}`);
const literal = fc.constantFrom('"success"', "'; '", '""', "''", '"a b"', "0", "1", "42", "1.5", "0.25", "true", "false", "null");
const op = fc.constantFrom("=", "!=", "<", "<=", ">", ">=", "and", "or", "&", "+", "-", "*", "/", "%");

const expr: fc.Arbitrary<string> = fc.letrec<{ e: string; operand: string }>((tie) => ({
  operand: fc.oneof(
    { depthSize: "small" },
    path,
    literal,
    fc.tuple(ident, fc.array(tie("e"), { maxLength: 3 }), ws).map(([f, args, w]) => `$${f}(${w}${args.join(`,${w}`)})`),
    fc.tuple(fc.array(tie("e"), { maxLength: 3 }), ws).map(([items, w]) => `[${w}${items.join(`${w},`)}]`),
  ),
  e: fc.oneof(
    { depthSize: "small" },
    tie("operand"),
    fc.tuple(tie("operand"), ws, op, ws, tie("e")).map(([l, w1, o, w2, r]) => `${l}${/^[a-z]/.test(o) ? w1 || " " : w1}${o}${/^[a-z]/.test(o) ? w2 || " " : w2}${r}`),
  ),
})).e;

describe("the JSONata subset parser", () => {
  it("builds JSONata's AST for the everyday expressions", () => {
    for (const s of [
      '$steps.a.status = "success"',
      " $join([$steps.a.output.text, $steps.b.output.text], '; ') ",
      "$steps.a.output.score < 0",
      "$steps.a.output.score >= 0.5 and $input.flag = true",
      "$a = 1 or $b != 2 and $c",
      "$count($steps.a.output) > 1",
      "'Hello ' & $input.name & '!'",
      "$x + 1 * 2 - 3 / 4 % 5",
      "[]",
      "$now()",
      "$string($count([1, 2, [3]]))",
    ]) {
      expect(check(s), s).toBe(true);
    }
  });

  it("leaves anything else to JSONata", () => {
    for (const s of [
      "",
      "$",
      "$a.b[0]",
      "$a.b.c()",
      "$a.`b c`",
      "$a . b",
      "-1",
      "$a = -1",
      "(1)",
      "$a ? 1 : 2",
      "$a ~> $f()",
      "$a ** 2",
      "$a /* c */ = 1",
      "1e3",
      "01",
      "$a.b\"x\"",
      '"a\\"b"',
      "$a in [1]",
      "$a and$b",
      "$f(1).x",
      "[1..3]",
      "a.b",
      "$a.true",
      "$a := 1",
      "{ 'a': 1 }",
      "$a = ",
      "$f(1,)",
      "[1,]",
    ]) {
      expect(subsetAst(s), s).toBeUndefined();
    }
  });

  it("agrees with JSONata on generated expressions", () => {
    let accepted = 0;
    fc.assert(
      fc.property(ws, expr, ws, (a, e, b) => {
        if (check(`${a}${e}${b}`)) accepted++;
      }),
      runs(2000),
    );
    expect(accepted).toBeGreaterThan(500 * scale);
  });

  const token = fc.constantFrom(
    "$a", "$steps", ".b", ".and", ".true", ".0", "(", ")", "[", "]", "{", "}", ",", '"s"', "'s'", '"', "'", "\\", "1", "0", "1.5", "1.", "e3",
    "=", "!=", "!", "<", "<=", ">", ">=", "and", "or", "in", "&", "+", "-", "*", "**", "/", "/*", "*/", "%", "?", ":", ":=", "..", "~>", "@", "#", "^", "|", ";", "`x`",
    " ", " ", "\n", "true", "null", "x", "$join", "$", "é",
  );
  it("agrees with JSONata on token soups", () => {
    fc.assert(
      fc.property(fc.array(token, { minLength: 1, maxLength: 10 }), (tokens) => {
        check(tokens.join(""));
      }),
      runs(5000),
    );
  });
});
