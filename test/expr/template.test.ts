/** `${{ }}` templates: finding expressions in strings, compiling and evaluating them. */
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
