/**
 * `mcp test` as a user runs it (real child processes): the example suites green, a broken
 * routing expression naming the case, the assertion and its line, JUnit XML read back by
 * an XML parser, GitHub annotations, --filter, --bail, and invalid test files (exit 2).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { echoOpenAI } from "../helpers/fake-api-server.js";
import { tempProject } from "../helpers/project.js";

const ROOT = join(import.meta.dirname, "..", "..");
const copy = (p: string) => readFileSync(join(ROOT, p), "utf8");

function examples(): string {
  return tempProject({
    "pipelines/ticket-triage.yaml": copy("pipelines/ticket-triage.yaml"),
    "pipelines/ticket-triage.test.yaml": copy("pipelines/ticket-triage.test.yaml"),
    "pipelines/samples/tickets.jsonl": copy("pipelines/samples/tickets.jsonl"),
    "pipelines/conversation.yaml": copy("pipelines/conversation.yaml"),
    "pipelines/conversation.test.yaml": copy("pipelines/conversation.test.yaml"),
  });
}

/** The triage pipeline with billing words no longer routed to billing. */
function breakRouting(dir: string): void {
  const file = join(dir, "pipelines/ticket-triage.yaml");
  const text = readFileSync(file, "utf8");
  const broken = text.replace("/refund|charge|invoice|billing|payment/", "/refundd|chargee/");
  expect(broken).not.toBe(text);
  writeFileSync(file, broken);
}

const lineOf = (text: string, needle: string) => text.slice(0, text.indexOf(needle)).split("\n").length;

describe("mcp test", () => {
  it("runs the example suites offline and green, with a summary", async () => {
    const dir = examples();
    const r = await runCli(["test"], { cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Tests: 12 passed, 0 failed$/m);
    expect(r.stdout).toMatch(/^cases: 12 \(2 suites\) · tokens: \d+ · cost: \$0 · time: /m);
    expect(r.stdout).toContain("✓ pipelines/conversation.test.yaml > the second turn sees the first");
    // Nothing to record: the examples use in-process models only.
    expect(() => readFileSync(join(dir, "pipelines/ticket-triage.test.recording.json"))).toThrow();
  });

  it("fails when the routing breaks, naming the case, the assertion and its line", async () => {
    const dir = examples();
    breakRouting(dir);
    const r = await runCli(["test", "pipelines/ticket-triage.test.yaml"], { cwd: dir });
    expect(r.code).toBe(1);
    const suite = copy("pipelines/ticket-triage.test.yaml");
    const equalsLine = lineOf(suite, "equals: ${{ $row.route }}");
    expect(r.stdout).toContain("✗ pipelines/ticket-triage.test.yaml > ticket 1: I was charged twice");
    expect(r.stdout).toContain(`  ✗ equals: expected output at \`route\` to equal "billing", got "general"\n    at pipelines/ticket-triage.test.yaml:${equalsLine}:9`);
    expect(r.stdout).toMatch(/^Tests: \d+ passed, [1-9]\d* failed$/m);
  });

  it("writes JUnit XML that an XML parser reads back, one testcase per case, with the failures", async () => {
    const dir = examples();
    breakRouting(dir);
    const r = await runCli(["test", "--reporter", "junit", "--output-file", "junit.xml"], { cwd: dir });
    expect(r.code).toBe(1);
    const xml = readFileSync(join(dir, "junit.xml"), "utf8");
    expect(XMLValidator.validate(xml)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "", isArray: (name) => ["testsuite", "testcase"].includes(name) }).parse(xml);
    const root = doc.testsuites;
    expect(root.name).toBe("mcp test");
    expect(Number(root.tests)).toBe(12);
    const suites = root.testsuite as { name: string; tests: string; failures: string; testcase: { name: string; classname: string; failure?: { message: string; "#text": string } }[] }[];
    expect(suites.map((s) => s.name)).toEqual(["pipelines/conversation.test.yaml", "pipelines/ticket-triage.test.yaml"]);
    const triage = suites[1]!;
    expect(triage.testcase).toHaveLength(10);
    const failed = triage.testcase.filter((c) => c.failure);
    expect(Number(triage.failures)).toBe(failed.length);
    expect(Number(root.failures)).toBe(failed.length);
    const first = failed.find((c) => c.name.startsWith("ticket 1:"))!;
    expect(first.classname).toBe("pipelines/ticket-triage.test.yaml (ticket-triage)");
    expect(first.failure!.message).toMatch(/^expected output at `route` to equal "billing", got "general" \(pipelines\/ticket-triage\.test\.yaml:\d+\)$/);
    expect(first.failure!["#text"]).toContain("at pipelines/ticket-triage.test.yaml:");
    expect(suites[0]!.testcase.every((c) => !c.failure)).toBe(true);
  });

  it("prints GitHub annotations at the assertion's line", async () => {
    const dir = examples();
    breakRouting(dir);
    const r = await runCli(["test", "pipelines/ticket-triage.test.yaml", "--reporter", "github"], { cwd: dir });
    expect(r.code).toBe(1);
    const line = lineOf(copy("pipelines/ticket-triage.test.yaml"), "equals: ${{ $row.route }}");
    expect(r.stdout).toMatch(
      new RegExp(
        `^::error file=pipelines/ticket-triage\\.test\\.yaml,line=${line},col=9,title=mcp test%3A ticket 1%3A .*\\(equals\\)::expected output at \`route\` to equal "billing", got "general"`,
        "m",
      ),
    );
  });

  it("runs only the filtered cases, stops at the first failure with --bail, prints JSON with --reporter json", async () => {
    const dir = examples();
    const f = await runCli(["test", "--filter", "second turn", "--reporter", "json"], { cwd: dir });
    expect(f.code, f.stderr).toBe(0);
    const summary = JSON.parse(f.stdout);
    expect(summary).toMatchObject({ cases: 1, passed: 1, failed: 0 });
    expect(summary.suites[0].cases[0].name).toBe("the second turn sees the first");
    const none = await runCli(["test", "--filter", "nothing like this"], { cwd: dir });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no test case matches --filter "nothing like this"');
    breakRouting(dir);
    const b = await runCli(["test", "pipelines/ticket-triage.test.yaml", "--bail", "--concurrency", "1", "--reporter", "json"], { cwd: dir });
    expect(b.code).toBe(1);
    const bailed = JSON.parse(b.stdout);
    expect(bailed).toMatchObject({ failed: 1, bailed: true });
    expect(bailed.cases).toBeLessThan(10);
  });

  it("reports invalid test files like pipeline files, and runs nothing (exit 2)", async () => {
    const dir = tempProject({
      "p.yaml": copy("pipelines/ticket-triage.yaml"),
      "p.test.yaml": "version: 1\npipeline: p.yaml\ntests:\n  - input: { text: hi }\n    assert:\n      - { step: sentimnt, status: success }\n",
    });
    const r = await runCli(["test"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("p.test.yaml:6:17: error MCP602: unknown step 'sentimnt' in pipeline 'ticket-triage' (did you mean 'sentiment'?)");
    expect(r.stderr).toContain("no test ran");
    const v = await runCli(["validate", "."], { cwd: dir });
    expect(v.code).toBe(2);
    expect(v.stdout).toContain("error MCP602");
    const usage = await runCli(["test", "--record-mode", "sometimes"], { cwd: dir });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("--record-mode must be one of none, new, all; got 'sometimes'");
  });

  it("names a missing path and a folder with no suites as mcp validate does, at the path (exit 2)", async () => {
    const dir = tempProject({ "empty/readme.txt": "" });
    const missing = await runCli(["test", "nope.test.yaml"], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("nope.test.yaml:1:1: error MCP006: cannot read nope.test.yaml: no such file or folder\n");
    const empty = await runCli(["test", "empty"], { cwd: dir });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain("empty:1:1: error MCP009: no *.test.yaml files in empty\n");
  });

  it("writes --output-file into a folder it makes, and refuses one it cannot write before any case runs (exit 2)", async () => {
    const dir = examples();
    const made = await runCli(["test", "pipelines/ticket-triage.test.yaml", "--reporter", "junit", "--output-file", "reports/ci/junit.xml"], { cwd: dir });
    expect(made.code, made.stderr).toBe(0);
    expect(readFileSync(join(dir, "reports/ci/junit.xml"), "utf8")).toContain("<testsuites");
    const folder = await runCli(["test", "--reporter", "junit", "--output-file", "reports"], { cwd: dir });
    expect(folder.code).toBe(2);
    expect(folder.stderr.split("\n")[0]).toBe("mcp test: cannot write reports: it is a folder");
    expect(folder.stdout).toBe("");
  });

  it("refuses a pipeline file given instead of its suite, naming the suite when there is one (exit 2, nothing ran)", async () => {
    const dir = examples();
    const r = await runCli(["test", "pipelines/ticket-triage.yaml"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      "pipelines/ticket-triage.yaml:1:1: error MCP009: pipelines/ticket-triage.yaml is not a test suite: suites are *.test.yaml files\n" +
        "  hint: its suite is pipelines/ticket-triage.test.yaml: mcp test pipelines/ticket-triage.test.yaml\n",
    );
    expect(r.stdout).not.toContain("Tests:");
    writeFileSync(join(dir, "lonely.yaml"), "version: 1\nsteps:\n  a: { model: m }\n");
    const lonely = await runCli(["test", "lonely.yaml"], { cwd: dir });
    expect(lonely.code).toBe(2);
    expect(lonely.stderr).toContain("hint: a suite is a *.test.yaml file naming it (pipeline: ./lonely.yaml), e.g. lonely.test.yaml; docs/testing.md\n");
  });

  it("counts a replayed call's recorded tokens and cost, so tokens: and cost: checks hold in CI (no network, no key) as when recorded", async () => {
    const api = await echoOpenAI({ prompt_tokens: 500, completion_tokens: 300 });
    const dir = tempProject({
      "p.yaml": `version: 1
models:
  gpt: { provider: openai, model: gpt-test, baseUrl: ${api.baseUrl}, apiKeyEnv: TEST_KEY, capabilities: [t], cost: { input: 10, output: 10 } }
steps:
  ask: { model: gpt, input: { prompt: "\${{ $input.q }}" } }
output: \${{ $steps.ask.output.text }}
`,
      "p.test.yaml": `version: 1
pipeline: ./p.yaml
tests:
  - name: small enough
    input: { q: hi }
    assert:
      - tokens: { max: 1000 }
        cost: { max: 0.01 }
  - name: too big
    input: { q: hi }
    assert:
      - tokens: { max: 100 }
`,
    });
    try {
      const recorded = await runCli(["test", "--record-mode", "new"], { cwd: dir, env: { CI: "", TEST_KEY: "sk-test" } });
      expect(recorded.stdout).toContain("Tests: 1 passed, 1 failed");
    } finally {
      await api.close();
    }
    // Replayed with the server gone: the same checks pass and fail as when recorded.
    const replayed = await runCli(["test"], { cwd: dir, env: { CI: "true" } });
    expect(replayed.code).toBe(1);
    expect(replayed.stdout).toContain("Tests: 1 passed, 1 failed");
    expect(replayed.stdout).toContain("expected run tokens to be at most 100, got 800");
    const run = await runCli(["run", "p.yaml", "--input", '{"q": "hi"}', "--replay", "p.test.recording.json", "--json"], { cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).totals).toMatchObject({ inputTokens: 500, outputTokens: 300, cost: 0.008, calls: 0, cacheHits: 1 });
  });
});
