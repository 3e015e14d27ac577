/**
 * mcp.yaml `alerts:` fire from `mcp run` as from the server: a run that passes its budget
 * threshold POSTs one alert to the webhook (a real HTTP receiver on 127.0.0.1), and a
 * webhook that is down is a warning, never a failed run.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempProject } from "../helpers/project.js";

let server: Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

function receiver(): Promise<{ url: string; bodies: unknown[] }> {
  const bodies: unknown[] = [];
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      bodies.push(JSON.parse(body));
      res.end("ok");
    });
  });
  return new Promise((r) => server!.listen(0, "127.0.0.1", () => r({ url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, bodies })));
}

const PIPELINE = `version: 1
name: spend
budget: { maxTokens: 100000 }
models:
  m: { provider: mock, capabilities: [text-generation], options: { reply: { text: "a reply of several words" } } }
steps:
  a: { model: m, input: { prompt: "say something long enough to count" } }
`;

describe("mcp run and the alert webhook", { timeout: 60_000 }, () => {
  it("posts a budget alert when a run passes the threshold of its budget", async () => {
    const hook = await receiver();
    const dir = tempProject({ "mcp.yaml": `version: 1\nalerts:\n  webhook: "${hook.url}/alerts"\n  budgetThreshold: 0.00001\n`, "p.yaml": PIPELINE });
    const r = await runCli(["run", "p.yaml", "--store", "memory"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(hook.bodies).toHaveLength(1);
    expect(hook.bodies[0]).toMatchObject({ alert: "budget", pipeline: "spend", budget: { maxTokens: 100000 }, threshold: 0.00001 });
  });

  it("sends nothing below the threshold, and a webhook that is down is only a warning", async () => {
    const hook = await receiver();
    const below = tempProject({ "mcp.yaml": `version: 1\nalerts:\n  webhook: "${hook.url}/alerts"\n`, "p.yaml": PIPELINE });
    expect((await runCli(["run", "p.yaml", "--store", "memory"], { cwd: below })).code).toBe(0);
    expect(hook.bodies).toHaveLength(0);
    const url = hook.url;
    await new Promise<void>((r) => server!.close(() => r()));
    server = undefined;
    // The path of a webhook URL is often a secret (Slack, Teams): the warning names the origin only.
    const down = tempProject({ "mcp.yaml": `version: 1\nalerts:\n  webhook: "${url}/alerts/T0-secret"\n  budgetThreshold: 0.00001\n`, "p.yaml": PIPELINE });
    const r = await runCli(["run", "p.yaml", "--store", "memory"], { cwd: down });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`warning: the alert webhook failed: cannot reach ${new URL(url).origin}: connection refused\n`);
    expect(r.stderr).not.toContain("T0-secret");
  });
});
