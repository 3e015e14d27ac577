/**
 * Issue 9, classes 4 and 5: every diagnostic has a position (whole-file errors at
 * `file:1:1`, in every format), and the messages that misled now say what happened.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempProject } from "../helpers/project.js";

const PIPELINE = `version: 1
name: p
models:
  m:
    provider: mock
    capabilities: [text-generation]
    options: { reply: { text: "ok" } }
steps:
  a: { model: m, input: { prompt: hi } }
`;

describe("whole-file diagnostics", { timeout: 60_000 }, () => {
  const dir = tempProject({ "ok.yaml": PIPELINE, "empty.yaml": "", "comments.yaml": "# nothing here\n\n", "folder.yaml/x": "" });
  writeFileSync(join(dir, "latin1.yaml"), Buffer.from("version: 1\nname: caf\xe9\n", "latin1"));
  writeFileSync(join(dir, "big.yaml"), "# " + "x".repeat(1024 * 1024 + 10) + "\n");
  const files = ["big.yaml", "comments.yaml", "empty.yaml", "folder.yaml", "latin1.yaml", "missing.yaml"];

  it("prints file:1:1 for each kind in text", async () => {
    const r = await runCli(["validate", ...files], { cwd: dir });
    expect(r.code).toBe(2);
    const heads = r.stdout.split("\n").filter((l) => / error MCP/.test(l));
    expect(heads.sort()).toEqual(
      [
        "big.yaml:1:1: error MCP002: file is 1048589 bytes; the limit is 1048576",
        "comments.yaml:1:1: error MCP008: the file is empty; a pipeline file is a mapping with at least `steps:`",
        "empty.yaml:1:1: error MCP008: the file is empty; a pipeline file is a mapping with at least `steps:`",
        "folder.yaml:1:1: error MCP009: no .yaml files in folder.yaml",
        "latin1.yaml:1:1: error MCP006: cannot read latin1.yaml: it is not UTF-8 text",
        "missing.yaml:1:1: error MCP006: cannot read missing.yaml: no such file or folder",
      ].sort(),
    );
    expect(r.stdout).not.toContain("xxxxxxxx");
  });

  it("gives line and col in --format json and github for each kind", async () => {
    const j = await runCli(["validate", "--format", "json", ...files], { cwd: dir });
    const diags = (JSON.parse(j.stdout) as { diagnostics: { file: string; line: number; col: number }[] }).diagnostics;
    expect(diags).toHaveLength(files.length);
    for (const d of diags) expect(d).toMatchObject({ line: 1, col: 1 });
    const g = await runCli(["validate", "--format", "github", ...files.map((f) => join(dir, f))], { cwd: dir });
    const lines = g.stdout.trim().split("\n");
    expect(lines).toHaveLength(files.length);
    for (const l of lines) expect(l).toMatch(/^::error file=[a-z0-9]+\.yaml,line=1,col=1,title=MCP00\d::/);
  });
});

describe("--format github", { timeout: 60_000 }, () => {
  it("prints paths relative to the working folder, however the files were named", async () => {
    const dir = tempProject({ "pipelines/bad.yaml": PIPELINE.replace("model: m", "model: nope") });
    for (const arg of [join(dir, "pipelines"), "pipelines", "./pipelines/bad.yaml", join(dir, "pipelines/bad.yaml")]) {
      const r = await runCli(["validate", "--format", "github", arg], { cwd: dir });
      expect(r.stdout, arg).toMatch(/^::error file=(\.\/)?pipelines\/bad\.yaml,line=9,col=\d+,title=MCP401::/);
    }
  });
});

describe("unknown options", { timeout: 60_000 }, () => {
  it("suggests the option meant, for each command", async () => {
    const dir = tempProject({ "p.yaml": PIPELINE });
    for (const [args, want] of [
      [["run", "p.yaml", "--inptu", "{}"], "mcp run: unknown option '--inptu' (did you mean '--input'?)"],
      [["run", "p.yaml", "--input-flie", "x.json"], "mcp run: unknown option '--input-flie' (did you mean '--input-file'?)"],
      [["validate", "--fromat", "json", "p.yaml"], "mcp validate: unknown option '--fromat' (did you mean '--format'?)"],
      [["graph", "p.yaml", "--formt=dot"], "mcp graph: unknown option '--formt' (did you mean '--format'?)"],
    ] as const) {
      const r = await runCli([...args], { cwd: dir });
      expect(r.code).toBe(2);
      expect(r.stderr.split("\n")[0]).toBe(want);
    }
    const r = await runCli(["run", "p.yaml", "--qqqqqqqq"], { cwd: dir });
    expect(r.stderr.split("\n")[0]).toBe("mcp run: unknown option '--qqqqqqqq'");
  });
});

// Calls to the in-process deterministic providers (mock, nlp) are not recorded (issue 15):
// the file is written all the same, with no interactions.
describe("--record", { timeout: 60_000 }, () => {
  it("creates the folders of the recording file", async () => {
    const dir = tempProject({ "p.yaml": PIPELINE });
    const r = await runCli(["run", "p.yaml", "--record", "test/recordings/deep/my.json", "--store", "memory"], { cwd: dir });
    expect(r.code).toBe(0);
    const rec = JSON.parse(readFileSync(join(dir, "test/recordings/deep/my.json"), "utf8")) as { interactions: unknown[] };
    expect(rec.interactions).toEqual([]);
    expect(readdirSync(join(dir, "test/recordings/deep"))).toEqual(["my.json"]);
  });

  it("names the file given, not a temporary one, when it cannot write", async () => {
    const dir = tempProject({ "p.yaml": PIPELINE, blocker: "a file, not a folder" });
    const r = await runCli(["run", "p.yaml", "--record", "blocker/my.json", "--store", "memory"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n")[0]).toBe("mcp run: cannot write blocker/my.json: a part of the path is a file, not a folder");
    expect(r.stderr).not.toContain(".tmp");
    if (process.getuid?.() !== 0) {
      mkdirSync(join(dir, "ro"));
      chmodSync(join(dir, "ro"), 0o500);
      const r2 = await runCli(["run", "p.yaml", "--record", "ro/my.json", "--store", "memory"], { cwd: dir });
      expect(r2.stderr.split("\n")[0]).toBe("mcp run: cannot write ro/my.json: permission denied");
    }
    expect(existsSync(join(dir, "blocker/my.json"))).toBe(false);
  });
});
