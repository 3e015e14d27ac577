/**
 * The journal's promise under kill -9: a step whose finish was reported (its step.finished
 * event reached the terminal) is in the journal, so `mcp resume` does not run it again.
 * The journal writes finished steps in batches (one SQLite transaction per event-loop
 * turn) and holds the run's events until their batch has committed; the real `mcp` binary
 * is killed at random points of a run whose steps finish one at a time and many per turn.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BIN, runCli } from "../helpers/cli.js";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "mcp-resume-kill-"));
  dirs.push(dir);
  for (const [name, text] of Object.entries({ "mcp.yaml": "version: 1\n", ...files })) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

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

/** Runs the pipeline and kills it with SIGKILL as soon as `after` step.finished events have been read. */
async function runAndKill(dir: string, after: number): Promise<{ runId: string; finished: string[] }> {
  const child = spawn(process.execPath, [BIN, "run", "pipelines/kill.yaml", "--progress", "json"], { cwd: dir, env: { ...process.env, NO_COLOR: "1", CI: "true" }, stdio: ["ignore", "pipe", "pipe"] });
  let buf = "";
  let runId = "";
  const finished: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${after} step.finished events: ${buf}`)), 20_000);
    child.stderr.on("data", (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line.startsWith("{") || child.signalCode) continue;
        const e = JSON.parse(line);
        if (e.type === "run.started") runId = e.runId;
        if (e.type === "step.finished") finished.push(e.stepId);
        if (finished.length >= after) {
          clearTimeout(timer);
          child.kill("SIGKILL");
          resolve();
          return;
        }
      }
    });
    child.on("close", () => {
      clearTimeout(timer);
      resolve();
    });
  });
  await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.on("close", r)));
  expect(child.signalCode, `the run ended before ${after} steps had finished`).toBe("SIGKILL");
  return { runId, finished };
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
      const { runId, finished } = await runAndKill(dir, after);
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
