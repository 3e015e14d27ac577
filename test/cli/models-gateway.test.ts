import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";

describe("mcp models with deployments", () => {
  it("shows each model's deployments, balance, breaker thresholds and limits", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mcp-models-gw-"));
    writeFileSync(
      join(dir, "mcp.yaml"),
      `models:
  llm:
    provider: openai
    capabilities: [text-generation]
    breaker: { failures: 5, cooldown: 30s }
    limits: { rpm: 60, outputTpm: 5000 }
    deployments:
      - { baseUrl: "http://127.0.0.1:8001/v1", weight: 2, maxConcurrency: 8 }
      - { name: backup, baseUrl: "http://127.0.0.1:8002/v1", limits: { rpm: 10 } }
`,
    );
    const r = await runCli(["models"], { cwd: dir });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      [
        "llm: 2 deployments, balance least-in-flight, breaker opens after 5 failures, cool-down 30s, 1 probe; limits rpm 60, outputTpm 5000",
        "  127.0.0.1:8001  http://127.0.0.1:8001/v1  weight 2  maxConcurrency 8",
        "  backup  http://127.0.0.1:8002/v1  weight 1  limits rpm 10",
      ].join("\n"),
    );
  });

  it("names two deployments of one server (differing by key) as the running gateway does: host:port, then host:port#2", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mcp-models-gw-"));
    const yaml = `models:
  llm:
    provider: openai
    deployments:
      - { baseUrl: "http://127.0.0.1:8001/v1", apiKeyEnv: KEY_A }
      - { baseUrl: "http://127.0.0.1:8001/v1", apiKeyEnv: KEY_B }
`;
    writeFileSync(join(dir, "mcp.yaml"), yaml);
    const r = await runCli(["models"], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(["  127.0.0.1:8001  http://127.0.0.1:8001/v1  weight 1  key $KEY_A", "  127.0.0.1:8001#2  http://127.0.0.1:8001/v1  weight 1  key $KEY_B"].join("\n"));
    const { newGatewayState } = await import("../../src/registry/gateway-state.js");
    const { parse } = await import("yaml");
    const config = { name: "llm", ...(parse(yaml) as { models: { llm: object } }).models.llm } as Parameters<typeof newGatewayState>[0];
    expect(newGatewayState(config, config.deployments!, "s", {}).deployments.map((d) => d.name)).toEqual(["127.0.0.1:8001", "127.0.0.1:8001#2"]);
  });
});
