/**
 * The cycle a diagnostic names: for each tangle, the shortest cycle through its first
 * declared step, checked against a breadth-first search written here on random graphs.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildDag } from "../../src/compiler/graph.js";

function dag(spec: Record<string, string[]>) {
  return buildDag({ nodes: Object.keys(spec), dependencies: new Map(Object.entries(spec)) });
}

/** Length (edges) of the shortest cycle through `start`, or Infinity. */
function shortestCycle(spec: Record<string, string[]>, start: string): number {
  const dist = new Map<string, number>([[start, 0]]);
  const queue = [start];
  for (let h = 0; h < queue.length; h++) {
    const v = queue[h]!;
    for (const w of spec[v] ?? []) {
      if (w === start) return dist.get(v)! + 1;
      if (!dist.has(w)) {
        dist.set(w, dist.get(v)! + 1);
        queue.push(w);
      }
    }
  }
  return Infinity;
}

describe("cycles", () => {
  it("names the short way round when the first listed dependency leads the long way", () => {
    //  a -> b1 -> b2 -> b3 -> a      (listed first)
    //  a -> z -> a                   (the shortest)
    const { cycles } = dag({ a: ["b1", "z"], b1: ["b2"], b2: ["b3"], b3: ["a"], z: ["a"] });
    expect(cycles).toEqual([["a", "z", "a"]]);
  });

  it("every cycle named is a real cycle, as short as any through its first step", () => {
    const graph = fc.integer({ min: 2, max: 9 }).chain((n) =>
      fc.array(fc.array(fc.nat(n - 1), { maxLength: 3 }), { minLength: n, maxLength: n }).map((edges) => {
        const spec: Record<string, string[]> = {};
        edges.forEach((to, i) => (spec[`n${i}`] = [...new Set(to.map((t) => `n${t}`))]));
        return spec;
      }),
    );
    fc.assert(
      fc.property(graph, (spec) => {
        const { cycles } = dag(spec);
        for (const cyc of cycles) {
          expect(cyc[0]).toBe(cyc[cyc.length - 1]);
          for (let i = 0; i + 1 < cyc.length; i++) expect(spec[cyc[i]!]).toContain(cyc[i + 1]);
          expect(cyc.length - 1).toBe(shortestCycle(spec, cyc[0]!));
        }
      }),
    );
  });
});
