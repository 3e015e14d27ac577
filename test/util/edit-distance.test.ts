import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { editDistance } from "../../src/util/edit-distance.js";

describe("editDistance", () => {
  it("counts insertions, deletions and substitutions", () => {
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(editDistance("", "abc")).toBe(3);
    expect(editDistance("abc", "")).toBe(3);
    expect(editDistance("same", "same")).toBe(0);
  });

  it("counts a swap of two neighbours as one edit", () => {
    expect(editDistance("reveiw", "review")).toBe(1);
    expect(editDistance("ab", "ba")).toBe(1);
  });

  it("gives the exact distance within the bound and something past it beyond", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), fc.nat(6), (a, b, max) => {
        const exact = editDistance(a, b);
        const bounded = editDistance(a, b, max);
        if (exact <= max) expect(bounded).toBe(exact);
        else expect(bounded).toBeGreaterThan(max);
      }),
    );
  });
});
