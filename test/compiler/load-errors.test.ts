/**
 * MCP0xx: reading files and YAML. One test per code, each checking the exact headline
 * the CLI prints (`file:line:col: error CODE: message`).
 */
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { loadPipelineFile } from "../../src/compiler/load.js";
import { DEFAULT_LIMITS } from "../../src/config/limits.js";
import { formatHeadline } from "../../src/diagnostics/printer.js";
import { SourceMap } from "../../src/diagnostics/source.js";
import { collectFiles } from "../../src/cli/validate-paths.js";
import { headlines, load, MOCK_MODELS, only, rendered } from "../helpers/diagnostics.js";
import { tempProject } from "../helpers/project.js";

describe("MCP001 YAML syntax error", () => {
  it("points at the line YAML could not read", () => {
    const r = load(`steps:\n  a:\n    model: writer\n\tinput: {}\n`);
    expect(headlines(r)).toEqual(["p.yaml:4:1: error MCP001: Tabs are not allowed as indentation"]);
    expect(r.pipeline).toBeUndefined();
  });

  it("reports an unclosed flow sequence", () => {
    const r = load(`steps:\n  a: [1, 2\n  b: 1\n`);
    expect(headlines(r)).toEqual(["p.yaml:3:3: error MCP001: Flow sequence in block collection must be sufficiently indented and end with a ]"]);
  });

  it("reports a second document in the file", () => {
    const r = load(`steps: {}\n---\nsteps: {}\n`);
    expect(headlines(r)).toEqual(["p.yaml:2:1: error MCP001: Source contains multiple documents; please use YAML.parseAllDocuments()"]);
  });

  it("caps the number of syntax errors it lists", () => {
    const r = load(Array.from({ length: 60 }, (_, i) => `k${i}: [\n}`).join("\n"));
    expect(r.diagnostics.length).toBeLessThanOrEqual(21);
    expect(headlines(r).at(-1)).toMatch(/error MCP001: \d+ more YAML syntax errors not shown$/);
  });

  it("lists 20 syntax errors before the count of the rest, counting errors YAML reports twice at one place once", () => {
    // Each broken line makes YAML report errors at the same offsets more than once.
    const text = "version: 1\n" + Array.from({ length: 40 }, (_, i) => `k${i}: [unclosed\n  - \t x: {\n`).join("");
    const places = new Set(parseDocument(text).errors.map((e) => e.pos[0])).size;
    const lines = headlines(load(text));
    expect(lines).toHaveLength(21);
    expect(new Set(lines.slice(0, 20)).size).toBe(20);
    // Every place YAML found an error at is either listed or counted, none twice.
    expect(lines[20]).toMatch(new RegExp(`error MCP001: ${places - 20} more YAML syntax errors not shown$`));
  });
});

describe("MCP002 file too large", () => {
  it("refuses a file over the size limit before reading it (at 1:1, with no excerpt)", () => {
    const dir = tempProject();
    const path = join(dir, "big.yaml");
    writeFileSync(path, "# " + "x".repeat(DEFAULT_LIMITS.maxFileBytes) + "\nsteps: {}\n");
    const r = loadPipelineFile(path, { configPath: null });
    expect(headlines(r)).toEqual([`${path}:1:1: error MCP002: file is ${DEFAULT_LIMITS.maxFileBytes + 13} bytes; the limit is ${DEFAULT_LIMITS.maxFileBytes}`]);
  });

  it("counts bytes, not characters, of text given directly", () => {
    const text = "# " + "é".repeat(600) + "\nsteps: {}\n";
    const r = load(text, { limits: { ...DEFAULT_LIMITS, maxFileBytes: 1000 } });
    expect(headlines(r)).toEqual([`p.yaml:1:1: error MCP002: file is ${Buffer.byteLength(text)} bytes; the limit is 1000`]);
  });
});

describe("MCP003 nesting too deep", () => {
  it("stops at the first value deeper than the limit", () => {
    const deep = "steps:\n  a:\n    model: writer\n    input: " + "[".repeat(70) + "]".repeat(70) + "\n";
    const r = load(deep);
    expect(headlines(r)).toEqual(["p.yaml:4:74: error MCP003: nesting is deeper than 64 levels"]);
  });

  it("refuses thousands of open brackets before the parser recurses into them", () => {
    const started = performance.now();
    const r = load("steps: " + "[".repeat(500_000));
    expect(headlines(r)).toEqual(["p.yaml:1:143: error MCP003: nesting is deeper than 64 levels"]);
    expect(performance.now() - started).toBeLessThan(5000); // catches a parser that recurses, not speed
  });

  it("refuses deeply nested block sequences too", () => {
    const r = load("steps:\n" + "- ".repeat(5000) + "x\n");
    expect(only(r, "MCP003").message).toBe("nesting is deeper than 64 levels");
  });

  it("does not count brackets inside quoted strings or block scalars", () => {
    const text = `${MOCK_MODELS}steps:\n  a:\n    model: writer\n    input:\n      q: "${"[".repeat(300)}"\n      b: |\n        ${"{".repeat(300)}\n`;
    expect(load(text).diagnostics).toEqual([]);
  });
});

describe("MCP004 too many alias expansions", () => {
  const bomb = [
    `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]`,
    ...["b", "c", "d", "e", "f", "g", "h", "i"].map((k, i) => {
      const prev = "abcdefgh"[i];
      return `${k}: &${k} [${Array(9).fill(`*${prev}`).join(",")}]`;
    }),
    "steps: *i",
  ].join("\n");

  it("stops a billion-laughs file quickly, at the alias that passes the limit", () => {
    const started = performance.now();
    const r = load(bomb);
    expect(performance.now() - started).toBeLessThan(10_000); // expanding it fully would take minutes
    expect(headlines(r)).toEqual(["p.yaml:3:32: error MCP004: the file uses more than 1000 aliases"]);
  });

  it("stops a file that expands to too many values with few aliases", () => {
    const r = load(bomb, { limits: { ...DEFAULT_LIMITS, maxAliases: 1_000_000, maxNodes: 50_000 } });
    expect(only(r, "MCP004").message).toBe("the file expands to more than 50000 values");
  });
});

describe("MCP005 forbidden key", () => {
  it("refuses __proto__ and does not pollute Object.prototype", () => {
    const r = load(`${MOCK_MODELS}steps:\n  a:\n    model: writer\n    input:\n      __proto__: { polluted: true }\n`);
    expect(headlines(r)).toEqual(["p.yaml:12:7: error MCP005: the key '__proto__' is not allowed"]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty("polluted");
  });

  it("refuses constructor, once, even when reached through several aliases", () => {
    const r = load(`x: &x { constructor: 1 }\nsteps:\n  a: { model: m, input: [*x, *x, *x] }\n`);
    expect(headlines(r)).toEqual(["p.yaml:1:9: error MCP005: the key 'constructor' is not allowed"]);
  });
});

describe("MCP006 cannot read file", () => {
  it("names a missing file", () => {
    const r = loadPipelineFile("no/such/pipeline.yaml", { configPath: null });
    expect(headlines(r)).toEqual(["no/such/pipeline.yaml:1:1: error MCP006: cannot read no/such/pipeline.yaml: no such file"]);
  });

  it("refuses a folder given as a file", () => {
    const dir = tempProject();
    const r = loadPipelineFile(dir, { configPath: null });
    expect(headlines(r)).toEqual([`${dir}:1:1: error MCP006: ${dir} is a folder, not a file`]);
  });

  it("reports a broken mcp.yaml once, then points the other pipelines at it", () => {
    const dir = tempProject({
      "mcp.yaml": "version: 1\nmodles: {}\n",
      "a.yaml": "steps: { a: { model: m } }\n",
      "b.yaml": "steps: { b: { model: m } }\n",
    });
    const sources = new SourceMap();
    const configCache = new Map();
    const a = loadPipelineFile(join(dir, "a.yaml"), { sources, configCache });
    const b = loadPipelineFile(join(dir, "b.yaml"), { sources, configCache });
    expect(a.diagnostics.map((d) => d.code)).toContain("MCP101");
    expect(b.diagnostics.map((d) => formatHeadline(d, sources))).toContain(`${join(dir, "b.yaml")}:1:1: error MCP006: its project config ${join(dir, "mcp.yaml")} has errors (reported above)`);
    expect(b.diagnostics.map((d) => d.code)).not.toContain("MCP101");
  });
});

describe("MCP007 duplicate key", () => {
  it("points at the second occurrence", () => {
    const r = load(`${MOCK_MODELS}steps:\n  a: { model: writer }\n  b: { model: writer }\n  a: { model: tagger }\n`);
    expect(headlines(r)).toEqual(["p.yaml:11:3: error MCP007: duplicate key 'a'"]);
  });
});

describe("MCP008 not a mapping", () => {
  it("refuses a list at the top of a pipeline file", () => {
    expect(headlines(load("- a\n- b\n"))).toEqual(["p.yaml:1:1: error MCP008: a pipeline file must be a mapping with at least `steps:`"]);
  });

  it("refuses an empty pipeline file", () => {
    expect(headlines(load(""))).toEqual(["p.yaml:1:1: error MCP008: the file is empty; a pipeline file is a mapping with at least `steps:`"]);
  });

  it("refuses an mcp.yaml that is a plain string", () => {
    const dir = tempProject({ "mcp.yaml": "hello\n", "p.yaml": "steps: { a: { model: m } }\n" });
    const r = loadPipelineFile(join(dir, "p.yaml"));
    expect(headlines(r)).toContain(`${join(dir, "mcp.yaml")}:1:1: error MCP008: mcp.yaml must be a mapping`);
  });
});

describe("MCP009 no pipeline files found", () => {
  it("is reported for a folder without YAML files", () => {
    const dir = tempProject({ "notes.txt": "hi" });
    const { files, diagnostics } = collectFiles([dir], "/");
    expect(files).toEqual([]);
    expect(diagnostics.map((d) => formatHeadline(d, new SourceMap()))).toEqual([`${dir}:1:1: error MCP009: no .yaml files in ${dir}`]);
  });
});

describe("MCP012 unknown step in needs", () => {
  it("suggests the step meant", () => {
    const r = load(`${MOCK_MODELS}steps:\n  review: { model: writer }\n  publish:\n    model: writer\n    needs: [reviw]\n`);
    expect(headlines(r)).toEqual(["p.yaml:12:13: error MCP012: unknown step 'reviw' in needs (did you mean 'review'?)"]);
  });

  it("accepts needs as a single string", () => {
    const r = load(`${MOCK_MODELS}steps:\n  review: { model: writer }\n  publish: { model: writer, needs: nobody }\n`);
    expect(headlines(r)).toEqual(["p.yaml:10:36: error MCP012: unknown step 'nobody' in needs"]);
  });

  it("prints the source line with a squiggle under the name", () => {
    const r = load(`${MOCK_MODELS}steps:\n  review: { model: writer }\n  publish:\n    model: writer\n    needs: [reviw]\n`);
    expect(rendered(r)).toBe(["p.yaml:12:13: error MCP012: unknown step 'reviw' in needs (did you mean 'review'?)", "   12 |     needs: [reviw]", "                    ~~~~~"].join("\n"));
  });
});
