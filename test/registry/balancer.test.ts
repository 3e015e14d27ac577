import { describe, expect, it } from "vitest";
import { Balancer, type Candidate } from "../../src/registry/balancer.js";

function spread(b: Balancer, ds: Candidate[], n: number, usable = (_i: number) => true): number[] {
  const counts = ds.map(() => 0);
  for (let k = 0; k < n; k++) {
    const i = b.pick(ds, usable);
    counts[i]!++;
  }
  return counts;
}

describe("the balancer", () => {
  it("round-robin takes each deployment in turn", () => {
    const b = new Balancer("round-robin");
    const ds = [1, 2, 3].map(() => ({ weight: 1, inFlight: 0 }));
    expect(Array.from({ length: 6 }, () => b.pick(ds, () => true))).toEqual([0, 1, 2, 0, 1, 2]);
  });

  it("weighted gives each deployment its share, interleaved", () => {
    const b = new Balancer("weighted");
    const ds = [
      { weight: 3, inFlight: 0 },
      { weight: 1, inFlight: 0 },
    ];
    expect(Array.from({ length: 8 }, () => b.pick(ds, () => true))).toEqual([0, 0, 1, 0, 0, 0, 1, 0]);
    expect(spread(b, ds, 400)).toEqual([300, 100]);
  });

  it("least-in-flight picks the least loaded for its weight, and spreads ties evenly", () => {
    const b = new Balancer();
    expect(
      b.pick(
        [
          { weight: 1, inFlight: 3 },
          { weight: 1, inFlight: 1 },
          { weight: 1, inFlight: 2 },
        ],
        () => true,
      ),
    ).toBe(1);
    expect(
      b.pick(
        [
          { weight: 4, inFlight: 3 },
          { weight: 1, inFlight: 1 },
        ],
        () => true,
      ),
    ).toBe(0);
    expect(
      spread(
        b,
        [
          { weight: 1, inFlight: 0 },
          { weight: 1, inFlight: 0 },
        ],
        10,
      ),
    ).toEqual([5, 5]);
  });

  it("skips deployments that may not take a call, and says so when none may", () => {
    for (const policy of ["least-in-flight", "weighted", "round-robin"] as const) {
      const b = new Balancer(policy);
      const ds = [
        { weight: 1, inFlight: 0 },
        { weight: 5, inFlight: 0 },
      ];
      expect(spread(b, ds, 4, (i) => i === 0)).toEqual([4, 0]);
      expect(b.pick(ds, () => false)).toBe(-1);
    }
  });
});
