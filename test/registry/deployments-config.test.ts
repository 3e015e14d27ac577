import { describe, expect, it } from "vitest";
import { loadPipelineFile } from "../../src/compiler/load.js";
import { formatText } from "../../src/diagnostics/printer.js";

function check(text: string): string {
  const r = loadPipelineFile("p.yaml", { text, configPath: null });
  return formatText(r.diagnostics, r.sources);
}

describe("deployments, limits and breakers in model files", () => {
  it("compiles deployments, balance, breaker thresholds and limits into the model", () => {
    const r = loadPipelineFile("p.yaml", {
      text: `
models:
  llm:
    provider: openai
    capabilities: [t]
    balance: weighted
    breaker: { failures: 4, cooldown: 30s, probes: 2 }
    limits: { rpm: 60, inputTpm: 10000, outputTpm: 2000 }
    deployments:
      - { baseUrl: "http://127.0.0.1:8001/v1", weight: 2, maxConcurrency: 8, limits: { rpm: 30 } }
      - { name: second, baseUrl: "http://127.0.0.1:8002/v1", apiKeyEnv: SECOND_KEY, model: other }
steps:
  s: { model: llm, input: { prompt: hi } }
`,
      configPath: null,
    });
    expect(r.diagnostics).toEqual([]);
    const m = r.pipeline!.models.find((x) => x.name === "llm")!;
    expect(m.breaker).toEqual({ failures: 4, cooldownMs: 30_000, probes: 2 });
    expect(m.limits).toEqual({ rpm: 60, inputTpm: 10000, outputTpm: 2000 });
    expect(m.balance).toBe("weighted");
    expect(m.deployments).toHaveLength(2);
  });

  it("reports deployments on a provider that sends no requests (MCP408)", () => {
    expect(
      check(`
models:
  fake:
    provider: mock
    capabilities: [t]
    deployments: [{ baseUrl: "http://127.0.0.1:1/v1" }]
steps:
  s: { model: fake, input: {} }
`),
    ).toContain("p.yaml:6:5: error MCP408: model 'fake': provider mock has no deployments (deployments are for openai, anthropic and http models)");
  });

  it("reports an unknown balance policy and a bad weight (schema)", () => {
    const out = check(`
models:
  llm:
    provider: openai
    capabilities: [t]
    balance: random
    deployments: [{ weight: 0 }]
steps:
  s: { model: llm, input: {} }
`);
    expect(out).toContain("error MCP104: models.llm.balance must be one of least-in-flight, weighted, round-robin");
    expect(out).toMatch(/models\.llm\.deployments\[0\]\.weight/);
  });
});
