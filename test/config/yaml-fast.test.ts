/**
 * The fast YAML reader (src/config/yaml-fast.ts) against the `yaml` package: whenever it
 * accepts a text, the yaml package parses that text without an error, to the same value,
 * and every key and value is located at the same place; otherwise it gives the text up.
 * Texts: the repository's YAML files, edge cases, random line soups (mostly invalid or
 * unusual YAML) and random values written out in assorted styles (mostly valid).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS, type LoadLimits } from "../../src/config/limits.js";
import { fastParse, resolvePlain } from "../../src/config/yaml-fast.js";
import { parseYaml, type JsonPath, type YamlFile } from "../../src/config/yaml-file.js";

/** FUZZ_RUNS=20 npx vitest run test/config/yaml-fast.test.ts searches 20 times as long. */
const scale = Number(process.env.FUZZ_RUNS ?? 1);
const runs = (n: number) => ({ numRuns: Math.round(n * scale) });

function paths(v: unknown, prefix: JsonPath = [], out: JsonPath[] = []): JsonPath[] {
  out.push(prefix);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...prefix, i], out));
  else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) paths(x, [...prefix, k], out);
  return out;
}

/** Same value, same key order, same number kinds (-0, NaN). */
function sameValue(a: unknown, b: unknown): boolean {
  if (typeof a === "number" && typeof b === "number") return Object.is(a, b);
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  }
  if (a && b && typeof a === "object" && typeof b === "object") {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k, i) => k === kb[i] && sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return a === b;
}

/** Whether the fast reader took the text; if it did, asserts it agrees with the yaml package. */
function check(text: string, limits: LoadLimits = DEFAULT_LIMITS): boolean {
  const accepted = fastParse(text, limits) !== undefined;
  const slow = parseYaml("t.yaml", text, limits, { fast: false });
  if (!accepted) return false;
  const fast = parseYaml("t.yaml", text, limits);
  expect(slow.diagnostics, text).toEqual([]);
  expect(fast.diagnostics).toEqual([]);
  if (!sameValue(fast.value, slow.value)) expect(fast.value, text).toEqual(slow.value);
  const all = paths(slow.value);
  for (const p of [...all, ...all.slice(0, 5).map((p) => [...p, "missing"]), ...all.slice(0, 5).map((p) => [...p, 7])]) {
    expectSame(fast, slow, p, text);
  }
  return true;
}

function expectSame(fast: YamlFile, slow: YamlFile, p: JsonPath, text: string) {
  const where = `${JSON.stringify(p)} in\n${text}`;
  expect(fast.scalar(p), where).toEqual(slow.scalar(p));
  expect(fast.locate(p), where).toEqual(slow.locate(p));
  expect(fast.locateKey(p), where).toEqual(slow.locateKey(p));
}

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === "node_modules" || e.name.startsWith(".")) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...yamlFiles(p));
    else if (/\.ya?ml$/.test(e.name)) out.push(p);
  }
  return out;
}

describe("the fast YAML reader", () => {
  it("agrees with the yaml package on the repository's YAML files, and reads the example pipelines", () => {
    const files = ["pipelines", "test", "docs", "examples"].flatMap((d) => {
      try {
        return yamlFiles(d);
      } catch {
        return [];
      }
    });
    expect(files.length).toBeGreaterThan(3);
    for (const f of files) check(readFileSync(f, "utf8"));
    // (openai-chat.yaml and ticket-triage.yaml have flow mappings with unquoted commas in
    // values, which YAML splits into an extra key: those go the long way.)
    for (const f of ["pipelines/conversation.yaml", "pipelines/ollama-local.yaml", "test/fixtures/pipelines/diamond.yaml"]) {
      expect(fastParse(readFileSync(f, "utf8"), DEFAULT_LIMITS), f).toBeDefined();
    }
  });

  it("reads plain scalars as the yaml package's core schema does", () => {
    for (const s of ["1", "-1", "+5", "-0", "0x1F", "0o17", "1e3", "1.5e-3", ".5", "1.", "1.50", ".inf", "-.Inf", "+.INF", ".nan", ".NaN", "~", "null", "Null", "NULL", "nUll", "true", "True", "TRUE", "tRue", "false", "yes", "no", "on", "0b101", "1_000", "0777", "12:30", "2001-12-14", "", "a", "$x", "-a", ".a", "+", "-", ".", "0o", "0x", "0o8", "0xg", "1e", "1E+2", "+.nan", "-.nan", ".NAN", "+0x1", "-0o1", "007", "1.e5", ".e5", "00.5", "9007199254740993", "1e999", "-1e999", "F", "FALSE", "fAlse", "N", "n", "t", "T"]) {
      const slow = parseYaml("t", `k: ${s}\n`, DEFAULT_LIMITS, { fast: false });
      if (slow.diagnostics.length) continue;
      expect(check(`k: ${s}\n`) || s === "", s).toBe(true);
      expect(Object.is(resolvePlain(s), (slow.value as { k: unknown }).k), s).toBe(true);
    }
  });

  it("resolves random number-like and word-like plain scalars as the yaml package does", () => {
    const text = fc.string({ unit: fc.constantFrom(..."0123456789.+-eExoabcdfnNtTFuUlLrsIi~_:"), minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(text, (s) => {
        const slow = parseYaml("t", `k: ${s}\n`, DEFAULT_LIMITS, { fast: false });
        if (slow.diagnostics.length || !slow.value || typeof slow.value !== "object") return;
        expect(Object.is(resolvePlain(s), (slow.value as { k: unknown }).k), s).toBe(true);
      }),
      runs(3000),
    );
  });

  it("takes the common shapes and gives up the unusual ones", () => {
    const taken = [
      "a: 1\n",
      "a: 1",
      "# comment\na: b # c\n",
      "a:\n  b: 1\n  c:\n    - x\n    - y: 1\n      z: [1, 2]\n",
      "a:\n- x\n- y\nb: 2\n",
      'a: "x \\"q\\" \\u00e9"\nb: \'it\'\'s\'\n',
      "a: { b: 1, c: [x, 'y'], d: {} }\n",
      "a: |\n  one\n\n  two\nb: |-\n  x\nc: |+\n  y\n",
      "a: >\n  one\n  two\n\n  three\n    more\n  four\nb: >-\n  x\n",
      "a: ${{ $steps.x.output }}\nb: $x = \"y\"\n",
      "a:\n  - b: |\n      text\n    c: 1\n",
      "1: a\ntrue: b\nnull: c\n.5: d\n",
      "a:\n\n  # c\n  b: 1\n\n",
    ];
    for (const t of taken) expect(check(t), t).toBe(true);
    const givenUp = [
      "",
      "# only a comment\n",
      "- a\n",
      "a: &x 1\nb: *x\n",
      "a: !!str 1\n",
      "%YAML 1.2\n---\na: 1\n",
      "---\na: 1\n",
      "a: 1\n---\nb: 2\n",
      "a: 1\na: 2\n",
      "__proto__: 1\n",
      "<<: {a: 1}\n",
      "a: b\n  c\n",
      "a: 'x\n  y'\n",
      "a: |2\n   x\n",
      "a:\tb\n",
      "a: b\r\n",
      "? a\n: b\n",
      "a: b: c\n",
      "a: [b,\n  c]\n",
      "a: [b, ]\n",
      "a:\n  - - x\n",
      "  a: 1\n",
      "a: 1\n b: 2\n",
      "a: \"x\"y\n",
      "a: b #c\n  d\n",
      '"a": 1\n',
      "a b: 1\n",
    ];
    for (const t of givenUp) {
      expect(fastParse(t, DEFAULT_LIMITS), JSON.stringify(t)).toBeUndefined();
      check(t);
    }
  });

  it("gives up past the node and depth limits, where the yaml package path reports them", () => {
    const limits = { ...DEFAULT_LIMITS, maxNodes: 5, maxDepth: 2 };
    expect(fastParse("a: 1\nb: 2\nc: 3\nd: 4\n", limits)).toBeDefined();
    expect(fastParse("a: 1\nb: 2\nc: 3\nd: 4\ne: 5\n", limits)).toBeUndefined();
    expect(fastParse("a:\n  b: 1\n", limits)).toBeDefined();
    expect(fastParse("a:\n  b:\n    c: 1\n", limits)).toBeUndefined();
    expect(parseYaml("t", "a:\n  b:\n    c: 1\n", limits).diagnostics.map((d) => d.code)).toEqual(["MCP003"]);
  });

  // Random lines from pieces that YAML treats specially: mostly not YAML, or not the fast
  // reader's kind; it must give those up and agree on the rest.
  const key = fc.constantFrom("a", "b", "k1", "1", "0x10", "true", "null", "Null", ".5", "1e2", "-1", "a.b", "$x", "x-y", "__proto__", "<<", "a b", "\"q\"", "'s'", "-", "?", "a:b", "...", "---");
  const scalar = fc.constantFrom(
    "1", "-1", "0o17", "0x1f", "1.0", "1.50", "-.inf", ".NaN", "~", "null", "True", "FALSE", "yes", "+5", "-0", "",
    "x", "x y", "a #c", "a#c", "a: b", "a:b", "a:", "${{ $x.y }}", "$steps.a.status = \"ok\"", "{a: 1}", "{ a: 1, b: [x, y] }", "[a, b]", "[a, [b, c]]",
    "[]", "{}", "[ ]", "[a,]", "[a b]", "{a}", "{a:1}", "[a: 1]", "- x", "-x", "- ", "&a x", "*a", "!t x", "@x", "`x`", "%x", "|", "|-", "|+", "|1", ">", ">-",
    "'it''s'", "'a", "\"a\\tb\"", "\"\\x41\\u00e9\"", "\"a\\/b\"", "\"a\\qb\"", "\"q\" x", "\"q\"#c", "\"q\" #c", "x   ", "# c", "'q':", "---", "...", "?x", ":x", ",x", "x,y", "a ]", "é", "日本",
  );
  const indent = fc.constantFrom("", "", "", " ", "  ", "  ", "    ", "      ");
  const line = fc.oneof(
    fc.tuple(indent, key).map(([i, k]) => `${i}${k}:`),
    fc.tuple(indent, key, scalar).map(([i, k, v]) => `${i}${k}: ${v}`),
    fc.tuple(indent, scalar).map(([i, v]) => `${i}- ${v}`),
    fc.tuple(indent, key, scalar).map(([i, k, v]) => `${i}- ${k}: ${v}`),
    fc.tuple(indent, scalar).map(([i, v]) => `${i}${v}`),
    indent.map((i) => `${i}-`),
    indent.map((i) => `${i}# comment`),
    indent,
  );
  it("agrees with the yaml package on random line soups", () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 12 }), fc.boolean(), (lines, nl) => {
        if (check(lines.join("\n") + (nl ? "\n" : ""))) accepted++;
      }),
      runs(3000),
    );
    expect(accepted).toBeGreaterThan(0);
  });

  // Random values written out as YAML in assorted styles: mostly valid, mostly taken.
  const leaf = fc.oneof(
    fc.constantFrom(null, true, false, 0, -1, 1.5, 10, "x", "a b", "${{ $steps.a.output.text }}", "with: colon", "it's", 'say "hi"', "#hash", "a #b", "1", "true", "null", "", " lead", "trail ", "é", "line\nbreak", "tab\there", "back\\slash"),
    fc.constantFrom("one\ntwo\n\nthree", "a\n  more\nb", "a\n\n  more\n\nb", "x\n\n\ny", "# not a comment\nline", "p\n q\n  r\ns"),
    fc.string({ maxLength: 8 }),
  );
  const tree = fc.letrec((tie) => ({
    node: fc.oneof({ depthSize: "small", withCrossShrink: true }, leaf, tie("seq"), tie("map")),
    seq: fc.array(tie("node"), { maxLength: 4 }),
    map: fc.dictionary(fc.constantFrom("a", "b", "c", "step1", "x-y", "n.m", "$v", "1", "k"), tie("node"), { maxKeys: 4 }),
  })).map;
  type Style = { indent: number; flow: boolean; quote: "plain" | "double" | "single" | "literal"; block: string; comment: boolean };
  const style = fc.record({
    indent: fc.constantFrom(1, 2, 4),
    flow: fc.boolean(),
    quote: fc.constantFrom("plain", "double", "single", "literal"),
    block: fc.constantFrom("|", "|-", "|+", ">", ">-", ">+"),
    comment: fc.boolean(),
  }) as fc.Arbitrary<Style>;

  function scalarText(v: unknown, s: Style, col: number): string {
    if (v === null) return s.comment ? "~" : "null";
    if (typeof v !== "string") return String(v);
    if (s.quote === "single" && !v.includes("\n")) return `'${v.replaceAll("'", "''")}'`;
    if (s.quote === "literal" && v.trim() !== "" && !v.startsWith(" ") && !v.endsWith(" ")) {
      const pad = " ".repeat(col + s.indent);
      return `${s.block}\n${v.split("\n").map((l) => (l ? pad + l : "")).join("\n")}`;
    }
    if (s.quote === "plain" && /^[A-Za-z$][^:#\n\t]*$/.test(v) && !v.endsWith(" ")) return v;
    return JSON.stringify(v);
  }
  function flowText(v: unknown, s: Style): string {
    if (Array.isArray(v)) return `[${v.map((x) => flowText(x, s)).join(", ")}]`;
    if (v && typeof v === "object") return `{ ${Object.entries(v).map(([k, x]) => `${k}: ${flowText(x, s)}`).join(", ")} }`;
    return scalarText(v, { ...s, quote: s.quote === "literal" ? "double" : s.quote }, 0);
  }
  function blockText(v: unknown, s: Style, col: number): string[] {
    const pad = " ".repeat(col);
    const c = s.comment ? " # note" : "";
    const out: string[] = [];
    const child = (prefix: string, x: unknown) => {
      if (x && typeof x === "object" && (Array.isArray(x) ? x.length : Object.keys(x).length) && !s.flow) {
        out.push(`${prefix}${c}`);
        out.push(...blockText(x, s, col + s.indent));
      } else if (x && typeof x === "object") out.push(`${prefix} ${flowText(x, s)}${c}`);
      else {
        const t = scalarText(x, s, col);
        out.push(`${prefix} ${t}${t.includes("\n") ? "" : c}`);
      }
    };
    if (Array.isArray(v)) for (const x of v) child(`${pad}-`, x);
    else for (const [k, x] of Object.entries(v as object)) child(`${pad}${k}:`, x);
    return out;
  }
  it("agrees with the yaml package on random values written in assorted styles", () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom("version", "steps", "models", "a", "b"), tree, { minKeys: 1, maxKeys: 4 }), style, (value, s) => {
        const text = `# head\n${blockText(value, s, 0).join("\n")}\n`;
        if (check(text)) accepted++;
      }),
      runs(1500),
    );
    expect(accepted).toBeGreaterThan(300 * scale);
  });

  // Valid documents with one line changed: a value swapped for an unusual one, or a line
  // of the soup put in at the same indentation.
  it("agrees with the yaml package on valid documents with one line mangled", () => {
    let accepted = 0;
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom("version", "steps", "models", "a", "b"), tree, { minKeys: 1, maxKeys: 4 }),
        style,
        fc.nat(),
        fc.oneof(scalar.map((v) => ({ value: v })), line.map((l) => ({ line: l }))),
        (value, s, at, change) => {
          const lines = blockText(value, s, 0);
          const k = at % lines.length;
          const old = lines[k]!;
          const pad = old.length - old.trimStart().length;
          if ("value" in change) {
            const colon = old.indexOf(": ");
            lines[k] = colon === -1 ? `${old.slice(0, pad)}- ${change.value}` : `${old.slice(0, colon + 2)}${change.value}`;
          } else lines.splice(k, 0, " ".repeat(pad) + change.line.trimStart());
          if (check(`${lines.join("\n")}\n`)) accepted++;
        },
      ),
      runs(1500),
    );
    expect(accepted).toBeGreaterThan(100 * scale);
  });
});
