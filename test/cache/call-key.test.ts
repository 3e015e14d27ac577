/**
 * The call key decides which calls share a cached answer or a recording: each part of a
 * call's identity must change it, and nothing else may.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { callIdentity, callKey, stableStringify } from "../../src/cache/call-key.js";
import type { CallRequest } from "../../src/events/ports.js";
import type { ModelConfig } from "../../src/models/types.js";

const model = (over: Partial<ModelConfig> = {}): ModelConfig => ({ name: "m", provider: "openai", model: "gpt-x", capabilities: ["t"], ...over });
const req = (over: Partial<CallRequest> = {}): CallRequest => ({ runId: "r", stepId: "s", model: model(), input: { prompt: "hi" }, capabilities: ["a", "b"], ...over });

describe("callKey", () => {
  const base = callKey(req());

  it("changes with the provider", () => {
    expect(callKey(req({ model: model({ provider: "anthropic" }) }))).not.toBe(base);
  });

  it("changes with the endpoint (baseUrl and url)", () => {
    expect(callKey(req({ model: model({ baseUrl: "http://127.0.0.1:9/v1" }) }))).not.toBe(base);
    expect(callKey(req({ model: model({ url: "http://127.0.0.1:9/score" }) }))).not.toBe(base);
  });

  it("changes with the module and its export", () => {
    const m = callKey(req({ model: model({ provider: "module", module: "./a.js" }) }));
    expect(callKey(req({ model: model({ provider: "module", module: "./b.js" }) }))).not.toBe(m);
    expect(callKey(req({ model: model({ provider: "module", module: "./a.js", export: "other" }) }))).not.toBe(m);
  });

  it("changes with the request template", () => {
    expect(callKey(req({ model: model({ request: { body: "x" } }) }))).not.toBe(base);
  });

  it("does not depend on the order the capabilities are listed in", () => {
    expect(callKey(req({ capabilities: ["b", "a"] }))).toBe(base);
    expect(callKey(req({ capabilities: ["a"] }))).not.toBe(base);
  });

  it("does not depend on the model's registry name, run or step", () => {
    expect(callKey(req({ model: model({ name: "other" }), runId: "x", stepId: "y" }))).toBe(base);
  });

  it("is the sha256 of the whole identity in a stable order, as in files written before (the model's part serialised once per model)", () => {
    const reference = (r: CallRequest) =>
      createHash("sha256")
        .update(stableStringify(callIdentity(r)))
        .digest("hex");
    const shared = model({ baseUrl: "http://127.0.0.1:9/v1", options: { z: 1, a: [2, { y: undefined, b: 3 }] }, request: { body: "x" } });
    const cases: CallRequest[] = [
      req(),
      req({ capabilities: undefined }),
      req({ capabilities: [] }),
      req({ input: undefined }),
      req({ input: "plain" }),
      req({ input: { b: 1, a: { d: [1, { z: 1, x: 2 }], c: undefined } }, model: shared }),
      req({ input: { prompt: "again" }, model: shared }),
      req({ model: model({ provider: "module", module: "./a.js", export: "run" }) }),
      req({ model: { name: "t", provider: "mcp", capabilities: [], mcpServer: { id: "srv" } as ModelConfig["mcpServer"], tool: "search" } }),
      req({ model: { name: "bare", provider: "mock", capabilities: [] } }),
    ];
    for (const r of cases) expect(callKey(r)).toBe(reference(r));
  });
});
