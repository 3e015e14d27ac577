import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadPipelineChecked } from "../../src/compiler/load.js";
import type { RunEvent } from "../../src/events/event.js";
import { RunQueue } from "../../src/queue/run-queue.js";
import { startRedis } from "../helpers/redis.js";
import { closeLimitFleets, countedModel, fleetProject, forEachPipeline, killWorkers, limitFleet, startWorker } from "./fleet.js";

const redis = await startRedis();
const queues: RunQueue[] = [];

afterAll(async () => {
  killWorkers();
  for (const q of queues) await q.close();
  await closeLimitFleets();
});

async function runToEnd(q: RunQueue, runId: string): Promise<RunEvent[]> {
  const events: RunEvent[] = [];
  for await (const e of q.follow(runId)) events.push(e.event);
  return events;
}

describe("a large forEach on the fleet", () => {
  it("is shared by two workers, each item run once, the results in order", async () => {
    const project = fleetProject({
      wide: `version: 1
name: wide
inputs: { type: object, properties: { items: { type: array } } }
steps:
  each: { model: logged, forEach: "$input.items", input: { item: "\${{ $item }}", ms: 150 } }
output: { results: "\${{ $steps.each.output.text }}" }
`,
    });
    const args = ["--chunk-size", "2", "--item-concurrency", "1"];
    const [w1, w2] = await Promise.all([startWorker(redis.url, project.dir, args), startWorker(redis.url, project.dir, args)]);
    const q = await RunQueue.open(redis.url);
    queues.push(q);
    const pipeline = (await loadPipelineChecked(join(project.dir, "pipelines/wide.yaml"))).pipeline!;
    const items = Array.from({ length: 16 }, (_, i) => `i${i}`);
    const runId = await q.enqueue(pipeline, { items });
    const events = await runToEnd(q, runId);
    expect(events.at(-1)).toMatchObject({ type: "run.finished", status: "success", output: { results: items.map((i) => `${i}!`) } });
    const calls = project.calls().filter((c) => c[1] === runId);
    expect(calls.map((c) => c[3]).sort()).toEqual([...items].sort());
    const byWorker = new Set(calls.map((c) => Number(c[0])));
    expect(byWorker).toEqual(new Set([w1.pid, w2.pid]));
    // Items' events reach the run's log with their index in the whole list.
    const started = events.filter((e) => e.type === "step.started").map((e) => (e as { item?: number }).item);
    expect(started.sort((a, b) => a! - b!)).toEqual(items.map((_, i) => i));
    const report = (await q.store.getRun(runId))?.report;
    expect(report?.steps.each).toMatchObject({ status: "success", items: 16 });
    expect(report?.steps.each?.attempts.length).toBe(16);
    for (const w of [w1, w2]) w.proc.kill("SIGTERM");
    await Promise.all([w1.exited, w2.exited]);
  });

  it("holds a model's concurrency across three workers", async () => {
    // Without the fleet-wide limit, 3 workers x 2 chunks x 2 items could be 12 calls at once.
    const f = await limitFleet(redis.url, {
      ms: 150,
      name: "limited",
      pipeline: forEachPipeline("limited", "counted"),
      models: (url) => countedModel(url, "    concurrency: 2\n"),
      args: ["--chunk-size", "2", "--item-concurrency", "2"],
    });
    const items = Array.from({ length: 12 }, (_, i) => i);
    const runId = await f.queue.enqueue(f.pipeline, { items });
    const events = await runToEnd(f.queue, runId);
    expect(events.at(-1)).toMatchObject({ type: "run.finished", status: "success", output: { results: items.map((i) => `${i}!`) } });
    expect(f.endpoint.calls()).toBe(12);
    expect(f.endpoint.maxInFlight()).toBe(2);
    const chunkLines = f.chunkCounts();
    expect(chunkLines.reduce((a, b) => a + b, 0)).toBe(6);
    expect(chunkLines.filter((n) => n > 0).length).toBeGreaterThan(1);
    await f.stop();
  });

  // A limit of 3 calls at once where 3 workers x 2 chunks x 2 items could make 12: the
  // pipeline's (the run's job and its chunks share it), or the forEach step's own (its
  // chunks share the slots).
  it.each([
    ["the pipeline's concurrency", { name: "narrow", pipelineKeys: "concurrency: 3\n", stepKeys: "", count: 12, ms: 150, exact: false }],
    ["a forEach step's own concurrency", { name: "stepLimited", pipelineKeys: "", stepKeys: " concurrency: 3,", count: 18, ms: 300, exact: true }],
  ])("holds %s across three workers (the chunks share it)", async (_limit, { name, pipelineKeys, stepKeys, count, ms, exact }) => {
    const f = await limitFleet(redis.url, {
      ms,
      name,
      pipeline: forEachPipeline(name, "counted", { pipeline: pipelineKeys, step: stepKeys }),
      models: (url) => countedModel(url),
      args: ["--chunk-size", "2", "--item-concurrency", "2"],
    });
    const items = Array.from({ length: count }, (_, i) => i);
    const runId = await f.queue.enqueue(f.pipeline, { items });
    const events = await runToEnd(f.queue, runId);
    expect(events.at(-1)).toMatchObject({ type: "run.finished", status: "success", output: { results: items.map((i) => `${i}!`) } });
    expect(f.endpoint.calls()).toBe(count);
    if (exact) expect(f.endpoint.maxInFlight()).toBe(3);
    else {
      expect(f.endpoint.maxInFlight()).toBeLessThanOrEqual(3);
      expect(f.endpoint.maxInFlight()).toBeGreaterThan(1);
    }
    expect(f.chunkCounts().filter((n) => n > 0).length).toBeGreaterThan(1);
    await f.stop();
  });

  it("holds a deployment's maxConcurrency across three workers and several runs", async () => {
    // Per process, each of the 3 workers could have 2 calls at the replica; the fleet allows 2.
    const f = await limitFleet(redis.url, {
      ms: 300,
      name: "replicated",
      pipeline: forEachPipeline("replicated", "gw"),
      models: (url) => `  gw:
    provider: http
    capabilities: [text-generation]
    deployments:
      - { name: only, url: "${url}", maxConcurrency: 2 }
`,
      args: ["--chunk-size", "2", "--item-concurrency", "2", "--concurrency", "2"],
    });
    const lists = [0, 1].map((r) => Array.from({ length: 8 }, (_, i) => `${r}-${i}`));
    const ids = await Promise.all(lists.map((items) => f.queue.enqueue(f.pipeline, { items })));
    for (const [n, id] of ids.entries()) {
      const events = await runToEnd(f.queue, id);
      expect(events.at(-1)).toMatchObject({ type: "run.finished", status: "success", output: { results: lists[n]!.map((i) => `${i}!`) } });
    }
    expect(f.endpoint.calls()).toBe(16);
    expect(f.endpoint.maxInFlight()).toBe(2);
    expect(f.chunkCounts().filter((n) => n > 0).length).toBeGreaterThan(1);
    await f.stop();
  });

  it("holds the pipeline's budget across workers: the chunks spend from one ledger and the run stops when it is used up", async () => {
    // Each call uses 20 tokens: 5 fit the run's budget. Counted per chunk (2 items, 40 tokens)
    // every chunk would fit, and all 12 calls would be made.
    const f = await limitFleet(redis.url, {
      ms: 100,
      name: "budgeted",
      pipeline: forEachPipeline("budgeted", "counted", { pipeline: "budget: { maxTokens: 100 }\n", step: " retry: { attempts: 1 }," }),
      models: (url) => countedModel(url),
      args: ["--chunk-size", "2", "--item-concurrency", "1"],
    });
    const items = Array.from({ length: 12 }, (_, i) => i);
    const runId = await f.queue.enqueue(f.pipeline, { items });
    const events = await runToEnd(f.queue, runId);
    const end = events.at(-1) as { type: string; status: string; error?: { reason: string; message: string } };
    expect(end).toMatchObject({ type: "run.finished", status: "failed" });
    expect(end.error?.message).toMatch(/budget exceeded/);
    // At most the budget's 5 calls, plus one per call in flight when it ran out (3 workers x 1).
    expect(f.endpoint.calls()).toBeGreaterThanOrEqual(4);
    expect(f.endpoint.calls()).toBeLessThanOrEqual(8);
    await f.stop();
  });
});
