/**
 * Prometheus metrics (prom-client), one set per server: the run metrics of the runs this
 * process makes (src/telemetry/run-metrics.ts: runs and steps by status, durations, model
 * errors, retries, fallbacks, cache, tokens, cost), HTTP requests by route and status, and
 * the process's own. With `--queue`, runs happen on the workers: each publishes its run
 * metrics to Redis, and /metrics adds them to this process's (prom-client's
 * AggregatorRegistry), so the numbers are the fleet's. Labels are bounded sets (pipeline,
 * model, route pattern, status); run ids never become labels.
 */
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type MetricObjectWithValues, type MetricValue } from "prom-client";
import type { RunEvent, RunObserver } from "../events/event.js";
import type { GatewayStatus } from "../registry/gateway-model.js";
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

  /**
   * The deployments' state now, read at each scrape: this process's orchestrator's, and with
   * `--queue` the workers' added (mergeGatewayStatus).
   */
  gateways: (() => GatewayStatus[] | Promise<GatewayStatus[]>) | undefined;

  constructor(options: { processMetrics?: boolean; fleet?: () => Promise<MetricsSnapshot[]>; gateways?: () => GatewayStatus[] | Promise<GatewayStatus[]> } = {}) {
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.fleet = options.fleet;
    this.gateways = options.gateways;
    this.#deploymentGauges();
  }

  /** Per-deployment health of the models with deployments or limits, read when scraped. */
  #deploymentGauges(): void {
    const deployments = async () => ((await this.gateways?.()) ?? []).flatMap((g) => g.deployments.map((d) => ({ labels: { model: g.model, deployment: d.name }, d })));
    const gauge = (name: string, help: string, value: (d: GatewayStatus["deployments"][number]) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ["model", "deployment"],
        registers: [this.registry],
        async collect() {
          const now = await deployments().catch(() => []);
          this.reset();
          for (const { labels, d } of now) this.set(labels, value(d));
        },
      });
    // With --queue: the fleet's (each worker has its own breakers): up only when every one is closed, the worst state.
    gauge("mcp_deployment_up", "Whether a model's deployment takes calls: 1 when its circuit breaker is closed, 0 when open or half-open.", (d) => (d.state === "closed" ? 1 : 0));
    gauge("mcp_breaker_state", "Circuit breaker state of a model's deployment: 0 closed, 1 half-open, 2 open.", (d) => (d.state === "closed" ? 0 : d.state === "half-open" ? 1 : 2));
    gauge("mcp_deployment_in_flight", "Calls in flight to a model's deployment.", (d) => d.inFlight);
    gauge("mcp_deployment_errors", "Failed calls of a model's deployment since the process started (those that count for its breaker).", (d) => d.errors);
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
