/**
 * Starting `mcp serve`: the runtime of a folder, the HTTP server over it, listening, and
 * graceful shutdown on SIGTERM/SIGINT (stop accepting, let runs in flight finish up to the
 * deadline, journal the rest as interrupted so `mcp resume` can finish them).
 */
import type { FastifyPluginAsync } from "fastify";
import type { DestinationStream } from "pino";
import { createRuntime, type RuntimeOptions } from "../protocol/runtime.js";
import { buildServer, type McpHttpServer } from "./build-server.js";
import { ServerMetrics } from "./metrics.js";
import { resolveServerSettings, type SettingsOverrides } from "./settings.js";

export interface StartServerOptions extends Omit<RuntimeOptions, "observer"> {
  /** Command-line host and port, over mcp.yaml's. */
  overrides?: SettingsOverrides;
  logger?: false | { level?: string; stream?: DestinationStream };
  plugins?: readonly FastifyPluginAsync[];
}

/**
 * Builds the runtime and the server of a folder; throws ServerSettingsError (nothing
 * started) for settings that cannot work. Call `listen()` on the result.
 */
export async function createServer(options: StartServerOptions): Promise<McpHttpServer> {
  const env = options.env ?? process.env;
  const metrics = new ServerMetrics();
  const { loadProjectConfig } = await import("../protocol/runtime.js");
  // Settings first: a server that must not start should not open the store.
  const settings = resolveServerSettings(loadProjectConfig(options.dir).settings.server, env, options.overrides ?? {});
  const runtime = await createRuntime({ ...options, env, observer: metrics });
  try {
    return await buildServer({
      runtime,
      settings,
      metrics,
      ...(options.logger !== undefined ? { logger: options.logger } : {}),
      ...(options.plugins ? { plugins: options.plugins } : {}),
    });
  } catch (e) {
    await runtime.close({ deadlineMs: 0 });
    throw e;
  }
}
