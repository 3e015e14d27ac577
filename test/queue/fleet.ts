/**
 * A fleet for tests: `mcp worker` child processes (the real binary) on a test Redis, a
 * project folder with a module model that logs every call to a file (so a test can count
 * calls across processes), and helpers to wait for things.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:http";
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
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
