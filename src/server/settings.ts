/**
 * The server's settings: mcp.yaml `server:` (DESIGN section 6), the MCP_API_KEYS variable,
 * and the command line, in that order of precedence from weakest to strongest.
 */
import { isIP } from "node:net";
import { parseDuration, parseSize as parseSizeValue } from "../util/duration.js";

/** One API key: its owner's name (logs, rate limits) and the secret. */
export interface ApiKey {
  name: string;
  key: string;
}

export interface ServerSettings {
  host: string;
  port: number;
  /** Largest request body in bytes. */
  bodyLimit: number;
  keys: ApiKey[];
  /** Requests per window per key; model tokens per minute per key (chat, tasks), if limited. */
  rateLimit: { max: number; windowMs: number; tokensPerMinute?: number };
  tls?: { certFile: string; keyFile: string };
}

export const DEFAULT_HOST = "127.0.0.1";
export const DEFAULT_PORT = 8080;
export const DEFAULT_BODY_LIMIT = 1024 * 1024;
export const DEFAULT_RATE_LIMIT = { max: 600, windowMs: 60_000 };

/** A setting that cannot work: the server does not start. */
export class ServerSettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ServerSettingsError";
  }
}

/** `1mb`, `512kb`, `2048` (bytes) into bytes. */
export function parseSize(v: unknown, what = "bodyLimit"): number {
  const n = typeof v === "string" || typeof v === "number" ? parseSizeValue(v) : undefined;
  if (n === undefined || !Number.isInteger(n) || n <= 0) throw new ServerSettingsError(`${what} must be a size like 1mb, 512kb or a number of bytes; got ${JSON.stringify(v)}`);
  return n;
}

/** Reads `name:key,name2:key2` (a key without a name is called key1, key2 ...). */
export function parseKeyList(text: string | undefined): ApiKey[] {
  if (!text) return [];
  const out: ApiKey[] = [];
  for (const part of text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const i = part.indexOf(":");
    if (i > 0) out.push({ name: part.slice(0, i).trim(), key: part.slice(i + 1).trim() });
    else out.push({ name: `key${out.length + 1}`, key: part.replace(/^:/, "") });
  }
  return out.filter((k) => k.key !== "");
}

/** Whether the address only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  if (isIP(host) === 6) return host === "::1" || host === "0:0:0:0:0:0:0:1";
  return false;
}

export interface SettingsOverrides {
  host?: string;
  port?: number;
}

/**
 * The settings from mcp.yaml's `server:` object, the environment and the command line.
 * Throws ServerSettingsError for a setting that cannot work: a key from an unset variable,
 * or a non-loopback address without any key.
 */
export function resolveServerSettings(server: Record<string, unknown> | undefined, env: NodeJS.ProcessEnv, overrides: SettingsOverrides = {}): ServerSettings {
  const s = server ?? {};
  const keys: ApiKey[] = [];
  // Where each key came from, for messages (a key without a name has one made up: key1 ...).
  const origins: string[] = [];
  const cfgKeys = Array.isArray(s.keys) ? (s.keys as { name?: unknown; key?: unknown; keyEnv?: unknown }[]) : [];
  for (const [i, k] of cfgKeys.entries()) {
    origins.push(`mcp.yaml server.keys[${i}]`);
    const name = typeof k.name === "string" ? k.name : `key${keys.length + 1}`;
    if (typeof k.key === "string" && k.key !== "") keys.push({ name, key: k.key });
    else if (typeof k.keyEnv === "string") {
      const v = env[k.keyEnv];
      if (!v) throw new ServerSettingsError(`the key '${name}' reads $${k.keyEnv} (keyEnv), which is not set`);
      keys.push({ name, key: v.trim() });
    } else throw new ServerSettingsError(`the key '${name}' in mcp.yaml server.keys has neither key nor keyEnv`);
  }
  const fromEnv = parseKeyList(env.MCP_API_KEYS);
  fromEnv.forEach((_, i) => origins.push(`entry ${i + 1} of MCP_API_KEYS`));
  keys.push(...fromEnv);
  const names = new Map<string, number>();
  for (const [i, k] of keys.entries()) {
    if (k.key.length < 8) throw new ServerSettingsError(`the key '${k.name}' (${origins[i]}) is shorter than 8 characters; use a long random key`);
    const first = names.get(k.name);
    if (first !== undefined) throw new ServerSettingsError(`two keys are named '${k.name}' (${origins[first]} and ${origins[i]}); names must be unique (they label logs and rate limits)`);
    names.set(k.name, i);
  }

  const host = overrides.host ?? (typeof s.host === "string" ? s.host : DEFAULT_HOST);
  const port = overrides.port ?? (typeof s.port === "number" ? s.port : DEFAULT_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ServerSettingsError(`port must be an integer from 0 to 65535; got ${String(port)}`);
  if (!isLoopback(host) && keys.length === 0) {
    throw new ServerSettingsError(
      `refusing to listen on ${host} without API keys: anyone who can reach it could run pipelines and spend model budgets. Add keys (mcp.yaml server.keys or MCP_API_KEYS=name:key), or listen on 127.0.0.1`,
    );
  }
  const rl = (s.rateLimit ?? {}) as { max?: unknown; window?: unknown; tokensPerMinute?: unknown };
  const windowMs = rl.window !== undefined ? parseDuration(rl.window as string | number) : undefined;
  const tls = s.tls as { certFile?: unknown; keyFile?: unknown } | undefined;
  return {
    host,
    port,
    bodyLimit: s.bodyLimit !== undefined ? parseSize(s.bodyLimit) : DEFAULT_BODY_LIMIT,
    keys,
    rateLimit: {
      max: typeof rl.max === "number" ? rl.max : DEFAULT_RATE_LIMIT.max,
      windowMs: windowMs ?? DEFAULT_RATE_LIMIT.windowMs,
      ...(typeof rl.tokensPerMinute === "number" ? { tokensPerMinute: rl.tokensPerMinute } : {}),
    },
    ...(tls && typeof tls.certFile === "string" && typeof tls.keyFile === "string" ? { tls: { certFile: tls.certFile, keyFile: tls.keyFile } } : {}),
  };
}
