/**
 * The HTTP server of `mcp serve`, on Fastify 5: the routes of DESIGN section 6 over one
 * Runtime (live pipeline set, run service, Protocol Handler). `buildServer` returns the
 * Fastify instance before it listens, so other faces add their routes and plugins first
 * (the `/mcp` transport, the web UI at `/`): pass them in `plugins`, or register them on
 * `server.app` before calling `server.listen()`.
 *
 * Every request: auth (bearer key, constant time) -> rate limit per key -> route (body
 * schema, then the Protocol Handler) -> one log line and the HTTP metrics. Every error
 * leaves through one error handler as `{ error: { code, message } }` with the status of
 * its code; a stack trace never leaves the process.
 */
import Fastify, { LogController, type FastifyInstance, type FastifyPluginAsync, type FastifyError } from "fastify";
import rateLimit from "@fastify/rate-limit";
import { createServer as createHttpServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { DestinationStream, LoggerOptions } from "pino";
import { ProtocolError, errorBody, toProtocolError, type ProtocolErrorCode } from "../protocol/errors.js";
import type { Runtime } from "../protocol/runtime.js";
import type { Principal } from "../protocol/services.js";
import { apiRoutes } from "./api-routes.js";
import { authMessage, KeyRing } from "./auth.js";
import { eventsRoute, type EventStreams } from "./events-route.js";
import { turnBatchedDestination, type LogDestination } from "./log-destination.js";
import { ServerMetrics } from "./metrics.js";
import { openaiRoutes } from "./openai-routes.js";
import { rpcRoute } from "./rpc-route.js";
import type { ServerSettings } from "./settings.js";
import { TokenLimiter } from "./token-limit.js";

declare module "fastify" {
  interface FastifyRequest {
    /** Who is calling (set by the auth hook). */
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** The route needs no API key (liveness). */
    public?: boolean;
  }
}

/**
 * Paths of secrets in log lines; replaced by "[redacted]". Our own lines never hold prompts,
 * answers, inputs or outputs (they log names, sizes and timings); these catch headers in
 * logged requests and errors. Explicit paths only: pino's wildcard redaction costs a walk
 * of every logged object, which halved the server's throughput in the bench.
 */
export const REDACT_PATHS = ["req.headers.authorization", "req.headers.cookie", 'req.headers["x-api-key"]', "headers.authorization", "err.headers.authorization", "err.request.headers.authorization"];

export interface BuildServerOptions {
  runtime: Runtime;
  settings: ServerSettings;
  /**
   * false: no logs; else pino options (level) and a destination: a stream (tests), or a file
   * descriptor (default 1, standard output) whose lines are written once per event-loop turn
   * and flushed when the server closes (log-destination.ts).
   * @default { level: "info" }
   */
  logger?: false | { level?: string; stream?: DestinationStream; fd?: number };
  /** Metrics registry; a new one by default. */
  metrics?: ServerMetrics;
  /** More routes and plugins, registered after the built-in ones, before listening. */
  plugins?: readonly FastifyPluginAsync[];
  /** Timeouts against idle and slow clients, in ms. */
  timeouts?: { headersMs?: number; requestMs?: number; keepAliveMs?: number };
}

export interface McpHttpServer {
  readonly app: FastifyInstance;
  readonly runtime: Runtime;
  readonly metrics: ServerMetrics;
  readonly settings: ServerSettings;
  readonly streams: EventStreams;
  /** Starts listening; resolves with the address (`http://127.0.0.1:8080`). */
  listen(): Promise<string>;
  /**
   * Graceful shutdown: stops accepting connections and runs, lets runs in flight finish up
   * to `deadlineMs`, journals the rest as interrupted, closes streams and the store.
   */
  close(opts?: { deadlineMs?: number }): Promise<{ interrupted: string[] }>;
  /** True once close() began (readyz answers 503). */
  readonly closing: boolean;
}

export async function buildServer(options: BuildServerOptions): Promise<McpHttpServer> {
  const { runtime, settings } = options;
  const metrics = options.metrics ?? new ServerMetrics();
  metrics.gateways ??= () => runtime.orchestrator.gateways();
  const keys = new KeyRing(settings.keys);
  let ownLog: LogDestination | undefined;
  const loggerOpts: LoggerOptions | false = options.logger === false ? false : { level: options.logger?.level ?? "info", redact: { paths: REDACT_PATHS, censor: "[redacted]" } };
  const timeouts = { headersMs: 10_000, requestMs: 30_000, keepAliveMs: 5_000, ...options.timeouts };
  const tls = settings.tls ? await readTls(settings.tls) : undefined;
  const log = options.logger || {};
  const logStream: DestinationStream | undefined = loggerOpts === false ? undefined : (log.stream ?? (ownLog = turnBatchedDestination(log.fd ?? 1)));
  const app = Fastify({
    logger: loggerOpts === false ? false : { ...loggerOpts, stream: logStream },
    // One line per request, written by the onResponse hook below.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: settings.bodyLimit,
    // A `__proto__` key is dropped, as /rpc does (not refused as "not valid JSON", which it is).
    onProtoPoisoning: "remove",
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    return503OnClosing: true,
    forceCloseConnections: "idle",
    ajv: { customOptions: { removeAdditional: false, coerceTypes: "array", useDefaults: false, allErrors: false } },
    // Our own node:http server, for the timeouts Fastify does not expose: a client that
    // sends its headers slowly is cut after headersMs, checked every second (node's
    // default check runs every 30 s).
    serverFactory: (handler) => {
      const opts = { headersTimeout: timeouts.headersMs, requestTimeout: timeouts.requestMs, keepAliveTimeout: timeouts.keepAliveMs, connectionsCheckingInterval: 1000 };
      return tls ? createHttpsServer({ ...opts, ...tls }, handler) : createHttpServer(opts, handler);
    },
  }) as unknown as FastifyInstance;
  let closing = false;
  // Bodies are JSON: a text/plain one is refused with the content type to use (415 ->
  // bad_request below), not parsed as a string that then fails the route's schema.
  app.removeContentTypeParser("text/plain");

  // Auth first: nothing else runs for a request without a valid key.
  // Callback-style hooks (not async): no promise per request.
  app.addHook("onRequest", (req, _reply, done) => {
    if (req.routeOptions.config?.public) return done();
    const out = keys.check(req.headers.authorization);
    if (!out.ok) return done(new ProtocolError("unauthorized", authMessage(out.reason)));
    req.principal = out.principal;
    done();
  });
  await app.register(rateLimit, {
    global: true,
    max: settings.rateLimit.max,
    timeWindow: settings.rateLimit.windowMs,
    keyGenerator: (req) => req.principal?.name ?? req.ip,
    errorResponseBuilder: (_req, ctx) => {
      const secs = Math.max(1, Math.ceil(ctx.ttl / 1000));
      const e = new ProtocolError("rate_limited", `rate limit of ${ctx.max} requests per ${ctx.after} reached for this key; retry in ${secs}s`, undefined, { retryAfterSeconds: secs });
      return Object.assign(e, { statusCode: 429 });
    },
  });

  app.addHook("onResponse", (req, reply, done) => {
    const route = req.routeOptions.url ?? "unmatched";
    const ms = reply.elapsedTime;
    metrics.request(req.method, route, reply.statusCode, ms / 1000);
    req.log.info({ method: req.method, route, status: reply.statusCode, ms: Math.round(ms * 10) / 10, key: req.principal?.name }, "request");
    done();
  });

  app.setErrorHandler((err: FastifyError | ProtocolError, req, reply) => {
    const e = httpError(err, settings.bodyLimit);
    if (e.code === "internal") req.log.error({ err }, "internal error");
    if (e.retryAfterSeconds !== undefined) void reply.header("retry-after", String(e.retryAfterSeconds));
    void reply.code(e.status).send({ error: errorBody(e) });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: { code: "not_found", message: `no route ${req.method} ${req.url.split("?")[0]}` } });
  });

  // Operations.
  app.get("/healthz", { config: { public: true, rateLimit: false } }, async () => ({ status: "ok" }));
  app.get("/readyz", async (_req, reply) => {
    const ready = !closing && runtime.pipelines.state !== "starting" && runtime.pipelines.state !== "closed";
    if (!ready) return reply.code(503).send({ status: closing ? "closing" : "starting" });
    return { status: "ready", pipelines: runtime.pipelines.list().length, runsActive: runtime.runs.active };
  });
  app.get("/metrics", async (_req, reply) => reply.header("content-type", metrics.registry.contentType).send(await metrics.text()));
  // The models with deployments or limits, live: breakers, calls in flight (`mcp models --watch`).
  // With --queue, the workers' too (the fleet's, published to Redis).
  app.get("/v1/deployments", async () => ({ object: "list", data: await metrics.gateways!() }));

  const tokens = settings.rateLimit.tokensPerMinute !== undefined ? new TokenLimiter(settings.rateLimit.tokensPerMinute) : undefined;
  apiRoutes(app, runtime.handler, tokens);
  const streams = eventsRoute(app, runtime.handler, (route, status, seconds) => metrics.request("GET", route, status, seconds));
  openaiRoutes(app, runtime, metrics, tokens);
  await rpcRoute(app, runtime.handler);
  for (const p of options.plugins ?? []) await app.register(p);

  let closed: Promise<{ interrupted: string[] }> | undefined;
  return {
    app,
    runtime,
    metrics,
    settings,
    streams,
    get closing() {
      return closing;
    },
    async listen() {
      await runtime.ready;
      return app.listen({ host: settings.host, port: settings.port });
    },
    close(opts = {}) {
      closed ??= (async () => {
        closing = true;
        // Stop accepting; answers in flight (wait: true) end when their runs do.
        const httpClosed = app.close();
        const r = await runtime.close(opts);
        streams.closeAll();
        await httpClosed;
        ownLog?.close();
        return r;
      })();
      return closed;
    },
  };
}

/** The protocol error of a Fastify or route error. */
function httpError(err: FastifyError | ProtocolError, bodyLimit: number): ProtocolError {
  if (err instanceof ProtocolError) return err;
  const fe = err as FastifyError & { validation?: unknown; validationContext?: string };
  if (fe.validation) {
    // Name the key that is not allowed (`{"text": ...}` where `{"input": {"text": ...}}` was meant), as /rpc does.
    const first = (fe.validation as { keyword?: string; params?: { additionalProperty?: unknown } }[])[0];
    const extra = first?.keyword === "additionalProperties" && typeof first.params?.additionalProperty === "string" ? ` '${first.params.additionalProperty}'` : "";
    return new ProtocolError("bad_request", `${fe.validationContext ?? "request"} ${fe.message.replace(/^(body|params|querystring|headers)\/?/, "").trim()}${extra}`.trim());
  }
  const status = fe.statusCode;
  if (status === 415) return new ProtocolError("bad_request", `the body must be JSON: send it with 'content-type: application/json'`);
  if (status === 413) return new ProtocolError("payload_too_large", `the request body is larger than the server accepts (${formatBytes(bodyLimit)}: mcp.yaml server.bodyLimit)`);
  if (status !== undefined && status >= 400 && status < 500) {
    const code: ProtocolErrorCode = status === 404 ? "not_found" : status === 401 ? "unauthorized" : status === 429 ? "rate_limited" : "bad_request";
    const e = new ProtocolError(code, fe.message);
    return status === 429 && (fe as { retryAfterSeconds?: number }).retryAfterSeconds !== undefined
      ? Object.assign(e, { retryAfterSeconds: (fe as { retryAfterSeconds?: number }).retryAfterSeconds })
      : e;
  }
  if (status === 503) return new ProtocolError("unavailable", "the server is shutting down");
  return toProtocolError(err);
}

async function readTls(tls: { certFile: string; keyFile: string }): Promise<{ cert: Buffer; key: Buffer }> {
  const { readFile } = await import("node:fs/promises");
  return { cert: await readFile(tls.certFile), key: await readFile(tls.keyFile) };
}

/** 1048576 -> "1 MiB", 2048 -> "2 KiB", 1000 -> "1000 bytes". */
function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}
