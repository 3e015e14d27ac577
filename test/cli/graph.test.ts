/** `mcp graph`, run as the real binary in a child process. */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempProject } from "../helpers/project.js";

const FIXTURES = join(import.meta.dirname, "..", "fixtures", "pipelines");

describe("mcp graph", () => {
  it("prints a Mermaid flowchart by default", async () => {
    const r = await runCli(["graph", "diamond.yaml"], { cwd: FIXTURES });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatchInlineSnapshot(`
      "flowchart TD
        split["split<br/><small>writer</small>"]
        sentiment{{"sentiment<br/><small>tagger (+1 fallback)</small><br/>when …"}}
        entities[["entities<br/><small>tagger (+1 fallback)</small><br/>for each"]]
        report["report<br/><small>writer</small>"]
        split --> sentiment
        split --> entities
        entities --> report
        sentiment --> report
      "
    `);
  });

  it("prints Graphviz dot with --format dot", async () => {
    const r = await runCli(["graph", "diamond.yaml", "--format", "dot"], { cwd: FIXTURES });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatchInlineSnapshot(`
      "digraph "diamond" {
        rankdir=TB;
        node [shape=box, fontname="Helvetica"];
        "split" [label="split\\nwriter"];
        "sentiment" [label="sentiment\\ntagger (+1 fallback)", style=dashed];
        "entities" [label="entities\\ntagger (+1 fallback)", peripheries=2];
        "report" [label="report\\nwriter"];
        "split" -> "sentiment";
        "split" -> "entities";
        "entities" -> "report";
        "sentiment" -> "report";
      }
      "
    `);
  });

  it("prints JSON with the order, the levels and the edges with --format json", async () => {
    const r = await runCli(["graph", "diamond.yaml", "--format", "json"], { cwd: FIXTURES });
    expect(r.code).toBe(0);
    const g = JSON.parse(r.stdout);
    expect(g.order).toEqual(["split", "sentiment", "entities", "report"]);
    expect(g.levels).toEqual([["split"], ["sentiment", "entities"], ["report"]]);
    expect(g.edges).toEqual([
      { from: "split", to: "sentiment" },
      { from: "split", to: "entities" },
      { from: "entities", to: "report" },
      { from: "sentiment", to: "report" },
    ]);
    expect(g.steps.find((s: { id: string }) => s.id === "sentiment")).toMatchObject({ level: 1, model: "tagger", chain: ["tagger", "tagger2"] });
  });

  it("gives Mermaid a node id it can read for a step named end", async () => {
    const dir = tempProject({ "p.yaml": "models: { m: { provider: mock } }\nsteps:\n  start: { model: m }\n  end: { model: m, needs: start }\n" });
    const r = await runCli(["graph", "p.yaml"], { cwd: dir });
    expect(r.stdout).toContain("  start --> end_\n");
  });

  it("exits 2 and prints the diagnostics of an invalid pipeline on stderr", async () => {
    const dir = tempProject({ "p.yaml": "models: { m: { provider: mock } }\nsteps:\n  a: { model: m, needs: b }\n  b: { model: m, needs: a }\n" });
    const r = await runCli(["graph", "p.yaml"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.split("\n")[0]).toBe("p.yaml:3:3: error MCP301: dependency cycle: a -> b -> a");
  });

  it("exits 2 when given no file, or two", async () => {
    for (const args of [["graph"], ["graph", "a.yaml", "b.yaml"]]) {
      const r = await runCli(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe("mcp graph: give exactly one pipeline file\nRun 'mcp graph --help' for usage.\n");
    }
  });
});
