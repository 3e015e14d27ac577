/** `mcp validate`, run as the real binary in a child process. */
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempProject } from "../helpers/project.js";

const CONFIG = `version: 1
models:
  writer: { provider: mock, capabilities: [text-generation] }
`;

const GOOD = `version: 1
steps:
  draft: { model: writer, input: { prompt: "\${{ $input.text }}" } }
  review: { model: writer, input: { prompt: "\${{ $steps.draft.output.text }}" } }
`;

const BAD = `version: 1
steps:
  review: { model: writer }
  publish:
    model: writer
    needs: [reviw]
    input:
      prompt: |
        Publish:
        \${{ $steps.review.output.text + }}
`;

describe("mcp validate", () => {
  it("exits 0 and says so when every file is valid", async () => {
    const dir = tempProject({ "mcp.yaml": CONFIG, "pipelines/good.yaml": GOOD });
    const r = await runCli(["validate", "pipelines"], { cwd: dir });
    expect(r).toMatchObject({ code: 0, stdout: "1 file valid\n", stderr: "" });
  });

  it("exits 2 and prints every problem of every file in one pass, like a compiler", async () => {
    const dir = tempProject({ "mcp.yaml": CONFIG, "pipelines/a.yaml": BAD, "pipelines/b.yaml": BAD, "pipelines/good.yaml": GOOD });
    const r = await runCli(["validate", "pipelines/"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe(
      [
        "pipelines/a.yaml:6:13: error MCP012: unknown step 'reviw' in needs (did you mean 'review'?)",
        "    6 |     needs: [reviw]",
        "                    ~~~~~",
        "pipelines/a.yaml:10:39: error MCP201: expression syntax error: Unexpected end of expression (JSONata S0207)",
        "   10 |         ${{ $steps.review.output.text + }}",
        "                                              ~",
        "pipelines/b.yaml:6:13: error MCP012: unknown step 'reviw' in needs (did you mean 'review'?)",
        "    6 |     needs: [reviw]",
        "                    ~~~~~",
        "pipelines/b.yaml:10:39: error MCP201: expression syntax error: Unexpected end of expression (JSONata S0207)",
        "   10 |         ${{ $steps.review.output.text + }}",
        "                                              ~",
        "4 errors in 2 of 3 files",
        "",
      ].join("\n"),
    );
  });

  it("prints JSON that parses with --format json", async () => {
    const dir = tempProject({ "mcp.yaml": CONFIG, "bad.yaml": BAD });
    const r = await runCli(["validate", "bad.yaml", "--format", "json"], { cwd: dir });
    expect(r.code).toBe(2);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ ok: false, files: 1, valid: 0 });
    expect(out.diagnostics[0]).toEqual({
      severity: "error",
      code: "MCP012",
      message: "unknown step 'reviw' in needs (did you mean 'review'?)",
      file: "bad.yaml",
      line: 6,
      col: 13,
      offset: expect.any(Number),
      length: 5,
    });
  });

  it("prints GitHub annotations with --format github", async () => {
    const dir = tempProject({ "mcp.yaml": CONFIG, "bad.yaml": BAD });
    const r = await runCli(["validate", "bad.yaml", "--format=github"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stdout.trim().split("\n")).toEqual([
      "::error file=bad.yaml,line=6,col=13,title=MCP012::MCP012: unknown step 'reviw' in needs (did you mean 'review'?)",
      "::error file=bad.yaml,line=10,col=39,title=MCP201::MCP201: expression syntax error: Unexpected end of expression (JSONata S0207)",
    ]);
  });

  it("validates mcp.yaml once even when it is named as well as found", async () => {
    const dir = tempProject({ "mcp.yaml": "version: 1\nmodles: {}\n", "p.yaml": "steps: { a: { model: m } }\n" });
    const r = await runCli(["validate", "mcp.yaml", "p.yaml"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stdout.match(/MCP101/g)).toHaveLength(1);
    expect(r.stdout).toContain("mcp.yaml:2:1: error MCP101: unknown key 'modles' in the file (did you mean 'models'?)");
  });

  it("prints a broken pipeline's errors once when its test suite is validated with it", async () => {
    const suite = `version: 1\npipeline: ./a.yaml\ntests:\n  - input: { text: hi }\n    assert: [{ status: success }]\n`;
    const dir = tempProject({ "mcp.yaml": CONFIG, "pipelines/a.yaml": BAD, "pipelines/a.test.yaml": suite });
    const alone = await runCli(["validate", "pipelines/a.yaml"], { cwd: dir });
    const both = await runCli(["validate", "pipelines/"], { cwd: dir });
    expect(both.code).toBe(2);
    const count = (out: string, line: string) => out.split("\n").filter((l) => l.startsWith(line)).length;
    const own = alone.stdout.split("\n").filter((l) => l.startsWith("pipelines/a.yaml:"));
    expect(own.length).toBeGreaterThan(1);
    for (const line of own) expect(count(both.stdout, line), line).toBe(1);
    expect(count(both.stdout, "pipelines/a.test.yaml:2:11: error MCP601: the pipeline under test ./a.yaml has errors (below)")).toBe(1);
    expect(both.stdout).toMatch(new RegExp(`^${own.length + 1} errors in 2 of 2 files$`, "m"));
  });

  it("exits 2 for a path that does not exist", async () => {
    const dir = tempProject();
    const r = await runCli(["validate", "nope.yaml"], { cwd: dir });
    expect(r).toMatchObject({ code: 2, stdout: "nope.yaml:1:1: error MCP006: cannot read nope.yaml: no such file or folder\n1 error\n" });
  });

  it("exits 2 for a folder with no YAML files", async () => {
    const dir = tempProject({ "empty/readme.txt": "" });
    const r = await runCli(["validate", "empty"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stdout).toContain("error MCP009: no .yaml files in empty");
  });

  it("exits 2 with a usage message when given no path", async () => {
    const r = await runCli(["validate"]);
    expect(r).toMatchObject({ code: 2, stdout: "" });
    expect(r.stderr).toBe("mcp validate: give at least one file or folder, e.g. mcp validate pipelines/\nRun 'mcp validate --help' for usage.\n");
  });

  it("exits 2 for an unknown --format", async () => {
    const r = await runCli(["validate", "x.yaml", "--format", "xml"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("mcp validate: --format must be one of text, json, github; got 'xml'");
  });
});
