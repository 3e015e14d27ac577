/**
 * The breaker-open alert is one per outage: a closed breaker that opens sends one, a failed
 * probe that re-opens it (half-open -> open, once per cool-down while the deployment stays
 * down) sends none, and a new outage after the breaker closed sends another. Alerts go to a
 * real HTTP receiver on 127.0.0.1.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import type { RunEvent } from "../../src/events/event.js";
import { AlertWebhook } from "../../src/telemetry/alert-webhook.js";

let server: Server | undefined;
afterAll(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

function receiver(): Promise<{ url: string; bodies: { alert: string; deployment?: string }[] }> {
  const bodies: { alert: string; deployment?: string }[] = [];
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      bodies.push(JSON.parse(body) as { alert: string });
      res.end("ok");
    });
  });
  return new Promise((r) => server!.listen(0, "127.0.0.1", () => r({ url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}/alerts`, bodies })));
}

const breaker = (previous: "closed" | "open" | "half-open", state: "closed" | "open" | "half-open", deployment = "b"): RunEvent => ({
  type: "model.breaker",
  runId: "run_1",
  ts: Date.now(),
  model: "llm",
  deployment,
  previous,
  state,
});

describe("alert webhook: breaker-open", () => {
  it("alerts once per outage: not again when a failed probe re-opens the breaker, again after it closed and opened", async () => {
    const hook = await receiver();
    const alerts = new AlertWebhook({ settings: () => ({ webhook: hook.url }) });
    // An outage: opens, then two cool-downs whose probe fails.
    alerts.onEvent(breaker("closed", "open"));
    for (let i = 0; i < 2; i++) {
      alerts.onEvent(breaker("open", "half-open"));
      alerts.onEvent(breaker("half-open", "open"));
    }
    await alerts.flush();
    expect(hook.bodies).toEqual([expect.objectContaining({ alert: "breaker-open", deployment: "b" })]);
    // The deployment is back (the probe succeeds), then a second outage, and another deployment's.
    alerts.onEvent(breaker("open", "half-open"));
    alerts.onEvent(breaker("half-open", "closed"));
    alerts.onEvent(breaker("closed", "open"));
    alerts.onEvent(breaker("closed", "open", "c"));
    await alerts.flush();
    expect(hook.bodies.map((b) => `${b.alert} ${b.deployment}`)).toEqual(["breaker-open b", "breaker-open b", "breaker-open c"]);
  });
});
