/**
 * Issue 9, classes 2 and 3: run input past a limit (too deep, too many values) is refused
 * with one MCP501 diagnostic before anything touches it, and a huge number of schema errors
 * prints a bounded report ("... and N more"). Also under `mcp run --watch`.
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadPipelineFile } from "../../src/compiler/load.js";
import type { CompiledPipeline } from "../../src/compiler/types.js";
import { capDiagnostics, isSummary } from "../../src/diagnostics/cap.js";
import { error } from "../../src/diagnostics/diagnostic.js";
import { checkInputShape, checkRunInput, RUN_INPUT_LIMITS } from "../../src/orchestrator/input.js";
import { TaskOrchestrator } from "../../src/orchestrator/orchestrator.js";
import { ConfigError } from "../../src/util/errors.js";
import { BIN, runCli } from "../helpers/cli.js";
import { tempProject } from "../helpers/project.js";

const HANG_BOUND_MS = 30_000;

const deepArray = (n: number) => "[".repeat(n) + "]".repeat(n);
const deepObject = (n: number) => '{"a":'.repeat(n) + "1" + "}".repeat(n);

const PIPELINE = `version: 1
name: p
inputs:
  type: object
  properties:
    text: { type: string }
    items: { type: array, items: { type: string } }
models:
  m:
    provider: mock
    capabilities: [text-generation]
    options: { reply: { text: "ok" } }
steps:
  a:
    model: m
    input: { prompt: "\${{ $string($input) }}" }
`;

function pipelineOf(text = PIPELINE): CompiledPipeline {
  const r = loadPipelineFile("p.yaml", { text, configPath: null });
  if (!r.pipeline) throw new Error(JSON.stringify(r.diagnostics));
  return r.pipeline;
}

describe("checkInputShape", () => {
  it("refuses deep arrays, deep objects and mixed nesting without overflowing the stack", () => {
    for (const v of [JSON.parse(deepArray(20_000)), JSON.parse(deepObject(20_000)), JSON.parse('{"x":[{"y":' + deepArray(1_000_000) + "}]}")]) {
      const d = checkInputShape(v);
      expect(d).toHaveLength(1);
      expect(d[0]).toMatchObject({ code: "MCP501", message: `the run input is nested more than ${RUN_INPUT_LIMITS.maxDepth} levels deep`, location: { file: "input", offset: 0 } });
    }
  });

  it("accepts input at the depth limit and refuses one level more", () => {
    expect(checkInputShape(JSON.parse(deepArray(RUN_INPUT_LIMITS.maxDepth)))).toEqual([]);
    expect(checkInputShape(JSON.parse(deepArray(RUN_INPUT_LIMITS.maxDepth + 1)))).toHaveLength(1);
  });

  it("refuses too many values and too many bytes, naming the origin", () => {
    expect(checkInputShape(new Array(2000).fill(0), { maxValues: 1000 }, { file: "body" })[0]).toMatchObject({ message: "the run input has more than 1,000 values", location: { file: "body" } });
    expect(checkInputShape({ s: "x".repeat(5000) }, { maxBytes: 4096 })[0]?.message).toBe("the run input is larger than 4,096 bytes");
  });
});

describe("checkRunInput", () => {
  it("checks the shape before the schema, so a deep input never reaches ajv", () => {
    const d = checkRunInput(pipelineOf(), { text: JSON.parse(deepArray(10_000)) });
    expect(d.map((x) => x.message)).toEqual([`the run input is nested more than ${RUN_INPUT_LIMITS.maxDepth} levels deep`]);
  });

  it("lists the first 20 schema errors of 200,000 and counts the rest", () => {
    const t0 = Date.now();
    const d = checkRunInput(pipelineOf(), { items: Array.from({ length: 200_000 }, (_, i) => i) });
    expect(Date.now() - t0).toBeLessThan(HANG_BOUND_MS);
    expect(d).toHaveLength(21);
    expect(d[0]!.message).toBe("invalid run input for pipeline 'p': input.items[0] must be string, found the number 0");
    expect(d[20]!.message).toBe("... and 199,980 more errors in input");
    expect(isSummary(d[20]!)).toBe(true);
  });

  it("names what it found: a number, an array, an object, null, an empty string", () => {
    const msgs = (input: unknown) => checkRunInput(pipelineOf(), input).map((d) => d.message.replace("invalid run input for pipeline 'p': ", ""));
    expect(msgs({ text: 42 })).toEqual(["input.text must be string, found the number 42"]);
    expect(msgs([1])).toEqual(["the input must be object, found an array"]);
    expect(msgs({ text: { a: 1 } })).toEqual(["input.text must be string, found an object"]);
    expect(msgs({ text: null })).toEqual(["input.text must be string, found null"]);
    expect(msgs({ items: [true, ""] })).toEqual(["input.items[0] must be string, found the boolean true"]);
  });

  it("is what the orchestrator checks: startRun throws ConfigError for a deep input", async () => {
    const o = new TaskOrchestrator();
    try {
      expect(() => o.startRun(pipelineOf(), { text: JSON.parse(deepObject(20_000)) }, { inputOrigin: "request body" })).toThrow(ConfigError);
      try {
        o.startRun(pipelineOf(), JSON.parse(deepArray(20_000)), { inputOrigin: "request body" });
      } catch (e) {
        expect((e as ConfigError).diagnostics[0]?.location?.file).toBe("request body");
      }
    } finally {
      await o.close();
    }
  });
});

describe("model answers", { timeout: 60_000 }, () => {
  it("fails the step, not the process, when a model answers with a 20,000-deep value", async () => {
    const dir = tempProject({
      "deep.mjs": "export default () => { let v = 1; for (let i = 0; i < 20000; i++) v = [v]; return { text: 'x', deep: v }; };\n",
      "p.yaml": "version: 1\nname: p\nmodels:\n  d: { provider: module, module: deep.mjs, capabilities: [x] }\nsteps:\n  a: { model: d, input: { prompt: hi } }\n",
    });
    const r = await runCli(["run", "p.yaml", "--record", "rec.json"], { cwd: dir, timeoutMs: HANG_BOUND_MS });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("answered with a value nested more than 256 levels deep");
    expect(r.stderr).not.toMatch(/internal error|Maximum call stack/);
  });
});

describe("capDiagnostics", () => {
  const at = (file: string, i: number) => error("MCP101", `problem ${i}`, { file, offset: i, length: 1 });

  it("keeps 20 per file and 200 in all, with one summary line for each cut", () => {
    const many = Array.from({ length: 50 }, (_, i) => at("a.yaml", i));
    const out = capDiagnostics(many);
    expect(out).toHaveLength(21);
    expect(out[20]!.message).toBe("... and 30 more errors in a.yaml");
    const files = Array.from({ length: 300 }, (_, f) => [at(`f${f}.yaml`, 1), at(`f${f}.yaml`, 2)]).flat();
    const all = capDiagnostics(files);
    expect(all).toHaveLength(201);
    expect(all[200]!.message).toBe("... and 400 more errors (only the first 200 are listed)");
  });

  it("does not count a summary again when a capped list is capped again", () => {
    const once = capDiagnostics(Array.from({ length: 100 }, (_, i) => at("a.yaml", i)));
    expect(capDiagnostics(once)).toEqual(once);
  });
});

describe("mcp run with hostile input", { timeout: 120_000 }, () => {
  const dir = tempProject({ "p.yaml": PIPELINE });
  writeFileSync(join(dir, "deep.json"), `{"text": ${deepArray(20_000)}}`);
  writeFileSync(join(dir, "many.json"), JSON.stringify({ items: Array.from({ length: 200_000 }, (_, i) => i) }));

  for (const [how, args, input, where] of [
    ["--input-file", ["--input-file", "deep.json"], undefined, "deep.json"],
    ["stdin", ["--input-file", "-"], `[${deepArray(20_000)}]`, "stdin"],
    ["--input", ["--input", deepObject(5_000)], undefined, "--input"],
  ] as const) {
    it(`refuses a 20,000-deep input from ${how}: one line, exit 2, nothing ran`, async () => {
      const r = await runCli(["run", "p.yaml", ...args], { cwd: dir, timeoutMs: HANG_BOUND_MS, ...(input ? { input } : {}) });
      expect(r.code).toBe(2);
      expect(r.stderr.split("\n")[0]).toBe(`${where}:1:1: error MCP501: the run input is nested more than 64 levels deep`);
      expect(r.stderr).not.toContain("internal error");
      expect(r.stdout).toBe("");
    });
  }

  it("prints 20 of 200,000 input errors and a count, exit 2", async () => {
    const r = await runCli(["run", "p.yaml", "--input-file", "many.json"], { cwd: dir, timeoutMs: HANG_BOUND_MS });
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(21);
    expect(lines[0]).toBe("many.json:1:1: error MCP501: invalid run input for pipeline 'p': input.items[0] must be string, found the number 0");
    expect(lines[20]).toBe("many.json:1:1: error MCP501: ... and 199,980 more errors in many.json");
    expect(r.stderr.length).toBeLessThan(5000);
  });

  it("says how to give input when a run that needs some got none", async () => {
    const d = tempProject({ "p.yaml": PIPELINE.replace("  type: object\n", "  type: object\n  required: [text]\n") });
    const r = await runCli(["run", "p.yaml"], { cwd: d });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("stdin:1:1: error MCP501: invalid run input for pipeline 'p': the input is missing 'text'");
    expect(r.stderr).toContain(`mcp run p.yaml --input '{"text": "..."}'`);
    expect(r.stderr).toContain("--input-file");
  });

  it("under --watch: a deep input ends at once with exit 2; 200,000 errors are reported bounded and the watch goes on", async () => {
    const r = await runCli(["run", "p.yaml", "--watch", "--store", "memory", "--input-file", "deep.json"], { cwd: dir, timeoutMs: HANG_BOUND_MS });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("deep.json:1:1: error MCP501: the run input is nested more than 64 levels deep");

    const child = spawn(process.execPath, [BIN, "run", "p.yaml", "--watch", "--store", "memory", "--progress", "none", "--input-file", "many.json"], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: "1", CI: "1" },
    });
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((res) => child.on("exit", (c) => res(c)));
    try {
      const t0 = Date.now();
      while (!err.includes("invalid input") && Date.now() - t0 < HANG_BOUND_MS) await new Promise((res) => setTimeout(res, 50));
      expect(err).toContain("... and 199,980 more errors in many.json");
      expect(err.length).toBeLessThan(6000);
      expect(child.exitCode).toBeNull();
      child.kill("SIGINT");
      expect(await exited).toBe(130);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});
