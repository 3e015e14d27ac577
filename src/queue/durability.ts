/**
 * Start-up check of the Redis a fleet uses: settings under which Redis would lose queued
 * jobs or journal entries. BullMQ keeps jobs in Redis only; Redis keeps them across a
 * restart only with persistence (AOF, or at least RDB snapshots), and never evicts them
 * only with `maxmemory-policy noeviction`.
 */
import type { Redis } from "ioredis";

/** Warnings about `redis`'s settings (empty when it is set up for durability, or CONFIG is not allowed). */
export async function durabilityWarnings(redis: Redis): Promise<string[]> {
  const warnings: string[] = [];
  let cfg: Record<string, string>;
  try {
    const pairs = [...((await redis.config("GET", "appendonly")) as string[]), ...((await redis.config("GET", "maxmemory-policy")) as string[]), ...((await redis.config("GET", "save")) as string[])];
    cfg = {};
    for (let i = 0; i + 1 < pairs.length; i += 2) cfg[pairs[i]!] = pairs[i + 1]!;
  } catch {
    // CONFIG is often disabled on managed Redis; nothing to check then.
    return warnings;
  }
  const policy = cfg["maxmemory-policy"];
  if (policy !== undefined && policy !== "noeviction") {
    warnings.push(`Redis maxmemory-policy is '${policy}': under memory pressure Redis may evict queued jobs and journal entries; set maxmemory-policy noeviction (docs/scale-out.md)`);
  }
  if (cfg.appendonly === "no") {
    warnings.push(
      cfg.save
        ? `Redis appendonly is off: a Redis restart loses what was written since the last snapshot (save '${cfg.save}'), runs included; set appendonly yes (docs/scale-out.md)`
        : "Redis has no persistence (appendonly no, no save points): a Redis restart loses every queued run and the journal; set appendonly yes (docs/scale-out.md)",
    );
  }
  return warnings;
}
