/** `mcp init`, run as the real binary in a child process. */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempProject } from "../helpers/project.js";

describe("mcp init", () => {
  it("creates mcp.yaml and an example pipeline that validates", async () => {
    const dir = tempProject();
    const r = await runCli(["init"], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("created mcp.yaml\ncreated pipelines/hello.yaml\n");
    expect(readFileSync(join(dir, "mcp.yaml"), "utf8")).toMatch(/^# yaml-language-server: \$schema=\S+config\.schema\.json\n/);
    expect(readFileSync(join(dir, "pipelines", "hello.yaml"), "utf8")).toMatch(/^# yaml-language-server: \$schema=\S+pipeline\.schema\.json\n/);
    const v = await runCli(["validate", "pipelines"], { cwd: dir });
    expect(v).toMatchObject({ code: 0, stdout: "1 file valid\n" });
    const g = await runCli(["graph", "pipelines/hello.yaml"], { cwd: dir });
    expect(g.code).toBe(0);
  });

  it("runs the example as its next steps say, and answers in a clean sentence with or without keywords", async () => {
    const dir = tempProject();
    const r = await runCli(["init", "my-project"], { cwd: dir });
    expect(r.code).toBe(0);
    // Run in the project's folder, as the next steps say: cd there, install, validate, run.
    expect(r.stderr).toMatch(/\nnext steps:\n {2}cd my-project\n {2}npm install --save-dev mcp-runner .*\n {2}npx mcp validate pipelines\n/);
    const command = /npx mcp run (\S+) --input '(.+)'/.exec(r.stderr);
    expect(command, r.stderr).not.toBeNull();
    const project = join(dir, "my-project");
    expect((await runCli(["validate", "pipelines"], { cwd: project })).code).toBe(0);
    const run = async (input: string) => {
      const out = await runCli(["run", command![1]!, "--store", "memory", "--quiet", "--input", input], { cwd: project });
      expect(out.code, out.stderr).toBe(0);
      return JSON.parse(out.stdout) as unknown;
    };
    // The suggested input has no keywords: no dangling "about ." and no raw step output.
    expect(await run(command![2]!)).toEqual({ sentiment: { label: "positive", score: expect.any(Number) }, answer: "echo: You sounded positive." });
    expect(await run(JSON.stringify({ text: "The billing page crashes and I hate it" }))).toMatchObject({
      sentiment: { label: "negative" },
      answer: "echo: You sounded negative about billing, crash, page.",
    });
  });

  it("creates the files in a folder given by an absolute path", async () => {
    const cwd = tempProject();
    const target = tempProject();
    const r = await runCli(["init", join(target, "proj")], { cwd });
    expect(r.code).toBe(0);
    expect(readFileSync(join(target, "proj", "mcp.yaml"), "utf8")).toContain("version: 1");
  });

  it("never overwrites a file, and says which it left alone", async () => {
    const dir = tempProject({ "mcp.yaml": "# mine\n" });
    const r = await runCli(["init"], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("exists, left alone: mcp.yaml\ncreated pipelines/hello.yaml\n");
    expect(readFileSync(join(dir, "mcp.yaml"), "utf8")).toBe("# mine\n");

    writeFileSync(join(dir, "pipelines", "hello.yaml"), "# also mine\n");
    const again = await runCli(["init"], { cwd: dir });
    expect(again.stderr).toContain("exists, left alone: mcp.yaml\nexists, left alone: pipelines/hello.yaml\n");
    expect(readFileSync(join(dir, "pipelines", "hello.yaml"), "utf8")).toBe("# also mine\n");
  });
});
