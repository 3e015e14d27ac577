import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadPipelineChecked } from "../../src/compiler/load.js";
import type { RunEvent } from "../../src/events/event.js";
import { RunQueue } from "../../src/queue/run-queue.js";
import { runCli } from "../helpers/cli.js";
import { startRedis } from "../helpers/redis.js";
import { fleetProject, killWorkers, startWorker, until } from "./fleet.js";

const redis = await startRedis();
const queues: RunQueue[] = [];
afterAll(async () => {
  killWorkers();
  for (const q of queues) await q.close();
});

const THREE = `version: 1
name: three
inputs: { type: object, required: [text], properties: { text: { type: string } } }
steps:
  a: { model: logged, input: { prompt: "\${{ $input.text }}" } }
  b: { model: logged, input: { prompt: "\${{ $steps.a.output.text }}" } }
  c: { model: logged, input: { prompt: "\${{ $steps.b.output.text }}" } }
output: { text: "\${{ $steps.c.output.text }}" }
`;
const SLOW = `version: 1
name: slow
steps:
  wait: { model: logged, input: { prompt: "zzz", ms: 30000 } }
`;

const project = fleetProject({ three: THREE, slow: SLOW });

async function openQueue(): Promise<RunQueue> {
  const q = await RunQueue.open(redis.url);
  queues.push(q);
  return q;
}

describe("mcp run --queue and mcp worker", () => {
  it("runs a queued pipeline on a worker and streams its events to the CLI, numbered in the run's log", async () => {
    const worker = await startWorker(redis.url, project.dir, ["--concurrency", "2"]);
    const r = await runCli(["run", "--queue", redis.url, "pipelines/three.yaml", "--input", '{"text":"hi"}', "--progress", "json"], { cwd: project.dir, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ text: "hi!!!" });
    const runId = /queued run (run_\w+)/.exec(r.stderr)?.[1];
    expect(runId, r.stderr).toBeDefined();
    const streamed = r.stderr
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as RunEvent);
    expect(streamed.map((e) => e.type)).toEqual(["run.started", ...["a", "b", "c"].flatMap(() => ["step.queued", "step.started", "step.finished"]), "run.finished"]);
    // The same events are in the run's log with dense sequence numbers from 1: what SSE sends as `id:`.
    const q = await openQueue();
    const logged = await q.events.read(runId!);
    expect(logged.map((e) => e.seq)).toEqual(streamed.map((_, i) => i + 1));
    expect(logged.map((e) => e.event)).toEqual(streamed);
    expect((await q.events.read(runId!, 8)).map((e) => e.seq)).toEqual([9, 10, 11]);
    // The worker ran every step once, and the shared store has the run.
    expect(
      project
        .calls()
        .filter((c) => c[1] === runId)
        .map((c) => [Number(c[0]), c[2]]),
    ).toEqual([
      [worker.pid, "a"],
      [worker.pid, "b"],
      [worker.pid, "c"],
    ]);
    expect(await q.store.getRun(runId!)).toMatchObject({ status: "success", output: { text: "hi!!!" }, pipeline: "three" });
    worker.proc.kill("SIGTERM");
    expect(await worker.exited).toEqual({ code: 0, signal: null });
  });

  it("refuses invalid input before enqueueing (the diagnostic at --input, as without --queue), and says when Redis cannot be reached", async () => {
    const bad = await runCli(["run", "--queue", redis.url, "pipelines/three.yaml", "--input", '{"text": 5}'], { cwd: project.dir });
    expect(bad.code).toBe(2);
    // As without --queue: the diagnostic names where the input came from.
    expect(bad.stderr).toMatch(/^--input:1:1: error MCP501: invalid run input for pipeline 'three': .*text/m);
    expect(bad.stderr).not.toMatch(/queued run/);
    const down = await runCli(["run", "--queue", "redis://127.0.0.1:1", "pipelines/three.yaml", "--input", '{"text":"x"}'], { cwd: project.dir, timeoutMs: 30_000 });
    expect(down.code).toBe(2);
    // One line with what to check; not a usage error (no "Run 'mcp run --help'").
    expect(down.stderr).toMatch(/^mcp run: cannot reach Redis at redis:\/\/127\.0\.0\.1:1 \(no answer within \d+ ms\); is redis-server running there\?\n$/m);
    expect(down.stderr).not.toContain("--help");
    expect(down.stderr).not.toMatch(/at .*\.js:\d+/);
    const serveDown = await runCli(["serve", "--queue", "redis://127.0.0.1:1", "pipelines", "--port", "0"], { cwd: project.dir, timeoutMs: 30_000 });
    expect(serveDown.code).toBe(2);
    expect(serveDown.stderr).toMatch(/^mcp serve: cannot reach Redis at redis:\/\/127\.0\.0\.1:1 \(no answer within \d+ ms\); is redis-server running there\?\n$/);
  });

  it("carries a cancellation to the worker running the run", async () => {
    const worker = await startWorker(redis.url, project.dir);
    const q = await openQueue();
    const loaded = await loadPipelineChecked(join(project.dir, "pipelines/slow.yaml"));
    const runId = await q.enqueue(loaded.pipeline!, {});
    await until("the step to start", async () => (await q.events.read(runId)).some((e) => e.event.type === "step.started"));
    const t0 = Date.now();
    await q.cancel(runId, "stop it");
    const events: RunEvent[] = [];
    for await (const e of q.follow(runId)) events.push(e.event);
    expect(events.at(-1)).toMatchObject({ type: "run.finished", status: "cancelled" });
    // The 30 s model call was aborted, not waited out.
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect((await q.store.getRun(runId))?.status).toBe("cancelled");
    worker.proc.kill("SIGTERM");
    await worker.exited;
  });
});
