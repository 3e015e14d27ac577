/**
 * Starting `mcp serve`: the runtime of a folder, the HTTP server over it, listening, and
 * graceful shutdown on SIGTERM/SIGINT (stop accepting, let runs in flight finish up to the
 * deadline, journal the rest as interrupted so `mcp resume` can finish them).
 */
import { AlertWebhook, type AlertSettings } from "../telemetry/alert-webhook.js";
import type { FastifyPluginAsync } from "fastify";
import { createRuntime, type RuntimeOptions } from "../protocol/runtime.js";
import { buildServer, type BuildServerOptions, type McpHttpServer } from "./build-server.js";
import type { RunObserver } from "../events/event.js";
import { LogObserver } from "./log-observer.js";
import { mcpRoute } from "./mcp-route.js";
import { ServerMetrics, type MetricsSnapshot } from "./metrics.js";
import { mergeGatewayStatus, type GatewayStatus } from "../registry/gateway-model.js";
import { resumeRun } from "./ui-resume.js";
import { uiRoutes } from "./ui-routes.js";
import { resolveServerSettings, type SettingsOverrides } from "./settings.js";

export interface StartServerOptions extends Omit<RuntimeOptions, "observer"> {
  /** Command-line host and port, over mcp.yaml's. */
  overrides?: SettingsOverrides;
  logger?: BuildServerOptions["logger"];
  plugins?: readonly FastifyPluginAsync[];
  /** Timeouts against idle and slow clients (tests shorten them). */
  timeouts?: BuildServerOptions["timeouts"];
  /** The queue workers' run metrics (`--queue`), added to this server's at each scrape. */
  fleetMetrics?: () => Promise<MetricsSnapshot[]>;
  /** The queue workers' deployments' state (`--queue`), added to this server's (/metrics, /v1/deployments). */
  fleetGateways?: () => Promise<GatewayStatus[][]>;
}

/**
 * Builds the runtime and the server of a folder; throws ServerSettingsError (nothing
 * started) for settings that cannot work. Call `listen()` on the result.
 */
export async function createServer(options: StartServerOptions): Promise<McpHttpServer> {
  const env = options.env ?? process.env;
  const metrics = new ServerMetrics(options.fleetMetrics ? { fleet: options.fleetMetrics } : {});
  const { loadProjectConfig } = await import("../protocol/runtime.js");
  // Settings first: a server that must not start should not open the store.
  const settings = resolveServerSettings(loadProjectConfig(options.dir).settings.server, env, options.overrides ?? {});
  // The log observer needs the server's logger, which exists once the server does.
  let log: LogObserver | undefined;
  // mcp.yaml `alerts:`, read at each event (a reload may change it).
  let alertSettings: () => AlertSettings | undefined = () => undefined;
  const alerts = new AlertWebhook({ settings: () => alertSettings(), onError: (e, a) => log?.log.warn({ alert: a.alert, err: e.message }, "alert webhook failed") });
  const observer: RunObserver = {
    onEvent(e) {
      metrics.onEvent(e);
      log?.onEvent(e);
      alerts.onEvent(e);
    },
  };
  const runtime = await createRuntime({ ...options, env, observer });
  const fleetGateways = options.fleetGateways;
  if (fleetGateways) metrics.gateways = async () => mergeGatewayStatus([runtime.orchestrator.gateways(), ...(await fleetGateways().catch(() => []))]);
  alertSettings = () => runtime.project().settings.alerts;
  try {
    const server = await buildServer({
      runtime,
      settings,
      metrics,
      ...(options.logger !== undefined ? { logger: options.logger } : {}),
      // The Model Context Protocol on /mcp (stateless Streamable HTTP, same keys), and the
      // web UI at / (its pages, and the graph route it draws from).
      plugins: [mcpRoute({ runtime, host: settings.host }), uiRoutes({ pipeline: (name) => runtime.pipelines.get(name), resume: (id) => resumeRun(runtime, id) }), ...(options.plugins ?? [])],
      ...(options.timeouts ? { timeouts: options.timeouts } : {}),
    });
    if (options.logger !== false) log = new LogObserver(server.app.log);
    return server;
  } catch (e) {
    await runtime.close({ deadlineMs: 0 });
    throw e;
  }
}
