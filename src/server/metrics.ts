/**
 * Prometheus metrics (prom-client), one set per server: the run metrics of the runs this
 * process makes (src/telemetry/run-metrics.ts: runs and steps by status, durations, model
 * errors, retries, fallbacks, cache, tokens, cost), HTTP requests by route and status, and
 * the process's own. With `--queue`, runs happen on the workers: each publishes its run
 * metrics to Redis, and /metrics adds them to this process's (prom-client's
 * AggregatorRegistry), so the numbers are the fleet's. Labels are bounded sets (pipeline,
 * model, route pattern, status); run ids never become labels.
 */
import { AggregatorRegistry, Counter, Histogram, Registry, collectDefaultMetrics, type MetricObjectWithValues, type MetricValue } from "prom-client";
import type { RunEvent, RunObserver } from "../events/event.js";
import { DURATION_BUCKETS, RunMetrics } from "../telemetry/run-metrics.js";

/** One worker's published run metrics (prom-client's JSON form). */
export type MetricsSnapshot = MetricObjectWithValues<MetricValue<string>>[];

export class ServerMetrics implements RunObserver {
  /** HTTP and process metrics. */
  readonly registry = new Registry();
  /** Runs made in this process. */
  readonly run = new RunMetrics();
  readonly http = new Counter({ name: "mcp_http_requests_total", help: "HTTP requests, by method, route pattern and status.", labelNames: ["method", "route", "status"], registers: [this.registry] });
  readonly httpDuration = new Histogram({
    name: "mcp_http_request_duration_seconds",
    help: "HTTP request durations, by route pattern.",
    labelNames: ["route"],
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  /** The workers' run metrics (`--queue`), added to this process's at each scrape. */
  fleet: (() => Promise<MetricsSnapshot[]>) | undefined;

  constructor(options: { processMetrics?: boolean; fleet?: () => Promise<MetricsSnapshot[]> } = {}) {
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.fleet = options.fleet;
  }

  onEvent(e: RunEvent): void {
    this.run.onEvent(e);
  }

  /** Counts one HTTP request. `route` is the route pattern (`/v1/runs/:id`), never the URL. */
  request(method: string, route: string, status: number, seconds: number): void {
    this.http.inc({ method, route, status: String(status) });
    this.httpDuration.observe({ route }, seconds);
  }

  async text(): Promise<string> {
    const own = await this.registry.metrics();
    const workers = this.fleet ? await this.fleet().catch(() => []) : [];
    if (workers.length === 0) return own + (await this.run.registry.metrics());
    const local = (await this.run.registry.getMetricsAsJSON()) as MetricsSnapshot;
    const all = AggregatorRegistry.aggregate([local, ...workers]);
    return own + (await all.metrics());
  }
}
