/**
 * Issue 9, class 6: `mcp validate` runs nothing from the files it checks (module model files
 * are lexed, not imported), and reports first whatever `run` would refuse: duplicate
 * pipeline names in a folder, unknown provider options, keys the project does not allow.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkModuleModelsStatically } from "../../src/models/module-exports.js";
import { hostAllowed } from "../../src/compiler/model-policy.js";
import type { ModelConfig } from "../../src/models/types.js";
import { runCli } from "../helpers/cli.js";
import { tempProject } from "../helpers/project.js";

const sideEffect = (dir: string, name: string) => `require("node:fs").writeFileSync(${JSON.stringify(join(dir, name))}, "ran");`;
const esmEffect = (dir: string, name: string) => `import { writeFileSync } from "node:fs";\nwriteFileSync(${JSON.stringify(join(dir, name))}, "ran");`;

function module(dir: string, file: string, exp?: string): ModelConfig {
  return { name: "m", provider: "module", module: file, ...(exp ? { export: exp } : {}), capabilities: [], baseDir: dir } as ModelConfig;
}

describe("checkModuleModelsStatically", () => {
  it("finds exports of ES modules, CommonJS and TypeScript files, and follows export *", () => {
    const dir = tempProject({
      "a.mjs": "export default function (input) { return { text: 'a' } }\nexport const named = 1;\n",
      "b.cjs": "module.exports = function () {};\nmodule.exports.helper = 1;\n",
      "c.ts": "interface I { a: string }\nexport class Model { async process(i: I): Promise<I> { return i } }\nexport * from './d.js';\n",
      "d.js": "export const fromD = (x) => x;\n",
      "e.js": "exports.viaExports = 1;\n",
      "f.mjs": "export const a = 1, b = 2;\n",
    });
    for (const [file, exp] of [
      ["a.mjs", undefined],
      ["a.mjs", "named"],
      ["b.cjs", undefined],
      ["b.cjs", "helper"],
      ["c.ts", "Model"],
      ["c.ts", "fromD"],
      ["e.js", "viaExports"],
      ["f.mjs", "b"],
    ] as const) {
      expect(checkModuleModelsStatically({ models: [module(dir, file, exp)] }), `${file} ${exp}`).toEqual([]);
    }
  });

  it("reports a missing export with what the file does export, a missing file, a wrong extension and a file that does not parse", () => {
    const dir = tempProject({ "a.mjs": "export const one = 1;\nexport function two() {}\n", "broken.mjs": "export default function (\n", "m.py": "" });
    const msg = (file: string, exp?: string) => checkModuleModelsStatically({ models: [module(dir, file, exp)] }).map((d) => `${d.message}${d.hint ? ` | ${d.hint}` : ""}`);
    expect(msg("a.mjs")).toEqual(["model 'm': 'a.mjs' has no export 'default' | it exports: one, two; pick one with `export:`"]);
    expect(msg("nope.mjs")[0]).toMatch(/^model 'm': module file 'nope.mjs' not found/);
    expect(msg("m.py")[0]).toMatch(/must end in \.js, \.mjs or \.ts/);
    expect(msg("broken.mjs")[0]).toMatch(/^model 'm': module 'broken.mjs' does not parse/);
  });
});

describe("mcp validate runs no code", { timeout: 60_000 }, () => {
  it("validates pipelines whose module files have side effects at their top level, and none runs", async () => {
    const dir = tempProject({});
    const files = {
      "models/esm.mjs": `${esmEffect(dir, "ran-esm")}\nexport default (input) => ({ text: "x" });\n`,
      "models/cjs.cjs": `${sideEffect(dir, "ran-cjs")}\nmodule.exports = () => ({ text: "x" });\n`,
      "models/ts.ts": `${esmEffect(dir, "ran-ts")}\nexport default class M { async process(i: unknown): Promise<unknown> { return { text: "x" } } }\n`,
      "models/throws.mjs": `${esmEffect(dir, "ran-throws")}\nthrow new Error("boom");\nexport default 1;\n`,
    };
    const { writeFiles } = await import("../helpers/project.js");
    writeFiles(dir, {
      ...files,
      "p.yaml": [
        "version: 1",
        "name: p",
        "models:",
        ...Object.keys(files).map((f, i) => `  m${i}: { provider: module, module: ${f}, capabilities: [x] }`),
        "steps:",
        "  s: { model: m0, input: { prompt: hi } }",
        "",
      ].join("\n"),
    });
    const r = await runCli(["validate", "p.yaml"], { cwd: dir });
    expect(r.stdout).toBe("1 file valid\n");
    expect(r.code).toBe(0);
    for (const n of ["ran-esm", "ran-cjs", "ran-ts", "ran-throws"]) expect(existsSync(join(dir, n)), n).toBe(false);
    const g = await runCli(["graph", "p.yaml"], { cwd: dir });
    expect(g.code).toBe(0);
    for (const n of ["ran-esm", "ran-cjs", "ran-ts", "ran-throws"]) expect(existsSync(join(dir, n)), n).toBe(false);
    // run does load the module it uses, as documented.
    const run = await runCli(["run", "p.yaml", "--store", "memory"], { cwd: dir });
    expect(existsSync(join(dir, "ran-esm"))).toBe(true);
    expect(run.code).toBe(2); // m3 throws while loading: run refuses the pipeline (MCP405)
    expect(run.stderr).toContain("threw while loading: boom");
  });
});

describe("validate reports what run refuses", { timeout: 60_000 }, () => {
  const MODEL = "models:\n  m: { provider: mock, capabilities: [x], options: { reply: { text: ok } } }\nsteps:\n  s: { model: m, input: { prompt: hi } }\n";

  it("reports two pipelines with one name in one folder (MCP010), not in two folders", async () => {
    const dir = tempProject({
      "pipelines/a.yaml": `version: 1\nname: triage\n${MODEL}`,
      "pipelines/b.yaml": `version: 1\nname: triage\n${MODEL}`,
      "pipelines/c.yaml": `version: 1\nname: other\n${MODEL}`,
      "elsewhere/a.yaml": `version: 1\nname: triage\n${MODEL}`,
    });
    const r = await runCli(["validate", "pipelines", "elsewhere"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stdout).toContain("pipelines/b.yaml:2:7: error MCP010: pipeline name 'triage' is already used by pipelines/a.yaml in the same folder");
    expect(r.stdout).toContain("pipelines/a.yaml:2:7: note: 'triage' is defined here");
    expect(r.stdout).toMatch(/1 error in 1 of 4 files/);
  });

  it("reports unknown options of openai, anthropic and http models (MCP406), as run refuses them", async () => {
    const dir = tempProject({
      "p.yaml": [
        "version: 1",
        "name: p",
        "models:",
        "  a: { provider: openai, model: x, baseUrl: 'http://127.0.0.1:9/v1', options: { foo: 1, temprature: 0.2 }, capabilities: [x] }",
        "  b: { provider: anthropic, model: x, baseUrl: 'http://127.0.0.1:9/v1', options: { maxTokens: 5, stream: true }, capabilities: [x] }",
        "  c: { provider: http, baseUrl: 'http://127.0.0.1:9', options: { apiKeyHeadr: x }, capabilities: [x] }",
        "steps:",
        "  s: { model: a, input: { prompt: hi } }",
        "",
      ].join("\n"),
    });
    const r = await runCli(["validate", "p.yaml"], { cwd: dir });
    expect(r.code).toBe(2);
    const heads = r.stdout.split("\n").filter((l) => l.includes("error MCP406"));
    expect(heads).toEqual([
      "p.yaml:4:81: error MCP406: model 'a': unknown option 'foo' for provider openai",
      "p.yaml:4:89: error MCP406: model 'a': unknown option 'temprature' for provider openai (did you mean 'temperature'?)",
      "p.yaml:5:98: error MCP406: model 'b': unknown option 'stream' for provider anthropic",
      "p.yaml:6:66: error MCP406: model 'c': unknown option 'apiKeyHeadr' for provider http (did you mean 'apiKeyHeader'?)",
    ]);
    const run = await runCli(["run", "p.yaml", "--store", "memory"], { cwd: dir });
    expect(run.code).toBe(2);
  });

  it("applies mcp.yaml apiKeys: variables and hosts, in validate and in run (MCP407)", async () => {
    const dir = tempProject({
      "mcp.yaml": "version: 1\napiKeys:\n  env: [OPENAI_API_KEY]\n  hosts: [api.openai.com, '*.corp.example', 127.0.0.1]\n",
      "ok.yaml":
        "version: 1\nname: ok\nmodels:\n  a: { provider: openai, model: x, apiKeyEnv: OPENAI_API_KEY, capabilities: [x] }\n  b: { provider: openai, model: x, apiKeyEnv: OPENAI_API_KEY, baseUrl: 'https://llm.corp.example/v1', capabilities: [x] }\n  c: { provider: openai, model: x, baseUrl: 'https://anywhere.example/v1', capabilities: [x] }\nsteps:\n  s: { model: a, input: { prompt: hi } }\n",
      "bad.yaml":
        "version: 1\nname: bad\nmodels:\n  a: { provider: openai, model: x, apiKeyEnv: AWS_SECRET_ACCESS_KEY, capabilities: [x] }\n  b: { provider: anthropic, model: x, apiKeyEnv: OPENAI_API_KEY, capabilities: [x] }\nsteps:\n  s: { model: a, input: { prompt: hi } }\n",
    });
    const ok = await runCli(["validate", "ok.yaml"], { cwd: dir });
    expect(ok.stdout).toBe("1 file valid\n");
    const bad = await runCli(["validate", "bad.yaml"], { cwd: dir });
    expect(bad.stdout.split("\n").filter((l) => l.includes("MCP407"))).toEqual([
      "bad.yaml:4:47: error MCP407: model 'a': apiKeyEnv 'AWS_SECRET_ACCESS_KEY' is not an allowed key variable (apiKeys.env in mcp.yaml: OPENAI_API_KEY)",
      "bad.yaml:5:50: error MCP407: model 'b': its key (OPENAI_API_KEY) would be sent to api.anthropic.com, which is not an allowed host (apiKeys.hosts in mcp.yaml: api.openai.com, *.corp.example, 127.0.0.1)",
    ]);
    const run = await runCli(["run", "bad.yaml", "--store", "memory"], { cwd: dir, env: { OPENAI_API_KEY: "sk-test-value" } });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("MCP407");
  });

  it("matches hosts exactly or by *.domain", () => {
    expect(hostAllowed("api.openai.com", ["api.openai.com"])).toBe(true);
    expect(hostAllowed("API.OpenAI.com", ["api.openai.com"])).toBe(true);
    expect(hostAllowed("evil-api.openai.com.attacker.net", ["api.openai.com"])).toBe(false);
    expect(hostAllowed("a.b.corp.example", ["*.corp.example"])).toBe(true);
    expect(hostAllowed("corp.example", ["*.corp.example"])).toBe(false);
    expect(hostAllowed("notcorp.example", ["*.corp.example"])).toBe(false);
    expect(hostAllowed("::1", ["::1"])).toBe(true);
  });
});
