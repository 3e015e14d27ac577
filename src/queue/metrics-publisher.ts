/**
 * Run metrics across the fleet: each `mcp worker` counts the runs it executes (RunMetrics, the
 * same observer the server uses) and publishes them, in prom-client's JSON form, to one Redis
 * hash (`mcp:metrics`, a field per worker process) every few seconds and soon after each run
 * or chunk ends. `mcp serve --queue` reads the hash at each scrape and adds the workers' numbers
 * to its own (AggregatorRegistry), so /metrics shows the fleet's runs.
 *
 * A worker that stopped publishing (killed) keeps its counters in the sum (those runs did
 * happen) but not its gauges (its runs are no longer in flight); after a day it is dropped.
 */
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import type { MetricObjectWithValues, MetricValue } from "prom-client";
import type { RunMetrics } from "../telemetry/run-metrics.js";

/** One worker's published metrics: when, and prom-client's `getMetricsAsJSON()`. */
interface Published {
  at: number;
  metrics: MetricObjectWithValues<MetricValue<string>>[];
}

export class MetricsPublisher {
  readonly #redis: Redis;
  readonly #key: string;
  readonly #metrics: RunMetrics;
  readonly #field = `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
  readonly #timer: NodeJS.Timeout;
  #soon: NodeJS.Timeout | undefined;

  constructor(redis: Redis, key: string, metrics: RunMetrics, intervalMs = 5000) {
    this.#redis = redis;
    this.#key = key;
    this.#metrics = metrics;
    this.#timer = setInterval(() => void this.publish(), intervalMs);
    this.#timer.unref();
  }

  /** Publishes within `delayMs` (runs ending close together publish once). */
  soon(delayMs = 200): void {
    if (this.#soon) return;
    this.#soon = setTimeout(() => {
      this.#soon = undefined;
      void this.publish();
    }, delayMs);
    this.#soon.unref();
  }

  async publish(): Promise<void> {
    try {
      const metrics = await this.#metrics.registry.getMetricsAsJSON();
      await this.#redis.hset(this.#key, this.#field, JSON.stringify({ at: Date.now(), metrics } satisfies Published));
    } catch {
      // Redis away: the next round publishes.
    }
  }

  /** Stops the timers and publishes a last time. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    clearTimeout(this.#soon);
    await this.publish();
  }
}

/**
 * The workers' published run metrics, for the server's /metrics: gauges only from workers
 * heard from within `staleMs`; workers silent for `dropMs` are removed.
 */
export async function readFleetMetrics(redis: Redis, key: string, opts: { staleMs?: number; dropMs?: number; now?: number } = {}): Promise<Published["metrics"][]> {
  const now = opts.now ?? Date.now();
  const staleMs = opts.staleMs ?? 30_000;
  const dropMs = opts.dropMs ?? 24 * 3600 * 1000;
  const all = await redis.hgetall(key);
  const out: Published["metrics"][] = [];
  const gone: string[] = [];
  for (const [field, text] of Object.entries(all)) {
    let p: Published;
    try {
      p = JSON.parse(text) as Published;
    } catch {
      gone.push(field);
      continue;
    }
    const age = now - p.at;
    if (age > dropMs) gone.push(field);
    else out.push(age > staleMs ? p.metrics.filter((m) => String(m.type) !== "gauge") : p.metrics);
  }
  if (gone.length) await redis.hdel(key, ...gone).catch(() => undefined);
  return out;
}
