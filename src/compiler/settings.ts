/** The settings of a step (retry, cache) and of the project (mcp.yaml), as compiled. */
import { dirname } from "node:path";
import type { YamlFile } from "../config/yaml-file.js";
import { parseDuration } from "../util/duration.js";
import { obj, type Obj } from "./compilation.js";
import { DEFAULT_RETRY, type CachePolicy, type ProjectSettings, type RetryPolicy } from "./types.js";

export function retryPolicy(r: Obj): RetryPolicy {
  return {
    attempts: typeof r.attempts === "number" ? r.attempts : DEFAULT_RETRY.attempts,
    backoff: (r.backoff as RetryPolicy["backoff"]) ?? DEFAULT_RETRY.backoff,
    initialDelayMs: parseDuration(r.initialDelay as string | number | undefined) ?? DEFAULT_RETRY.initialDelayMs,
    maxDelayMs: parseDuration(r.maxDelay as string | number | undefined) ?? DEFAULT_RETRY.maxDelayMs,
    jitter: typeof r.jitter === "boolean" ? r.jitter : DEFAULT_RETRY.jitter,
  };
}

export function cachePolicy(v: unknown): CachePolicy | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "boolean") return { enabled: v };
  const ttlMs = parseDuration(obj(v).ttl as string | number | undefined);
  return { enabled: true, ...(ttlMs !== undefined ? { ttlMs } : {}) };
}

/** `store:` as a string (`redis://...`, `sqlite`, `memory`) or an object. */
export function storeSettings(v: unknown): NonNullable<ProjectSettings["store"]> {
  if (typeof v === "string") return /^rediss?:\/\//.test(v) ? { type: "redis", url: v } : { type: v as "sqlite" | "memory" };
  const o = obj(v) as NonNullable<ProjectSettings["store"]>;
  return o.type === undefined && typeof o.url === "string" ? { ...o, type: "redis" } : o;
}

export function projectSettings(file: YamlFile, config: YamlFile | undefined, cfg: Obj, env: string[]): ProjectSettings {
  const cache = obj(cfg.cache);
  const ttlMs = parseDuration(cache.ttl as string | number | undefined);
  return {
    ...(config ? { configFile: config.path } : {}),
    projectDir: dirname(config?.path ?? file.path),
    env,
    ...(cfg.store !== undefined ? { store: storeSettings(cfg.store) } : {}),
    ...(cfg.cache !== undefined ? { cache: { ...(typeof cache.enabled === "boolean" ? { enabled: cache.enabled } : {}), ...(ttlMs !== undefined ? { ttlMs } : {}) } } : {}),
    ...(cfg.server !== undefined ? { server: obj(cfg.server) } : {}),
    ...(cfg.telemetry !== undefined ? { telemetry: obj(cfg.telemetry) as ProjectSettings["telemetry"] } : {}),
    ...(cfg.alerts !== undefined ? { alerts: obj(cfg.alerts) as ProjectSettings["alerts"] } : {}),
  };
}
