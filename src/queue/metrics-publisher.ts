/**
 * Run metrics across the fleet: each `mcp worker` counts the runs it executes (RunMetrics, the
 * same observer the server uses) and publishes them, in prom-client's JSON form, to one Redis
 * hash (`mcp:metrics`, a field per worker process) every few seconds and soon after each run
 * or chunk ends. `mcp serve --queue` reads the hash at each scrape and adds the workers' numbers
 * to its own (AggregatorRegistry), so /metrics shows the fleet's runs.
 *
 * Each worker also publishes its deployments' state (breakers, calls in flight, errors), so
 * the server's per-deployment gauges and `GET /v1/deployments` show the fleet.
 *
 * A worker that stopped publishing (killed) keeps its counters in the sum (those runs did
 * happen) but not its gauges nor its deployments (its calls are no longer in flight); after a
 * day it is dropped.
 */
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import type { MetricObjectWithValues, MetricValue } from "prom-client";
import type { GatewayStatus } from "../registry/gateway-model.js";
import type { RunMetrics } from "../telemetry/run-metrics.js";

/** One worker's published metrics: when, prom-client's `getMetricsAsJSON()`, and its deployments' state. */
interface Published {
  at: number;
  metrics: MetricObjectWithValues<MetricValue<string>>[];
  gateways?: GatewayStatus[];
}

/** What the workers published, as the server reads it. */
export interface FleetSnapshot {
  metrics: Published["metrics"][];
  /** Each live worker's gateways (models with deployments or limits): calls in flight, breakers. */
  gateways: GatewayStatus[][];
}

export class MetricsPublisher {
  readonly #redis: Redis;
  readonly #key: string;
  readonly #metrics: RunMetrics;
  readonly #field = `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
  readonly #timer: NodeJS.Timeout;
  readonly #gateways: (() => GatewayStatus[]) | undefined;
  #soon: NodeJS.Timeout | undefined;

  /** `gateways`: the worker's deployments' state now (breakers, calls in flight), published with the metrics. */
  constructor(redis: Redis, key: string, metrics: RunMetrics, intervalMs = 5000, gateways?: () => GatewayStatus[]) {
    this.#redis = redis;
    this.#key = key;
    this.#metrics = metrics;
    this.#gateways = gateways;
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
      const gateways = this.#gateways?.() ?? [];
      await this.#redis.hset(this.#key, this.#field, JSON.stringify({ at: Date.now(), metrics, ...(gateways.length ? { gateways } : {}) } satisfies Published));
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
  return (await readFleet(redis, key, opts)).metrics;
}

/**
 * The workers' published run metrics and deployments' state: gauges and deployments only
 * from workers heard from within `staleMs`; workers silent for `dropMs` are removed.
 */
export async function readFleet(redis: Redis, key: string, opts: { staleMs?: number; dropMs?: number; now?: number } = {}): Promise<FleetSnapshot> {
  const now = opts.now ?? Date.now();
  const staleMs = opts.staleMs ?? 30_000;
  const dropMs = opts.dropMs ?? 24 * 3600 * 1000;
  const all = await redis.hgetall(key);
  const out: Published["metrics"][] = [];
  const gateways: GatewayStatus[][] = [];
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
    else {
      out.push(age > staleMs ? p.metrics.filter((m) => String(m.type) !== "gauge") : p.metrics);
      if (age <= staleMs && p.gateways) gateways.push(p.gateways);
    }
  }
  if (gone.length) await redis.hdel(key, ...gone).catch(() => undefined);
  return { metrics: out, gateways };
}
