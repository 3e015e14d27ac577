/** `mcp run --record/--replay` with the record modes of `mcp test` (real child processes, a local API). */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { echoOpenAI, prompts, type FakeApiServer } from "../helpers/fake-api-server.js";
import { tempProject } from "../helpers/project.js";

const servers: FakeApiServer[] = [];
afterAll(() => Promise.all(servers.map((s) => s.close())));

describe("mcp run record modes", () => {
  it("says why a run of in-process models recorded no call", async () => {
    const dir = tempProject({ "p.yaml": `version: 1\nmodels:\n  m: { provider: mock, capabilities: [t] }\nsteps:\n  a: { model: m, input: { prompt: hi } }\n` });
    const r = await runCli(["run", "p.yaml", "--record", "calls.json", "--store", "memory"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("recorded 0 model calls to calls.json (calls to nlp and mock models run in-process and are not recorded)\n");
  });

  it("records network calls only, fails a missing call under --replay, adds it with --record-mode new", async () => {
    const api = await echoOpenAI();
    servers.push(api);
    const dir = tempProject({
      "p.yaml": `version: 1
name: remote
models:
  gpt: { provider: openai, model: gpt-test, baseUrl: ${api.baseUrl}, apiKeyEnv: TEST_KEY, capabilities: [text-generation] }
  fake: { provider: mock, capabilities: [summarization], options: { reply: { text: short } } }
steps:
  ask: { model: gpt, input: { prompt: "\${{ $input.q }}" } }
  short: { model: fake, input: { prompt: "\${{ $input.q }}" } }
output: \${{ $steps.ask.output.text & " / " & $steps.short.output.text }}
`,
    });
    const env = { TEST_KEY: "sk-test-key-abcdef" };
    const common = ["--store", "memory"];
    const rec = await runCli(["run", "p.yaml", "--input", '{"q": "one"}', "--record", "calls.json", ...common], { cwd: dir, env });
    expect(rec.code, rec.stderr).toBe(0);
    expect(rec.stderr).toContain("recorded 1 model call to calls.json");
    const file = () => JSON.parse(readFileSync(join(dir, "calls.json"), "utf8")) as { interactions: { step: string; request: { prompt: string } }[] };
    expect(file().interactions.map((i) => [i.step, i.request.prompt])).toEqual([["ask", "one"]]);

    const miss = await runCli(["run", "p.yaml", "--input", '{"q": "two"}', "--replay", "calls.json", ...common], { cwd: dir });
    expect(miss.code).toBe(1);
    expect(miss.stderr).toMatch(/replay: no recorded call in calls\.json matches step 'ask' on model 'gpt'/);
    expect(miss.stderr).toContain("add the missing calls with --replay calls.json --record-mode new");
    expect(prompts(api)).toEqual(["one"]);

    const add = await runCli(["run", "p.yaml", "--input", '{"q": "two"}', "--replay", "calls.json", "--record-mode", "new", ...common], { cwd: dir, env });
    expect(add.code, add.stderr).toBe(0);
    expect(add.stderr).toContain("recorded 1 model call to calls.json (0 replayed from it)");
    expect(prompts(api)).toEqual(["one", "two"]);
    expect(
      file()
        .interactions.map((i) => i.request.prompt)
        .sort(),
    ).toEqual(["one", "two"]);

    await api.close();
    for (const q of ["one", "two"]) {
      const replay = await runCli(["run", "p.yaml", "--input", JSON.stringify({ q }), "--replay", "calls.json", ...common], { cwd: dir });
      expect(replay.code, replay.stderr).toBe(0);
      expect(JSON.parse(replay.stdout)).toBe(`Echo: ${q} / short`);
    }

    const usage = await runCli(["run", "p.yaml", "--input", "{}", "--record-mode", "new"], { cwd: dir });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("--record-mode goes with --record FILE or --replay FILE");
  });
});
