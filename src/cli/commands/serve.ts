/**
 * `mcp serve [DIR]`: the HTTP server over the pipelines of DIR (hot-reloaded), with the runs
 * API, resumable event streams, the OpenAI-compatible endpoint and JSON-RPC. docs/server.md.
 */
import type { MetricsSnapshot } from "../../server/metrics.js";
import type { GatewayStatus } from "../../registry/gateway-model.js";
import type { RunService } from "../../orchestrator/run-service.js";
import type { RunQueue } from "../../queue/run-queue.js";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { ServerSettingsError } from "../../server/settings.js";
import { parse } from "../args.js";
import { EXIT_CODES } from "../exit-codes.js";
import { printDiagnostics, UsageError, writeLine, type CliIo } from "../io.js";
import { plural } from "../reporters/format.js";
import type { Diagnostic } from "../../diagnostics/diagnostic.js";
import type { SourceMap } from "../../diagnostics/source.js";

export const help = `Usage: mcp serve [DIR] [options]
       mcp serve --stdio [DIR]

Serves the pipelines under DIR (default: the current folder) over HTTP: the runs API with
resumable Server-Sent Events, an OpenAI-compatible /v1/chat/completions, JSON-RPC on /rpc,
/healthz, /readyz, /metrics, and the Model Context Protocol on /mcp (every pipeline a
tool). Saved edits are live for the next request; a broken edit keeps the last good
version serving. Settings come from mcp.yaml 'server:' (docs/server.md).

Options:
  --stdio               speak the Model Context Protocol on stdin/stdout instead of HTTP,
                        for clients that start a local command (docs/mcp.md)
  --host HOST           address to listen on  [default: mcp.yaml server.host, else 127.0.0.1]
  --port N              port (0: any free port)  [default: mcp.yaml server.port, else 8080]
  --store KIND          sqlite|memory  [default: mcp.yaml store.type, else sqlite]
  --log-level LEVEL     fatal|error|warn|info|debug|silent  [default: info]
  --shutdown-timeout D  how long runs in flight may finish on SIGTERM/SIGINT  [default: 10s]
  --queue URL           enqueue runs on Redis (redis://HOST:PORT) for 'mcp worker' processes
                        instead of running them here; the store is that Redis too
                        (docs/scale-out.md)
  -h, --help            show this help

API keys: mcp.yaml server.keys, plus MCP_API_KEYS=name:key,name2:key2. Without keys the
server only listens on a loopback address.

Exit codes: 0 after a clean shutdown, 2 invalid settings or usage.`;

const OPTIONS = {
  stdio: { type: "boolean" },
  host: { type: "string" },
  port: { type: "string" },
  store: { type: "string" },
  "log-level": { type: "string" },
  "shutdown-timeout": { type: "string" },
  queue: { type: "string" },
} as const;

export async function serveCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse("serve", argv, OPTIONS);
  if (values.help) {
    writeLine(io.stdout, help);
    return EXIT_CODES.ok;
  }
  if (positionals.length > 1) throw new UsageError(`give one folder, got ${positionals.length}`, "serve");
  const dir = resolve(io.cwd, positionals[0] ?? ".");
  if (!existsSync(dir)) throw new UsageError(`no such folder: ${positionals[0]}`, "serve");
  const portText = values.port as string | undefined;
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && !(/^\d+$/.test(portText!) && port <= 65535)) throw new UsageError(`--port must be an integer from 0 to 65535 (0: any free port); got '${portText}'`, "serve");
  const store = values.store as string | undefined;
  if (store !== undefined && store !== "sqlite" && store !== "memory") throw new UsageError(`--store must be sqlite or memory; got '${store}'`, "serve");
  const level = (values["log-level"] as string | undefined) ?? "info";
  if (!["fatal", "error", "warn", "info", "debug", "trace", "silent"].includes(level))
    throw new UsageError(`--log-level must be one of fatal, error, warn, info, debug, silent; got '${level}'`, "serve");
  const { parseDuration } = await import("../../util/duration.js");
  const deadlineMs = parseDuration((values["shutdown-timeout"] as string | undefined) ?? "10s");
  if (deadlineMs === undefined) throw new UsageError(`--shutdown-timeout must be a duration like 10s; got '${String(values["shutdown-timeout"])}'`, "serve");

  if (values.stdio) {
    if (values.host !== undefined || portText !== undefined) throw new UsageError("--stdio speaks over stdin/stdout: --host and --port do not apply", "serve");
    if (values.queue !== undefined) throw new UsageError("--queue goes with the HTTP server, not --stdio", "serve");
    const { serveStdioCommand } = await import("../mcp-stdio.js");
    return serveStdioCommand({ dir, deadlineMs, ...(store ? { store: store as "sqlite" | "memory" } : {}) }, io);
  }
  const queueUrl = values.queue as string | undefined;
  const queued = queueUrl !== undefined ? await openServeQueue(queueUrl, io) : undefined;

  const { createServer } = await import("../../server/serve.js");
  let server;
  try {
    server = await createServer({
      dir,
      env: io.env,
      deadlineMs,
      ...(store ? { store: store as "sqlite" | "memory" } : {}),
      ...(queued ? { store: queued.url, runs: queued.runs, fleetMetrics: queued.metrics, fleetGateways: queued.gateways, fleetLimits: queued.limits } : {}),
      overrides: { ...(values.host !== undefined ? { host: values.host as string } : {}), ...(port !== undefined ? { port } : {}) },
      logger: level === "silent" ? false : { level },
    });
  } catch (e) {
    if (e instanceof ServerSettingsError) {
      await queued?.close();
      writeLine(io.stderr, `mcp serve: ${e.message}`);
      return EXIT_CODES.invalid;
    }
    throw e;
  }
  let address: string;
  try {
    address = await server.listen();
  } catch (e) {
    await server.close({ deadlineMs: 0 });
    const code = (e as NodeJS.ErrnoException).code;
    const at = `${server.settings.host}:${server.settings.port}`;
    const why =
      code === "EADDRINUSE"
        ? "the address is in use (another process listens there); pick another with --port, or --port 0 for any free port"
        : code === "EACCES"
          ? "permission denied (ports below 1024 need privileges); pick another with --port"
          : code === "EADDRNOTAVAIL"
            ? "no network interface of this machine has that address; check --host"
            : (e as Error).message;
    writeLine(io.stderr, `mcp serve: cannot listen on ${at}: ${why}`);
    return EXIT_CODES.invalid;
  }
  const pipelines = server.runtime.pipelines.list();
  const valid = pipelines.filter((p) => p.pipeline).length;
  writeLine(
    io.stderr,
    `mcp serve: listening on ${address} (${plural(valid, "pipeline")} from ${dir}${pipelines.length > valid ? `, ${pipelines.length - valid} with errors` : ""}; ${plural(server.runtime.handler.services.models().length, "model")} in mcp.yaml; ${server.settings.keys.length ? plural(server.settings.keys.length, "API key") : "no API keys: loopback only"})`,
  );
  // Why a pipeline is not served, on the terminal (GET /v1/pipelines and the web UI say it too):
  // at start, and for each saved edit that breaks one. A broken mcp.yaml shared by several
  // pipelines is printed once.
  const printed = new Set<string>();
  const printInvalid = (file: string, diagnostics: readonly Diagnostic[], sources: SourceMap, lastGood: boolean) => {
    const fresh = diagnostics.filter((d) => {
      const key = `${d.location?.file}\u0000${d.location?.offset}\u0000${d.code}\u0000${d.message}`;
      if (printed.has(key)) return false;
      printed.add(key);
      return true;
    });
    writeLine(io.stderr, `mcp serve: ${file} has errors; ${lastGood ? "its last good version keeps serving" : "it is not served"}`);
    printDiagnostics(io, "stderr", fresh, sources);
  };
  for (const p of pipelines) if (p.status === "invalid") printInvalid(p.file, p.diagnostics, p.sources, p.pipeline !== undefined);
  printed.clear();
  server.runtime.pipelines.on("invalid", (e) => printInvalid(e.file, e.diagnostics, e.sources, e.lastGood !== undefined));
  server.runtime.pipelines.on("batch", () => printed.clear());

  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        writeLine(io.stderr, `mcp serve: ${signal} again; exiting now`);
        resolveExit(EXIT_CODES.interrupted);
        return;
      }
      stopping = true;
      const active = server.runtime.runs.active;
      writeLine(io.stderr, `mcp serve: ${signal}: shutting down${active ? ` (${active} run${active === 1 ? "" : "s"} in flight, up to ${deadlineMs}ms)` : ""}`);
      server.close({ deadlineMs }).then(
        ({ interrupted }) => {
          if (interrupted.length)
            writeLine(io.stderr, `mcp serve: interrupted ${interrupted.length} run${interrupted.length === 1 ? "" : "s"}; continue with: ${interrupted.map((id) => `mcp resume ${id}`).join(", ")}`);
          writeLine(io.stderr, "mcp serve: stopped");
          resolveExit(EXIT_CODES.ok);
        },
        (e: unknown) => {
          writeLine(io.stderr, `mcp serve: shutdown failed: ${(e as Error).message}`);
          resolveExit(EXIT_CODES.internal);
        },
      );
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
}

/** `--queue URL`: the queue the server enqueues on (and its Redis store), or a UsageError. */
async function openServeQueue(
  url: string,
  io: CliIo,
): Promise<{
  url: string;
  runs: () => RunService;
  metrics: () => Promise<MetricsSnapshot[]>;
  gateways: () => Promise<GatewayStatus[][]>;
  limits: ReturnType<RunQueue["fleetLimits"]>;
  close: () => Promise<void>;
}> {
  const { isRedisUrl } = await import("../../store/redis-connection.js");
  if (!isRedisUrl(url)) throw new UsageError(`--queue must be a redis:// or rediss:// URL; got '${url}'`, "serve");
  const { RunQueue } = await import("../../queue/run-queue.js");
  const { QueueRunService } = await import("../../queue/queue-run-service.js");
  let queue;
  try {
    queue = await RunQueue.open(url);
  } catch (e) {
    throw new UsageError((e as Error).message, "serve", false);
  }
  for (const w of await queue.durabilityWarnings()) writeLine(io.stderr, `mcp serve: warning: ${w}`);
  const q = queue;
  // One read of the workers' published state serves a scrape's metrics and deployments.
  let last: { at: number; p: ReturnType<typeof q.fleet> } | undefined;
  const fleet = () => {
    if (!last || Date.now() - last.at > 250) last = { at: Date.now(), p: q.fleet() };
    return last.p;
  };
  return {
    url,
    runs: () => new QueueRunService(q),
    metrics: async () => (await fleet()).metrics,
    gateways: async () => (await fleet()).gateways,
    // The server's own model calls (chat completions, tasks) count with the workers'.
    limits: q.fleetLimits(),
    close: () => q.close(),
  };
}
