/**
 * The module provider: user models from .js, .mjs and .ts files, and the MCP405 diagnostics
 * of verifyModuleModels for a missing file, a missing export, a non-model, a throwing file.
 */
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import type { CompiledPipeline } from "../../../src/compiler/types.js";
import { loadPipelineFile } from "../../../src/compiler/load.js";
import { formatText } from "../../../src/diagnostics/printer.js";
import { createModel } from "../../../src/models/providers/index.js";
import { FunctionModel, verifyModuleModels } from "../../../src/models/providers/module.js";
import type { ModelConfig } from "../../../src/models/types.js";
import { ConfigError } from "../../../src/util/errors.js";

const FIXTURES = resolve(__dirname, "../../fixtures/models");
const ROOT = resolve(__dirname, "../../..");
const env = {};
const ctx = { signal: new AbortController().signal, attempt: 2 };

const temp = mkdtempSync(join(tmpdir(), "mcp-module-test-"));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

function config(extra: Partial<ModelConfig>): ModelConfig {
  return { name: "custom", provider: "module", capabilities: [], baseDir: FIXTURES, ...extra };
}

describe("module provider: loading models", () => {
  it("loads a class from a .js file, constructed with the model's options", async () => {
    const m = await createModel(config({ module: "./shouter.js", options: { suffix: "!!" } }), { env });
    expect(m.name).toBe("custom");
    expect(m.capabilities).toEqual(["shouting"]);
    expect(await m.process({ prompt: "hi" }, ctx)).toEqual({ text: "HI!!" });
  });

  it("loads a plain function from a .mjs file (default export) and passes the call context", async () => {
    const m = await createModel(config({ module: "functions.mjs", capabilities: ["echo"] }), { env });
    expect(m).toBeInstanceOf(FunctionModel);
    expect(m.capabilities).toEqual(["echo"]);
    expect(await m.process({ prompt: "x" }, ctx)).toEqual({ text: "echo: x", attempt: 2 });
  });

  it("picks a named export with `export`: an arrow function, an instance", async () => {
    const rev = await createModel(config({ module: "functions.mjs", export: "reverse" }), { env });
    expect(await rev.process({ prompt: "abc" }, ctx)).toEqual({ text: "cba" });
    const inst = await createModel(config({ module: "functions.mjs", export: "instance" }), { env });
    expect(inst.capabilities).toEqual(["counting"]);
    expect(await inst.process({ prompt: "abcd" }, ctx)).toEqual({ count: 4 });
    await inst.close();
  });

  it("loads a .ts file whose relative import names the .js of a .ts file", async () => {
    const m = await createModel(config({ module: "typed-model.ts", options: { prefix: "typed" } }), { env });
    expect(await m.process({ prompt: "hello" }, ctx)).toEqual({ text: "TYPED: HELLO" });
  });

  it("resolves absolute paths, and relative ones against baseDir (the defining file's folder)", async () => {
    const m = await createModel(config({ module: join(FIXTURES, "shouter.js"), baseDir: "/nonexistent" }), { env });
    expect(await m.process({ prompt: "a" }, ctx)).toEqual({ text: "A!" });
  });

  it("reloads a file after it changed (watch mode)", async () => {
    const file = join(temp, "changing.mjs");
    writeFileSync(file, "export default () => ({ v: 1 });");
    const a = await createModel(config({ module: file }), { env });
    expect(await a.process({}, ctx)).toEqual({ v: 1 });
    writeFileSync(file, "export default () => ({ v: 2 });");
    const { utimesSync } = await import("node:fs");
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    const b = await createModel(config({ module: file }), { env });
    expect(await b.process({}, ctx)).toEqual({ v: 2 });
  });

  it("throws a ConfigError carrying an MCP405 diagnostic when the model cannot be loaded", async () => {
    const e = await createModel(config({ module: "./missing.js" }), { env }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).diagnostics[0]?.code).toBe("MCP405");
    expect((e as ConfigError).message).toContain("module file './missing.js' not found");
  });
});

describe("module provider: verifyModuleModels", () => {
  /** Writes a pipeline using each fixture, loads it, and verifies its module models. */
  async function verify(models: Record<string, string>): Promise<{ pipeline: CompiledPipeline; text: string }> {
    const dir = mkdtempSync(join(temp, "p-"));
    cpSync(FIXTURES, join(dir, "models"), { recursive: true });
    const lines = ["version: 1", "name: custom-models", "models:"];
    for (const [name, body] of Object.entries(models)) lines.push(`  ${name}:`, ...body.split("\n").map((l) => `    ${l}`));
    lines.push("steps:", "  a:", `    model: ${Object.keys(models)[0]}`, "    input: { prompt: hi }", "");
    const file = join(dir, "p.yaml");
    writeFileSync(file, lines.join("\n"));
    const r = loadPipelineFile(file, { configPath: null });
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const pipeline = r.pipeline!;
    const diagnostics = await verifyModuleModels(pipeline);
    const text = formatText(diagnostics, r.sources).replaceAll(dir, "<dir>");
    return { pipeline, text };
  }

  it("skips module models registered in code as instances (no file to check)", async () => {
    const pipeline = { models: [{ name: "inst", provider: "module", capabilities: [] }] } as unknown as CompiledPipeline;
    expect(await verifyModuleModels(pipeline)).toEqual([]);
  });

  it("reports nothing for good .js, .mjs and .ts models", async () => {
    const { text } = await verify({
      shouter: "provider: module\nmodule: models/shouter.js",
      echo: "provider: module\nmodule: models/functions.mjs",
      typed: "provider: module\nmodule: ./models/typed-model.ts\nexport: TypedModel",
    });
    expect(text).toBe("");
  });

  it("reports a missing file, a missing export, a non-model and a throwing file at the module: value", async () => {
    const { text } = await verify({
      missing: "provider: module\nmodule: models/nope.js",
      noexport: "provider: module\nmodule: models/functions.mjs\nexport: upper",
      notmodel: "provider: module\nmodule: models/not-a-model.js",
      helper: "provider: module\nmodule: models/not-a-model.js\nexport: Helper",
      throws: "provider: module\nmodule: models/throws-on-load.js",
      nomodule: "provider: module",
    });
    expect(text).toMatchInlineSnapshot(`
      "<dir>/p.yaml:6:13: error MCP405: model 'missing': module file 'models/nope.js' not found (looked for <dir>/models/nope.js)
          6 |     module: models/nope.js
                          ~~~~~~~~~~~~~~
        hint: relative paths start from the folder of the file that defines the model
      <dir>/p.yaml:9:13: error MCP405: model 'noexport': 'models/functions.mjs' has no export 'upper'
          9 |     module: models/functions.mjs
                          ~~~~~~~~~~~~~~~~~~~~
        hint: it exports: default, reverse, instance; pick one with \`export:\`
      <dir>/p.yaml:13:13: error MCP405: model 'notmodel': export 'default' of 'models/not-a-model.js' is not a model (it is number 42)
         13 |     module: models/not-a-model.js
                          ~~~~~~~~~~~~~~~~~~~~~
        hint: export a BaseModel subclass, a BaseModel instance, or a function (input, ctx) => output
      <dir>/p.yaml:16:13: error MCP405: model 'helper': class Helper has no process() method
         16 |     module: models/not-a-model.js
                          ~~~~~~~~~~~~~~~~~~~~~
        hint: export a BaseModel subclass, a BaseModel instance, or a function (input, ctx) => output
      <dir>/p.yaml:20:13: error MCP405: model 'throws': 'models/throws-on-load.js' threw while loading: cannot reach the license server
         20 |     module: models/throws-on-load.js
                          ~~~~~~~~~~~~~~~~~~~~~~~~
      <dir>/p.yaml:21:3: error MCP405: model 'nomodule': provider module needs \`module\`, the path of a .js, .mjs or .ts file
         21 |   nomodule:
                ~~~~~~~~"
    `);
  });
});

describe("module provider: .ts files under plain Node.js", () => {
  it("loads a .ts model through the compiled package (type stripping or the typescript hooks)", async () => {
    const dist = join(ROOT, "dist/models/providers/module.js");
    if (!existsSync(dist)) throw new Error("dist/ is missing: run `npx tsc -p .` before this test");
    const script = `
      import { createModuleModel } from ${JSON.stringify(`file://${dist}`)};
      const m = await createModuleModel({ name: "t", provider: "module", capabilities: [], module: "typed-model.ts", baseDir: ${JSON.stringify(FIXTURES)}, options: { prefix: "node" } }, { env: {} });
      console.log(JSON.stringify(await m.process({ prompt: "hi" }, { signal: new AbortController().signal })));
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], { cwd: ROOT });
    expect(JSON.parse(stdout)).toEqual({ text: "NODE: HI" });
  });

  it("reports a .ts file that does not compile as throwing on load", async () => {
    const dist = join(ROOT, "dist/models/providers/module.js");
    const bad = join(temp, "bad.ts");
    writeFileSync(bad, "export default class { process(input: string { return 1 } }\n");
    const script = `
      import { loadModelExport } from ${JSON.stringify(`file://${dist}`)};
      const r = await loadModelExport({ name: "bad", provider: "module", capabilities: [], module: ${JSON.stringify(bad)} });
      console.log(JSON.stringify(r.ok ? "loaded" : r.problem.message));
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], { cwd: ROOT });
    expect(JSON.parse(stdout)).toMatch(/^model 'bad': '.*bad\.ts' threw while loading: SyntaxError: .*bad\.ts:1: '.' expected\.$/);
  });
});
