/**
 * The journal's promise under kill -9: a step whose finish was reported (its step.finished
 * event reached the terminal) is in the journal, so `mcp resume` does not run it again.
 * The journal writes finished steps in batches (one SQLite transaction per event-loop
 * turn) and holds the run's events until their batch has committed; the real `mcp` binary
 * is killed at random points of a run whose steps finish one at a time and many per turn.
 */
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { runAndKill } from "../helpers/kill-run.js";
import { tempProject } from "../helpers/project.js";

const project = (files: Record<string, string>) => tempProject({ "mcp.yaml": "version: 1\n", ...files }, "mcp-resume-kill-");

/** A chain of 24 steps (5 ms each), 16 steps reading its end at once (0 ms: they finish in one turn), a join, a chain of 8 (25 ms each). */
function pipeline(): { text: string; steps: string[] } {
  const lines = [
    "version: 1",
    "name: kill",
    "models:",
    '  slow: { provider: mock, capabilities: [t], options: { reply: { text: "${{ $request.n }}" }, latency: 5ms } }',
    '  slower: { provider: mock, capabilities: [t], options: { reply: { text: "${{ $request.n }}" }, latency: 25ms } }',
    '  quick: { provider: mock, capabilities: [t], options: { reply: { text: "${{ $request.n }}" } } }',
    "steps:",
  ];
  const steps: string[] = [];
  const add = (id: string, model: string, n: string) => {
    lines.push(`  ${id}: { model: ${model}, input: { n: "${n}" } }`);
    steps.push(id);
  };
  for (let i = 0; i < 24; i++) add(`c${i}`, "slow", i ? `\${{ $steps.c${i - 1}.output.text }}+c${i}` : "c0");
  for (let i = 0; i < 16; i++) add(`f${i}`, "quick", `\${{ $steps.c23.output.text }}+f${i}`);
  add("join", "slow", `\${{ $join([${Array.from({ length: 16 }, (_, i) => `$steps.f${i}.output.text`).join(", ")}], '|') }}`);
  for (let i = 0; i < 8; i++) add(`t${i}`, "slower", `\${{ $steps.${i ? `t${i - 1}` : "join"}.output.text }}+t${i}`);
  lines.push("output: ${{ $steps.t7.output.text }}");
  return { text: lines.join("\n") + "\n", steps };
}

describe("resume after kill -9 at random points", () => {
  it("never runs again a step whose finish was reported", async () => {
    const { text, steps } = pipeline();
    const whole = await runCli(["run", "pipelines/kill.yaml", "--quiet"], { cwd: project({ "pipelines/kill.yaml": text }) });
    expect(whole.code, whole.stderr).toBe(0);
    const expected = JSON.parse(whole.stdout);
    // Kill points: one in the chain, one in the fan-out (a batch of many steps), one after; then at random.
    const points = [5, 30, 44, 1 + Math.floor(Math.random() * (steps.length - 4))];
    for (const after of points) {
      const dir = project({ "pipelines/kill.yaml": text });
      const { runId, finished } = await runAndKill(dir, "pipelines/kill.yaml", (events) => events.filter((e) => e.type === "step.finished").length >= after);
      expect(runId, `kill after ${after}`).toMatch(/^run_/);
      const resumed = await runCli(["resume", runId, "--json", "--progress", "none"], { cwd: dir, timeoutMs: 30_000 });
      expect(resumed.code, `kill after ${after}: ${resumed.stderr}`).toBe(0);
      const report = JSON.parse(resumed.stdout);
      expect(report.status).toBe("success");
      expect(report.output).toEqual(expected);
      const again = steps.filter((id) => !report.steps[id].resumed);
      // Every step reported finished before the kill came from the journal, not from its model.
      expect(
        finished.filter((id) => again.includes(id)),
        `kill after ${after}: reported finished, run again`,
      ).toEqual([]);
      expect(report.totals.calls, `kill after ${after}`).toBe(again.length);
    }
  }, 120_000);
});
