/**
 * The alert hook of mcp.yaml (`alerts: { webhook, on, budgetThreshold }`): a RunObserver
 * that POSTs one JSON object to the webhook when a deployment's circuit breaker opens, or
 * when a run's spend passes `budgetThreshold` of its budget (maxCost or maxTokens), once per
 * run. A breaker alert is one per outage: it is sent when a closed breaker opens, not again
 * each time a failed probe re-opens it (half-open -> open, once per cool-down while the
 * deployment stays down). Sending never blocks or fails a run: a webhook that is down or slow is reported to
 * `onError` and forgotten (each POST gives up after `timeoutMs`).
 */
import type { RunEvent, RunObserver } from "../events/event.js";

export type AlertKind = "breaker-open" | "budget";

/** mcp.yaml `alerts:`. */
export interface AlertSettings {
  webhook?: string;
  /** @default ["breaker-open", "budget"] */
  on?: AlertKind[];
  /** @default 0.8 */
  budgetThreshold?: number;
}

/** The body of one alert POST. */
export type Alert =
  | { alert: "breaker-open"; ts: string; model: string; deployment: string; runId: string; stepId?: string; message: string }
  | { alert: "budget"; ts: string; runId: string; pipeline: string; spent: { cost: number; tokens: number }; budget: { maxCost?: number; maxTokens?: number }; threshold: number; message: string };

export interface AlertWebhookOptions {
  /** The settings now (read at each event: mcp.yaml may be edited while serving). */
  settings: () => AlertSettings | undefined;
  /** Where a failed POST is told. */
  onError?: (error: Error, alert: Alert) => void;
  /** @default 5000 */
  timeoutMs?: number;
  /**
   * Whether this process sends `alert`, asked before each POST: a fleet of workers claims
   * each alert in Redis so one of them sends it (src/queue/alert-claims.ts). A claim that
   * fails (Redis away) sends the alert: twice rather than never. @default every alert is sent
   */
  claim?: (alert: Alert) => Promise<boolean>;
}

interface RunSpend {
  pipeline: string;
  budget: { maxCost?: number; maxTokens?: number };
  cost: number;
  tokens: number;
  alerted: boolean;
}

export class AlertWebhook implements RunObserver {
  readonly #o: AlertWebhookOptions;
  readonly #runs = new Map<string, RunSpend>();
  readonly #pending = new Set<Promise<void>>();

  constructor(options: AlertWebhookOptions) {
    this.#o = options;
  }

  onEvent(e: RunEvent): void {
    const s = this.#o.settings();
    if (!s?.webhook) return;
    const on = s.on ?? ["breaker-open", "budget"];
    switch (e.type) {
      case "model.breaker":
        if (e.state === "open" && e.previous === "closed" && on.includes("breaker-open")) {
          this.#send(s.webhook, {
            alert: "breaker-open",
            ts: new Date(e.ts).toISOString(),
            model: e.model,
            deployment: e.deployment,
            runId: e.runId,
            ...(e.stepId !== undefined ? { stepId: e.stepId } : {}),
            message: `model '${e.model}': the circuit breaker of deployment ${e.deployment} opened; its calls go to the other deployments until it is probed back`,
          });
        }
        return;
      case "run.started":
        if (e.budget && on.includes("budget")) this.#runs.set(e.runId, { pipeline: e.pipeline, budget: e.budget, cost: 0, tokens: 0, alerted: false });
        return;
      case "step.finished": {
        const r = this.#runs.get(e.runId);
        if (!r || r.alerted) return;
        r.cost += e.cost;
        r.tokens += e.usage.inputTokens + e.usage.outputTokens;
        const threshold = s.budgetThreshold ?? 0.8;
        const over = (r.budget.maxCost !== undefined && r.cost >= threshold * r.budget.maxCost) || (r.budget.maxTokens !== undefined && r.tokens >= threshold * r.budget.maxTokens);
        if (!over) return;
        r.alerted = true;
        this.#send(s.webhook, {
          alert: "budget",
          ts: new Date(e.ts).toISOString(),
          runId: e.runId,
          pipeline: r.pipeline,
          spent: { cost: r.cost, tokens: r.tokens },
          budget: r.budget,
          threshold,
          message: `run ${e.runId} of '${r.pipeline}' has spent ${Math.round(threshold * 100)}% or more of its budget`,
        });
        return;
      }
      case "run.finished":
        this.#runs.delete(e.runId);
        return;
      case "step.delta":
      case "step.waiting":
      case "step.queued":
      case "step.started":
      case "step.attempt_failed":
      case "step.fell_back":
      case "step.cache":
      case "step.skipped":
      case "step.failed":
      case "step.aborted":
      case "step.progress":
      case "step.iteration":
      case "model.throttled":
      case "model.limit_wait":
        return;
    }
  }

  /** Waits for the alerts being sent (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  async dispose(): Promise<void> {
    await this.flush();
  }

  #send(url: string, alert: Alert): void {
    const p = (async () => {
      try {
        if (this.#o.claim && !(await this.#o.claim(alert).catch(() => true))) return;
        const res = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", "user-agent": "mcp-runner-alerts" },
          body: JSON.stringify(alert),
          signal: AbortSignal.timeout(this.#o.timeoutMs ?? 5000),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (!res.ok) throw new Error(`the alert webhook answered HTTP ${res.status}`);
      } catch (e) {
        this.#o.onError?.(e instanceof Error ? new Error(whyNot(e, url)) : new Error(String(e)), alert);
      }
    })();
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }
}

/**
 * Why a POST failed, in words: fetch says only "fetch failed" and keeps the reason in
 * `cause`. Names the webhook's origin only: its path often holds a secret (Slack, Teams).
 */
function whyNot(e: Error, url: string): string {
  let origin = "the webhook";
  try {
    origin = new URL(url).origin;
  } catch {
    // a malformed URL: fetch's own message says so
  }
  const code = (e as { cause?: { code?: unknown } }).cause?.code;
  if (code === "ECONNREFUSED") return `cannot reach ${origin}: connection refused`;
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return `cannot reach ${origin}: host not found`;
  if (e.name === "TimeoutError") return `${origin} did not answer in time`;
  if (e.message === "fetch failed" && typeof code === "string") return `cannot reach ${origin}: ${code}`;
  return e.message;
}
