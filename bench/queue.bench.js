// Scale-out benchmark: mcp worker processes on a local redis-server (docs/scale-out.md).
//
//   npm run bench            (all suites)      node bench/queue.bench.js   (this one; needs a build)
//
// Measured in one run, on this machine:
// - throughput: runs per second of a 3-step sequential pipeline (mock model, 50 ms per step)
//   with 1, 2 and 4 worker processes (each --concurrency 8), 160 runs enqueued at once;
// - makespan of one run with a 400-item forEach (50 ms per item) on 1 and 4 workers; items go
//   to the workers as chunk jobs of 1 item, each worker running 4 at a time
//   (--chunk-size 1 --item-concurrency 4), so 1 worker needs 100 rounds of 50 ms;
// - peak memory (VmHWM) of each worker process;
// - Redis commands per run and per step (INFO commandstats, whole server, minus the bench's
//   own polling; the workers' idle polling during the phase is included; commands inside Lua
//   scripts count), the same per step by command with 1 worker, and round trips per step
//   (INFO stats total_reads_processed: a pipeline sent in one write is one).
// Each phase starts with warm workers, as in a fleet that is running: the workers are first
// given a few runs of the same pipeline (not timed, not counted), so a worker's first job
// (lazy imports, the pipeline's compile: a once-per-worker cost) is not in the figure.
// Ratios are against 1 worker in the same run. redis-server missing: the suite says so, skips.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(root, "bin", "mcp.js");
const { RunQueue } = await import(join(root, "dist", "queue", "run-queue.js"));
const { loadPipelineChecked } = await import(join(root, "dist", "compiler", "load.js"));
const { connectRedis } = await import(join(root, "dist", "store", "redis-connection.js"));

const which = spawnSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" });
if (which.status !== 0) {
  console.log("skipped: redis-server is not installed (apt-get install -y redis-server)");
  process.exit(0);
}

const work = mkdtempSync(join(tmpdir(), "mcp-queue-bench-"));
const port = await new Promise((resolve) => {
  const s = createServer();
  s.listen(0, "127.0.0.1", () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const redisProc = spawn(
  which.stdout.trim(),
  ["--port", String(port), "--bind", "127.0.0.1", "--dir", work, "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--maxmemory-policy", "noeviction"],
  { stdio: ["ignore", "pipe", "pipe"] },
);
await new Promise((resolve, reject) => {
  let out = "";
  redisProc.stdout.on("data", (d) => {
    out += d;
    if (/Ready to accept connections/.test(out)) resolve();
  });
  redisProc.on("exit", () => reject(new Error(`redis-server exited:\n${out}`)));
});
const url = `redis://127.0.0.1:${port}`;

const project = join(work, "project");
mkdirSync(join(project, "pipelines"), { recursive: true });
writeFileSync(
  join(project, "mcp.yaml"),
  `version: 1
models:
  fake:
    provider: mock
    capabilities: [text-generation]
    options: { reply: { text: "ok" }, latency: 50ms, usage: { inputTokens: 5, outputTokens: 5 } }
`,
);
writeFileSync(
  join(project, "pipelines", "three.yaml"),
  `version: 1
name: three
steps:
  a: { model: fake, input: { prompt: "a" } }
  b: { model: fake, input: { prompt: "\${{ $steps.a.output.text }}" } }
  c: { model: fake, input: { prompt: "\${{ $steps.b.output.text }}" } }
`,
);
writeFileSync(
  join(project, "pipelines", "wide.yaml"),
  `version: 1
name: wide
inputs: { type: object, properties: { n: { type: integer } } }
steps:
  each: { model: fake, forEach: "[1..$input.n]", input: { prompt: "\${{ $string($item) }}" } }
output: { count: "\${{ $count($steps.each.output) }}" }
`,
);

const queue = await RunQueue.open(url);
const admin = await connectRedis(url);
const three = (await loadPipelineChecked(join(project, "pipelines", "three.yaml"))).pipeline;
const wide = (await loadPipelineChecked(join(project, "pipelines", "wide.yaml"))).pipeline;

async function commands() {
  const info = await admin.info("commandstats");
  let n = 0;
  for (const m of info.matchAll(/calls=(\d+)/g)) n += Number(m[1]);
  return n;
}

/** Calls per command (INFO commandstats; commands inside Lua scripts count too). */
async function commandCounts() {
  const info = await admin.info("commandstats");
  const out = {};
  for (const m of info.matchAll(/cmdstat_([^:]+):calls=(\d+)/g)) out[m[1]] = Number(m[2]);
  return out;
}

/** Read events Redis handled (INFO stats total_reads_processed): the clients' round trips, a pipeline being one. */
async function reads() {
  const info = await admin.info("stats");
  return Number(/total_reads_processed:(\d+)/.exec(info)?.[1] ?? NaN);
}

async function startWorkers(n, args) {
  const workers = [];
  for (let i = 0; i < n; i++) {
    const proc = spawn(process.execPath, [BIN, "worker", "--queue", url, "--quiet", ...args, project], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    proc.stderr.on("data", (d) => (err += d));
    workers.push({ proc, err: () => err });
  }
  // Ready when each has connected: a worker logs nothing with --quiet, so wait for its BullMQ clients.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const clients = (await admin.client("LIST")).split("\n").filter((l) => l.includes("name=mcp-worker")).length;
    if (clients >= n) break;
    if (Date.now() > deadline) throw new Error(`workers did not connect: ${workers.map((w) => w.err()).join("\n")}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 500));
  return workers;
}

function peakKb(pid) {
  try {
    return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

async function stopWorkers(workers) {
  const peaks = workers.map((w) => peakKb(w.proc.pid));
  await Promise.all(workers.map((w) => new Promise((r) => (w.proc.on("exit", r), w.proc.kill("SIGTERM")))));
  return peaks;
}

// One idle poll's command cost, to subtract the bench's own polling.
const before = await commands();
await queue.counts();
const pollCost = (await commands()) - before - 1; // the INFO itself counts once

/** Untimed warm-up: `count` runs of `pipeline` on the workers just started. */
async function warmUp(pipeline, input, count) {
  for (let i = 0; i < count; i++) await queue.enqueue(pipeline, input);
  completed += count;
  await waitCompleted(completed, performance.now());
}

async function waitCompleted(target, t0) {
  let polls = 0;
  for (;;) {
    const c = await queue.counts();
    polls++;
    if (c.completed + c.failed >= target) return { ms: performance.now() - t0, polls };
    await new Promise((r) => setTimeout(r, 50));
  }
}

const RUNS = 160;
const results = [];
let breakdown = [];
let completed = 0;
for (const n of [1, 2, 4]) {
  const workers = await startWorkers(n, ["--concurrency", "8"]);
  await warmUp(three, {}, 4 * n);
  const c0 = await commands();
  const by0 = n === 1 ? await commandCounts() : undefined;
  const r0 = await reads();
  const t0 = performance.now();
  for (let i = 0; i < RUNS; i++) await queue.enqueue(three, {});
  completed += RUNS;
  const { ms, polls } = await waitCompleted(completed, t0);
  const cmds = (await commands()) - c0 - polls * pollCost - 1;
  const rts = (await reads()) - r0 - polls - 2;
  if (by0) {
    const by1 = await commandCounts();
    breakdown = Object.entries(by1)
      .map(([name, calls]) => [name, (calls - (by0[name] ?? 0)) / (RUNS * 3)])
      .filter(([, v]) => v > 0)
      .sort((a, b) => b[1] - a[1]);
  }
  const peaks = await stopWorkers(workers);
  results.push({ workers: n, runsPerSec: (RUNS / ms) * 1000, ms, cmdsPerRun: cmds / RUNS, cmdsPerStep: cmds / (RUNS * 3), readsPerStep: rts / (RUNS * 3), peakMb: Math.max(...peaks) / 1024 });
}

console.log(`throughput: ${RUNS} runs of a 3-step pipeline (mock, 50 ms/step), workers --concurrency 8`);
console.log("  workers  runs/s   vs 1   time     redis cmds/run  cmds/step  round trips/step  peak RSS/worker");
for (const r of results) {
  console.log(
    `  ${String(r.workers).padEnd(7)}  ${r.runsPerSec.toFixed(1).padStart(6)}  ${(r.runsPerSec / results[0].runsPerSec).toFixed(2).padStart(5)}x  ${(r.ms / 1000).toFixed(2).padStart(5)}s   ${r.cmdsPerRun.toFixed(1).padStart(14)}  ${r.cmdsPerStep.toFixed(1).padStart(9)}  ${r.readsPerStep.toFixed(1).padStart(16)}  ${r.peakMb.toFixed(0).padStart(6)} MB`,
  );
}

const scaling = results[2].runsPerSec / results[0].runsPerSec;
console.log(`  target: 4 workers >= 3.5x 1 worker: ${scaling >= 3.5 ? "met" : "NOT met"} (${scaling.toFixed(2)}x)`);
console.log(`  per step with 1 worker, by command (inside Lua scripts too; the bench's polling included): ${breakdown.map(([name, v]) => `${name} ${v.toFixed(2)}`).join(", ")}`);

const ITEMS = 400;
const fan = [];
for (const n of [1, 4]) {
  const workers = await startWorkers(n, ["--concurrency", "2", "--item-concurrency", "4", "--chunk-size", "1"]);
  await warmUp(wide, { n: 16 }, n);
  const c0 = await commands();
  const t0 = performance.now();
  const runId = await queue.enqueue(wide, { n: ITEMS });
  completed += 1;
  const { ms, polls } = await waitCompleted(completed, t0);
  const cmds = (await commands()) - c0 - polls * pollCost - 1;
  const run = await queue.store.getRun(runId);
  const peaks = await stopWorkers(workers);
  if (run?.status !== "success" || run.output?.count !== ITEMS) throw new Error(`the forEach run did not succeed: ${JSON.stringify(run?.error ?? run?.status)}`);
  fan.push({ workers: n, ms, cmdsPerItem: cmds / ITEMS, peakMb: Math.max(...peaks) / 1024 });
}
console.log(`\nmakespan: one run, forEach over ${ITEMS} items (mock, 50 ms/item), chunks of 1 item, 4 items at a time per worker`);
console.log("  workers  makespan  speed-up  ideal   redis cmds/item  peak RSS/worker");
const ideal1 = (ITEMS / 4) * 50;
for (const f of fan) {
  console.log(
    `  ${String(f.workers).padEnd(7)}  ${(f.ms / 1000).toFixed(2).padStart(7)}s  ${(fan[0].ms / f.ms).toFixed(2).padStart(7)}x  ${(ideal1 / f.workers / 1000).toFixed(2)}s  ${f.cmdsPerItem.toFixed(1).padStart(15)}  ${f.peakMb.toFixed(0).padStart(6)} MB`,
  );
}
const speedup = fan[0].ms / fan[1].ms;
console.log(`  target: 4 workers >= 3.5x 1 worker: ${speedup >= 3.5 ? "met" : "NOT met"} (${speedup.toFixed(2)}x)`);

await queue.close();
admin.disconnect();
redisProc.kill("SIGTERM");
await new Promise((r) => redisProc.on("exit", r));
rmSync(work, { recursive: true, force: true });
