import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BIN, runCli } from "../helpers/cli.js";
import { tempProject } from "../helpers/project.js";

const ROOT = join(import.meta.dirname, "..", "..");

/** A temporary project (removed after the tests), so that no run leaves a .mcp/ in the repository. */
const project = (files: Record<string, string>): string => tempProject(files, "mcp-run-");

/** The repository's files that `npm start` runs, copied into a temporary project. */
const EXAMPLE = Object.fromEntries(["mcp.yaml", "pipelines/ticket-triage.yaml", "pipelines/samples/ticket.json"].map((f) => [f, readFileSync(join(ROOT, f), "utf8")]));

const ECHO = `version: 1
inputs: { type: object, required: [name], properties: { name: { type: string } } }
models:
  echo: { provider: mock, capabilities: [t], options: { reply: { text: "hello \${{ $request.who }}" }, usage: { inputTokens: 3, outputTokens: 2 }, latency: 5ms } }
steps:
  greet: { model: echo, input: { who: "\${{ $input.name }}" } }
output: \${{ $steps.greet.output.text }}
`;

describe("mcp run", () => {
  it("npm start's example triages the bundled ticket on the embedded NLP models", async () => {
    const r = await runCli(["run", "pipelines/ticket-triage.yaml", "--input-file", "pipelines/samples/ticket.json"], { cwd: project(EXAMPLE) });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ route: "billing", priority: "high", customer: "Dana Whitfield" });
    // The ticket is an angry complaint: negative, and enough so on its own for high priority.
    expect(out.sentiment.label).toBe("negative");
    expect(out.sentiment.score).toBeLessThan(-0.5);
    expect(out.entities).toContainEqual({ value: "$49.99", type: "MONEY" });
    expect(r.stderr).toMatch(/sentiment\s+nlp\s+1/);
    expect(r.stderr).toMatch(/^success run_\w+ \(ticket-triage\)/m);
  });

  it("prints the whole report with --json, for any text", async () => {
    const r = await runCli(["run", "pipelines/ticket-triage.yaml", "--input", JSON.stringify({ text: "The new release is wonderful, thanks!" }), "--json", "--quiet"], { cwd: project(EXAMPLE) });
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.status).toBe("success");
    expect(report.runId).toMatch(/^run_/);
    expect(Object.keys(report.steps).sort()).toEqual(["entities", "keywords", "sentiment", "summary"]);
    for (const s of Object.values(report.steps) as { model: string; attempts: unknown[]; usage: { inputTokens: number } }[]) {
      expect(s.model).toBe("nlp");
      expect(s.attempts).toHaveLength(1);
      expect(s.usage.inputTokens).toBeGreaterThan(0);
    }
    expect(report.output.sentiment.label).toBe("positive");
    expect(report.totals.calls).toBe(4);
  });

  it("reads the input from stdin", async () => {
    const dir = project({ "p.yaml": ECHO });
    const r = await runCli(["run", "p.yaml", "--input-file", "-"], { cwd: dir, input: '{"name": "stdin"}' });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toBe("hello stdin");
  });

  it("rejects bad run input with exit 2 and runs nothing", async () => {
    const dir = project({ "p.yaml": ECHO });
    const r = await runCli(["run", "p.yaml", "--input", '{"nom": 1}', "--progress", "json"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error MCP501: invalid run input for pipeline 'p': the input is missing 'name'");
    expect(r.stderr).not.toContain("run.started");
    expect(r.stdout).toBe("");
  });

  it("says how to give the input when a run needs one and got none, or an empty {} on stdin", async () => {
    const dir = project({ "p.yaml": ECHO });
    for (const input of ["", "{}\n"]) {
      const r = await runCli(["run", "p.yaml"], { cwd: dir, input });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("hint: the run's input is empty (no --input, --input-file or stdin, or an empty {}); pass it as JSON with --input");
      expect(r.stderr).toContain(`mcp run p.yaml --input '{"name": "..."}'`);
    }
  });

  it("rejects malformed --input JSON with exit 2 and a usage hint", async () => {
    const dir = project({ "p.yaml": ECHO });
    const r = await runCli(["run", "p.yaml", "--input", "{name: x}"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^mcp run: --input is not valid JSON: /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("says which command takes a test suite or mcp.yaml given as the pipeline (exit 2), for run and graph", async () => {
    const dir = project({ "p.yaml": ECHO, "p.test.yaml": "version: 1\npipeline: ./p.yaml\ntests: []\n", "mcp.yaml": "version: 1\n" });
    for (const command of ["run", "graph"]) {
      const suite = await runCli([command, "p.test.yaml"], { cwd: dir });
      expect(suite.code).toBe(2);
      expect(suite.stderr).toBe(`mcp ${command}: p.test.yaml is a test suite, not a pipeline: run it with 'mcp test p.test.yaml'\nRun 'mcp ${command} --help' for usage.\n`);
      const config = await runCli([command, "mcp.yaml"], { cwd: dir });
      expect(config.code).toBe(2);
      expect(config.stderr).toMatch(new RegExp(`^mcp ${command}: mcp\\.yaml is the project config, not a pipeline: give a pipeline file`));
      expect(config.stderr).not.toContain("MCP101");
    }
  });

  it("says in one line why an --input-file cannot be used: a folder, or text that is not JSON (exit 2)", async () => {
    const dir = project({ "p.yaml": ECHO, "bad.json": "not json\n" });
    const folder = await runCli(["run", "p.yaml", "--input-file", "."], { cwd: dir });
    expect(folder.code).toBe(2);
    expect(folder.stderr).toBe("mcp run: cannot read --input-file .: it is a folder, not a file\nRun 'mcp run --help' for usage.\n");
    const bad = await runCli(["run", "p.yaml", "--input-file", "bad.json"], { cwd: dir });
    expect(bad.code).toBe(2);
    const [first, second, ...rest] = bad.stderr.split("\n");
    expect(first).toMatch(/^mcp run: --input-file bad\.json is not valid JSON: .*"not json\\n".* \(e\.g\. --input '\{"text": "hello"\}'\)$/);
    expect([second, ...rest]).toEqual(["Run 'mcp run --help' for usage.", ""]);
  });

  it("names every kind of store, redis URLs too, when --store is wrong (exit 2)", async () => {
    const dir = project({ "p.yaml": ECHO });
    const r = await runCli(["run", "p.yaml", "--store", "sqlit", "--input", '{"name": "x"}'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("mcp run: --store must be sqlite, memory or a redis://HOST:PORT URL; got 'sqlit'\nRun 'mcp run --help' for usage.\n");
  });

  it("exits 1 with a message naming the step and the model when the run fails", async () => {
    const dir = project({
      "p.yaml": `version: 1
models:
  down: { provider: mock, capabilities: [t], options: { failFirst: 99, failWith: { kind: fatal, status: 503, message: "service unavailable" } } }
steps:
  call: { model: down, input: {} }
`,
    });
    const r = await runCli(["run", "p.yaml"], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error: step 'call' failed on model 'down' (mock) after 1 attempt: service unavailable");
    expect(r.stdout).toBe("");
  });

  it("prints events as NDJSON with --progress json", async () => {
    const dir = project({ "p.yaml": ECHO });
    const r = await runCli(["run", "p.yaml", "--input", '{"name":"x"}', "--progress", "json"], { cwd: dir });
    expect(r.code).toBe(0);
    const events = r.stderr
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l));
    expect(events.map((e) => e.type)).toEqual(["run.started", "step.queued", "step.started", "step.finished", "run.finished"]);
    expect(events.at(-1)).toMatchObject({ status: "success", output: "hello x" });
  });

  it("prints a plan with --dry-run and calls no model", async () => {
    const dir = project({
      "p.yaml": `version: 1
models:
  a: { provider: mock, capabilities: [t], fallback: [b], cost: { input: 1, output: 2 }, options: { failFirst: 1000 } }
  b: { provider: mock, capabilities: [t] }
steps:
  one: { capabilities: [t], input: { prompt: "hello world", maxTokens: 100 } }
  two: { capabilities: [t], input: { prompt: "\${{ $steps.one.output.text }}" } }
`,
    });
    const r = await runCli(["run", "p.yaml", "--dry-run"], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("2 steps in 2 parallel groups");
    expect(r.stdout).toContain("  one: a (mock), then b");
    expect(r.stdout).toMatch(/~2 in \/ ~100 out tokens, ~\$0\.0002/);
    const json = await runCli(["run", "p.yaml", "--dry-run", "--json"], { cwd: dir });
    const plan = JSON.parse(json.stdout);
    expect(plan.groups).toEqual([["one"], ["two"]]);
    expect(plan.steps[0]).toMatchObject({ id: "one", model: "a", fallback: ["b"], inputTokens: 2, outputTokens: 100 });
  });

  it("says '1 step', not '1 steps', in the plan and the progress of a one-step pipeline", async () => {
    const dir = project({ "p.yaml": ECHO });
    const plan = await runCli(["run", "p.yaml", "--dry-run", "--input", '{"name": "x"}'], { cwd: dir });
    expect(plan.stdout).toContain("plan for p (p.yaml): 1 step in 1 parallel group\n");
    const run = await runCli(["run", "p.yaml", "--progress", "plain", "--store", "memory", "--input", '{"name": "x"}'], { cwd: dir });
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^run run_\w+ \(p, 1 step\)$/m);
  });

  it("cancels on Ctrl-C, prints the partial report and exits 130", async () => {
    const dir = project({
      "p.yaml": `version: 1
models:
  quick: { provider: mock, capabilities: [t], options: { reply: { text: ok }, usage: { inputTokens: 1, outputTokens: 1 } } }
  slow: { provider: mock, capabilities: [t], options: { latency: 30s } }
steps:
  first: { model: quick, input: {} }
  second: { model: slow, input: {}, needs: first }
`,
    });
    const child = spawn(process.execPath, [BIN, "run", "p.yaml", "--progress", "plain"], { cwd: dir, env: { ...process.env, NO_COLOR: "1" } });
    let stderr = "";
    let stdout = "";
    child.stdout.on("data", (d) => (stdout += d));
    await new Promise<void>((resolve) => {
      child.stderr.on("data", (d) => {
        stderr += d;
        if (stderr.includes("✓ first")) resolve();
      });
    });
    const t0 = Date.now();
    child.kill("SIGINT");
    const code = await new Promise<number | null>((r) => child.on("close", (c) => r(c)));
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(code).toBe(130);
    expect(stderr).toMatch(/✓\s+first\s+quick/);
    expect(stderr).toMatch(/■\s+second/);
    expect(stderr).toContain("cancelled: interrupted (Ctrl-C)");
    expect(stdout).toBe("");
  });

  it("reports a loop that ran out of iterations (repeat-exhausted) with its iterations, tokens and one attempt per call", async () => {
    const dir = project({
      "loop.yaml": `version: 1
models:
  m: { provider: mock, capabilities: [t], options: { reply: { text: "draft \${{ $request.n }}" }, usage: { inputTokens: 3, outputTokens: 2 } } }
steps:
  draft:
    model: m
    input: { n: "\${{ $iteration }}" }
    repeat: { until: '$contains($last.text, "regards")', max: 2 }
`,
    });
    const r = await runCli(["run", "loop.yaml", "--json"], { cwd: dir });
    expect(r.code).toBe(1);
    const step = JSON.parse(r.stdout).steps.draft;
    expect(step.error.reason).toBe("repeat-exhausted");
    expect(step.model).toBe("m");
    expect(step.iterations.map((i: { output: { text: string } }) => i.output.text)).toEqual(["draft 1", "draft 2"]);
    expect(step.usage).toEqual({ inputTokens: 6, outputTokens: 4 });
    // The table: 2 iterations of one attempt each, and the tokens they spent.
    expect(r.stderr).toMatch(/✗\s+draft\s+m\s+2\s+1\s+\S+\s+6\/4\s/);
  });

  it("times out a module model whose promise never settles (timeout:), and without a timeout says why it stopped instead of exiting 0 silently", async () => {
    const pipeline = (timeout: string) => `version: 1
models:
  hang: { provider: module, module: ./hang.mjs, capabilities: [t] }
steps:
  a: { model: hang, ${timeout}retry: { attempts: 2, initialDelay: 10ms } }
`;
    const dir = project({
      "hang.mjs": "export default async function () { return new Promise(() => {}); }\n",
      "timed.yaml": pipeline("timeout: 300ms, "),
      "untimed.yaml": pipeline(""),
    });
    const timed = await runCli(["run", "timed.yaml"], { cwd: dir });
    expect(timed.code).toBe(1);
    expect(timed.stderr).toContain("error: step 'a' failed on model 'hang' (module) after 2 attempts: timed out after 300ms");
    const untimed = await runCli(["run", "untimed.yaml"], { cwd: dir });
    expect(untimed.code).toBe(1);
    expect(untimed.stdout).toBe("");
    expect(untimed.stderr).toContain("mcp: stopped before the command finished: it was waiting for something that can never happen");
    expect(untimed.stderr).toContain("give the step (or the model) a timeout");
  });

  it("lists the registry with mcp models", async () => {
    const dir = project({ "p.yaml": ECHO });
    const r = await runCli(["models", "p.yaml"], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^name\s+provider\s+model\s+capabilities\s+maxTokens\s+cost in\/out/);
    expect(r.stdout).toMatch(/^echo\s+mock\s+-\s+t\s/m);
  });
});
