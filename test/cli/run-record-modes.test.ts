/** `mcp run --record/--replay` with the record modes of `mcp test` (real child processes, a local API). */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempProject } from "../helpers/project.js";

const servers: Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
});

async function fakeOpenAI(): Promise<{ url: string; prompts: string[]; server: Server }> {
  const prompts: string[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const last = JSON.parse(body).messages.at(-1).content as string;
      prompts.push(last);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          id: "x",
          object: "chat.completion",
          choices: [{ index: 0, message: { role: "assistant", content: `Echo: ${last}` }, finish_reason: "stop" }],
          usage: { prompt_tokens: 5, completion_tokens: 3 },
        }),
      );
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, prompts, server };
}

describe("mcp run record modes", () => {
  it("records network calls only, fails a missing call under --replay, adds it with --record-mode new", async () => {
    const api = await fakeOpenAI();
    const dir = tempProject({
      "p.yaml": `version: 1
name: remote
models:
  gpt: { provider: openai, model: gpt-test, baseUrl: ${api.url}, apiKeyEnv: TEST_KEY, capabilities: [text-generation] }
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
    expect(api.prompts).toEqual(["one"]);

    const add = await runCli(["run", "p.yaml", "--input", '{"q": "two"}', "--replay", "calls.json", "--record-mode", "new", ...common], { cwd: dir, env });
    expect(add.code, add.stderr).toBe(0);
    expect(add.stderr).toContain("recorded 1 model call to calls.json (0 replayed from it)");
    expect(api.prompts).toEqual(["one", "two"]);
    expect(
      file()
        .interactions.map((i) => i.request.prompt)
        .sort(),
    ).toEqual(["one", "two"]);

    await new Promise<void>((r) => api.server.close(() => r()));
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
