/**
 * MCP1xx: the JSON Schema check. ajv's errors are rewritten into messages that name the
 * key, what was expected and what was found, at the line and column of the YAML node.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ErrorObject } from "ajv";
import { loadPipelineFile } from "../../src/compiler/load.js";
import { parseYaml } from "../../src/config/yaml-file.js";
import { formatHeadline } from "../../src/diagnostics/printer.js";
import { SourceMap } from "../../src/diagnostics/source.js";
import { schemaErrorToDiagnostic } from "../../src/schema/validate.js";
import { headlines, load, MOCK_MODELS } from "../helpers/diagnostics.js";
import { tempProject } from "../helpers/project.js";

describe("MCP101 unknown key", () => {
  it("suggests the key meant for a misspelt step key", () => {
    const r = load(`${MOCK_MODELS}steps:\n  a:\n    model: writer\n    inptu: { text: hi }\n`);
    expect(headlines(r)).toEqual(["p.yaml:11:5: error MCP101: unknown key 'inptu' in steps.a (did you mean 'input'?)"]);
  });

  it("lists the allowed keys when nothing is close", () => {
    const r = load(`${MOCK_MODELS}steps:\n  a:\n    model: writer\n    retry: { zzzzzz: 1 }\n`);
    expect(headlines(r)).toEqual(["p.yaml:11:14: error MCP101: unknown key 'zzzzzz' in steps.a.retry"]);
    expect(r.diagnostics[0]!.hint).toBe("allowed keys: attempts, backoff, initialDelay, maxDelay, jitter");
  });

  it("says where a key of a model, a step or a task belongs when it is written in another of them", () => {
    const r = load(`models:\n  writer: { provider: mock, capabilities: [t], retry: { attempts: 2 } }\nsteps:\n  a: { model: writer, latency: 5ms }\n`);
    expect(r.diagnostics.map((d) => [d.message, d.hint])).toEqual([
      ["unknown key 'retry' in models.writer", "'retry' is a key of a step (steps.<id>) or a task (tasks.<name>), not of this mapping; move it there"],
      ["unknown key 'latency' in steps.a", "'latency' is a key of a model (models.<name>), not of this mapping; move it there"],
    ]);
  });

  it("checks mcp.yaml too, at the top level", () => {
    const dir = tempProject({ "mcp.yaml": "version: 1\nmodles: {}\n", "p.yaml": "steps: { a: { model: m } }\n" });
    const r = loadPipelineFile(join(dir, "p.yaml"));
    expect(headlines(r)).toContain(`${join(dir, "mcp.yaml")}:2:1: error MCP101: unknown key 'modles' in the file (did you mean 'models'?)`);
  });
});

describe("MCP102 wrong type", () => {
  it("says what was expected and what was found", () => {
    const r = load(`${MOCK_MODELS}steps:\n  a:\n    model: writer\n    concurrency: lots\n`);
    expect(headlines(r)).toEqual(['p.yaml:11:18: error MCP102: steps.a.concurrency must be an integer, found the string "lots"']);
  });

  it("hints at quoting when an expression was read as a mapping", () => {
    const r = load(`${MOCK_MODELS}steps:\n  a:\n    model: writer\n    forEach: { a: 1 }\n`);
    expect(headlines(r)).toEqual(["p.yaml:11:14: error MCP102: steps.a.forEach must be a string, found a mapping"]);
    expect(r.diagnostics[0]!.hint).toMatch(/quote it/);
  });

  it("explains a value that matches none of the allowed forms", () => {
    const r = load(`${MOCK_MODELS}steps:\n  a:\n    model: writer\n    timeout: soon\n`);
    expect(headlines(r)).toEqual(['p.yaml:11:14: error MCP102: steps.a.timeout is not valid: expected a duration: "500ms", "30s", "2m", "1h", or a number of milliseconds; found the string "soon"']);
  });
});

describe("MCP103 missing key", () => {
  it("names the missing key of the file", () => {
    const r = load(`${MOCK_MODELS}`);
    expect(headlines(r)).toEqual(["p.yaml:1:1: error MCP103: the file is missing the key 'steps'"]);
  });

  it("names the missing key of a model, at the model's name", () => {
    const r = load(`models:\n  writer:\n    capabilities: [text-generation]\nsteps:\n  a: { model: writer }\n`);
    expect(headlines(r)).toEqual(["p.yaml:2:3: error MCP103: models.writer is missing the key 'provider'"]);
  });
});

describe("MCP104 invalid value", () => {
  it("lists the allowed values and suggests the one meant", () => {
    const r = load(`${MOCK_MODELS}steps:\n  a:\n    model: writer\n    onError: contineu\n`);
    expect(headlines(r)).toEqual(["p.yaml:11:14: error MCP104: steps.a.onError must be one of fail, continue; found the string \"contineu\" (did you mean 'continue'?)"]);
  });

  it("checks numeric bounds", () => {
    const r = load(`${MOCK_MODELS}steps:\n  a:\n    model: writer\n    retry: { attempts: 0 }\n`);
    expect(headlines(r)).toEqual(["p.yaml:11:24: error MCP104: steps.a.retry.attempts must be >= 1, found the number 0"]);
  });

  it("checks the inputs JSON Schema and points inside it", () => {
    const r = load(`inputs:\n  type: object\n  properties:\n    text: { type: strin }\n${MOCK_MODELS}steps:\n  a: { model: writer }\n`);
    expect(headlines(r)).toEqual([
      "p.yaml:4:19: error MCP104: inputs.properties.text.type must be one of array, boolean, integer, null, number, object, string; found the string \"strin\" (did you mean 'string'?)",
    ]);
  });

  it("accepts the same inputs schema with an $id any number of times", () => {
    const text = `inputs: { $id: "https://example.com/in.json", type: object }\n${MOCK_MODELS}steps:\n  a: { model: writer }\n`;
    expect(load(text).diagnostics).toEqual([]);
    expect(load(text).diagnostics).toEqual([]);
  });
});

describe("MCP105 schema violation", () => {
  it("falls back to ajv's wording for a keyword without a message of its own", () => {
    const file = parseYaml("p.yaml", "steps:\n  a:\n    concurrency: 3\n");
    const sources = new SourceMap();
    sources.add("p.yaml", file.text);
    const e: ErrorObject = {
      keyword: "multipleOf",
      instancePath: "/steps/a/concurrency",
      schemaPath: "#/multipleOf",
      params: { multipleOf: 2 },
      message: "must be multiple of 2",
    };
    const d = schemaErrorToDiagnostic(e, file)!;
    expect(formatHeadline(d, sources)).toBe("p.yaml:3:18: error MCP105: steps.a.concurrency must be multiple of 2");
  });
});
