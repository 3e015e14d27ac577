/**
 * Recordings with VCR's record modes, against a local OpenAI-compatible server on
 * 127.0.0.1: none (replay only; a missing call fails with the nearest recorded call), new
 * (record only the missing calls), all (record everything again). nlp and mock calls are
 * never recorded.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadSuite } from "../../src/testing/suite.js";
import { runSuites } from "../../src/testing/runner.js";
import type { RecordMode } from "../../src/cache/cassette.js";
import { echoOpenAI, prompts, type FakeApiServer } from "../helpers/fake-api-server.js";
import { tempProject } from "../helpers/project.js";

const servers: FakeApiServer[] = [];
afterAll(() => Promise.all(servers.map((s) => s.close())));

const pipeline = (url: string) => `version: 1
name: remote
models:
  gpt: { provider: openai, model: gpt-test, baseUrl: ${url}, apiKeyEnv: TEST_KEY, capabilities: [text-generation] }
  nlp: { provider: nlp, capabilities: [sentiment-analysis] }
  fake: { provider: mock, capabilities: [summarization], options: { reply: { text: ok } } }
steps:
  ask: { model: gpt, input: { prompt: "\${{ $input.q }}" } }
  mood: { model: nlp, input: { text: "\${{ $input.q }}" } }
  short: { model: fake, input: { prompt: "\${{ $input.q }}" } }
output: \${{ $steps.ask.output.text }}
`;

const suite = (qs: string[]) => `version: 1
pipeline: p.yaml
tests:
${qs.map((q) => `  - name: ${q}\n    input: { q: ${q} }\n    assert:\n      - equals: "Echo: ${q}"\n`).join("")}`;

async function run(dir: string, mode: RecordMode) {
  const loaded = await loadSuite(join(dir, "p.test.yaml"));
  expect(loaded.diagnostics).toEqual([]);
  const s = await runSuites([loaded.suite!], { recordMode: mode, env: { TEST_KEY: "sk-secret-key-123" } });
  return { summary: s, cases: Object.fromEntries(s.suites[0]!.cases.map((c) => [c.name, c])) };
}

const recording = (dir: string) => JSON.parse(readFileSync(join(dir, "p.test.recording.json"), "utf8")) as { interactions: { step: string; provider: string; request: { prompt: string } }[] };

describe("record modes", () => {
  it("none fails a missing call and records nothing; new records only what is missing; all records everything again", async () => {
    const api = await echoOpenAI();
    servers.push(api);
    const dir = tempProject({ "p.yaml": pipeline(api.baseUrl), "p.test.yaml": suite(["alpha", "beta"]) });

    // none, no recording yet: every case fails, no call is made, no file is written.
    const none0 = await run(dir, "none");
    expect(none0.summary).toMatchObject({ cases: 2, passed: 0, failed: 2 });
    expect(none0.cases.alpha!.assertions[0]!.message).toMatch(/the run failed: step 'ask': replay: no recorded call in p\.test\.recording\.json matches step 'ask' on model 'gpt' \(openai gpt-test\)/);
    expect(none0.cases.alpha!.assertions[0]!.message).toMatch(/there is no recording .*p\.test\.recording\.json yet; record the missing calls with --record-mode new/);
    expect(prompts(api)).toEqual([]);

    // new: both calls are made and recorded; nlp and mock calls are not.
    const new1 = await run(dir, "new");
    expect(new1.summary).toMatchObject({ passed: 2, failed: 0 });
    expect(prompts(api).sort()).toEqual(["alpha", "beta"]);
    const rec1 = recording(dir);
    expect(rec1.interactions.map((i) => [i.step, i.provider, i.request.prompt]).sort((a, b) => a[2]!.localeCompare(b[2]!))).toEqual([
      ["ask", "openai", "alpha"],
      ["ask", "openai", "beta"],
    ]);
    expect(JSON.stringify(rec1)).not.toContain("sk-secret-key-123");

    // A third case: none fails it, naming the nearest recorded call; the others replay.
    writeFileSync(join(dir, "p.test.yaml"), suite(["alpha", "beta", "gamma"]));
    const none2 = await run(dir, "none");
    expect(none2.summary).toMatchObject({ passed: 2, failed: 1 });
    const miss = none2.cases.gamma!.assertions[0]!.message;
    expect(miss).toMatch(/no recorded call in p\.test\.recording\.json matches step 'ask' on model 'gpt'/);
    expect(miss).toMatch(/nearest recorded call: step 'ask' on model 'gpt' \(openai gpt-test\), input \d+% similar/);
    expect(prompts(api)).toHaveLength(2);

    // new: only the missing call is made (a partial recording is completed).
    const new3 = await run(dir, "new");
    expect(new3.summary).toMatchObject({ passed: 3, failed: 0 });
    expect(prompts(api)).toHaveLength(3);
    expect(prompts(api)[2]).toBe("gamma");
    expect(
      recording(dir)
        .interactions.map((i) => i.request.prompt)
        .sort(),
    ).toEqual(["alpha", "beta", "gamma"]);

    // all: every call again, and calls no longer made are dropped.
    writeFileSync(join(dir, "p.test.yaml"), suite(["beta", "gamma"]));
    const all4 = await run(dir, "all");
    expect(all4.summary).toMatchObject({ passed: 2, failed: 0 });
    expect(prompts(api)).toHaveLength(5);
    expect(
      recording(dir)
        .interactions.map((i) => i.request.prompt)
        .sort(),
    ).toEqual(["beta", "gamma"]);

    // With the server gone, none replays everything.
    await api.close();
    const none5 = await run(dir, "none");
    expect(none5.summary).toMatchObject({ passed: 2, failed: 0 });
    expect(all4.summary.suites[0]!.recording).toMatchObject({ replayed: 0, recorded: 2 });
    expect(none5.summary.suites[0]!.recording).toMatchObject({ replayed: 2, recorded: 0 });
  });

  it("never writes a recording for a pipeline of in-process models only", async () => {
    const dir = tempProject({
      "p.yaml":
        "version: 1\nname: local\nmodels:\n  m: { provider: mock, capabilities: [x], options: { reply: { text: hi } } }\nsteps:\n  a: { model: m, input: { prompt: x } }\noutput: ${{ $steps.a.output.text }}\n",
      "p.test.yaml": "version: 1\npipeline: p.yaml\ntests:\n  - input: {}\n    assert: [{ equals: hi }]\n",
    });
    for (const mode of ["new", "all", "none"] as const) {
      const loaded = await loadSuite(join(dir, "p.test.yaml"));
      const s = await runSuites([loaded.suite!], { recordMode: mode });
      expect(s.passed).toBe(1);
    }
    expect(() => readFileSync(join(dir, "p.test.recording.json"))).toThrow(/ENOENT/);
  });
});
