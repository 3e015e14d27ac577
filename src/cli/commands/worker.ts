/** `mcp worker --queue URL [DIR]`: process queued runs (docs/scale-out.md). */
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { isRedisUrl, redact } from "../../store/redis-connection.js";
import { parseDuration } from "../../util/duration.js";
import { parse, positiveInt } from "../args.js";
import { EXIT_CODES } from "../exit-codes.js";
import { UsageError, writeLine, type CliIo } from "../io.js";

export const help = `Usage: mcp worker --queue URL [options] [DIR]

Takes queued runs off Redis (BullMQ) and runs them; start as many as you like, on any
number of machines, each with the same project files (DIR, default: the current folder).
Runs come from 'mcp run --queue URL' and 'mcp serve --queue URL'. The run journal,
conversations and cache live in the same Redis. docs/scale-out.md.

Options:
  --queue URL             redis://HOST:PORT  [default: MCP_QUEUE]
  --concurrency N         runs at once in this process  [default: 4]
  --item-concurrency N    chunks of large forEach steps at once  [default: --concurrency]
  --chunk-size N          items per chunk; a forEach with more items is split across
                          the workers  [default: 10]
  --no-fan-out            run every forEach inside its run's worker
  --lock-duration D       a worker silent this long is taken for dead and its runs go on
                          elsewhere from the journal  [default: 30s]
  --max-stalls N          a run whose worker died more times than this fails  [default: 2]
  --grace D               on SIGTERM, time for runs in progress to finish before they
                          are handed back to the queue  [default: 30s]
  --quiet                 log only warnings and errors
  -h, --help              show this help

Exit codes: 0 stopped by SIGTERM or Ctrl-C, 2 bad usage.`;

const OPTIONS = {
  queue: { type: "string" },
  concurrency: { type: "string" },
  "item-concurrency": { type: "string" },
  "chunk-size": { type: "string" },
  "no-fan-out": { type: "boolean" },
  "lock-duration": { type: "string" },
  "max-stalls": { type: "string" },
  grace: { type: "string" },
  quiet: { type: "boolean" },
} as const;

function duration(name: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const ms = parseDuration(v as string);
  if (ms === undefined || !Number.isFinite(ms) || ms <= 0) throw new UsageError(`--${name} must be a duration like 500ms, 30s or 2m; got '${String(v)}'`, "worker");
  return ms;
}

export async function workerCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse("worker", argv, OPTIONS);
  if (values.help) {
    writeLine(io.stdout, help);
    return EXIT_CODES.ok;
  }
  const url = (values.queue as string | undefined) ?? io.env.MCP_QUEUE;
  if (!url) throw new UsageError("give the queue: --queue redis://HOST:PORT (or MCP_QUEUE)", "worker");
  if (!isRedisUrl(url)) throw new UsageError(`--queue must be a redis:// or rediss:// URL; got '${url}'`, "worker");
  if (positionals.length > 1) throw new UsageError(`give one project folder, got ${positionals.length}`, "worker");
  const dir = resolve(io.cwd, positionals[0] ?? ".");
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`no such folder: ${dir}`, "worker");
  const concurrency = positiveInt("worker", "concurrency", values.concurrency as string | undefined);
  const itemConcurrency = positiveInt("worker", "item-concurrency", values["item-concurrency"] as string | undefined);
  const chunkSize = positiveInt("worker", "chunk-size", values["chunk-size"] as string | undefined);
  const maxStalls = values["max-stalls"] === undefined ? undefined : Number(values["max-stalls"]);
  if (maxStalls !== undefined && (!Number.isInteger(maxStalls) || maxStalls < 0)) throw new UsageError(`--max-stalls must be a whole number >= 0; got '${String(values["max-stalls"])}'`, "worker");
  const lockDurationMs = duration("lock-duration", values["lock-duration"]);
  const graceMs = duration("grace", values.grace);
  const quiet = !!values.quiet;

  const tag = `mcp worker[${process.pid}]`;
  const log = (level: "info" | "warn" | "error", message: string) => {
    if (quiet && level === "info") return;
    writeLine(io.stderr, `${tag}: ${level === "info" ? "" : `${level === "warn" ? "warning" : "error"}: `}${message}`);
  };

  const { RunWorker } = await import("../../queue/worker.js");
  const worker = await RunWorker.start(url, {
    dir,
    ...(concurrency ? { concurrency } : {}),
    ...(itemConcurrency ? { itemConcurrency } : {}),
    ...(chunkSize ? { chunkSize } : {}),
    ...(values["no-fan-out"] ? { fanOut: false } : {}),
    ...(lockDurationMs ? { lockDurationMs } : {}),
    ...(maxStalls !== undefined ? { maxStalls } : {}),
    ...(graceMs ? { graceMs } : {}),
    env: io.env,
    log,
  });
  log("info", `ready: ${concurrency ?? 4} run(s) at once, queue ${redact(url)}, project ${dir}`);

  await new Promise<void>((resolveStop) => {
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      signals++;
      if (signals > 1) process.exit(EXIT_CODES.interrupted);
      log("info", `${sig}: finishing ${worker.activeRuns} run(s) in progress (the rest are handed back after the grace time)`);
      // Closing talks to Redis (hand-backs, the last metrics, QUIT): with Redis down it would
      // wait for it forever. Past the grace time (none without runs) and 5 s more, stop anyway.
      const stuck = setTimeout(
        () => {
          log("error", `Redis at ${redact(url)} does not answer: stopping without it (a run still here goes back to the queue when its lock expires)`);
          process.exit(EXIT_CODES.interrupted);
        },
        (worker.activeRuns > 0 ? (graceMs ?? 30_000) : 0) + 5_000,
      );
      stuck.unref();
      void worker.close().then(() => {
        clearTimeout(stuck);
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
        resolveStop();
      });
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
  log("info", "stopped");
  return EXIT_CODES.ok;
}
