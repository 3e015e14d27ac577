import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadPipelineChecked } from "../../src/compiler/load.js";
import type { RunEvent } from "../../src/events/event.js";
import { RunQueue } from "../../src/queue/run-queue.js";
import { connectRedis } from "../../src/store/redis-connection.js";
import { startRedis } from "../helpers/redis.js";
import { fleetProject, killWorkers, startWorker, until, type WorkerProcess } from "./fleet.js";

// Workers here take a silent worker for dead after 1 s (the default is 30 s), so a stalled
// run is picked up again quickly.
const FAST = ["--lock-duration", "1s"];

const redis = await startRedis();
const queues: RunQueue[] = [];
afterAll(async () => {
  killWorkers();
  for (const q of queues) await q.close();
});

const project = fleetProject({
  long: `version: 1
name: long
inputs: { type: object, properties: { tag: { type: string } } }
steps:
  a: { model: logged, input: { prompt: "\${{ $input.tag }}" } }
  b: { model: logged, input: { prompt: "\${{ $steps.a.output.text }}", ms: 2500 } }
  c: { model: logged, input: { prompt: "\${{ $steps.b.output.text }}" } }
output: { text: "\${{ $steps.c.output.text }}" }
`,
  quick: `version: 1
name: quick
inputs: { type: object, properties: { tag: { type: string } } }
steps:
  a: { model: logged, input: { prompt: "\${{ $input.tag }}", ms: 200 } }
  b: { model: logged, input: { prompt: "\${{ $steps.a.output.text }}", ms: 200 } }
output: { text: "\${{ $steps.b.output.text }}" }
`,
  poison: `version: 1
name: poison
steps:
  boom: { model: logged, input: { prompt: "x", kill: true } }
`,
});

async function setup(name: string) {
  const q = await RunQueue.open(redis.url);
  queues.push(q);
  const pipeline = (await loadPipelineChecked(join(project.dir, `pipelines/${name}.yaml`))).pipeline!;
  return { q, pipeline };
}

async function finished(q: RunQueue, runId: string): Promise<RunEvent[]> {
  const events: RunEvent[] = [];
  for await (const e of q.follow(runId)) events.push(e.event);
  return events;
}

const callsOf = (runId: string) => project.calls().filter((c) => c[1] === runId);

describe("faults", () => {
  it("goes on with a SIGKILLed worker's run on another worker, running no finished step again", async () => {
    const { q, pipeline } = await setup("long");
    const w1 = await startWorker(redis.url, project.dir, FAST);
    const runId = await q.enqueue(pipeline, { tag: "k" });
    await until("step b to start", async () => (await q.events.read(runId)).some((e) => e.event.type === "step.started" && e.event.stepId === "b"));
    w1.proc.kill("SIGKILL");
    const w2 = await startWorker(redis.url, project.dir, FAST);
    const events = await finished(q, runId);
    expect(events.at(-1)).toMatchObject({ type: "run.finished", status: "success", output: { text: "k!!!" } });
    // a ran once, on the killed worker; b was cut short there and ran again; c ran once on w2.
    expect(callsOf(runId).map((c) => [Number(c[0]), c[2]])).toEqual([
      [w1.pid, "a"],
      [w1.pid, "b"],
      [w2.pid, "b"],
      [w2.pid, "c"],
    ]);
    const run = await q.store.getRun(runId);
    expect(run).toMatchObject({ status: "success", attempts: 2 });
    expect(run?.report?.steps.a).toMatchObject({ status: "success", resumed: true });
    // The log goes on across workers: a second run.started, then a resumed a.
    expect(events.filter((e) => e.type === "run.started").length).toBe(2);
    expect(events.filter((e) => e.type === "step.finished" && e.stepId === "a").map((e) => (e as { resumed?: boolean }).resumed ?? false)).toEqual([false, true]);
    expect(w2.stderr()).toMatch(/taken over \(attempt 2\); 1 finished step\(s\) come from the journal/);
    w2.proc.kill("SIGTERM");
    await w2.exited;
  });

  it("loses no run when Redis restarts in the middle", async () => {
    const { q, pipeline } = await setup("quick");
    const w = await startWorker(redis.url, project.dir, ["--concurrency", "3"]);
    const ids = [];
    for (let i = 0; i < 6; i++) ids.push(await q.enqueue(pipeline, { tag: `r${i}` }));
    await until("a first step to start", async () => (await q.events.read(ids[0]!)).some((e) => e.event.type === "step.started"));
    await redis.restart({ downMs: 500 });
    const results = await Promise.all(ids.map((id) => finished(q, id)));
    results.forEach((events, i) => expect(events.at(-1), `run ${i}`).toMatchObject({ type: "run.finished", status: "success", output: { text: `r${i}!!` } }));
    for (const id of ids) expect((await q.store.getRun(id))?.status).toBe("success");
    w.proc.kill("SIGTERM");
    expect((await w.exited).code).toBe(0);
  });

  it("fails a poison run after its workers died a set number of times, with the reason", async () => {
    const { q, pipeline } = await setup("poison");
    const runId = await q.enqueue(pipeline, {});
    const workers: WorkerProcess[] = [];
    // Each worker that takes the run dies; a fresh one notices the stall and tries again,
    // until the run has killed 2 workers (--max-stalls 1).
    const done = finished(q, runId);
    let ended = false;
    void done.then(() => (ended = true));
    while (!ended && workers.length < 6) {
      const w = await startWorker(redis.url, project.dir, [...FAST, "--max-stalls", "1"]);
      workers.push(w);
      await Promise.race([w.exited, done]);
    }
    const events = await done;
    expect(events.at(-1)).toMatchObject({ type: "run.finished", status: "failed", error: { reason: "internal" } });
    const run = await q.store.getRun(runId);
    expect(run?.status).toBe("failed");
    expect(run?.error?.message).toMatch(/worker died or was killed 2 times/);
    expect(callsOf(runId).length).toBe(2);
    expect(await q.state(runId)).toMatchObject({ state: "failed" });
    for (const w of workers) if (w.proc.exitCode === null && w.proc.signalCode === null) w.proc.kill("SIGTERM");
    await Promise.all(workers.map((w) => w.exited));
  });

  it("on SIGTERM, finishes a run that fits in the grace time, and hands back one that does not", async () => {
    const { q, pipeline } = await setup("long");
    // Finishes: the default grace is 30 s.
    const w1 = await startWorker(redis.url, project.dir, FAST);
    const r1 = await q.enqueue(pipeline, { tag: "t1" });
    await until("step b to start", async () => (await q.events.read(r1)).some((e) => e.event.type === "step.started" && e.event.stepId === "b"));
    w1.proc.kill("SIGTERM");
    expect((await w1.exited).code).toBe(0);
    expect((await q.store.getRun(r1))?.status).toBe("success");
    expect(callsOf(r1).every((c) => Number(c[0]) === w1.pid)).toBe(true);

    // Handed back: 200 ms of grace for a 2.5 s step.
    const w2 = await startWorker(redis.url, project.dir, [...FAST, "--grace", "200ms"]);
    const r2 = await q.enqueue(pipeline, { tag: "t2" });
    await until("step b to start", async () => (await q.events.read(r2)).some((e) => e.event.type === "step.started" && e.event.stepId === "b"));
    w2.proc.kill("SIGTERM");
    expect((await w2.exited).code).toBe(0);
    expect(w2.stderr()).toMatch(new RegExp(`run ${r2}: handed back to the queue`));
    expect((await q.store.getRun(r2))?.status).toBe("running");
    expect(await q.state(r2)).toMatchObject({ state: "waiting" });
    const w3 = await startWorker(redis.url, project.dir, FAST);
    const events = await finished(q, r2);
    expect(events.at(-1)).toMatchObject({ type: "run.finished", status: "success", output: { text: "t2!!!" } });
    expect(callsOf(r2).map((c) => [Number(c[0]), c[2]])).toEqual([
      [w2.pid, "a"],
      [w2.pid, "b"],
      [w3.pid, "b"],
      [w3.pid, "c"],
    ]);
    w3.proc.kill("SIGTERM");
    await w3.exited;
  });

  it("warns at start-up when Redis would lose jobs", async () => {
    const c = await connectRedis(redis.url);
    try {
      await c.config("SET", "appendonly", "no");
      await c.config("SET", "maxmemory-policy", "allkeys-lru");
      const w = await startWorker(redis.url, project.dir);
      await until("the warnings", () => /Redis (appendonly is off|has no persistence)/.test(w.stderr()) && /maxmemory-policy is 'allkeys-lru'/.test(w.stderr()), 10_000);
      w.proc.kill("SIGTERM");
      await w.exited;
    } finally {
      await c.config("SET", "appendonly", "yes");
      await c.config("SET", "maxmemory-policy", "noeviction");
      c.disconnect();
    }
  });
});
