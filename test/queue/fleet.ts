/**
 * A fleet for tests: `mcp worker` child processes (the real binary) on a test Redis, a
 * project folder with a module model that logs every call to a file (so a test can count
 * calls across processes), a model endpoint that counts the calls in flight, a whole fleet
 * for the tests of limits held across workers, and helpers to wait for things.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:http";
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { loadPipelineChecked } from "../../src/compiler/load.js";
import type { CompiledPipeline } from "../../src/compiler/types.js";
import { RunQueue } from "../../src/queue/run-queue.js";
import { BIN } from "../helpers/cli.js";
import { tempProject, writeFiles } from "../helpers/project.js";

export interface WorkerProcess {
  proc: ChildProcess;
  pid: number;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started: ChildProcess[] = [];

/** Kills every worker still running (afterAll). */
export function killWorkers(): void {
  for (const p of started.splice(0)) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
}

/** Starts `mcp worker --queue URL DIR ...args` and resolves once it says it is ready. */
export async function startWorker(url: string, dir: string, args: string[] = []): Promise<WorkerProcess> {
  const proc = spawn(process.execPath, [BIN, "worker", "--queue", url, ...args, dir], { env: { ...process.env, NO_COLOR: "1", CI: "true" }, stdio: ["ignore", "ignore", "pipe"] });
  started.push(proc);
  let err = "";
  proc.stderr!.on("data", (d) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on("exit", (code, signal) => resolve({ code, signal })));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`worker did not get ready within 30s:\n${err}`)), 30_000);
    const check = () => {
      if (/ready:/.test(err)) {
        clearTimeout(t);
        resolve();
      }
    };
    proc.stderr!.on("data", check);
    void exited.then(({ code, signal }) => {
      clearTimeout(t);
      reject(new Error(`worker exited (${code ?? signal}) before it was ready:\n${err}`));
    });
  });
  return { proc, pid: proc.pid!, stderr: () => err, exited };
}

/** Polls `fn` until it returns a truthy value (or fails after `timeoutMs`, a bound that only catches hangs). */
export async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const LOGGED_MODEL = `
import { appendFileSync } from "node:fs";
// Logs every call as "pid runId stepId item" to options.log, then waits input.ms (abortable).
export default class Logged {
  capabilities = ["text-generation"];
  constructor(options = {}) { this.log = options.log; this.ms = options.ms ?? 50; }
  async process(input, ctx) {
    appendFileSync(this.log, process.pid + " " + (ctx && ctx.runId) + " " + (ctx && ctx.stepId) + " " + (input.item ?? "-") + "\\n");
    if (input.kill === true) process.kill(process.pid, "SIGKILL");
    const ms = input.ms ?? this.ms;
    await new Promise((resolve, reject) => {
      const t = setTimeout(resolve, ms);
      ctx?.signal?.addEventListener("abort", () => { clearTimeout(t); reject(ctx.signal.reason); }, { once: true });
    });
    return { text: String(input.prompt ?? input.item ?? "") + "!" };
  }
}
`;

/** A project whose mcp.yaml has the logging model `logged` (calls logged to `log`) and the given pipelines. */
export function fleetProject(pipelines: Record<string, string>, extraModels = ""): { dir: string; log: string; calls(): string[][] } {
  const dir = tempProject({ "models/logged.mjs": LOGGED_MODEL }, "mcp-fleet-");
  const log = join(dir, "calls.log");
  const files: Record<string, string> = {
    "mcp.yaml": `version: 1
models:
  logged:
    provider: module
    module: ./models/logged.mjs
    capabilities: [text-generation]
    options: { log: ${JSON.stringify(log)}, ms: 50 }
${extraModels}`,
  };
  for (const [name, text] of Object.entries(pipelines)) files[`pipelines/${name}.yaml`] = text;
  writeFiles(dir, files);
  return {
    dir,
    log,
    calls: () =>
      existsSync(log)
        ? readFileSync(log, "utf8")
            .trim()
            .split("\n")
            .filter(Boolean)
            .map((l) => l.split(" "))
        : [],
  };
}

/**
 * A model endpoint on 127.0.0.1 (for the http provider) that counts the calls in flight at
 * once; each answers after `ms` with `reply(input)` (default: the input's item and "!").
 */
export async function countingEndpoint(
  ms: number,
  reply: (input: { item?: unknown }) => string = (input) => `${String(input.item)}!`,
): Promise<{ url: string; maxInFlight: () => number; calls: () => number; close: () => Promise<void> }> {
  let inFlight = 0;
  let max = 0;
  let calls = 0;
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      calls++;
      inFlight++;
      max = Math.max(max, inFlight);
      setTimeout(() => {
        inFlight--;
        const input = JSON.parse(body || "{}") as { item?: unknown };
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ text: reply(input), usage: { inputTokens: 10, outputTokens: 10 } }));
      }, ms);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${addr.port}/call`,
    maxInFlight: () => max,
    calls: () => calls,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** A countingEndpoint(). */
export type CountingEndpoint = Awaited<ReturnType<typeof countingEndpoint>>;

/**
 * The pipeline of the limit tests: its step `each` calls `model` once per item of
 * `$input.items`, with `step` keys (e.g. " concurrency: 3,") in the step and `pipeline`
 * keys (lines, e.g. "budget: { maxTokens: 100 }\n") before `inputs`.
 */
export function forEachPipeline(name: string, model: string, keys: { pipeline?: string; step?: string } = {}): string {
  return `version: 1
name: ${name}
${keys.pipeline ?? ""}inputs: { type: object, properties: { items: { type: array } } }
steps:
  each: { model: ${model}, forEach: "$input.items",${keys.step ?? ""} input: { item: "\${{ $item }}" } }
output: { results: "\${{ $steps.each.output.text }}" }
`;
}

/** The mcp.yaml entry of model `counted`, calling the endpoint at `url`, with `extra` lines. */
export function countedModel(url: string, extra = ""): string {
  return `  counted:
    provider: http
    url: ${url}
    capabilities: [text-generation]
${extra}`;
}

/** A fleet for a test of limits across workers (limitFleet()). */
export interface LimitFleet {
  /** The endpoint the models call: it counts calls, and calls at once. */
  endpoint: CountingEndpoint;
  workers: WorkerProcess[];
  /** A producer on the fleet's Redis. */
  queue: RunQueue;
  /** The pipeline, loaded from the project folder. */
  pipeline: CompiledPipeline;
  /** How many chunks of step `each` each worker took (from its log lines). */
  chunkCounts(): number[];
  /** SIGTERM to every worker; resolves once they have exited. */
  stop(): Promise<void>;
}

/** Endpoints and queues that limitFleet() opened, closed by closeLimitFleets(). */
const opened: { endpoints: CountingEndpoint[]; queues: RunQueue[] } = { endpoints: [], queues: [] };

/**
 * A counting endpoint answering after `ms`; a project with the pipeline `name` (text
 * `pipeline`) and the models `models(url)` calling that endpoint; `workers` (default 3)
 * `mcp worker` processes started with `args`; and a queue producer.
 */
export async function limitFleet(redisUrl: string, o: { ms: number; name: string; pipeline: string; models: (url: string) => string; args: string[]; workers?: number }): Promise<LimitFleet> {
  const endpoint = await countingEndpoint(o.ms);
  opened.endpoints.push(endpoint);
  const project = fleetProject({ [o.name]: o.pipeline }, o.models(endpoint.url));
  const workers = await Promise.all(Array.from({ length: o.workers ?? 3 }, () => startWorker(redisUrl, project.dir, o.args)));
  const queue = await RunQueue.open(redisUrl);
  opened.queues.push(queue);
  const pipeline = (await loadPipelineChecked(join(project.dir, `pipelines/${o.name}.yaml`))).pipeline!;
  return {
    endpoint,
    workers,
    queue,
    pipeline,
    chunkCounts: () => workers.map((w) => (w.stderr().match(/items \d+-\d+ of step 'each'/g) ?? []).length),
    stop: async () => {
      for (const w of workers) w.proc.kill("SIGTERM");
      await Promise.all(workers.map((w) => w.exited));
    },
  };
}

/** Closes the queues of every limitFleet() and its endpoints (afterAll, after killWorkers()). */
export async function closeLimitFleets(): Promise<void> {
  for (const q of opened.queues.splice(0)) await q.close();
  for (const e of opened.endpoints.splice(0)) void e.close();
}
