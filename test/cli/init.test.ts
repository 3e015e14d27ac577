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
