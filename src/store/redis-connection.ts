/**
 * Opening ioredis connections the way a long-lived worker needs them: commands wait while
 * Redis restarts or is briefly unreachable (queued offline, retried with backoff, never
 * failed after N tries), so a restart of Redis stalls a run instead of failing it.
 * `connectTimeoutMs` bounds only the first connection, for commands that should say
 * "cannot reach Redis" rather than wait forever.
 */
import { Redis, type RedisOptions } from "ioredis";
import { McpError } from "../util/errors.js";

export interface RedisConnectOptions {
  /** Name shown by CLIENT LIST. */
  name?: string;
  /** Fail if the first connection is not up within this time. @default wait forever */
  connectTimeoutMs?: number;
}

import { isRedisUrl } from "./store-url.js";

export { isRedisUrl };

/** ioredis options that BullMQ workers need, and that let every command wait through a Redis restart. */
export function redisOptions(name?: string): RedisOptions {
  return {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    enableOfflineQueue: true,
    // Reconnect forever: 50 ms, 100 ms ... at most 2 s between tries.
    retryStrategy: (times) => Math.min(2000, 50 * 2 ** Math.min(times, 6)),
    ...(name ? { connectionName: name } : {}),
  };
}

/**
 * A new connection to `url`. Without `connectTimeoutMs` it returns at once and commands wait
 * until Redis answers; with it, it resolves when Redis answered a PING, or fails after that time.
 */
export async function connectRedis(url: string, opts: RedisConnectOptions = {}): Promise<Redis> {
  if (!isRedisUrl(url)) throw new TypeError(`connectRedis: \`url\` must be a redis:// or rediss:// URL, received '${url}'`);
  const client = new Redis(url, redisOptions(opts.name));
  // ioredis reports connection errors as events; without a listener Node would print them.
  client.on("error", () => {});
  if (opts.connectTimeoutMs === undefined) return client;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.ping(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new McpError("REDIS_UNREACHABLE", `cannot reach Redis at ${redact(url)} (no answer within ${opts.connectTimeoutMs} ms); is redis-server running there?`)),
          opts.connectTimeoutMs,
        );
      }),
    ]);
    return client;
  } catch (e) {
    client.disconnect();
    throw e;
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@");
}
