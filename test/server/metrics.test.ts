import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, MOCK_CONFIG, serve, THREE_STEPS, type Served } from "./helpers.js";

/** Parses Prometheus text format 0.0.4; throws on a line that is not a comment, a sample or blank. */
function parseProm(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("# HELP ") || line.startsWith("# TYPE ")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

describe("/metrics", () => {
  let s: Served;
  beforeAll(async () => {
    s = await serve({ "mcp.yaml": MOCK_CONFIG.replace("capabilities: [text-generation]\n", "capabilities: [text-generation]\n    cache: true\n"), "pipelines/three.yaml": THREE_STEPS });
  });
  afterAll(() => s.close());

  it("is Prometheus text with runs, steps, model calls, tokens, cache and HTTP counters, and no run ids", async () => {
    const run = (await api(s.url, "/v1/pipelines/three/runs", { body: { input: { text: "m" }, wait: true } })).json;
    await api(s.url, "/v1/pipelines/three/runs", { body: { input: { text: "m" }, wait: true } });
    const r = await api(s.url, "/metrics");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = parseProm(r.text);
    const find = (name: string, labels: Record<string, string> = {}) => samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
    expect(find("mcp_runs_total", { pipeline: "three", status: "success" })!.value).toBe(2);
    expect(find("mcp_steps_total", { pipeline: "three", status: "success" })!.value).toBe(6);
    expect(find("mcp_model_call_duration_seconds_count", { model: "fake", outcome: "success" })!.value).toBe(3);
    expect(find("mcp_cache_lookups_total", { model: "fake", result: "hit" })!.value).toBe(3);
    expect(find("mcp_tokens_total", { model: "fake", direction: "output" })!.value).toBeGreaterThan(0);
    expect(find("mcp_http_requests_total", { method: "POST", route: "/v1/pipelines/:name/runs", status: "200" })!.value).toBe(2);
    expect(find("mcp_step_duration_seconds_bucket", { pipeline: "three", le: "+Inf" })!.value).toBe(6);
    expect(find("process_resident_memory_bytes")).toBeDefined();
    expect(r.text).not.toContain(run.runId);
  });
});
