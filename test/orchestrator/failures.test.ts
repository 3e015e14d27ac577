import { describe, expect, it } from "vitest";
import { TaskOrchestrator } from "../../src/orchestrator/orchestrator.js";
import { ModelRegistry } from "../../src/registry/model-registry.js";
import { BaseModel, type ModelCallContext } from "../../src/models/base-model.js";
import { ModelError } from "../../src/models/errors.js";
import { ConfigError } from "../../src/util/errors.js";
import { compileYaml, eventLog } from "../helpers/pipelines.js";

const fastRetry = `retry: { attempts: 3, initialDelay: 5ms, backoff: exponential }`;

describe("retries and fallbacks", () => {
  it("retries a failing model as configured and reports every attempt", async () => {
    const p = compileYaml(`
models:
  flaky: { provider: mock, capabilities: [t], options: { failFirst: 2, reply: { text: ok }, usage: { inputTokens: 1, outputTokens: 1 } } }
steps:
  s: { model: flaky, input: {}, ${fastRetry} }
`);
    const log = eventLog();
    const r = await new TaskOrchestrator().runPipeline(p, {}, { observer: log.observer });
    expect(r.status).toBe("success");
    expect(r.steps.s!.attempts.map((a) => a.ok)).toEqual([false, false, true]);
    expect(log.of("step.attempt_failed").map((e) => e.retryInMs !== undefined)).toEqual([true, true]);
  });

  it("falls back to the next model after the retries are spent", async () => {
    const p = compileYaml(`
models:
  primary: { provider: mock, capabilities: [t], fallback: [backup], options: { failFirst: 100, reply: { text: primary } } }
  backup: { provider: mock, capabilities: [t], options: { reply: { text: backup }, usage: { inputTokens: 1, outputTokens: 1 } } }
steps:
  s: { capabilities: [t], input: {}, retry: { attempts: 2, initialDelay: 1ms } }
output: \${{ $steps.s.output.text }}
`);
    const log = eventLog();
    const r = await new TaskOrchestrator().runPipeline(p, {}, { observer: log.observer });
    expect(r.output).toBe("backup");
    expect(r.steps.s!.model).toBe("backup");
    expect(r.steps.s!.attempts.map((a) => `${a.model}:${a.ok}`)).toEqual(["primary:false", "primary:false", "backup:true"]);
    expect(log.of("step.fell_back")).toMatchObject([{ from: "primary", to: "backup" }]);
  });

  it("does not retry an error that retrying cannot fix, but still falls back", async () => {
    const p = compileYaml(`
models:
  bad: { provider: mock, capabilities: [t], options: { failFirst: 100, failWith: { kind: fatal, status: 401, message: "invalid api key" } } }
  good: { provider: mock, capabilities: [t], options: { reply: { text: ok }, usage: { inputTokens: 1, outputTokens: 1 } } }
steps:
  s: { model: bad, fallback: [good], input: {}, ${fastRetry} }
`);
    const r = await new TaskOrchestrator().runPipeline(p, {});
    expect(r.steps.s!.attempts.map((a) => `${a.model}:${a.ok}`)).toEqual(["bad:false", "good:true"]);
  });

  it("waits at least as long as a provider's Retry-After", async () => {
    const p = compileYaml(`
models:
  limited: { provider: mock, capabilities: [t], options: { failFirst: 1, failWith: { kind: rate_limited, retryAfter: 150ms }, reply: { text: ok }, usage: { inputTokens: 1, outputTokens: 1 } } }
steps:
  s: { model: limited, input: {}, retry: { attempts: 2, initialDelay: 1ms } }
`);
    const log = eventLog();
    const t0 = Date.now();
    const r = await new TaskOrchestrator().runPipeline(p, {}, { observer: log.observer });
    expect(r.status).toBe("success");
    expect(log.of("step.attempt_failed")[0]!.retryInMs).toBeGreaterThanOrEqual(150);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(145);
  });

  it("lowers a model's concurrency when it is rate limited, so a fan-out backs off", async () => {
    let running = 0;
    const peaks: number[] = [];
    class Limited extends BaseModel {
      override name = "limited";
      override capabilities = ["t"];
      override concurrency = 8;
      override async process(_: unknown, ctx: ModelCallContext) {
        running++;
        peaks.push(running);
        try {
          await new Promise((r) => setTimeout(r, 10));
          if (ctx.signal.aborted) throw ctx.signal.reason;
          // The "API" accepts at most 2 concurrent calls.
          if (running > 2) throw new ModelError("429 Too Many Requests", { kind: "rate_limited", provider: "test", model: "limited", status: 429, retryAfterMs: 5 });
          return { ok: true, usage: { inputTokens: 1, outputTokens: 1 } };
        } finally {
          running--;
        }
      }
    }
    const o = new TaskOrchestrator(new ModelRegistry().registerModel(new Limited()));
    const p = compileYaml(
      `
steps:
  fan: { model: limited, forEach: $input.items, input: {}, retry: { attempts: 10, initialDelay: 5ms } }
`,
      { registry: o.registry },
    );
    const log = eventLog();
    const r = await o.runPipeline(p, { items: Array.from({ length: 40 }, (_, i) => i) }, { observer: log.observer });
    expect(r.status).toBe("success");
    const throttled = log.of("model.throttled");
    expect(throttled.length).toBeGreaterThan(0);
    expect(Math.min(...throttled.map((e) => e.concurrency))).toBeLessThanOrEqual(4);
    // After the window shrank, late calls ran with fewer in flight than the first wave.
    expect(Math.max(...peaks.slice(-10))).toBeLessThan(8);
  });
});

describe("timeouts and cancellation", () => {
  it("fires a step timeout and reports it", async () => {
    const p = compileYaml(`
models:
  slow: { provider: mock, capabilities: [t], options: { latency: 30s } }
steps:
  s: { model: slow, input: {}, timeout: 50ms, retry: { attempts: 2, initialDelay: 1ms } }
`);
    const t0 = Date.now();
    const r = await new TaskOrchestrator().runPipeline(p, {});
    expect(Date.now() - t0).toBeLessThan(10_000); // only catches a hang
    expect(r.status).toBe("failed");
    expect(r.steps.s!.status).toBe("failed");
    expect(r.steps.s!.attempts).toHaveLength(2);
    expect(r.steps.s!.error).toMatchObject({ reason: "timeout" });
    expect(r.error!.message).toBe("step 's' failed on model 'slow' (mock) after 2 attempts: timed out after 50ms");
  });

  it("stops a model that ignores its signal at the timeout all the same", async () => {
    class Stubborn extends BaseModel {
      override name = "stubborn";
      override capabilities = ["t"];
      override process() {
        return new Promise<unknown>((r) => setTimeout(() => r({ late: true }), 30_000).unref());
      }
    }
    const o = new TaskOrchestrator(new ModelRegistry().registerModel(new Stubborn()));
    const t0 = Date.now();
    await expect(o.executeTask({ inputData: {}, model: "stubborn", timeoutMs: 50, retry: { attempts: 1 } })).rejects.toThrow(/timed out after 50ms/);
    expect(Date.now() - t0).toBeLessThan(10_000); // only catches a hang
  });

  it("cancellation aborts in-flight model calls through their AbortSignal", async () => {
    const seen: string[] = [];
    class Watcher extends BaseModel {
      override name = "watcher";
      override capabilities = ["t"];
      override process(_: unknown, ctx: ModelCallContext) {
        return new Promise<unknown>((resolve, reject) => {
          const timer = setTimeout(() => resolve({ ok: true }), 30_000);
          ctx.signal.addEventListener("abort", () => {
            clearTimeout(timer);
            seen.push(`aborted:${ctx.stepId}`);
            reject(ctx.signal.reason);
          });
        });
      }
    }
    const o = new TaskOrchestrator(new ModelRegistry().registerModel(new Watcher()));
    const p = compileYaml(
      `
steps:
  a: { model: watcher, input: {} }
  b: { model: watcher, input: {} }
  c: { model: watcher, input: {}, needs: [a] }
`,
      { registry: o.registry },
    );
    const controller = new AbortController();
    const run = o.startRun(p, {}, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const t0 = Date.now();
    const r = await run.done;
    expect(Date.now() - t0).toBeLessThan(10_000); // only catches a hang
    expect(r.status).toBe("cancelled");
    expect(seen.sort()).toEqual(["aborted:a", "aborted:b"]);
    expect(r.steps.a!.status).toBe("aborted");
    expect(r.steps.c!.status).toBe("aborted");
  });
});

describe("errors reaching the user", () => {
  it("names the step and the model in a failing model's error", async () => {
    class Broken extends BaseModel {
      override name = "broken";
      override capabilities = ["t"];
      override async process(): Promise<unknown> {
        throw new ModelError("HTTP 500: upstream exploded", { kind: "retryable", provider: "openai", model: "broken", status: 500 });
      }
    }
    const o = new TaskOrchestrator(new ModelRegistry().registerModel(new Broken()));
    const p = compileYaml(
      `
steps:
  draft: { model: broken, input: {}, retry: { attempts: 2, initialDelay: 1ms } }
`,
      { registry: o.registry },
    );
    const r = await o.runPipeline(p, {});
    expect(r.status).toBe("failed");
    expect(r.error!.message).toBe("step 'draft' failed on model 'broken' (module) after 2 attempts: HTTP 500: upstream exploded");
    expect(r.error).toMatchObject({ reason: "model-error", kind: "retryable", status: 500 });
  });

  it("with onError: continue records the failure and lets dependants see status failed", async () => {
    const p = compileYaml(`
models:
  bad: { provider: mock, capabilities: [t], options: { failFirst: 100, failWith: { kind: fatal } } }
  ok: { provider: mock, capabilities: [t], options: { reply: { text: "\${{ $request.saw }}" }, usage: { inputTokens: 1, outputTokens: 1 } } }
steps:
  a: { model: bad, input: {}, onError: continue }
  b: { model: ok, input: { saw: "\${{ $steps.a.status }}" } }
output: \${{ $steps.b.output.text }}
`);
    const r = await new TaskOrchestrator().runPipeline(p, {});
    expect(r.status).toBe("success");
    expect(r.steps.a!.status).toBe("failed");
    expect(r.output).toBe("failed");
  });

  it("fails the run on the first failure with onError: fail and aborts the others", async () => {
    const p = compileYaml(`
models:
  bad: { provider: mock, capabilities: [t], options: { failFirst: 100, failWith: { kind: fatal } } }
  slow: { provider: mock, capabilities: [t], options: { latency: 30s } }
steps:
  a: { model: bad, input: {} }
  b: { model: slow, input: {} }
`);
    const t0 = Date.now();
    const r = await new TaskOrchestrator().runPipeline(p, {});
    expect(Date.now() - t0).toBeLessThan(10_000); // only catches a hang
    expect(r.status).toBe("failed");
    expect(r.steps.b!.status).toBe("aborted");
    expect(r.error!.message).toMatch(/^step 'a' failed on model 'bad' \(mock\) after 1 attempt: /);
  });

  it("rejects bad run input before any step runs", async () => {
    const p = compileYaml(`
inputs: { type: object, required: [text], properties: { text: { type: string } } }
models:
  m: { provider: mock, capabilities: [t] }
steps:
  s: { model: m, input: {} }
`);
    const log = eventLog();
    const o = new TaskOrchestrator();
    await expect(o.runPipeline(p, { txt: 1 }, { observer: log.observer })).rejects.toBeInstanceOf(ConfigError);
    await expect(o.runPipeline(p, {})).rejects.toThrow("invalid run input for pipeline 'test': the input is missing 'text'");
    expect(log.events).toEqual([]);
  });
});

describe("budget", () => {
  it("stops the run before a call that would pass maxCost", async () => {
    const p = compileYaml(`
budget: { maxCost: 0.001 }
models:
  pricey:
    provider: mock
    capabilities: [t]
    cost: { input: 100, output: 100 }
    options: { reply: { text: ok }, usage: { inputTokens: 4, outputTokens: 4 } }
steps:
  a: { model: pricey, input: { prompt: "one two three" } }
  b: { model: pricey, input: { prompt: "one two three" }, needs: a }
  c: { model: pricey, input: { prompt: "one two three" }, needs: b }
`);
    const r = await new TaskOrchestrator().runPipeline(p, {});
    expect(r.status).toBe("failed");
    expect(r.error!.reason).toBe("budget-exceeded");
    expect(r.steps.a!.status).toBe("success");
    expect(r.error!.message).toMatch(/^budget exceeded: the call of step '(b|c)' on 'pricey' .* would pass maxCost \$0\.001/);
    expect(r.totals.cost).toBeLessThanOrEqual(0.001);
  });

  it("stops before passing maxTokens", async () => {
    const p = compileYaml(`
budget: { maxTokens: 10 }
models:
  m: { provider: mock, capabilities: [t], options: { reply: { text: ok }, usage: { inputTokens: 6, outputTokens: 2 } } }
steps:
  a: { model: m, input: { prompt: "hello" } }
  b: { model: m, input: { prompt: "hello again" }, needs: a }
`);
    const r = await new TaskOrchestrator().runPipeline(p, {});
    expect(r.error!.reason).toBe("budget-exceeded");
    expect(r.totals.inputTokens + r.totals.outputTokens).toBeLessThanOrEqual(10);
  });
});

describe("plans", () => {
  it("names the models the run then really uses", async () => {
    const p = compileYaml(`
models:
  big: { provider: mock, capabilities: [t], maxTokens: 5, options: { reply: { text: big }, usage: { inputTokens: 1, outputTokens: 1 } } }
  cheap: { provider: mock, capabilities: [t], cost: { input: 0.1, output: 0.2 }, options: { reply: { text: cheap }, usage: { inputTokens: 1, outputTokens: 1 } } }
  pricey: { provider: mock, capabilities: [t], cost: { input: 5, output: 15 }, options: { reply: { text: pricey }, usage: { inputTokens: 1, outputTokens: 1 } } }
steps:
  short: { capabilities: [t], input: { prompt: "hi" } }
  long: { capabilities: [t], input: { prompt: "this prompt is clearly longer than five tokens, so big cannot take it" } }
  thrifty: { capabilities: [t], select: cheapest, input: { prompt: "x" }, needs: [short] }
`);
    const o = new TaskOrchestrator();
    const plan = await o.plan(p, {});
    const r = await o.runPipeline(p, {});
    const planned = Object.fromEntries(plan.steps.map((s) => [s.id, s.model]));
    const used = Object.fromEntries(Object.entries(r.steps).map(([id, s]) => [id, s.model]));
    expect(planned).toEqual(used);
    expect(used).toEqual({ short: "big", long: "cheap", thrifty: "cheap" });
    expect(plan.groups).toEqual([["short", "long"], ["thrifty"]]);
  });
});

describe("run input schemas", () => {
  it("checks input against a schema with an $id in every run, also after a reload", async () => {
    const text = `
inputs: { $id: "https://example.com/ticket", type: object, required: [text] }
models:
  m: { provider: mock, capabilities: [t], options: { reply: { text: ok }, usage: { inputTokens: 1, outputTokens: 1 } } }
steps:
  s: { model: m, input: {} }
`;
    const o = new TaskOrchestrator();
    for (let i = 0; i < 2; i++) {
      const p = compileYaml(text); // a reload compiles the same schema again
      expect((await o.runPipeline(p, { text: "x" })).status).toBe("success");
      await expect(o.runPipeline(p, {})).rejects.toThrow("the input is missing 'text'");
    }
  });
});

describe("calls in flight", () => {
  it("ends a cancelled run at once even when its models ignore their signal", async () => {
    class Deaf extends BaseModel {
      override name = "deaf";
      override capabilities = ["t"];
      override process() {
        return new Promise<unknown>((r) => setTimeout(() => r({ late: true }), 30_000).unref());
      }
    }
    const o = new TaskOrchestrator(new ModelRegistry().registerModel(new Deaf()));
    const p = compileYaml(
      `
steps:
  a: { model: deaf, input: {} }
  b: { model: deaf, input: {} }
  c: { model: deaf, input: {}, needs: [a, b] }
`,
      { registry: o.registry },
    );
    // The instance exists before the run: the calls take the direct path (no queue, no timeout).
    const run = o.startRun(p, {});
    setTimeout(() => run.cancel(), 50);
    const t0 = Date.now();
    const r = await run.done;
    expect(Date.now() - t0).toBeLessThan(10_000); // only catches a hang
    expect(r.status).toBe("cancelled");
    expect([r.steps.a!.status, r.steps.b!.status, r.steps.c!.status]).toEqual(["aborted", "aborted", "aborted"]);
  });

  it("holds the run's concurrency when calls outnumber it, direct and queued alike", async () => {
    let running = 0;
    let peak = 0;
    const order: string[] = [];
    class Slow extends BaseModel {
      override name = "slow";
      override capabilities = ["t"];
      override async process(_: unknown, ctx: ModelCallContext) {
        running++;
        peak = Math.max(peak, running);
        order.push(ctx.stepId!);
        await new Promise((r) => setTimeout(r, 10));
        running--;
        return { text: ctx.stepId };
      }
    }
    const o = new TaskOrchestrator(new ModelRegistry().registerModel(new Slow()));
    const ids = Array.from({ length: 9 }, (_, i) => `s${i}`);
    const p = compileYaml(
      `
concurrency: 2
steps:
${ids.map((id) => `  ${id}: { model: slow, input: {} }`).join("\n")}
  last: { model: slow, input: { all: "\${{ $join([${ids.map((id) => `$steps.${id}.output.text`).join(", ")}], ',') }}" } }
output: \${{ $steps.last.output.text }}
`,
      { registry: o.registry },
    );
    for (let round = 0; round < 3; round++) {
      peak = 0;
      order.length = 0;
      const r = await o.runPipeline(p, {});
      expect(r.status).toBe("success");
      expect(peak).toBe(2);
      // Calls start in the order the steps asked for a slot.
      expect(order).toEqual([...ids, "last"]);
    }
  });
});
