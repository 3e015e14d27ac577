import { describe, expect, it } from "vitest";
import { TaskOrchestrator } from "../../src/orchestrator/orchestrator.js";
import { ModelRegistry } from "../../src/registry/model-registry.js";
import { BaseModel, type ModelCallContext } from "../../src/models/base-model.js";
import { compileYaml, eventLog } from "../helpers/pipelines.js";

describe("execution order", () => {
  it("runs independent steps at the same time", async () => {
    // a   b   c      (three independent calls)
    let running = 0;
    let peak = 0;
    class Overlap extends BaseModel {
      override name = "overlap";
      override capabilities = ["t"];
      override async process() {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 50));
        running--;
        return { text: "ok", usage: { inputTokens: 1, outputTokens: 1 } };
      }
    }
    const o = new TaskOrchestrator(new ModelRegistry().registerModel(new Overlap()));
    const p = compileYaml(
      `
steps:
  a: { model: overlap, input: { prompt: a } }
  b: { model: overlap, input: { prompt: b } }
  c: { model: overlap, input: { prompt: c } }
`,
      { registry: o.registry },
    );
    const report = await o.runPipeline(p, {});
    expect(report.status).toBe("success");
    expect(peak).toBe(3);
  });

  it("starts a step as soon as its own dependencies finish, not level by level", async () => {
    //  fast -> after_fast
    //  slow1 -> slow2          after_fast must not wait for slow1
    const p = compileYaml(`
models:
  m:
    provider: mock
    capabilities: [x]
    options: { reply: { text: ok }, latency: "\${{ $request.ms }}", usage: { inputTokens: 1, outputTokens: 1 } }
steps:
  fast: { model: m, input: { ms: 10 } }
  slow1: { model: m, input: { ms: 1500 } }
  after_fast: { model: m, input: { ms: 10, prev: "\${{ $steps.fast.output.text }}" } }
  slow2: { model: m, input: { ms: 10 }, needs: slow1 }
`);
    const log = eventLog();
    const report = await new TaskOrchestrator().runPipeline(p, {}, { observer: log.observer });
    expect(report.status).toBe("success");
    const finished = log.of("step.finished").map((e) => e.stepId);
    expect(finished.indexOf("after_fast")).toBeLessThan(finished.indexOf("slow1"));
    expect(finished.at(-1)).toBe("slow2");
    const s = report.steps;
    expect(s.slow2!.startedAt!).toBeGreaterThanOrEqual(s.slow1!.startedAt! + 1500 - 5);
  });

  it("respects every dependency and passes outputs through $steps", async () => {
    // a -> b -> c
    const p = compileYaml(`
models:
  echo: { provider: mock, capabilities: [x], options: { reply: { text: "<\${{ $request.prompt }}>" }, latency: 5ms } }
steps:
  c: { model: echo, input: { prompt: "\${{ $steps.b.output.text }}" } }
  b: { model: echo, input: { prompt: "\${{ $steps.a.output.text }}" } }
  a: { model: echo, input: { prompt: "\${{ $input.word }}" } }
output: \${{ $steps.c.output.text }}
`);
    const log = eventLog();
    const report = await new TaskOrchestrator().runPipeline(p, { word: "hi" }, { observer: log.observer });
    expect(report.output).toBe("<<<hi>>>");
    const finished = log.of("step.finished").map((e) => e.stepId);
    expect(finished).toEqual(["a", "b", "c"]);
  });

  it("skips a step whose when is false and lets dependants see status skipped", async () => {
    const p = compileYaml(`
models:
  echo: { provider: mock, capabilities: [x], options: { reply: { text: ok } } }
steps:
  check: { model: echo, input: {} }
  maybe: { model: echo, when: "$input.go = true", input: {} }
  after: { model: echo, input: { saw: "\${{ $steps.maybe.status }}" } }
output: \${{ $steps.after.output }}
`);
    const r = await new TaskOrchestrator().runPipeline(p, { go: false });
    expect(r.steps.maybe!.status).toBe("skipped");
    expect(r.steps.after!.status).toBe("success");
    const r2 = await new TaskOrchestrator().runPipeline(p, { go: true });
    expect(r2.steps.maybe!.status).toBe("success");
  });

  it("fans out with forEach under its concurrency and keeps results in order", async () => {
    let running = 0;
    let peak = 0;
    class Counting extends BaseModel {
      override capabilities = ["count"];
      override name = "counting";
      override async process(input: unknown, ctx: ModelCallContext) {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 20 + Math.random() * 20));
        running--;
        if (ctx.signal.aborted) throw ctx.signal.reason;
        return { n: (input as { n: number }).n * 10 };
      }
    }
    const registry = new ModelRegistry().registerModel(new Counting());
    const p = compileYaml(
      `
steps:
  each:
    capabilities: [count]
    forEach: $input.items
    concurrency: 3
    input: { n: "\${{ $item }}", i: "\${{ $index }}" }
    output: \${{ $result.n + $index }}
output: \${{ $steps.each.output }}
`,
      { registry },
    );
    const o = new TaskOrchestrator(registry);
    const r = await o.runPipeline(p, { items: [1, 2, 3, 4, 5, 6, 7] });
    expect(r.status).toBe("success");
    expect(r.output).toEqual([10, 21, 32, 43, 54, 65, 76]);
    expect(peak).toBeLessThanOrEqual(3);
    expect(peak).toBeGreaterThan(1);
    expect(r.steps.each!.items).toBe(7);
  });

  it("limits calls to a model to its concurrency", async () => {
    let running = 0;
    let peak = 0;
    class Gate extends BaseModel {
      override capabilities = ["g"];
      override name = "gate";
      override async process() {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 15));
        running--;
        return { ok: true };
      }
    }
    const gate = new Gate();
    gate.concurrency = 2;
    const o = new TaskOrchestrator(new ModelRegistry().registerModel(gate));
    const results = await Promise.all(Array.from({ length: 8 }, () => o.executeTask({ inputData: {}, model: "gate" })));
    expect(results.every((r) => r.model === "gate")).toBe(true);
    expect(peak).toBe(2);
  });
});
