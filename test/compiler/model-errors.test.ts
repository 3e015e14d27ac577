/** MCP4xx: models, tasks and capability contracts. */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadPipelineFile } from "../../src/compiler/load.js";
import { headlines, load, MOCK_MODELS, rendered } from "../helpers/diagnostics.js";
import { tempProject } from "../helpers/project.js";

const pipeline = (steps: string, models = MOCK_MODELS) => `${models}steps:\n${steps}`;

describe("MCP401 unknown model", () => {
  it("suggests the model meant for a step", () => {
    const r = load(pipeline(`  a:\n    model: writr\n`));
    expect(headlines(r)).toEqual(["p.yaml:10:12: error MCP401: unknown model 'writr' (did you mean 'writer'?)"]);
  });

  it("checks the fallback list of a model", () => {
    const r = load(`models:\n  writer: { provider: mock, capabilities: [t], fallback: [backup] }\nsteps:\n  a: { model: writer }\n`);
    expect(headlines(r)).toEqual(["p.yaml:2:59: error MCP401: unknown model 'backup' in the fallback of model 'writer'"]);
  });

  it("checks the fallback list of a step", () => {
    const r = load(pipeline(`  a:\n    model: writer\n    fallback: [writer, ghost]\n`));
    expect(headlines(r)).toEqual(["p.yaml:11:24: error MCP401: unknown model 'ghost' in the fallback chain of step 'a'"]);
  });

  it("checks the model that compresses the conversation", () => {
    const r = load(`${MOCK_MODELS}context:\n  maxHistory: 5\n  compress: { threshold: 4, model: sumariser }\nsteps:\n  a: { model: writer }\n`);
    expect(headlines(r)).toEqual(["p.yaml:10:36: error MCP401: unknown model 'sumariser' for context compression"]);
  });

  it("finds models defined in the mcp.yaml found above the pipeline", () => {
    const dir = tempProject({
      "mcp.yaml": `version: 1\n${MOCK_MODELS}`,
      "pipelines/p.yaml": "steps:\n  a: { model: tagger }\n",
    });
    const r = loadPipelineFile(join(dir, "pipelines", "p.yaml"));
    expect(r.diagnostics).toEqual([]);
    expect(r.pipeline?.steps.get("a")?.chain).toEqual(["tagger"]);
    expect(r.configPath).toBe(join(dir, "mcp.yaml"));
  });
});

describe("MCP402 unknown task", () => {
  it("suggests the task meant", () => {
    const r = load(`${MOCK_MODELS}tasks:\n  summarise: { capabilities: [text-generation] }\nsteps:\n  a: { task: sumarise }\n`);
    expect(headlines(r)).toEqual(["p.yaml:11:14: error MCP402: unknown task 'sumarise' (did you mean 'summarise'?)"]);
  });

  it("gives a step the task's capabilities and retry policy", () => {
    const r = load(`${MOCK_MODELS}tasks:\n  tag: { capabilities: [entity-extraction], retry: { attempts: 5 } }\nsteps:\n  a: { task: tag }\n`);
    const step = r.pipeline?.steps.get("a");
    expect(step?.capabilities).toEqual(["entity-extraction"]);
    expect(step?.chain).toEqual(["tagger"]);
    expect(step?.retry.attempts).toBe(5);
  });
});

describe("MCP403 no model has the capabilities", () => {
  it("names the closest model and what it lacks", () => {
    const r = load(pipeline(`  a:\n    capabilities: [text-generation, translation]\n`));
    expect(headlines(r)).toEqual(["p.yaml:10:19: error MCP403: no model has the capabilities 'text-generation', 'translation' needed by step 'a'"]);
    expect(r.diagnostics[0]!.hint).toBe("closest: model 'writer' lacks 'translation'");
  });
});

describe("MCP404 model lacks a capability", () => {
  it("names the fallback model and the capability it lacks", () => {
    const r = load(pipeline(`  a:\n    capabilities: [entity-extraction]\n    fallback: [writer]\n`));
    expect(headlines(r)).toEqual(["p.yaml:11:16: error MCP404: model 'writer' in the fallback chain for step 'a' lacks the capability 'entity-extraction'"]);
  });

  it("follows the chosen model's own fallback list", () => {
    const models = `models:
  big: { provider: mock, capabilities: [text-generation, vision], fallback: [small] }
  small: { provider: mock, capabilities: [text-generation] }
`;
    const r = load(pipeline(`  look:\n    capabilities: [vision]\n`, models));
    expect(headlines(r)).toEqual(["p.yaml:5:3: error MCP404: model 'small' in the fallback chain for step 'look' lacks the capability 'vision'"]);
    expect(rendered(r).split("\n").at(-1)).toBe("  p.yaml:2:78: note: 'small' is in the fallback list of model 'big'");
  });

  it("checks a named model against the step's capabilities", () => {
    const r = load(pipeline(`  a:\n    model: writer\n    capabilities: [entity-extraction, vision]\n`));
    expect(headlines(r)).toEqual(["p.yaml:10:12: error MCP404: model 'writer' chosen for step 'a' lacks the capabilities 'entity-extraction', 'vision'"]);
  });

  it("accepts a chain in which every model has the capabilities", () => {
    const r = load(pipeline(`  a:\n    capabilities: [text-generation]\n`));
    expect(r.diagnostics).toEqual([]);
    // Without an explicit fallback list, the other capable models are the fallback chain.
    expect(r.pipeline?.steps.get("a")?.chain).toEqual(["writer", "tagger"]);
  });
});
