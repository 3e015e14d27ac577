/**
 * Positions in a large pipeline: the compiler keeps thousands of expressions without a
 * location each (they are made when a diagnostic needs one), so a problem deep in a big
 * file must still point at its line and column, whatever the quoting of the string.
 */
import { describe, expect, it } from "vitest";
import { templateExpressions } from "../../src/expr/template.js";
import { headlines, load, MOCK_MODELS } from "../helpers/diagnostics.js";

/** 1-based line and column of `offset` in `text`. */
function lineCol(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return `${line}:${offset - before.lastIndexOf("\n")}`;
}

/** A layered pipeline: `layers` x `width` steps, each reading the text of every step of the layer before. */
function layered(layers: number, width: number, prompt: (refs: string[], l: number, k: number) => string): string {
  const lines = [MOCK_MODELS.trimEnd(), "steps:"];
  for (let l = 0; l < layers; l++) {
    for (let k = 0; k < width; k++) {
      const refs = l === 0 ? ["$input.text"] : Array.from({ length: width }, (_, j) => `$steps.l${l - 1}_${j}.output.text`);
      lines.push(`  l${l}_${k}:`, "    model: writer", `    input: { prompt: ${prompt(refs, l, k)} }`);
    }
  }
  return lines.join("\n") + "\n";
}

const STYLES: Record<string, (refs: string[]) => string> = {
  "double-quoted": (refs) => `"${refs.map((r) => `\${{ ${r} }}`).join(", ")}"`,
  "single-quoted": (refs) => `'${refs.map((r) => `\${{ ${r} }}`).join(", ")}'`,
  // An escape makes the value differ from its source: offsets are mapped, not added.
  "double-quoted with escapes": (refs) => `"\\t${refs.map((r) => `\${{ ${r} }}`).join("\\n")}"`,
};

describe("a bad reference deep in a large pipeline", () => {
  for (const [style, quote] of Object.entries(STYLES)) {
    it(`is placed at its line and column (${style})`, () => {
      // Step l17_11 reads, as its 20th reference, a step that does not exist.
      const text = layered(20, 25, (refs, l, k) => quote(l === 17 && k === 11 ? refs.map((r, i) => (i === 19 ? "$steps.l16_missing.output.text" : r)) : refs));
      const r = load(text);
      const at = text.indexOf("l16_missing");
      expect(headlines(r)).toEqual([`p.yaml:${lineCol(text, at)}: error MCP202: unknown step 'l16_missing' in expression`]);
    });
  }

  it("and a step reading itself, are both placed, in a file of 12,500 references", () => {
    const text = layered(21, 25, (refs, l, k) => {
      const own = refs.map((r, i) => (l === 20 && k === 3 && i === 24 ? "$steps.l20_3.output.text" : r));
      return STYLES["double-quoted"]!(l === 9 && k === 24 ? own.map((r, i) => (i === 0 ? "$steps.nope.output.text" : r)) : own);
    });
    const r = load(text);
    expect(headlines(r)).toEqual([
      `p.yaml:${lineCol(text, text.indexOf("nope"))}: error MCP202: unknown step 'nope' in expression`,
      `p.yaml:${lineCol(text, text.indexOf("$steps.l20_3.") + 7)}: error MCP304: step 'l20_3' reads its own output ($steps.l20_3)`,
    ]);
  });
});

describe("the location of an expression in a valid pipeline", () => {
  it("is its text without the spaces around it, made on demand", () => {
    const text = layered(3, 5, (refs) => STYLES["double-quoted"]!(refs.map((x) => `  ${x}`)));
    const r = load(text);
    expect(r.diagnostics).toEqual([]);
    const exprs = templateExpressions(r.pipeline!.steps.get("l2_4")!.input);
    expect(exprs).toHaveLength(5);
    const last = exprs[4]!;
    const line = text.split("\n").findIndex((l) => l.startsWith("  l2_4:")) + 3;
    const offset =
      text
        .split("\n")
        .slice(0, line - 1)
        .join("\n").length +
      1 +
      text.split("\n")[line - 1]!.lastIndexOf("$steps.l1_4.output.text");
    expect(last.location).toEqual({ file: "p.yaml", offset, length: "$steps.l1_4.output.text".length });
    expect(last.source).toBe("   $steps.l1_4.output.text ");
  });
});
