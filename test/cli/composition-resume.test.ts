/**
 * End to end with the real `mcp` binary: a run killed with SIGKILL inside a sub-pipeline,
 * or inside a loop, is resumed by `mcp resume` without repeating the finished steps of the
 * child or the finished iterations of the loop.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { runAndKill } from "../helpers/kill-run.js";
import { tempProject } from "../helpers/project.js";

const json = <T = any>(s: string): T => JSON.parse(s) as T;

const MODELS = `models:
  m:
    provider: mock
    capabilities: [t]
    options: { reply: { text: "\${{ $request.n }}" }, latency: "\${{ $request.slow ? 1500 : 20 }}" }
`;

describe("mcp resume after kill -9", () => {
  it("continues inside a sub-pipeline without repeating the child's finished steps", async () => {
    const dir = tempProject({
      "mcp.yaml": "version: 1\n",
      "pipelines/child.yaml": `version: 1
${MODELS}steps:
  a: { model: m, input: { n: "a(\${{ $input.text }})" } }
  b: { model: m, input: { n: "b(\${{ $steps.a.output.text }})" } }
  c: { model: m, input: { n: "c(\${{ $steps.b.output.text }})", slow: true } }
output: \${{ $steps.c.output.text }}
`,
      "pipelines/main.yaml": `version: 1
name: main
${MODELS}steps:
  first: { model: m, input: { n: start } }
  sub:
    pipeline: ./child.yaml
    input: { text: "\${{ $steps.first.output.text }}" }
  last: { model: m, input: { n: "end \${{ $steps.sub.output }}" } }
output: \${{ $steps.last.output.text }}
`,
    });
    const finished = (events: readonly any[]) => events.filter((e) => e.type === "step.finished").map((e) => e.stepId);
    const { runId, events } = await runAndKill(dir, "pipelines/main.yaml", (ev) => finished(ev).includes("sub/b"));
    expect(finished(events)).toEqual(["first", "sub/a", "sub/b"]);

    const resumed = await runCli(["resume", runId, "--json", "--progress", "json"], { cwd: dir });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`resuming run ${runId} (interrupted): 1 of 3 steps finished earlier (first); running sub, last`);
    const report = json(resumed.stdout);
    expect(report).toMatchObject({ runId, status: "success", output: "end c(b(a(start)))" });
    expect(report.steps.sub.steps.a).toMatchObject({ resumed: true });
    expect(report.steps.sub.steps.b).toMatchObject({ resumed: true });
    expect(report.steps.sub.steps.c.resumed).toBeUndefined();
    // Only sub/c and last called their model.
    expect(report.totals.calls).toBe(2);
    const started = resumed.stderr
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l))
      .filter((e) => e.type === "step.started")
      .map((e) => e.stepId);
    expect(started).toEqual(["sub/c", "last"]);
  }, 60_000);

  it("continues a loop after its last finished iteration", async () => {
    const dir = tempProject({
      "mcp.yaml": "version: 1\n",
      "pipelines/loop.yaml": `version: 1
name: loop
${MODELS}steps:
  refine:
    model: m
    input: { n: "v\${{ $iteration }}", slow: "\${{ $iteration = 3 }}" }
    repeat: { until: "$iteration = 4", max: 6 }
output: \${{ $steps.refine.output.text }}
`,
    });
    const iterations = (events: readonly any[]) => events.filter((e) => e.type === "step.iteration").map((e) => e.iteration);
    const { runId, events } = await runAndKill(dir, "pipelines/loop.yaml", (ev) => ev.some((e) => e.type === "step.started" && e.input?.n === "v3"));
    expect(iterations(events)).toEqual([1, 2]);

    const resumed = await runCli(["resume", runId, "--json", "--progress", "json"], { cwd: dir });
    expect(resumed.code, resumed.stderr).toBe(0);
    const report = json(resumed.stdout);
    expect(report).toMatchObject({ runId, status: "success", output: "v4" });
    expect(report.steps.refine.iterations.map((r: any) => [r.output.text, !!r.resumed])).toEqual([
      ["v1", true],
      ["v2", true],
      ["v3", false],
      ["v4", false],
    ]);
    expect(report.totals.calls).toBe(2);
    const progress = resumed.stderr
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l));
    expect(progress.filter((e) => e.type === "step.iteration").map((e) => [e.iteration, !!e.resumed, e.done])).toEqual([
      [1, true, false],
      [2, true, false],
      [3, false, false],
      [4, false, true],
    ]);
  }, 60_000);

  it("refuses a run whose sub-pipeline changed since, naming the child among the files that may have changed", async () => {
    const child = (failRate: number) => `version: 1
models:
  f: { provider: mock, capabilities: [t], options: { failRate: ${failRate} } }
defaults: { retry: { attempts: 1 } }
steps:
  a: { model: f }
`;
    const dir = tempProject({
      "mcp.yaml": "version: 1\n",
      "pipelines/child.yaml": child(1),
      "pipelines/main.yaml": "version: 1\nsteps:\n  sub: { pipeline: ./child.yaml }\n",
    });
    const run = await runCli(["run", "pipelines/main.yaml", "--json", "--quiet"], { cwd: dir });
    expect(run.code, run.stderr).toBe(1);
    const runId = json(run.stdout).runId as string;
    writeFileSync(join(dir, "pipelines/child.yaml"), child(0));
    const resumed = await runCli(["resume", runId], { cwd: dir });
    expect(resumed.code).toBe(2);
    expect(resumed.stderr).toMatch(/^mcp resume: the pipeline changed since run \S+ started \(\S+main\.yaml, \S+child\.yaml or \S+mcp\.yaml: hash/);
    // --force resumes it, on the changed child.
    const forced = await runCli(["resume", runId, "--force", "--quiet"], { cwd: dir });
    expect(forced.code, forced.stderr).toBe(0);
  }, 30_000);
});
