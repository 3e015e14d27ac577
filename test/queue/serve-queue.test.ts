import { spawn } from "node:child_process";
import { createServer as createHttpServer } from "node:http";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { RunQueue } from "../../src/queue/run-queue.js";
import { BIN } from "../helpers/cli.js";
import { startRedis } from "../helpers/redis.js";
import { countingEndpoint, fleetProject, killWorkers, startWorker, until } from "./fleet.js";

const redis = await startRedis();
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  killWorkers();
  for (const c of cleanups) await c();
});

const project = fleetProject({
  three: `version: 1
name: three
inputs: { type: object, required: [text], properties: { text: { type: string } } }
steps:
  a: { model: logged, input: { prompt: "\${{ $input.text }}" } }
  b: { model: logged, input: { prompt: "\${{ $steps.a.output.text }}", ms: 300 } }
  c: { model: logged, input: { prompt: "\${{ $steps.b.output.text }}" } }
output: { text: "\${{ $steps.c.output.text }}" }
`,
});

/** `mcp serve --queue URL` on a free port, serving DIR/pipelines; resolves with its base URL. */
async function startServer(dir = project.dir): Promise<string> {
  const proc = spawn(process.execPath, [BIN, "serve", "--queue", redis.url, "--port", "0", "--log-level", "silent", `${dir}/pipelines`], {
    env: { ...process.env, NO_COLOR: "1", CI: "true" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  cleanups.push(() => void proc.kill("SIGKILL"));
  let err = "";
  proc.stderr.on("data", (d) => (err += d));
  return until("the server to listen", () => /listening on (http:\/\/\S+)/.exec(err)?.[1], 30_000).catch((e: Error) => {
    throw new Error(`${e.message}\n${err}`);
  });
}

interface SseEvent {
  id: number;
  type: string;
  data: { type: string; status?: string; output?: unknown };
}

async function sse(url: string, headers: Record<string, string> = {}): Promise<SseEvent[]> {
  const res = await fetch(url, { headers: { accept: "text/event-stream", ...headers } });
  expect(res.status).toBe(200);
  const text = await res.text();
  return text
    .split("\n\n")
    .filter((b) => b.includes("data: "))
    .map((block) => {
      const field = (name: string) =>
        block
          .split("\n")
          .find((l) => l.startsWith(`${name}: `))
          ?.slice(name.length + 2);
      return { id: Number(field("id")), type: field("event")!, data: JSON.parse(field("data")!) as SseEvent["data"] };
    });
}

async function post(base: string, text: string): Promise<string> {
  const res = await fetch(`${base}/v1/pipelines/three/runs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ input: { text } }) });
  expect(res.status).toBe(202);
  return ((await res.json()) as { runId: string }).runId;
}

describe("mcp serve --queue", () => {
  it("runs a run posted over HTTP on a worker and streams its events over SSE, resumable with Last-Event-ID", async () => {
    const [base, worker] = await Promise.all([startServer(), startWorker(redis.url, project.dir)]);
    const runId = await post(base, "web");
    const events = await sse(`${base}/v1/runs/${runId}/events`);
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
    expect(events.at(-1)?.data).toMatchObject({ type: "run.finished", status: "success", output: { text: "web!!!" } });
    const again = await sse(`${base}/v1/runs/${runId}/events`, { "last-event-id": "3" });
    expect(again.map((e) => e.id)).toEqual(events.slice(3).map((e) => e.id));
    const run = (await (await fetch(`${base}/v1/runs/${runId}`)).json()) as { status: string; output: unknown };
    expect(run).toMatchObject({ status: "success", output: { text: "web!!!" } });
    expect(
      project
        .calls()
        .filter((c) => c[1] === runId)
        .map((c) => Number(c[0])),
    ).toEqual([worker.pid, worker.pid, worker.pid]);
    worker.proc.kill("SIGTERM");
    await worker.exited;
  });

  // The "done when": Redis, two workers and a server; 100 runs posted over HTTP; one
  // worker killed with kill -9 in the middle; all 100 finish with the right output, and no
  // step that had finished runs again (the journal and the calls log show it).
  it("finishes every one of 100 runs posted over HTTP when one of two workers is SIGKILLed midway, no finished step run twice", { timeout: 300_000 }, async () => {
    const RUNS = 100;
    const args = ["--lock-duration", "1s", "--concurrency", "3"];
    const [base, w1, w2] = await Promise.all([startServer(), startWorker(redis.url, project.dir, args), startWorker(redis.url, project.dir, args)]);
    const ids: string[] = [];
    for (let i = 0; i < RUNS; i++) ids.push(await post(base, `n${i}`));
    const ours = () => project.calls().filter((c) => ids.includes(c[1]!));
    // In the middle: once half of the 300 steps have started.
    await until("half of the steps to start", () => ours().length >= (RUNS * 3) / 2, 120_000);
    const victim = ours().some((c) => Number(c[0]) === w1.pid) ? w1 : w2;
    victim.proc.kill("SIGKILL");
    const q = await RunQueue.open(redis.url);
    cleanups.push(() => q.close());
    let repeated = 0;
    let takenOver = 0;
    for (const [i, id] of ids.entries()) {
      const res = await fetch(`${base}/v1/runs/${id}/events`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain("event: run.finished");
      const run = (await (await fetch(`${base}/v1/runs/${id}`)).json()) as { status: string; output: unknown };
      expect(run, `run ${i}`).toMatchObject({ status: "success", output: { text: `n${i}!!!` } });
      const stored = await q.store.getRun(id);
      expect(stored, `run ${i}`).toMatchObject({ status: "success" });
      const steps = await q.store.getSteps(id);
      expect(Object.keys(steps).sort()).toEqual(["a", "b", "c"]);
      const calls = project.calls().filter((c) => c[1] === id);
      for (const step of ["a", "b", "c"]) {
        const tries = calls.filter((c) => c[2] === step);
        expect(tries.length, `run ${i} step ${step}`).toBeGreaterThanOrEqual(1);
        // A step runs again only if it was in flight (or finished, not yet journalled) on the killed worker.
        if (tries.length > 1) {
          repeated += tries.length - 1;
          expect(tries.slice(0, -1).every((c) => Number(c[0]) === victim.pid)).toBe(true);
        }
        // The journal: a step the new worker took from it (resumed) ran once, on the killed worker.
        if (stored?.report?.steps[step]?.resumed) {
          expect(
            tries.map((c) => Number(c[0])),
            `run ${i} step ${step}`,
          ).toEqual([victim.pid]);
        }
      }
      if ((stored?.attempts ?? 1) > 1) takenOver++;
    }
    // The killed worker had at most 3 runs (--concurrency 3), each with one step in flight.
    expect(repeated).toBeLessThanOrEqual(3);
    expect(takenOver).toBeGreaterThanOrEqual(1);
    expect(takenOver).toBeLessThanOrEqual(3);
    const survivor = victim === w1 ? w2 : w1;
    survivor.proc.kill("SIGTERM");
    await survivor.exited;
  });

  it("shows the runs the workers ran in the server's /metrics (the workers publish theirs to Redis)", async () => {
    const [base, w1, w2] = await Promise.all([startServer(), startWorker(redis.url, project.dir), startWorker(redis.url, project.dir)]);
    const value = async (series: string): Promise<number> => {
      const text = await (await fetch(`${base}/metrics`)).text();
      const line = text.split("\n").find((l) => l.startsWith(`${series} `));
      return line ? Number(line.slice(series.length + 1)) : 0;
    };
    const runs = 'mcp_runs_total{pipeline="three",status="success"}';
    const steps = 'mcp_steps_total{pipeline="three",status="success"}';
    const [runsBefore, stepsBefore] = [await value(runs), await value(steps)];
    const ids = [await post(base, "m1"), await post(base, "m2"), await post(base, "m3")];
    for (const id of ids) await (await fetch(`${base}/v1/runs/${id}/events`)).text();
    // The server ran none of them: every count below comes from the workers' published metrics.
    await until("the workers' metrics to reach the server", async () => (await value(runs)) >= runsBefore + 3, 30_000);
    expect(await value(runs)).toBe(runsBefore + 3);
    await until("the steps to be counted", async () => (await value(steps)) >= stepsBefore + 9, 30_000);
    expect(await value(steps)).toBe(stepsBefore + 9);
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/mcp_model_call_duration_seconds_count\{model="logged",outcome="success"\} [1-9]/);
    expect(text).toMatch(/mcp_http_requests_total\{method="POST",route="\/v1\/pipelines\/:name\/runs",status="202"\} [1-9]/);
    expect(text).not.toContain(ids[0]!);
    for (const w of [w1, w2]) w.proc.kill("SIGTERM");
    await Promise.all([w1.exited, w2.exited]);
  });

  it("shows the workers' deployments (calls in flight, breakers) in GET /v1/deployments and the per-deployment gauges of /metrics", async () => {
    // A model endpoint that holds each call until the test lets the calls go.
    const held: (() => void)[] = [];
    const endpoint = createHttpServer((req, res) => {
      req.resume();
      req.on("end", () =>
        held.push(() => {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ text: "ok" }));
        }),
      );
    });
    await new Promise<void>((r) => endpoint.listen(0, "127.0.0.1", r));
    cleanups.push(() => new Promise<void>((r) => endpoint.close(() => r())));
    const gwProject = fleetProject(
      {
        held: `version: 1
name: held
steps:
  a: { model: gw, input: { prompt: "x" } }
`,
      },
      `  gw:
    provider: http
    capabilities: [text-generation]
    deployments:
      - { name: only, url: "http://127.0.0.1:${(endpoint.address() as { port: number }).port}/call" }
`,
    );
    const base = await startServer(gwProject.dir);
    // One run at a time per worker: each of the two takes one of the two runs.
    const [w1, w2] = await Promise.all([startWorker(redis.url, gwProject.dir, ["--concurrency", "1"]), startWorker(redis.url, gwProject.dir, ["--concurrency", "1"])]);
    const post = async () => {
      const res = await fetch(`${base}/v1/pipelines/held/runs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ input: {} }) });
      expect(res.status).toBe(202);
      return ((await res.json()) as { runId: string }).runId;
    };
    const ids = [await post(), await post()];
    await until("both calls to reach the endpoint", () => held.length === 2, 30_000);
    type Dep = { name: string; inFlight: number; calls: number; state: string; breakers?: Record<string, number> };
    const only = async () => ((await (await fetch(`${base}/v1/deployments`)).json()) as { data: { model: string; deployments: Dep[] }[] }).data.find((g) => g.model === "gw")?.deployments[0];
    // The server made no call itself: both are the workers' (published every few seconds).
    const seen = await until("the workers' calls in flight at the server", async () => ((await only())?.inFlight === 2 ? await only() : undefined), 30_000);
    expect(seen).toMatchObject({ name: "only", inFlight: 2, calls: 2, state: "closed", breakers: { closed: 2 } });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('mcp_deployment_in_flight{model="gw",deployment="only"} 2');
    expect(metrics).toContain('mcp_deployment_up{model="gw",deployment="only"} 1');
    for (const go of held.splice(0)) go();
    for (const id of ids) await (await fetch(`${base}/v1/runs/${id}/events`)).text();
    await until("the calls to end at the server", async () => (await only())?.inFlight === 0, 30_000);
    expect(await only()).toMatchObject({ inFlight: 0, calls: 2 });
    for (const w of [w1, w2]) w.proc.kill("SIGTERM");
    await Promise.all([w1.exited, w2.exited]);
  });

  it("counts the server's own chat completions with the workers' calls in a model's fleet-wide concurrency", async () => {
    const endpoint = await countingEndpoint(100, () => "ok");
    cleanups.push(endpoint.close);
    const limited = fleetProject(
      {
        one: `version: 1
name: one
steps:
  a: { model: counted, input: { prompt: "x" } }
output: { text: "\${{ $steps.a.output.text }}" }
`,
      },
      `  counted:
    provider: http
    url: "${endpoint.url}"
    capabilities: [text-generation]
    concurrency: 1
`,
    );
    const base = await startServer(limited.dir);
    const worker = await startWorker(redis.url, limited.dir, ["--concurrency", "4"]);
    // Runs on the worker and chat completions in the server, all at once: one call in flight
    // in the whole fleet (per process it would be one in each: 2).
    const run = async () => {
      const res = await fetch(`${base}/v1/pipelines/one/runs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ input: {}, wait: true }) });
      return { status: res.status, body: (await res.json()) as { status?: string; output?: unknown } };
    };
    const chat = async () => {
      const res = await fetch(`${base}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "counted", messages: [{ role: "user", content: "hi" }] }),
      });
      return { status: res.status, body: (await res.json()) as { choices?: { message: { content: string } }[] } };
    };
    const results = await Promise.all([run(), chat(), run(), chat(), run(), chat()]);
    for (const r of results) expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(results.filter((_, i) => i % 2 === 1).map((r) => (r.body as { choices: { message: { content: string } }[] }).choices[0]!.message.content)).toEqual(["ok", "ok", "ok"]);
    expect(endpoint.maxInFlight()).toBe(1);
    worker.proc.kill("SIGTERM");
    await worker.exited;
  });

  it("with store: { redact: true }, answers wait: true with the output while Redis keeps only digests in the journal and events", async () => {
    const secret = fleetProject({
      secret: `version: 1
name: secret
inputs: { type: object, required: [text], properties: { text: { type: string } } }
steps:
  a: { model: logged, input: { prompt: "\${{ $input.text }}" } }
output: { text: "\${{ $steps.a.output.text }}" }
`,
    });
    const yaml = readFileSync(join(secret.dir, "mcp.yaml"), "utf8");
    writeFileSync(join(secret.dir, "mcp.yaml"), `${yaml}store: { redact: true }\n`);
    const base = await startServer(secret.dir);
    const worker = await startWorker(redis.url, secret.dir);
    const res = await fetch(`${base}/v1/pipelines/secret/runs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ input: { text: "SECRET-WORDS" }, wait: true }),
    });
    const body = (await res.json()) as { runId: string; status: string; output: unknown };
    expect(body).toMatchObject({ status: "success", output: { text: "SECRET-WORDS!" } });
    const q = await RunQueue.open(redis.url);
    cleanups.push(() => q.close());
    const stored = (await q.store.getRun(body.runId))!;
    expect(JSON.stringify(stored)).not.toContain("SECRET");
    expect(JSON.stringify(await q.store.getSteps(body.runId))).not.toContain("SECRET");
    expect(JSON.stringify(await q.events.read(body.runId))).not.toContain("SECRET");
    expect(JSON.stringify(stored.output)).toContain("sha256:");
    worker.proc.kill("SIGTERM");
    await worker.exited;
  });
});
