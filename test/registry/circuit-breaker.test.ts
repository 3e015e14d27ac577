import { describe, expect, it } from "vitest";
import { CircuitBreaker, type BreakerState } from "../../src/registry/circuit-breaker.js";

function rig(settings = { failures: 2, cooldownMs: 1000, probes: 1 }) {
  let t = 0;
  const changes: [BreakerState, BreakerState][] = [];
  const b = new CircuitBreaker(settings, { now: () => t, onChange: (s, p) => changes.push([p, s]) });
  return { b, changes, advance: (ms: number) => (t += ms) };
}

describe("the circuit breaker", () => {
  it("opens after the configured number of consecutive failures, not before", () => {
    const { b, changes } = rig();
    b.failed(b.tryAcquire()!);
    expect(b.state).toBe("closed");
    b.succeeded(b.tryAcquire()!); // a success resets the count
    b.failed(b.tryAcquire()!);
    expect(b.state).toBe("closed");
    b.failed(b.tryAcquire()!);
    expect(b.state).toBe("open");
    expect(b.tryAcquire()).toBeUndefined();
    expect(changes).toEqual([["closed", "open"]]);
  });

  it("lets one probe through after the cool-down and closes when it succeeds", () => {
    const { b, changes, advance } = rig();
    b.failed(b.tryAcquire()!);
    b.failed(b.tryAcquire()!);
    advance(999);
    expect(b.available()).toBe(false);
    advance(1);
    expect(b.state).toBe("half-open");
    const probe = b.tryAcquire()!;
    expect(probe.probe).toBe(true);
    expect(b.tryAcquire()).toBeUndefined(); // one probe at a time
    b.succeeded(probe);
    expect(b.state).toBe("closed");
    expect(changes.map(([, s]) => s)).toEqual(["open", "half-open", "closed"]);
  });

  it("opens again for another cool-down when the probe fails", () => {
    const { b, advance } = rig();
    b.failed(b.tryAcquire()!);
    b.failed(b.tryAcquire()!);
    advance(1000);
    b.failed(b.tryAcquire()!);
    expect(b.state).toBe("open");
    advance(500);
    expect(b.state).toBe("open");
    advance(500);
    expect(b.state).toBe("half-open");
  });

  it("ignores the outcome of a call that began before the state changed", () => {
    const { b, advance } = rig();
    const slow = b.tryAcquire()!;
    b.failed(b.tryAcquire()!);
    b.failed(b.tryAcquire()!);
    advance(1000);
    expect(b.state).toBe("half-open");
    b.succeeded(slow); // began while closed: says nothing of the deployment now
    expect(b.state).toBe("half-open");
  });

  it("refuses thresholds that are not positive, naming the setting", () => {
    expect(() => new CircuitBreaker({ failures: 0 })).toThrow("breaker: `failures` must be a positive number, received 0");
  });
});
