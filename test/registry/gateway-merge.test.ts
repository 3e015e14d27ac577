import { describe, expect, it } from "vitest";
import { mergeGatewayStatus, type GatewayStatus } from "../../src/registry/gateway-model.js";

/** One process's view of model `llm` with deployments a and b. */
function view(a: Partial<GatewayStatus["deployments"][number]>, b: Partial<GatewayStatus["deployments"][number]>, limitWaits = 0): GatewayStatus {
  const dep = (name: string, d: Partial<GatewayStatus["deployments"][number]>) => ({
    name,
    url: `http://${name}`,
    weight: 1,
    state: "closed" as const,
    failures: 0,
    inFlight: 0,
    calls: 0,
    errors: 0,
    limitWaits: 0,
    ...d,
  });
  return { model: "llm", balance: "least-in-flight", breaker: { failures: 3, cooldownMs: 10_000, probes: 1 }, limitWaits, deployments: [dep("a", a), dep("b", b)] };
}

describe("the fleet's view of a gateway (mergeGatewayStatus)", () => {
  it("adds up calls, errors and calls in flight, and takes the worst breaker state, counting the processes' breakers by state", () => {
    const merged = mergeGatewayStatus([
      [view({ inFlight: 2, calls: 10, errors: 1 }, { state: "open", failures: 3, retryAt: 2000, calls: 4, errors: 3 }, 1)],
      [view({ state: "half-open", inFlight: 1, calls: 5 }, { state: "open", failures: 4, retryAt: 1500, calls: 2, errors: 4 }, 2)],
      [view({ calls: 1 }, { calls: 1 })],
    ]);
    expect(merged).toHaveLength(1);
    expect(merged[0]!.limitWaits).toBe(3);
    const [a, b] = merged[0]!.deployments;
    expect(a).toMatchObject({ name: "a", state: "half-open", inFlight: 3, calls: 16, errors: 1, breakers: { closed: 2, "half-open": 1 } });
    expect(b).toMatchObject({ name: "b", state: "open", failures: 4, retryAt: 1500, calls: 7, errors: 7, breakers: { open: 2, closed: 1 } });
  });

  it("keeps models and deployments only one process knows", () => {
    const other: GatewayStatus = { ...view({}, {}), model: "other", deployments: [view({ calls: 9 }, {}).deployments[0]!] };
    const merged = mergeGatewayStatus([[view({ calls: 1 }, {})], [other]]);
    expect(merged.map((g) => g.model)).toEqual(["llm", "other"]);
    expect(merged[1]!.deployments).toMatchObject([{ name: "a", calls: 9, breakers: { closed: 1 } }]);
  });
});
