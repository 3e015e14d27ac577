/** Compiling and evaluating JSONata expressions: references, fast paths, limits. */
import fc from "fast-check";
import jsonata from "jsonata";
import { describe, expect, it } from "vitest";
import { CompiledExpression, EVAL_LIMITS, ExpressionError, isSyntaxError, TextCache } from "../../src/expr/expression.js";
import { collectRefs } from "../../src/expr/references.js";
import { simplePathAst } from "../../src/expr/simple-path.js";

function compile(source: string): CompiledExpression {
  const r = CompiledExpression.compile(source);
  if (isSyntaxError(r)) throw new Error(`syntax error in ${source}: ${r.message}`);
  return r;
}

const identifier = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/).filter((s) => !["true", "false", "null"].includes(s));

describe("simple paths", () => {
  it("get the AST JSONata's parser gives them, node for node", () => {
    const path = fc.tuple(fc.constantFrom("", " ", "  "), identifier, fc.array(identifier, { maxLength: 5 }), fc.constantFrom("", " ", "\n"));
    fc.assert(
      fc.property(path, ([lead, head, names, trail]) => {
        const source = `${lead}$${head}${names.map((n) => `.${n}`).join("")}${trail}`;
        expect(simplePathAst(source)).toEqual(jsonata(source).ast());
      }),
      { numRuns: 300 },
    );
  });

  it("have the references their AST has, found without building it", () => {
    const name = fc.constantFrom("steps", "env", "input", "item", "a", "output", "text", "x_1");
    const path = fc.tuple(fc.constantFrom("", " ", "  "), name, fc.array(name, { maxLength: 4 }), fc.constantFrom("", " ", "\n"));
    fc.assert(
      fc.property(path, ([lead, head, names, trail]) => {
        const source = `${lead}$${head}${names.map((n) => `.${n}`).join("")}${trail}`;
        const refs = compile(source).refs;
        const expected = collectRefs(simplePathAst(source));
        expect([[...refs.steps], refs.bareSteps, [...refs.env], [...refs.variables]]).toEqual([[...expected.steps], expected.bareSteps, [...expected.env], [...expected.variables]]);
        expect(refs.stepList).toEqual([...expected.steps]);
        expect(compile(source).ast).toEqual(jsonata(source).ast());
      }),
      { numRuns: 300 },
    );
  });

  it("leave anything else to JSONata", () => {
    for (const s of ["$a.b[0]", "$a.`b c`", "$a.true", "$", "$$", "$a.b + 1", "$a.b.c()", "a.b"]) expect(simplePathAst(s)).toBeUndefined();
  });

  it("evaluate as JSONata evaluates them, through plain objects", async () => {
    const json = fc.jsonValue({ maxDepth: 3 });
    const key = fc.constantFrom("a", "b", "c");
    await fc.assert(
      fc.asyncProperty(fc.dictionary(key, fc.oneof(json, fc.dictionary(key, json))), fc.array(key, { maxLength: 3 }), async (input, names) => {
        const source = ["$input", ...names].join(".");
        const ours = await compile(source).evaluate({ input });
        const theirs = await jsonata(source).evaluate({}, { input });
        // Both sides through JSON: JSONata's sequences become plain arrays, and -0 reads as 0
        // on both (the values are the input's own; only the comparison cares).
        const norm = (v: unknown) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));
        expect(norm(ours)).toEqual(norm(theirs));
      }),
      { numRuns: 200 },
    );
  });
});

describe("references", () => {
  it("lists the steps an expression reads, with the offset of each id", () => {
    const e = compile('$steps.a.output & $join($steps.b.output.items.name, ", ") & $steps.a.status');
    expect([...e.refs.steps]).toEqual([
      ["a", 7],
      ["b", 31],
    ]);
  });

  it("finds references inside lambdas, predicates, conditions and object constructors", () => {
    const e = compile('{ "x": $map([1, 2], function($v) { $steps.p.output[$v] }), "y": $steps.q.output.ok ? $steps.r.output : [] }[$steps.s.output]');
    expect([...e.refs.steps.keys()].sort()).toEqual(["p", "q", "r", "s"]);
  });

  it("notes $steps used without a step id, and $env reads", () => {
    const e = compile("$count($keys($steps)) & $env.REGION");
    expect(e.refs.bareSteps).toBe(13);
    expect([...e.refs.env]).toEqual([["REGION", 29]]);
  });

  it("tells $steps heading a path with a step id from a bare $steps, in a path or not, with the offset of the first bare one", () => {
    const e = compile("$steps.a.output & $steps[0] & $keys($steps) & $steps.b");
    expect([...e.refs.steps]).toEqual([
      ["a", 7],
      ["b", 53],
    ]);
    expect(e.refs.bareSteps).toBe(18);
    expect(compile("$keys($steps) & $steps.a.output").refs.bareSteps).toBe(6);
    expect(compile("$steps.a.output.x[$steps.b.output]").refs.bareSteps).toBeUndefined();
    expect([...compile("$steps.a.output.x[$steps.b.output]").refs.variables]).toEqual([["steps", 0]]);
  });

  it("records every variable with the offset of its $", () => {
    const e = compile("$item.name & $index");
    expect([...e.refs.variables]).toEqual([
      ["item", 0],
      ["index", 13],
    ]);
  });

  it("shares one parse between identical expressions", () => {
    const a = compile("$input.text");
    const b = compile("$input.text");
    expect(a).not.toBe(b);
    expect(a.refs).toBe(b.refs);
  });
});

describe("syntax errors", () => {
  it("give the position of the offending token", () => {
    expect(CompiledExpression.compile("$a.b >> 1")).toEqual({ message: 'The symbol ">" cannot be used as a unary operator (JSONata S0211)', offset: 6, length: 1 });
    expect(CompiledExpression.compile("$a + * 2")).toEqual({ message: "Syntax error: 2 (JSONata S0201)", offset: 7, length: 1 });
  });

  it("point at the last token when the expression ends too soon", () => {
    expect(CompiledExpression.compile("$a.b ~>  ")).toEqual({ message: "Unexpected end of expression (JSONata S0207)", offset: 5, length: 2 });
  });
});

describe("evaluation limits", () => {
  it("stops an evaluation that runs longer than the time limit", async () => {
    const e = compile("( $f := function($n) { $f($n + 1) }; $f(0) )"); // tail calls: no depth limit
    const started = performance.now();
    const err = await e.evaluate({}).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(ExpressionError);
    expect((err as ExpressionError).jsonataCode).toBe("D1012");
    expect(performance.now() - started).toBeLessThan(EVAL_LIMITS.timeoutMs * 3);
  });

  it("stops a recursion deeper than the depth limit", async () => {
    const e = compile("( $f := function($n) { $n > 0 ? 1 + $f($n - 1) : 0 }; $f(100000) )");
    const err = await e.evaluate({}).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(ExpressionError);
    expect((err as ExpressionError).jsonataCode).toBe("D1011");
  });

  it("names the expression in a run-time error", async () => {
    const err = await compile('$number("x")')
      .evaluate({})
      .catch((x: unknown) => x);
    expect((err as Error).message).toMatch(/in `\$number\("x"\)`$/);
  });
});

describe("TextCache (parsed expressions by text)", () => {
  it("keeps at most its size, and always the texts set or found most recently", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom("get", "set"), fc.integer({ min: 0, max: 30 })), { maxLength: 200 }), (ops) => {
        const cache = new TextCache<number>(8);
        const recent: string[] = [];
        for (const [op, n] of ops) {
          const text = `t${n}`;
          if (op === "set") cache.set(text, n);
          else if (cache.get(text) === undefined) continue;
          else expect(cache.get(text)).toBe(n);
          recent.push(text);
          expect(cache.size).toBeLessThanOrEqual(8);
          // The last half-size distinct texts touched are all still there.
          for (const t of [...new Set(recent.slice(-4))]) expect(cache.get(t)).toBe(Number(t.slice(1)));
        }
      }),
      { numRuns: 300 },
    );
  });

  it("holds no more than its size after 200,000 texts, the newest kept and the oldest dropped", () => {
    const cache = new TextCache<number>(10_000);
    for (let i = 0; i < 200_000; i++) cache.set(`$steps.s${i}.output.text`, i);
    expect(cache.size).toBeLessThanOrEqual(10_000);
    expect(cache.get("$steps.s199999.output.text")).toBe(199_999);
    expect(cache.get("$steps.s0.output.text")).toBeUndefined();
  });
});
