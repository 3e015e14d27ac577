/** Offsets to line:col, computed only when printing. */
import { describe, expect, it } from "vitest";
import { SourceFile } from "../../src/diagnostics/source.js";

describe("SourceFile", () => {
  const f = new SourceFile("x.yaml", "ab\ncd\r\n\nlast");

  it("turns offsets into 1-based lines and columns", () => {
    expect([0, 1, 2, 3, 5, 7, 8, 9, 12].map((o) => f.position(o))).toEqual([
      { line: 1, col: 1 },
      { line: 1, col: 2 },
      { line: 1, col: 3 },
      { line: 2, col: 1 },
      { line: 2, col: 3 },
      { line: 3, col: 1 },
      { line: 4, col: 1 },
      { line: 4, col: 2 },
      { line: 4, col: 5 },
    ]);
  });

  it("clamps offsets outside the text", () => {
    expect(f.position(-5)).toEqual({ line: 1, col: 1 });
    expect(f.position(999)).toEqual({ line: 4, col: 5 });
  });

  it("returns a line without its line ending", () => {
    expect([1, 2, 3, 4, 5].map((l) => f.line(l))).toEqual(["ab", "cd", "", "last", ""]);
  });
});
