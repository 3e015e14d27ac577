/** The pipeline's budget counts the calls in flight, not only the finished ones (src/orchestrator/budget.ts). */
import { describe, expect, it } from "vitest";
import type { ModelConfig } from "../../src/models/types.js";
import { RunBudget } from "../../src/orchestrator/budget.js";
import { StepError } from "../../src/orchestrator/step-errors.js";

const config: ModelConfig = { name: "m", provider: "mock", capabilities: ["t"] };
// One dollar per token, in and out.
const registry = { cost: (_m: string, i: number, o: number) => i + o };
const step = { id: "s" };

describe("RunBudget", () => {
  it("refuses a call when the calls in flight would already take the budget", async () => {
    const b = new RunBudget({ maxTokens: 9 }, registry);
    const first = await b.reserve(step, config, { maxTokens: 4, prompt: "hello" });
    expect(first?.tokens).toBeGreaterThan(4);
    expect(b.reserved.tokens).toBe(first!.tokens);
    // Nothing is spent yet; the second call would pass the limit with the first in flight.
    expect(b.spent.tokens).toBe(0);
    await expect(b.reserve(step, config, { maxTokens: 4, prompt: "hello" })).rejects.toBeInstanceOf(StepError);
    b.release(first);
    expect(b.reserved.tokens).toBe(0);
    await expect(b.reserve(step, config, { maxTokens: 4, prompt: "hello" })).resolves.toBeDefined();
  });

  it("refuses a call that would pass maxCost once spent and reserved are added up", async () => {
    const b = new RunBudget({ maxCost: 17 }, registry);
    b.spend("m", { inputTokens: 5, outputTokens: 5 }, 10);
    const r = await b.reserve(step, config, { maxTokens: 3, prompt: "x" });
    expect(r).toBeDefined();
    const err = await b.reserve(step, config, { maxTokens: 3, prompt: "x" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StepError);
    expect((err as StepError).reason).toBe("budget-exceeded");
  });

  it("estimates a call's output from the model's average so far", async () => {
    const b = new RunBudget({ maxTokens: 1_000 }, registry);
    b.spend("m", { inputTokens: 1, outputTokens: 100 }, 0);
    const r = await b.reserve(step, config, "x");
    expect(r!.tokens).toBeGreaterThanOrEqual(100);
  });
});
