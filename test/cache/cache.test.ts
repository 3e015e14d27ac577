import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { callKey, stableStringify } from "../../src/cache/call-key.js";
import { Recorder, Replayer, readRecording, scrub } from "../../src/cache/recording.js";
import { cacheMayApply, cachePolicyFor, ResponseCache } from "../../src/cache/response-cache.js";
import { editDistance, similarity } from "../../src/cache/similarity.js";
import { loadPipeline } from "../../src/compiler/load.js";
import type { RunEvent } from "../../src/events/event.js";
import type { ModelConfig } from "../../src/models/types.js";
import type { CallRequest } from "../../src/events/ports.js";
import { TaskOrchestrator } from "../../src/orchestrator/orchestrator.js";
import { MemoryStore } from "../../src/store/memory-store.js";
import { SqliteStore } from "../../src/store/sqlite-store.js";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "mcp-cache-"));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const model = (over: Partial<ModelConfig> = {}): ModelConfig => ({ name: "m", provider: "mock", capabilities: ["t"], ...over });
const req = (over: Partial<CallRequest> = {}): CallRequest => ({ runId: "r", stepId: "s", model: model(), input: { prompt: "hi" }, ...over });

function pipelineText(opts: { modelCache?: string; stepCache?: string; failRate?: number } = {}): string {
  return `version: 1
name: cached
models:
  llm:
    provider: mock
    capabilities: [text-generation]
    ${opts.modelCache ? `cache: ${opts.modelCache}` : ""}
    options:
      reply: { text: "answer to \${{ $request.prompt }}" }
      usage: { inputTokens: 7, outputTokens: 3 }
      ${opts.failRate !== undefined ? `failRate: ${opts.failRate}` : ""}
steps:
  ask:
    model: llm
    retry: { attempts: 1 }
    ${opts.stepCache ? `cache: ${opts.stepCache}` : ""}
    input: { prompt: "\${{ $input.q }}" }
  other:
    model: llm
    cache: false
    input: { prompt: "uncached \${{ $input.q }}" }
output: \${{ $steps.ask.output.text }}
`;
}

async function load(text: string) {
  return loadPipeline(join(tempDir(), "cached.yaml"), { text, configPath: null });
}

function collect(): { events: RunEvent[]; observer: { onEvent(e: RunEvent): void } } {
  const events: RunEvent[] = [];
  return { events, observer: { onEvent: (e) => events.push(e) } };
}

describe("call keys", () => {
  it("do not depend on key order, and change with the input, options, model or capabilities", () => {
    expect(stableStringify({ b: 1, a: { d: [1, { z: 1, y: undefined, x: 2 }], c: 3 } })).toBe('{"a":{"c":3,"d":[1,{"x":2,"z":1}]},"b":1}');
    const base = callKey(req({ input: { prompt: "hi", temperature: 0 } }));
    expect(callKey(req({ input: { temperature: 0, prompt: "hi" } }))).toBe(base);
    expect(callKey(req({ input: { prompt: "hi!", temperature: 0 } }))).not.toBe(base);
    expect(callKey(req({ input: { prompt: "hi", temperature: 0 }, model: model({ options: { seed: 1 } }) }))).not.toBe(base);
    expect(callKey(req({ input: { prompt: "hi", temperature: 0 }, model: model({ model: "gpt-4o" }) }))).not.toBe(base);
    expect(callKey(req({ input: { prompt: "hi", temperature: 0 }, capabilities: ["summarization"] }))).not.toBe(base);
    // The step and run do not matter: two steps making the same call share it.
    expect(callKey(req({ input: { prompt: "hi", temperature: 0 }, stepId: "t", runId: "q" }))).toBe(base);
  });

  it("change with the provider, the endpoint or the module, and not with the order capabilities are asked in", () => {
    const input = { prompt: "hi" };
    const base = callKey(req({ input, model: model({ provider: "openai", baseUrl: "http://127.0.0.1:1/v1" }) }));
    expect(callKey(req({ input, model: model({ provider: "anthropic", baseUrl: "http://127.0.0.1:1/v1" }) }))).not.toBe(base);
    expect(callKey(req({ input, model: model({ provider: "openai", baseUrl: "http://127.0.0.1:2/v1" }) }))).not.toBe(base);
    expect(callKey(req({ input, model: model({ provider: "http", url: "http://127.0.0.1:1/a" }) }))).not.toBe(callKey(req({ input, model: model({ provider: "http", url: "http://127.0.0.1:1/b" }) })));
    expect(callKey(req({ input, model: model({ provider: "module", module: "./a.js" }) }))).not.toBe(callKey(req({ input, model: model({ provider: "module", module: "./b.js" }) })));
    expect(callKey(req({ input, capabilities: ["summarization", "sentiment-analysis"] }))).toBe(callKey(req({ input, capabilities: ["sentiment-analysis", "summarization"] })));
  });
});

describe("cache policy", () => {
  it("step over model over project", () => {
    expect(cachePolicyFor(req())).toEqual({ enabled: false });
    expect(cachePolicyFor(req(), { enabled: true, ttlMs: 1000 })).toEqual({ enabled: true, ttlMs: 1000 });
    expect(cachePolicyFor(req({ model: model({ cache: false }) }), { enabled: true })).toEqual({ enabled: false });
    expect(cachePolicyFor(req({ model: model({ cache: { ttlMs: 5 } }) }), { ttlMs: 1000 })).toEqual({ enabled: true, ttlMs: 5 });
    expect(cachePolicyFor(req({ model: model({ cache: true }), cache: { enabled: false } }))).toEqual({ enabled: false });
    expect(cachePolicyFor(req({ cache: { enabled: true, ttlMs: 9 } }), { enabled: false, ttlMs: 1000 })).toEqual({ enabled: true, ttlMs: 9 });
    expect(cacheMayApply([], [], {})).toBe(false);
    expect(cacheMayApply([{ cache: { enabled: true } }], [], {})).toBe(true);
    expect(cacheMayApply([], [{ cache: { ttlMs: 1 } }], {})).toBe(true);
    expect(cacheMayApply([], [{ cache: false }], { enabled: true })).toBe(true);
  });
});

describe("the response cache", () => {
  it("serves a second identical run with no model call, and reports hits and misses", async () => {
    const store = new SqliteStore(join(tempDir(), "state.db"));
    const p = await load(pipelineText({ modelCache: "true" }));
    const first = collect();
    const r1 = await new TaskOrchestrator().runPipeline(p, { q: "why?" }, { hooks: [new ResponseCache(store)], observer: first.observer });
    expect(r1.status).toBe("success");
    expect(r1.output).toBe("answer to why?");
    expect(r1.totals).toMatchObject({ calls: 2, cacheHits: 0, cacheMisses: 1 });
    expect(first.events.filter((e) => e.type === "step.cache")).toEqual([expect.objectContaining({ stepId: "ask", hit: false, source: "cache" })]);

    // A new orchestrator (new model instances), the same store: as a second process would.
    const second = collect();
    const r2 = await new TaskOrchestrator().runPipeline(p, { q: "why?" }, { hooks: [new ResponseCache(store)], observer: second.observer });
    expect(r2.output).toBe("answer to why?");
    expect(r2.totals).toMatchObject({ calls: 1, cacheHits: 1, cacheMisses: 0 });
    expect(r2.steps.ask).toMatchObject({ cached: true, usage: { inputTokens: 7, outputTokens: 3 }, cost: 0 });
    expect(r2.steps.ask!.attempts).toEqual([expect.objectContaining({ cached: "cache", ok: true })]);
    expect(r2.steps.other!.cached).toBe(false);
    expect(second.events.filter((e) => e.type === "step.cache")).toEqual([expect.objectContaining({ stepId: "ask", hit: true, source: "cache" })]);
    expect(second.events.some((e) => e.type === "step.started" && e.stepId === "ask")).toBe(false);

    // Another input is another call.
    const r3 = await new TaskOrchestrator().runPipeline(p, { q: "how?" }, { hooks: [new ResponseCache(store)] });
    expect(r3.totals).toMatchObject({ calls: 2, cacheMisses: 1 });
    await store.close();
  });

  it("is enabled per step and from the project settings", async () => {
    const store = new MemoryStore();
    const p = await load(pipelineText({ stepCache: "{ ttl: 1m }" }));
    await new TaskOrchestrator().runPipeline(p, { q: "a" }, { hooks: [new ResponseCache(store)] });
    expect((await new TaskOrchestrator().runPipeline(p, { q: "a" }, { hooks: [new ResponseCache(store)] })).totals.calls).toBe(1);

    const plain = await load(pipelineText());
    const project = { project: { enabled: true } };
    await new TaskOrchestrator().runPipeline(plain, { q: "b" }, { hooks: [new ResponseCache(store, project)] });
    const again = await new TaskOrchestrator().runPipeline(plain, { q: "b" }, { hooks: [new ResponseCache(store, project)] });
    // `other` says cache: false, so it still calls; `ask` is served.
    expect(again.totals).toMatchObject({ calls: 1, cacheHits: 1 });
  });

  it("counts no misses for calls whose caching is off", async () => {
    const p = await load(pipelineText());
    const r = await new TaskOrchestrator().runPipeline(p, { q: "a" }, { hooks: [new ResponseCache(new MemoryStore())] });
    expect(r.totals).toMatchObject({ calls: 2, cacheHits: 0, cacheMisses: 0 });
  });

  it("expires entries after their TTL", async () => {
    let now = 1_000_000;
    const store = new MemoryStore();
    const p = await load(pipelineText({ modelCache: "{ ttl: 10s }" }));
    const hooks = () => [new ResponseCache(store, { now: () => now })];
    await new TaskOrchestrator().runPipeline(p, { q: "a" }, { hooks: hooks() });
    now += 9_000;
    expect((await new TaskOrchestrator().runPipeline(p, { q: "a" }, { hooks: hooks() })).totals.cacheHits).toBe(1);
    now += 2_000;
    expect((await new TaskOrchestrator().runPipeline(p, { q: "a" }, { hooks: hooks() })).totals).toMatchObject({ cacheHits: 0, cacheMisses: 1 });
  });

  it("never caches a failure", async () => {
    const store = new MemoryStore();
    const failing = await load(pipelineText({ modelCache: "true", failRate: 1 }));
    const r = await new TaskOrchestrator().runPipeline(failing, { q: "a" }, { hooks: [new ResponseCache(store)] });
    expect(r.status).toBe("failed");
    expect(await store.cacheDeleteExpired(Number.MAX_SAFE_INTEGER)).toBe(0);
    const lookup = await new ResponseCache(store).lookup({ runId: "r", stepId: "ask", model: failing.models.find((m) => m.name === "llm")!, input: { prompt: "a" }, capabilities: [] });
    expect(lookup).toBeUndefined();
  });
});

describe("record and replay", () => {
  it("records every call readably, then replays the run with no model call", async () => {
    const dir = tempDir();
    const file = join(dir, "calls.json");
    const p = await load(pipelineText());
    const recorder = new Recorder(file, { pipeline: p.name, hash: p.hash });
    const r1 = await new TaskOrchestrator().runPipeline(p, { q: "why?" }, { hooks: [recorder] });
    expect(r1.status).toBe("success");
    const rec = JSON.parse(readFileSync(file, "utf8"));
    expect(rec).toMatchObject({ format: "mcp-recording", version: 1, pipeline: "cached", hash: p.hash });
    expect(rec.interactions).toHaveLength(2);
    expect(rec.interactions.find((i: { step: string }) => i.step === "ask")).toMatchObject({
      step: "ask",
      model: "llm",
      provider: "mock",
      request: { prompt: "why?" },
      response: { text: "answer to why?", usage: { inputTokens: 7, outputTokens: 3 } },
      usage: { inputTokens: 7, outputTokens: 3 },
      latencyMs: expect.any(Number),
    });

    const events = collect();
    const r2 = await new TaskOrchestrator().runPipeline(p, { q: "why?" }, { hooks: [new Replayer(file)], observer: events.observer });
    expect(r2.status).toBe("success");
    expect(r2.output).toBe(r1.output);
    expect(r2.totals).toMatchObject({ calls: 0, cacheHits: 2 });
    expect(events.events.filter((e) => e.type === "step.cache").every((e) => e.type === "step.cache" && e.source === "replay" && e.hit)).toBe(true);
  });

  it("writes YAML when the file name says so", async () => {
    const file = join(tempDir(), "calls.yaml");
    const p = await load(pipelineText());
    await new TaskOrchestrator().runPipeline(p, { q: "x" }, { hooks: [new Recorder(file)] });
    expect(readFileSync(file, "utf8")).toMatch(/^format: mcp-recording$/m);
    expect(readRecording(file).interactions).toHaveLength(2);
  });

  it("fails a call that is not in the file, naming the step, the model and the nearest recorded call", async () => {
    const file = join(tempDir(), "calls.json");
    const p = await load(pipelineText());
    await new TaskOrchestrator().runPipeline(p, { q: "What is the capital of France?" }, { hooks: [new Recorder(file)] });
    const r = await new TaskOrchestrator().runPipeline(p, { q: "What is the capital of Spain?" }, { hooks: [new Replayer(file)] });
    expect(r.status).toBe("failed");
    expect(r.error?.reason).toBe("replay-miss");
    const failed = Object.values(r.steps).find((s) => s.status === "failed")!;
    expect(failed.error?.reason).toBe("replay-miss");
    const msg = r.error!.message;
    expect(msg).toMatch(/no recorded call in calls\.json matches step '(ask|other)' on model 'llm' \(mock\)/);
    expect(msg).toMatch(/nearest recorded call: step '(ask|other)' on model 'llm' \(mock\), input \d+% similar/);
    expect(msg).toMatch(/recorded: .*France/);
    expect(msg).toMatch(/this call: .*Spain/);
    expect(r.totals.calls).toBe(0);
  });

  it("says what differs when the input is the same but the model changed", async () => {
    const file = join(tempDir(), "calls.json");
    const p = await load(pipelineText());
    await new TaskOrchestrator().runPipeline(p, { q: "a" }, { hooks: [new Recorder(file)] });
    const replayer = new Replayer(file);
    const llm = p.models.find((m) => m.name === "llm")!;
    await expect(replayer.lookup({ runId: "r", stepId: "ask", model: { ...llm, options: { ...llm.options, seed: 3 } }, input: { prompt: "a" }, capabilities: [] })).rejects.toThrow(
      /the input is the same; what differs is the model's settings/,
    );
  });

  it("serves repeated identical calls in recorded order", async () => {
    const file = join(tempDir(), "calls.json");
    const recorder = new Recorder(file);
    const r = req({ stepId: "s" });
    await recorder.store(r, { text: "first" }, { usage: { inputTokens: 1, outputTokens: 1 }, latencyMs: 1 });
    await recorder.store(r, { text: "second" }, { usage: { inputTokens: 1, outputTokens: 1 }, latencyMs: 1 });
    const replayer = new Replayer(file);
    expect((await replayer.lookup(r)).output).toEqual({ text: "first" });
    expect((await replayer.lookup(r)).output).toEqual({ text: "second" });
    expect((await replayer.lookup(r)).output).toEqual({ text: "second" });
  });

  it("never writes API keys or auth headers", async () => {
    const file = join(tempDir(), "calls.json");
    const recorder = new Recorder(file, { env: { MY_KEY: "sk-very-secret-123" } });
    const r = req({
      model: model({ apiKeyEnv: "MY_KEY", headers: { authorization: "Bearer sk-very-secret-123" } }),
      input: { prompt: "my key is sk-very-secret-123", headers: { Authorization: "Bearer x", "x-api-key": "k" } },
    });
    await recorder.store(r, { text: "ok", echo: "sk-very-secret-123" }, { usage: { inputTokens: 1, outputTokens: 1 }, latencyMs: 1 });
    const text = readFileSync(file, "utf8");
    expect(text).not.toContain("sk-very-secret-123");
    expect(text).not.toContain("Bearer x");
    expect(text).toContain("[redacted]");
    expect(scrub({ a: { Cookie: "c", keep: "v" } })).toEqual({ a: { Cookie: "[redacted]", keep: "v" } });
  });

  it("refuses a file that is not a recording", () => {
    const dir = tempDir();
    expect(() => readRecording(join(dir, "missing.json"))).toThrow(/cannot read the replay file .*no such file/);
  });
});

describe("similarity", () => {
  it("is 1 for equal strings and falls with the edit distance", () => {
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(similarity("abc", "abc")).toBe(1);
    expect(similarity("abcd", "abcx")).toBe(0.75);
    expect(similarity("", "")).toBe(1);
  });
});
