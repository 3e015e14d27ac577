/**
 * mcp.yaml `alerts:` from `mcp worker`: each alert is sent once by the fleet (claimed in
 * Redis), not once per worker. A real webhook receiver on 127.0.0.1, real worker processes,
 * a real redis-server.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadPipelineChecked } from "../../src/compiler/load.js";
import { RunQueue } from "../../src/queue/run-queue.js";
import { startRedis } from "../helpers/redis.js";
import { fleetProject, killWorkers, startWorker, until } from "./fleet.js";

const redis = await startRedis();
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  killWorkers();
  for (const c of cleanups) await c();
});

async function receiver(): Promise<{ url: string; bodies: Record<string, unknown>[] }> {
  const bodies: Record<string, unknown>[] = [];
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      bodies.push(JSON.parse(body) as Record<string, unknown>);
      res.end("ok");
    });
  });
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`, bodies };
}

/** A port where nothing listens (a deployment that refuses connections). */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function withAlerts(dir: string, yaml: string): void {
  writeFileSync(join(dir, "mcp.yaml"), `${readFileSync(join(dir, "mcp.yaml"), "utf8")}${yaml}`);
}

async function finished(q: RunQueue, runId: string): Promise<{ type: string; status?: string }[]> {
  const events: { type: string; status?: string }[] = [];
  for await (const e of q.follow(runId)) events.push(e.event);
  return events;
}

describe("mcp worker and the alert webhook", { timeout: 120_000 }, () => {
  it("sends a run's budget alert once, also when another worker takes the run over after a kill -9", async () => {
    const hook = await receiver();
    const project = fleetProject({
      spend: `version: 1
name: spend
budget: { maxTokens: 1000000 }
steps:
  a: { model: logged, input: { prompt: "first" } }
  b: { model: logged, input: { prompt: "\${{ $steps.a.output.text }}", ms: 2500 } }
  c: { model: logged, input: { prompt: "\${{ $steps.b.output.text }}" } }
`,
    });
    withAlerts(project.dir, `alerts:\n  webhook: "${hook.url}"\n  budgetThreshold: 0.000001\n`);
    const fast = ["--lock-duration", "1s"];
    const q = await RunQueue.open(redis.url);
    cleanups.push(() => q.close());
    const pipeline = (await loadPipelineChecked(join(project.dir, "pipelines/spend.yaml"))).pipeline!;
    const w1 = await startWorker(redis.url, project.dir, fast);
    const runId = await q.enqueue(pipeline, {});
    // Step a's spend passes the threshold: w1 sends the alert while b runs; then it dies.
    await until("the budget alert", () => hook.bodies.length >= 1);
    await until("step b to start", async () => (await q.events.read(runId)).some((e) => e.event.type === "step.started" && e.event.stepId === "b"));
    w1.proc.kill("SIGKILL");
    const w2 = await startWorker(redis.url, project.dir, fast);
    const events = await finished(q, runId);
    expect(events.at(-1)).toMatchObject({ type: "run.finished", status: "success" });
    // w2 replayed a (its spend from the journal) and ran b and c: past the threshold again, not sent again.
    expect(w2.stderr()).toMatch(/taken over \(attempt 2\)/);
    w2.proc.kill("SIGTERM");
    expect((await w2.exited).code).toBe(0);
    expect(hook.bodies).toHaveLength(1);
    expect(hook.bodies[0]).toMatchObject({ alert: "budget", runId, pipeline: "spend", budget: { maxTokens: 1000000 } });
  });

  it("sends a deployment's breaker-open alert once for the fleet, though each worker's breaker opened", async () => {
    const hook = await receiver();
    const port = await deadPort();
    const project = fleetProject(
      {
        down: `version: 1
name: down
steps:
  a: { model: gw, input: { prompt: "x" }, retry: { attempts: 1 } }
`,
      },
      `  gw:
    provider: http
    capabilities: [text-generation]
    breaker: { failures: 1 }
    deployments:
      - { name: dead, url: "http://127.0.0.1:${port}/call" }
`,
    );
    withAlerts(project.dir, `alerts:\n  webhook: "${hook.url}"\n`);
    const q = await RunQueue.open(redis.url);
    cleanups.push(() => q.close());
    const pipeline = (await loadPipelineChecked(join(project.dir, "pipelines/down.yaml"))).pipeline!;
    // One run on each of two worker processes, one after the other: both breakers open.
    for (let i = 0; i < 2; i++) {
      const w = await startWorker(redis.url, project.dir);
      const runId = await q.enqueue(pipeline, {});
      const events = await finished(q, runId);
      expect(events.at(-1)).toMatchObject({ type: "run.finished", status: "failed" });
      expect(events.filter((e) => e.type === "model.breaker" && (e as { state?: string }).state === "open")).toHaveLength(1);
      w.proc.kill("SIGTERM");
      expect((await w.exited).code).toBe(0);
    }
    expect(hook.bodies).toHaveLength(1);
    expect(hook.bodies[0]).toMatchObject({ alert: "breaker-open", model: "gw", deployment: "dead" });
  });
});
