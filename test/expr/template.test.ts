/** `${{ }}` templates: finding expressions in strings, compiling and evaluating them. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileString, evaluateTemplate, scanTemplate, type TemplateProblem } from "../../src/expr/template.js";

const noLocation = () => undefined;

describe("scanTemplate", () => {
  it("finds each ${{ }} and the expression text inside it", () => {
    const s = "a ${{ $x }} b ${{$y}}";
    const { spans } = scanTemplate(s);
    expect(spans.map((sp) => s.slice(sp.exprStart, sp.exprEnd))).toEqual([" $x ", "$y"]);
    expect(spans.map((sp) => s.slice(sp.start, sp.end))).toEqual(["${{ $x }}", "${{$y}}"]);
  });

  it("does not stop at }} inside braces or strings of the expression", () => {
    const s = '${{ {"a": {"b": "}}"}} }}';
    const { spans, unclosedAt } = scanTemplate(s);
    expect(unclosedAt).toBeUndefined();
    expect(s.slice(spans[0]!.exprStart, spans[0]!.exprEnd)).toBe(' {"a": {"b": "}}"}} ');
  });

  it("reports where an unclosed ${{ begins", () => {
    expect(scanTemplate("ok ${{ $x } and more").unclosedAt).toBe(3);
  });

  it("ends each expression where a scan of every character would (braces, quotes, escapes, comments)", () => {
    // The reference: one character at a time, as the scanner did before it searched.
    const reference = (s: string): { spans: [number, number][]; unclosedAt?: number } => {
      const spans: [number, number][] = [];
      for (let i = s.indexOf("${{"); i !== -1;) {
        let depth = 0;
        let quote: string | null = null;
        let end = -1;
        for (let j = i + 3; j < s.length; j++) {
          const c = s[j]!;
          if (quote) {
            if (c === "\\") j++;
            else if (c === quote) quote = null;
            continue;
          }
          if (c === '"' || c === "'" || c === "`") quote = c;
          else if (c === "{") depth++;
          else if (c === "}") {
            if (depth === 0 && s[j + 1] === "}") {
              end = j;
              break;
            }
            depth = Math.max(0, depth - 1);
          } else if (c === "/" && s[j + 1] === "*") {
            const close = s.indexOf("*/", j + 2);
            if (close === -1) break;
            j = close + 1;
          }
        }
        if (end === -1) return { spans, unclosedAt: i };
        spans.push([i, end + 2]);
        i = s.indexOf("${{", end + 2);
      }
      return { spans };
    };
    const piece = fc.constantFrom("${{", "}}", "}", "{", '"', "'", "`", "\\", '\\"', '"}}"', "/*", "*/", "/", "*", "$x", " ", "a");
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 24 }), (pieces) => {
        const s = pieces.join("");
        const ours = scanTemplate(s);
        const theirs = reference(s);
        expect({ spans: ours.spans.map((sp) => [sp.start, sp.end]), unclosedAt: ours.unclosedAt }).toEqual({ spans: theirs.spans, unclosedAt: theirs.unclosedAt });
      }),
      { numRuns: 2000 },
    );
  });
});

describe("compileString", () => {
  it("keeps a string without expressions as a literal", () => {
    expect(compileString("plain", noLocation, [])).toEqual({ kind: "literal", value: "plain" });
  });

  it("makes a string that is exactly one expression take the expression's value", async () => {
    const t = compileString("${{ $input.n * 2 }}", noLocation, []);
    expect(t.kind).toBe("expr");
    expect(await evaluateTemplate(t, { input: { n: 21 } })).toBe(42);
  });

  it("interpolates expressions inside text, objects as JSON and nothing as empty", async () => {
    const t = compileString("n=${{ $input.n }} o=${{ $input.o }} none=[${{ $input.missing }}]", noLocation, []);
    expect(t.kind).toBe("interp");
    expect(await evaluateTemplate(t, { input: { n: 1, o: { a: [1] } } })).toBe('n=1 o={"a":[1]} none=[]');
  });

  it("returns problems with offsets inside the string instead of throwing", () => {
    const problems: TemplateProblem[] = [];
    compileString("x ${{ $a + }} y", noLocation, problems);
    expect(problems).toEqual([{ kind: "syntax", message: "Unexpected end of expression (JSONata S0207)", offset: 9, length: 1 }]);
  });
});
