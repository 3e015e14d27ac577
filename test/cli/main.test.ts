/** The `mcp` command line as a whole: help, usage errors, exit codes, colours. */
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempProject } from "../helpers/project.js";

const BAD = "models: { m: { provider: mock } }\nsteps:\n  a: { model: m, needs: [b] }\n";
const ESC = "\u001b[";

describe("mcp", () => {
  for (const command of ["validate", "graph", "init"]) {
    it(`prints help for ${command} with --help and -h, and exits 0`, async () => {
      for (const flag of ["--help", "-h"]) {
        const r = await runCli([command, flag]);
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(new RegExp(`^Usage: mcp ${command}\\b`));
        expect(r.stdout).toContain("-h, --help");
        expect(r.stderr).toBe("");
      }
    });
  }

  it("prints the list of commands with --help", async () => {
    const r = await runCli(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: mcp <command> \[options\]/);
    for (const c of ["validate PATH...", "graph FILE", "init [DIR]"]) expect(r.stdout).toContain(c);
  });

  it("exits 2 with the usage on stderr when given no command", async () => {
    const r = await runCli([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^Usage: mcp <command>/);
  });

  it("exits 2 for an unknown command, suggests the one meant, and prints no stack trace", async () => {
    const r = await runCli(["validat", "x.yaml"]);
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n")[0]).toBe("mcp: unknown command 'validat' (did you mean 'validate'?)");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  for (const command of ["validate", "graph", "init"]) {
    it(`exits 2 for an unknown option of ${command}, naming it, without a stack trace`, async () => {
      const r = await runCli([command, "--bogus", "x.yaml"]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toBe(`mcp ${command}: unknown option '--bogus'\nRun 'mcp ${command} --help' for usage.\n`);
    });
  }

  it("prints no colour codes when NO_COLOR is set, even if colour is forced", async () => {
    const dir = tempProject({ "p.yaml": BAD });
    const r = await runCli(["validate", "p.yaml"], { cwd: dir, env: { NO_COLOR: "1", FORCE_COLOR: "1" } });
    expect(r.code).toBe(2);
    expect(r.stdout).toContain("error MCP012");
    expect(r.stdout).not.toContain(ESC);
  });

  it("prints no colour codes when the output is not a terminal", async () => {
    const dir = tempProject({ "p.yaml": BAD });
    const r = await runCli(["validate", "p.yaml"], { cwd: dir, env: { NO_COLOR: undefined, FORCE_COLOR: undefined } });
    expect(r.code).toBe(2);
    expect(r.stdout).toContain("error MCP012");
    expect(r.stdout).not.toContain(ESC);
  });

  it("prints colour when forced with FORCE_COLOR and NO_COLOR is not set", async () => {
    const dir = tempProject({ "p.yaml": BAD });
    const r = await runCli(["validate", "p.yaml"], { cwd: dir, env: { NO_COLOR: undefined, FORCE_COLOR: "1" } });
    expect(r.stdout).toContain(`${ESC}1;31merror${ESC}0m MCP012`);
  });
});
