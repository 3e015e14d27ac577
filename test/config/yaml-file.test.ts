/**
 * The walk over the yaml package's nodes (src/config/yaml-file.ts), on shapes from the
 * official YAML test suite where it once went wrong.
 */
import { describe, expect, it } from "vitest";
import { parseYaml } from "../../src/config/yaml-file.js";

describe("parseYaml keys", () => {
  it("reads an alias used as a key as its anchored value, not as the text *name", () => {
    const text = "a: &k key\n*k : v\n";
    const file = parseYaml("t.yaml", text);
    expect(file.diagnostics).toEqual([]);
    expect(file.value).toEqual({ a: "key", key: "v" });
    expect(Object.keys(file.value as object)).toEqual(["a", "key"]);
    const loc = file.locate(["key"]);
    expect(text.slice(loc.offset, loc.offset + loc.length)).toBe("v");
  });

  it("reports a duplicate when an alias key repeats a key written out", () => {
    const file = parseYaml("t.yaml", "a: &k b\nb: 1\n*k : 2\n");
    expect(file.diagnostics.map((d) => [d.code, d.message])).toEqual([["MCP007", "duplicate key 'b'"]]);
  });

  it("lets a key written after a merge (<<) override a merged one, and reports one written twice", () => {
    const text = "base: &b { x: 1, y: 2, w: 0 }\nm:\n  w: 9\n  <<: *b\n  x: 3\n  z: 1\n  z: 2\n  w: 8\n";
    const file = parseYaml("t.yaml", text);
    expect(file.diagnostics.map((d) => [d.code, d.message, text.slice(d.location!.offset, d.location!.offset + d.location!.length)])).toEqual([
      ["MCP007", "duplicate key 'z'", "z"],
      ["MCP007", "duplicate key 'w'", "w"],
    ]);
    expect((file.value as { m: unknown }).m).toEqual({ w: 9, x: 3, y: 2, z: 1 });
  });

  it("keeps an empty key and a null key apart", () => {
    const file = parseYaml("t.yaml", ": a\nnull: b\n");
    expect(file.diagnostics).toEqual([]);
    expect(file.value).toEqual({ "": "a", null: "b" });
  });

  it("keeps an explicit empty key and a tilde key apart", () => {
    const file = parseYaml("t.yaml", "? \n: a\n~: b\n");
    expect(file.diagnostics).toEqual([]);
    expect(file.value).toEqual({ "": "a", null: "b" });
  });

  it("still reports two null keys as a duplicate", () => {
    const file = parseYaml("t.yaml", "null: a\n~: b\n");
    expect(file.diagnostics.map((d) => d.code)).toEqual(["MCP007"]);
  });
});

describe("parseYaml strings", () => {
  it("reads every double-quoted string as the yaml package does", async () => {
    const { parse } = await import("yaml");
    const fc = (await import("fast-check")).default;
    const quoted = [
      "a plain sentence that is long enough",
      "tabs\tand  double  spaces, kept as they are",
      'escapes: \\" \\\\ \\t \\u00e9 \\x41 and more text',
      "a line\n  folded into the next one by YAML rules",
      "trailing spaces before a fold   \n   next line",
      "${{ $steps.a.output.text }} and ${{ $join($steps.b.output, ', ') }} # not a comment",
      "unicode: héllo wörld ✓ 😀, long enough",
    ];
    for (const s of quoted) {
      const text = `k: "${s}"\nf: { p: "${s}" }\n`;
      expect(parseYaml("t.yaml", text).value).toEqual(parse(text));
    }
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 80 }), (s) => {
        const text = `k: ${JSON.stringify(s)}\n`;
        let expected: unknown;
        try {
          expected = parse(text);
        } catch {
          return; // not valid YAML for the package either
        }
        const file = parseYaml("t.yaml", text);
        if (file.diagnostics.length === 0) expect(file.value).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });
});
