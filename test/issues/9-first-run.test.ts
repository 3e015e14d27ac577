/**
 * Issue 9, classes 8 and 9: a run loads no tokenizer it does not need; `mcp init` writes
 * modelines that resolve; `mcp models` lists the registry and the built-in providers; the
 * report counts attempts apart from forEach items and prints costs as money.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { formatCost } from "../../src/util/money.js";
import { BIN, runCli } from "../helpers/cli.js";
import { tempProject } from "../helpers/project.js";

describe("formatCost", () => {
  it("prints money, never an exponent", () => {
    expect(formatCost(0)).toBe("$0");
    expect(formatCost(2.8e-6)).toBe("$0.0000028");
    expect(formatCost(0.000123)).toBe("$0.00012");
    expect(formatCost(0.0042)).toBe("$0.0042");
    expect(formatCost(0.05)).toBe("$0.0500");
    expect(formatCost(12.3456789)).toBe("$12.3457");
    expect(formatCost(1e-15)).toBe("<$0.000000000001");
    for (const x of [1e-7, 3.3e-9, 9.99e-5]) expect(formatCost(x)).not.toMatch(/e/);
  });
});

/**
 * Runs the CLI with a loader hook that reports each package a process loads. Where Node has
 * in-thread hooks (`registerHooks`, Node >= 22.15) they are used: the off-thread hooks of
 * `register` write from another thread, and a short process may exit before that output
 * reaches the pipe.
 */
function packagesLoaded(args: string[], cwd: string): Promise<{ code: number | null; packages: Set<string> }> {
  const report = "const m = /node_modules\\/((@[^/]+\\/)?[^/]+)/.exec(r.url); if (m) process.stderr.write('LOADED ' + m[1] + '\\n');";
  const hook = `data:text/javascript,${encodeURIComponent(
    `import * as mod from "node:module";
     if (mod.registerHooks) mod.registerHooks({ resolve(s, c, n) { const r = n(s, c); ${report} return r; } });
     else mod.register("data:text/javascript," + encodeURIComponent(${JSON.stringify(`export async function resolve(s, c, n) { const r = await n(s, c); ${report} return r; }`)}));`,
  )}`;
  return new Promise((res) => {
    const child = spawn(process.execPath, ["--import", hook, BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: "1", CI: "1" } });
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.stdout.resume();
    child.on("close", (code) => res({ code, packages: new Set([...err.matchAll(/^LOADED (\S+)$/gm)].map((m) => m[1]!)) }));
  });
}

describe("start-up cost", { timeout: 60_000 }, () => {
  const PIPELINE = (extra = "") =>
    `version: 1\nname: one\nmodels:\n  m:\n    provider: mock\n    capabilities: [text-generation]\n    options: { reply: { text: "ok" } }\n${extra}steps:\n  a: { model: m, input: { prompt: hi } }\n`;

  it("a one-step mock run, with usage estimated, loads no tokenizer", async () => {
    const dir = tempProject({ "p.yaml": PIPELINE() });
    const r = await packagesLoaded(["run", "p.yaml", "--store", "memory"], dir);
    expect(r.code).toBe(0);
    expect(r.packages.has("yaml")).toBe(true); // the hook does see packages
    expect(r.packages.has("gpt-tokenizer")).toBe(false);
  });

  it("loads the tokenizer when a budget needs a count", async () => {
    const dir = tempProject({ "p.yaml": PIPELINE("budget: { maxTokens: 100000 }\n") });
    const r = await packagesLoaded(["run", "p.yaml", "--store", "memory"], dir);
    expect(r.code).toBe(0);
    expect(r.packages.has("gpt-tokenizer")).toBe(true);
  });

  it("validate and --help load neither the tokenizer nor the orchestrator's queue", async () => {
    const dir = tempProject({ "p.yaml": PIPELINE() });
    for (const args of [["validate", "p.yaml"], ["--help"]]) {
      const r = await packagesLoaded(args, dir);
      expect(r.code).toBe(0);
      expect(r.packages.has("gpt-tokenizer")).toBe(false);
      expect(r.packages.has("p-queue")).toBe(false);
    }
  });
});

describe("mcp init", { timeout: 60_000 }, () => {
  it("writes $schema modelines that resolve to JSON Schemas next to the files, and says how to install the CLI", async () => {
    const dir = tempProject();
    const r = await runCli(["init"], { cwd: dir });
    expect(r.code).toBe(0);
    for (const f of ["mcp.yaml", "pipelines/hello.yaml"]) {
      const first = readFileSync(join(dir, f), "utf8").split("\n")[0]!;
      const m = /^# yaml-language-server: \$schema=(\S+)$/.exec(first);
      expect(m, first).not.toBeNull();
      const target = resolve(dirname(join(dir, f)), m![1]!);
      expect(existsSync(target), target).toBe(true);
      expect(JSON.parse(readFileSync(target, "utf8"))).toHaveProperty("$schema", "https://json-schema.org/draft/2020-12/schema");
    }
    expect(r.stderr).toContain("npm install --save-dev mcp-runner");
    expect(r.stderr).toContain("npx mcp run pipelines/hello.yaml --input");
  });
});

describe("mcp models", { timeout: 60_000 }, () => {
  it("lists the project's models and the built-in providers", async () => {
    const dir = tempProject({ "mcp.yaml": "version: 1\nmodels:\n  fast: { provider: mock, capabilities: [text-generation], cost: { input: 0.15, output: 0.6 } }\n" });
    const r = await runCli(["models"], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^fast\s+mock\s+-\s+text-generation/m);
    expect(r.stdout).toContain("1 model from mcp.yaml");
    for (const p of ["nlp", "openai", "anthropic", "http", "mock", "module", "mcp"]) expect(r.stdout).toMatch(new RegExp(`^  ${p}\\s+\\S`, "m"));
  });

  it("says there are no project models (not '0 models') and still lists the providers", async () => {
    for (const files of [{ "mcp.yaml": "version: 1\n" }, {}]) {
      const dir = tempProject(files);
      const r = await runCli(["models"], { cwd: dir });
      expect(r.code).toBe(0);
      expect(r.stdout).not.toContain("0 models");
      expect(r.stdout).toMatch(/no (models in mcp\.yaml|mcp\.yaml in)/);
      expect(r.stdout).toContain("built-in providers");
    }
  });
});

describe("the run report", { timeout: 60_000 }, () => {
  it("counts attempts per call, shows forEach items apart, and prints costs as money", async () => {
    const dir = tempProject({
      "p.yaml": [
        "version: 1",
        "name: p",
        "models:",
        "  m:",
        "    provider: mock",
        "    capabilities: [text-generation]",
        "    cost: { input: 0.15, output: 0.6 }",
        '    options: { reply: { text: "ok" }, usage: { inputTokens: 3, outputTokens: 2 } }',
        "  flaky:",
        "    provider: mock",
        "    capabilities: [text-generation]",
        '    options: { reply: { text: "ok" }, failFirst: 1 }',
        "steps:",
        "  each:",
        "    model: m",
        '    forEach: "[1, 2, 3, 4]"',
        '    input: { prompt: "${{ $string($item) }}" }',
        "  retried:",
        "    model: flaky",
        "    retry: { attempts: 3, initialDelay: 1ms }",
        "    input: { prompt: hi }",
        "",
      ].join("\n"),
    });
    const r = await runCli(["run", "p.yaml", "--store", "memory"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const table = r.stderr.split("\n");
    const header = table.find((l) => /\bstep\b.*\bitems\b.*\battempts\b/.test(l));
    expect(header, r.stderr).toBeDefined();
    expect(
      table.find((l) => /\beach\s+m\s+4\s+1\s/.test(l)),
      r.stderr,
    ).toBeDefined();
    expect(
      table.find((l) => /\bretried\s+flaky\s+-\s+2 \(1 failed\)/.test(l)),
      r.stderr,
    ).toBeDefined();
    expect(r.stderr).not.toMatch(/\$\d(\.\d+)?e-\d/);
    expect(r.stderr).toMatch(/\$0\.0000\d+/);
  });
});
