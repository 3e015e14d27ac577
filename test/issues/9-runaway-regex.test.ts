/**
 * Issue 9, class 1: a regular expression from a pipeline file (a JSONata regex literal, a
 * `pattern` of the `inputs` schema) cannot block the process. Patterns V8's linear engine
 * can run never backtrack without bound; the others run in a worker and are stopped at
 * REGEX_LIMITS.matchTimeoutMs. Bounds in these tests only catch hangs.
 */
import { describe, expect, it } from "vitest";
import { CompiledExpression, isSyntaxError } from "../../src/expr/expression.js";
import { isLinear, RegexTimeoutError, REGEX_LIMITS, safeRegExp } from "../../src/util/safe-regex.js";
import { runCli } from "../helpers/cli.js";
import { tempProject } from "../helpers/project.js";

const EVIL = "a".repeat(40) + "!";

function compileExpression(source: string): CompiledExpression {
  const c = CompiledExpression.compile(source);
  if (isSyntaxError(c)) throw new Error(c.message);
  return c;
}
const HANG_BOUND_MS = 20_000;

function timed<T>(f: () => T): { value?: T; error?: unknown; ms: number } {
  const t0 = Date.now();
  try {
    return { value: f(), ms: Date.now() - t0 };
  } catch (error) {
    return { error, ms: Date.now() - t0 };
  }
}

describe("safeRegExp", () => {
  it("runs a catastrophic pattern the linear engine supports to its answer", () => {
    for (const p of ["^(a+)+$", "(a|a)*$", "^(\\w+\\s?)*$", "(x+x+)+y"]) {
      expect(isLinear(p, "")).toBe(true);
      const r = timed(() => safeRegExp(p, "").test(EVIL));
      expect(r.error).toBeUndefined();
      expect(r.ms).toBeLessThan(HANG_BOUND_MS);
    }
  });

  it("stops a catastrophic pattern with a backreference, lookahead or the i flag, and names it", () => {
    for (const [p, f] of [
      ["^(a+)+\\1$", ""],
      ["^(?=a)(a+)+$", ""],
      ["^(a+)+$", "i"],
    ] as const) {
      const r = timed(() => safeRegExp(p, f).exec(EVIL));
      expect(r.error, `/${p}/${f}`).toBeInstanceOf(RegexTimeoutError);
      expect((r.error as Error).message).toContain(`took longer than ${REGEX_LIMITS.matchTimeoutMs} ms`);
      expect(r.ms).toBeLessThan(HANG_BOUND_MS);
    }
  });

  it("matches as RegExp does when the pattern is not catastrophic, in the worker too", () => {
    for (const [p, f, s] of [
      ["(?<word>b+)(?=c)", "", "aabbbcc"],
      ["(\\w)\\1", "g", "abccdd"],
      ["HELLO", "i", "say hello"],
      ["^[äöü]+$", "u", "äöü"],
      ["^\\p{L}+$", "u", "Straße"],
    ] as const) {
      const mine = safeRegExp(p, f);
      const real = new RegExp(p, f);
      const a = mine.exec(s);
      const b = real.exec(s);
      expect(a === null ? null : [...a], `/${p}/${f}`).toEqual(b === null ? null : [...b]);
      expect(a?.index).toEqual(b?.index);
      expect(a?.groups).toEqual(b?.groups);
      expect(mine.lastIndex).toBe(real.lastIndex);
    }
  });

  it("keeps working after a stopped match (a new worker is started)", () => {
    expect(() => safeRegExp("^(a+)+\\1$", "").test(EVIL)).toThrow(RegexTimeoutError);
    expect(safeRegExp("(a)\\1", "").test("xaay")).toBe(true);
  });

  it("throws a SyntaxError for an invalid pattern, as RegExp does", () => {
    expect(() => safeRegExp("(a", "")).toThrow(SyntaxError);
    expect(() => safeRegExp("(?<=a", "")).toThrow(SyntaxError);
  });
});

describe("regex literals in expressions", () => {
  const shapes = [
    "$match($input.s, /(a+)+\\1$/)",
    "$contains($input.s, /^(?=a)(a+)+$/)",
    "$replace($input.s, /^(a+)+$/i, 'x')",
    "$split($input.s, /(a+)+\\1b/)",
    "$input.s ~> $match(/^(a|aa)+$/i)",
    "($r := /(a+)+\\1c/; $r($input.s))",
  ];
  for (const src of shapes) {
    it(`stops ${src} with an expression error`, async () => {
      const expr = compileExpression(src);
      const t0 = Date.now();
      await expect(Promise.resolve().then(() => expr.evaluate({ input: { s: EVIL } }))).rejects.toThrow(/took longer than|timeout/i);
      expect(Date.now() - t0).toBeLessThan(HANG_BOUND_MS);
    });
  }

  it("evaluates the same functions normally on ordinary input", async () => {
    expect(await compileExpression("$replace($input.s, /HELLO/i, 'bye')").evaluate({ input: { s: "say hello" } })).toBe("say bye");
    expect(await compileExpression("$contains($input.s, /(\\w)\\1/)").evaluate({ input: { s: "abba" } })).toBe(true);
    expect(await compileExpression("$match($input.s, /^(a+)+$/).match").evaluate({ input: { s: "aaa" } })).toBe("aaa");
  });
});

const MODEL = `models:
  m:
    provider: mock
    capabilities: [text-generation]
    options: { reply: { text: "ok" } }
`;

describe("mcp run with a hostile pattern", { timeout: 60_000 }, () => {
  it("fails the run (exit 1) when an expression's regex is stopped", async () => {
    const dir = tempProject({
      "p.yaml": `version: 1\nname: p\n${MODEL}steps:\n  a:\n    model: m\n    input: { prompt: "\${{ $match($input.text, /^(a+)+$/i) ? 'x' : 'y' }}" }\n`,
    });
    const t0 = Date.now();
    const r = await runCli(["run", "p.yaml", "--input", JSON.stringify({ text: EVIL })], { cwd: dir, timeoutMs: HANG_BOUND_MS });
    expect(r.signal).toBeNull();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("took longer than");
    expect(r.stderr).not.toMatch(/internal error|at .*\.js:\d+/);
    expect(Date.now() - t0).toBeLessThan(HANG_BOUND_MS);
  });

  it("runs an expression whose catastrophic regex the linear engine takes over", async () => {
    const dir = tempProject({
      "p.yaml": `version: 1\nname: p\n${MODEL}steps:\n  a:\n    model: m\n    input: { prompt: "\${{ $match($input.text, /(a+)+$/) ? 'x' : 'y' }}" }\n`,
    });
    const r = await runCli(["run", "p.yaml", "--input", JSON.stringify({ text: EVIL })], { cwd: dir, timeoutMs: HANG_BOUND_MS });
    expect(r.code).toBe(0);
  });

  for (const [name, schema, code] of [
    ["a linear-engine pattern", `{ text: { type: string, pattern: "^(a+)+$" } }`, /input\.text must match pattern/],
    ["a backreference pattern", `{ text: { type: string, pattern: "^(a+)+\\\\1$" } }`, /took longer than/],
    ["a pattern in patternProperties", `{ }\n  patternProperties: { "^(?=x)(x+)+y$": { type: string } }`, /took longer than/],
  ] as const) {
    it(`refuses the input (exit 2, MCP501) when the inputs schema has ${name}`, async () => {
      const dir = tempProject({ "p.yaml": `version: 1\nname: p\ninputs:\n  type: object\n  properties: ${schema}\n${MODEL}steps:\n  a: { model: m, input: { prompt: hi } }\n` });
      const input = name.includes("patternProperties") ? { ["x".repeat(40)]: 1 } : { text: EVIL };
      const r = await runCli(["run", "p.yaml", "--input", JSON.stringify(input)], { cwd: dir, timeoutMs: HANG_BOUND_MS });
      expect(r.signal).toBeNull();
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^--input:1:1: error MCP501: /m);
      expect(r.stderr).toMatch(code);
    });
  }
});
