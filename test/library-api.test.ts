import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BaseModel, loadPipeline, ModelRegistry, TaskOrchestrator } from "../src/index.js";

describe("the library API of DESIGN section 7", () => {
  it("runs the tutorial example as written, on a mock model under the tutorial's names", async () => {
    const registry = new ModelRegistry();
    registry.registerModel({
      name: "gpt-4",
      provider: "mock",
      capabilities: ["text-generation", "code-completion"],
      maxTokens: 8192,
      options: { reply: { text: "def sort_list(xs):\n    return sorted(xs)  # for: ${{ $request.prompt }}" } },
    });
    const orchestrator = new TaskOrchestrator(registry);
    const result = await orchestrator.executeTask({
      taskType: "code-generation",
      inputData: { prompt: "Create a function to sort a list" },
      requiredCapabilities: ["code-completion"],
    });
    expect(result.model).toBe("gpt-4");
    expect((result.output as { text: string }).text).toContain("for: Create a function to sort a list");
    expect(result.taskType).toBe("code-generation");

    class CustomModel extends BaseModel {
      override name = "custom";
      override capabilities = ["custom-task"];
      override async process(input: unknown) {
        return { text: `custom:${(input as { prompt: string }).prompt}` };
      }
    }
    registry.registerModel(new CustomModel());
    const custom = await orchestrator.executeTask({ inputData: { prompt: "x" }, requiredCapabilities: ["custom-task"] });
    expect(custom.output).toEqual({ text: "custom:x" });

    const dir = mkdtempSync(join(tmpdir(), "mcp-lib-"));
    const file = join(dir, "triage.yaml");
    writeFileSync(
      file,
      `version: 1
models:
  nlp: { provider: nlp, capabilities: [sentiment-analysis] }
steps:
  mood: { capabilities: [sentiment-analysis], input: { text: "\${{ $input.text }}" } }
output: \${{ $steps.mood.output.label }}
`,
    );
    const run = await orchestrator.runPipeline(await loadPipeline(file), { text: "I love this, thank you!" });
    expect(run.status).toBe("success");
    expect(run.output).toBe("positive");
  });

  it("finds models by capability and orders the fallback chain", () => {
    const registry = new ModelRegistry()
      .registerModel({ name: "a", provider: "mock", capabilities: ["t"], cost: { input: 3, output: 3 } })
      .registerModel({ name: "b", provider: "mock", capabilities: ["t", "x"], cost: { input: 1, output: 1 } })
      .registerModel({ name: "c", provider: "mock", capabilities: ["x"] });
    expect(registry.findByCapabilities(["t"]).map((m) => m.name)).toEqual(["a", "b"]);
    expect(registry.select({ capabilities: ["t"], select: "cheapest" }).map((m) => m.name)).toEqual(["b", "a"]);
    expect(registry.chain("a", undefined, ["b"])).toEqual(["a", "b"]);
    expect(registry.cost("a", 1_000_000, 0)).toBe(3);
    expect(() => registry.registerModel({ name: "" } as never)).toThrow(TypeError);
  });
});
