/**
 * A model with deployments against local servers speaking the OpenAI Chat Completions API:
 * balancing, circuit breakers, rate limits; the runs see one model.
 */
import { afterEach, describe, expect, it } from "vitest";
import { closeConnections } from "../../src/models/http-client.js";
import { TaskOrchestrator } from "../../src/orchestrator/orchestrator.js";
import { MemoryRateLimiter } from "../../src/registry/memory-rate-limiter.js";
import { FakeApiServer } from "../helpers/fake-api-server.js";
import { completion } from "../helpers/openai-replies.js";
import { compileYaml, eventLog } from "../helpers/pipelines.js";

const servers: FakeApiServer[] = [];
async function replica(name: string, delayMs = 0): Promise<FakeApiServer> {
  const s = await FakeApiServer.start(() => ({ ...completion(name), delayMs }));
  servers.push(s);
  return s;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close().catch(() => undefined)));
  await closeConnections();
});

function pipeline(deployments: string, extra = "", retry = "retry: { attempts: 3, initialDelay: 5ms }") {
  return compileYaml(`
models:
  llm:
    provider: openai
    model: local
    capabilities: [text-generation]
    deployments:
${deployments}
${extra}
steps:
  s: { model: llm, input: { prompt: hi }, ${retry} }
output: \${{ $steps.s.output.text }}
`);
}

describe("a model with deployments", () => {
  it("spreads calls by weight (weighted), each replica in turn (round-robin), and to the least busy (least-in-flight)", async () => {
    const a = await replica("a");
    const b = await replica("b");
    const deps = `      - { baseUrl: "${a.url}/v1", weight: 3 }\n      - { baseUrl: "${b.url}/v1", weight: 1 }`;
    const orch = new TaskOrchestrator();
    const weighted = pipeline(deps, "    balance: weighted");
    for (let i = 0; i < 40; i++) expect((await orch.runPipeline(weighted)).status).toBe("success");
    expect([a.requests.length, b.requests.length]).toEqual([30, 10]);

    const rr = pipeline(deps, "    balance: round-robin");
    for (let i = 0; i < 10; i++) await orch.runPipeline(rr);
    expect([a.requests.length, b.requests.length]).toEqual([35, 15]);

    // least-in-flight: a slow replica holds its calls longer and so gets fewer of 60 runs started one after another.
    const slow = await replica("slow", 150);
    const fast = await replica("fast", 0);
    const lif = pipeline(`      - { baseUrl: "${slow.url}/v1" }\n      - { baseUrl: "${fast.url}/v1" }`);
    const started: Promise<{ status: string }>[] = [];
    for (let i = 0; i < 60; i++) {
      started.push(orch.runPipeline(lif));
      await new Promise((r) => setTimeout(r, 5));
    }
    const outs = await Promise.all(started);
    expect(outs.every((r) => r.status === "success")).toBe(true);
    expect(slow.requests.length + fast.requests.length).toBe(60);
    expect(fast.requests.length).toBeGreaterThan(slow.requests.length);
    await orch.close();
  });

  it("ejects a failing replica, probes it after the cool-down and takes it back; every call succeeds and the runs see one model", async () => {
    const a = await replica("a");
    const b = await replica("b");
    let bDown = true;
    b.defaultReply = () => (bDown ? { status: 500, json: { error: { message: "overloaded" } } } : completion("b"));
    const p = pipeline(
      `      - { name: a, baseUrl: "${a.url}/v1" }\n      - { name: b, baseUrl: "${b.url}/v1" }`,
      "    balance: round-robin\n    breaker: { failures: 2, cooldown: 200ms }",
      "retry: { attempts: 1 }",
    );
    const orch = new TaskOrchestrator();
    const log = eventLog();
    for (let i = 0; i < 20; i++) {
      const r = await orch.runPipeline(p, {}, { observer: log.observer });
      expect(r.status).toBe("success");
      // One attempt on one model, whichever replica answered.
      expect(r.steps.s!.attempts).toHaveLength(1);
      expect(r.steps.s!.model).toBe("llm");
    }
    // b failed twice (its breaker's threshold), then got no more calls while open.
    expect(b.requests.length).toBe(2);
    expect(log.of("model.breaker").map((e) => `${e.deployment}:${e.state}`)).toEqual(["b:open"]);
    expect(orch.gateways()[0]!.deployments.map((d) => [d.name, d.state])).toEqual([
      ["a", "closed"],
      ["b", "open"],
    ]);

    bDown = false;
    await new Promise((r) => setTimeout(r, 250));
    for (let i = 0; i < 10; i++) expect((await orch.runPipeline(p, {}, { observer: log.observer })).status).toBe("success");
    expect(log.of("model.breaker").map((e) => `${e.deployment}:${e.state}`)).toEqual(["b:open", "b:half-open", "b:closed"]);
    expect(b.requests.length).toBeGreaterThanOrEqual(2 + 4);
    await orch.close();
  });

  it("fails over when a replica stops midway: 200 calls all succeed and the breaker opens", async () => {
    const a = await replica("a", 2);
    const b = await replica("b", 2);
    const p = pipeline(`      - { name: a, baseUrl: "${a.url}/v1" }\n      - { name: b, baseUrl: "${b.url}/v1" }`, "    breaker: { failures: 3, cooldown: 1m }");
    const orch = new TaskOrchestrator();
    const log = eventLog();
    const runs: Promise<{ status: string }>[] = [];
    for (let i = 0; i < 200; i++) {
      runs.push(orch.runPipeline(p, {}, { observer: log.observer }));
      if (i === 100) await b.close();
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    const done = await Promise.all(runs);
    expect(done.filter((r) => r.status !== "success")).toEqual([]);
    expect(log.of("model.breaker").map((e) => `${e.deployment}:${e.state}`)).toEqual(["b:open"]);
    expect(a.requests.length).toBeGreaterThan(100);
    await orch.close();
  });

  it("when every replica's breaker is open, fails retryably until the next probe, then recovers", async () => {
    const a = await replica("a");
    let down = true;
    a.defaultReply = () => (down ? { status: 503, json: { error: { message: "down" } } } : completion("a"));
    // The replica comes back once a retry has met the open breaker (not on a timer: on a
    // loaded machine a timer could let the first retry be the probe); the cool-down is long
    // enough that the retry 10 ms later always finds the breaker still open.
    const p = pipeline(`      - { name: a, baseUrl: "${a.url}/v1" }`, "    breaker: { failures: 1, cooldown: 1s }", "retry: { attempts: 4, initialDelay: 10ms, maxDelay: 5s }");
    const orch = new TaskOrchestrator();
    const log = eventLog();
    const observer = {
      onEvent(e: Parameters<typeof log.observer.onEvent>[0]) {
        log.observer.onEvent(e);
        if (e.type === "step.attempt_failed" && e.error.message.includes("no deployment is available")) down = false;
      },
    };
    const r = await orch.runPipeline(p, {}, { observer });
    expect(r.status).toBe("success");
    const failed = log.of("step.attempt_failed");
    expect(failed.some((e) => e.error.message.includes("no deployment is available (a: open); the next probe in"))).toBe(true);
    expect(log.of("model.breaker").map((e) => e.state)).toEqual(["open", "half-open", "closed"]);
    await orch.close();
  });
});

describe("rate limits", () => {
  it("hold under 100 concurrent runs: requests per window at the servers, calls in flight per replica, and the waits are run events", { timeout: 60_000 }, async () => {
    const a = await replica("a", 20);
    const b = await replica("b", 20);
    // A window long next to the queueing at the replicas (3 in flight each): a call is
    // counted when the limiter lets it go, and reaches its server later on a loaded machine.
    const windowMs = 2000;
    const p = pipeline(
      `      - { name: a, baseUrl: "${a.url}/v1", maxConcurrency: 3 }\n      - { name: b, baseUrl: "${b.url}/v1", maxConcurrency: 3, limits: { rpm: 10 } }`,
      "    limits: { rpm: 40 }",
    );
    const limiter = new MemoryRateLimiter({ windowMs });
    const orch = new TaskOrchestrator(undefined, { rateLimiter: limiter });
    const log = eventLog();
    const t0 = Date.now();
    const done = await Promise.all(Array.from({ length: 100 }, () => orch.runPipeline(p, {}, { observer: log.observer })));
    expect(done.filter((r) => r.status !== "success")).toHaveLength(0);
    // 100 calls at 40 per window need at least two more windows after the first.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2 * windowMs);
    expect(a.maxInFlight).toBeLessThanOrEqual(3);
    expect(b.maxInFlight).toBeLessThanOrEqual(3);
    // Per window at the servers (half the limiter's, for network jitter on a loaded machine; without limits all 100 land at once).
    const most = (times: number[], span: number) => Math.max(...times.map((t) => times.filter((u) => u >= t && u < t + span).length));
    const all = [...a.times, ...b.times].sort((x, y) => x - y);
    expect(most(all, windowMs * 0.5)).toBeLessThanOrEqual(40);
    expect(most(b.times, windowMs * 0.5)).toBeLessThanOrEqual(10);
    const waits = log.of("model.limit_wait");
    expect(waits.some((w) => w.limit === "rpm" && w.deployment === undefined && w.model === "llm" && w.stepId === "s")).toBe(true);
    expect(waits.every((w) => w.waitMs > 0 && w.waitMs <= windowMs + 1)).toBe(true);
    await orch.close();
  });
});
