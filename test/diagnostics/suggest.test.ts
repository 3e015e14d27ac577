/**
 * "Did you mean" stops computing a distance once it is past what could be suggested; the
 * suggestion must be the one the plain, full computation below gives.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { closest, editDistance } from "../../src/util/suggest.js";

/** closest() as it was: every distance in full. */
function reference(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const lower = word.toLowerCase();
  for (const c of candidates) {
    const d = editDistance(lower, c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  const limit = Math.max(1, Math.floor(word.length / 3));
  return best !== undefined && bestD <= limit ? best : undefined;
}

describe("closest", () => {
  it("suggests what the full computation suggests", () => {
    const word = fc.string({ unit: fc.constantFrom("a", "b", "c", "A", "_", "1", "İ"), maxLength: 12 });
    fc.assert(
      fc.property(word, fc.array(word, { maxLength: 12 }), (w, candidates) => {
        expect(closest(w, candidates)).toBe(reference(w, candidates));
      }),
      { numRuns: 5000 },
    );
    expect(closest("contineu", ["fail", "continue"])).toBe("continue");
    expect(closest("provder", ["provider", "model"])).toBe("provider");
  });

  it("stays fast with thousands of candidates", () => {
    const ids = Array.from({ length: 5000 }, (_, i) => `r0s${i}`);
    const t0 = performance.now();
    for (let k = 0; k < 300; k++) closest(`r0x${k}`, ids);
    expect(performance.now() - t0).toBeLessThan(10_000);
  });
});
