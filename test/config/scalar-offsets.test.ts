/**
 * Positions inside YAML strings: an expression error is placed on the right line and
 * column whatever the quoting style, escapes or block scalar of the value around it.
 */
import { describe, expect, it } from "vitest";
import { headlines, load, MOCK_MODELS } from "../helpers/diagnostics.js";

/** The headline of the one diagnostic of a step whose `input:` is the given YAML. */
function placeOf(input: string): string[] {
  return headlines(load(`${MOCK_MODELS}steps:\n  a:\n    model: writer\n    input: ${input}\n`));
}

// In every case the error is the '+' with nothing after it.
describe("an expression error is placed", () => {
  it("in a plain scalar", () => {
    expect(placeOf("${{ $input.x + }}")).toEqual([expect.stringMatching(/^p\.yaml:11:25: error MCP201/)]);
  });

  it("in a double-quoted string with escapes and another + before the expression", () => {
    expect(placeOf('"1+1\\tthen \\u00e9 ${{ $input.x + }}"')).toEqual([expect.stringMatching(/^p\.yaml:11:43: error MCP201/)]);
  });

  it("in a single-quoted string with a doubled quote before the expression", () => {
    expect(placeOf("'it''s ${{ $input.x + }}'")).toEqual([expect.stringMatching(/^p\.yaml:11:32: error MCP201/)]);
  });

  it("in a literal block scalar, on its own line", () => {
    expect(placeOf("|\n      line one\n      two ${{ $input.x + }}\n")).toEqual([expect.stringMatching(/^p\.yaml:13:24: error MCP201/)]);
  });

  it("in a folded block scalar", () => {
    expect(placeOf(">\n      line one\n      two ${{ $input.x + }}\n")).toEqual([expect.stringMatching(/^p\.yaml:13:24: error MCP201/)]);
  });

  it("in a double-quoted string folded over two lines, with another + on the first", () => {
    expect(placeOf('"a + b\n      then ${{ $input.x + }}"')).toEqual([expect.stringMatching(/^p\.yaml:12:25: error MCP201/)]);
  });

  it("at each of two identical expressions in one string", () => {
    const r = load(`${MOCK_MODELS}steps:\n  a:\n    model: writer\n    input: "\${{ $steps.nope.x }} \${{ $steps.nope.x }}"\n`);
    expect(headlines(r)).toEqual(["p.yaml:11:24: error MCP202: unknown step 'nope' in expression", "p.yaml:11:45: error MCP202: unknown step 'nope' in expression"]);
  });
});
