/**
 * mcp.yaml `alerts:` from a fleet of workers, each sent once by the fleet rather than once
 * per worker: before a worker POSTs an alert it claims it in Redis (SET NX with an expiry).
 *
 * - `budget`: once per run (`mcp:alerted:{RUN}:budget`, kept 7 days), even when the run is
 *   taken over by another worker, which replays the journal's finished steps and their spend.
 * - `breaker-open`: each worker has its own breaker per deployment, and in an outage they all
 *   open within moments (each alerts once per outage, AlertWebhook): the fleet sends one alert
 *   per deployment per `breakerWindowMs` (`mcp:alerted:breaker:{MODEL/DEPLOYMENT}`).
 */
import type { Redis } from "ioredis";
import type { Alert } from "../telemetry/alert-webhook.js";
import type { QueueNames } from "./names.js";

/** How long after a deployment's breaker-open alert the fleet sends no other for it. @default 60 s */
export const BREAKER_ALERT_WINDOW_MS = 60_000;

export function fleetAlertClaim(redis: Redis, names: QueueNames, breakerWindowMs = BREAKER_ALERT_WINDOW_MS): (alert: Alert) => Promise<boolean> {
  return async (alert) => {
    let key: string;
    let ms: number;
    switch (alert.alert) {
      case "budget":
        key = `${names.prefix}alerted:{${alert.runId}}:budget`;
        ms = 7 * 24 * 3600 * 1000;
        break;
      case "breaker-open":
        key = `${names.prefix}alerted:breaker:{${alert.model}/${alert.deployment}}`;
        ms = breakerWindowMs;
        break;
    }
    return (await redis.set(key, "1", "PX", ms, "NX")) === "OK";
  };
}
