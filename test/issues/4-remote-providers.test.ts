/**
 * Issue 4, "done when": with a local OpenAI-compatible server running, a pipeline whose model
 * has `provider: openai` and `baseUrl` pointing at it runs, retries a 429, reports the tokens
 * the server returned, and never prints the key (nor stores it under .mcp/).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeApiServer } from "../helpers/fake-api-server.js";
import { runCli } from "../helpers/cli.js";

const KEY = "sk-local-issue4-9f8e7d6c5b4a";

let server: FakeApiServer;
let dir: string;
beforeAll(async () => {
  server = await FakeApiServer.start(() => ({
    json: {
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1741569952,
      model: "llama3.2",
      choices: [{ index: 0, message: { role: "assistant", content: "Bonjour !" }, finish_reason: "stop" }],
      usage: { prompt_tokens: 42, completion_tokens: 17, total_tokens: 59 },
    },
  }));
  dir = mkdtempSync(join(tmpdir(), "mcp-issue4-"));
  writeFileSync(
    join(dir, "chat.yaml"),
    [
      "version: 1",
      "name: local-chat",
      "models:",
      "  local:",
      "    provider: openai",
      `    baseUrl: ${server.url}/v1`,
      "    model: llama3.2",
      "    apiKeyEnv: LOCAL_LLM_KEY",
      "    capabilities: [text-generation]",
      "steps:",
      "  greet:",
      "    model: local",
      '    input: { prompt: "Say hello in French" }',
      "    retry: { attempts: 3, initialDelay: 10ms }",
      "output:",
      '  text: "${{ $steps.greet.output.text }}"',
      "",
    ].join("\n"),
  );
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function filesUnder(d: string): string[] {
  return readdirSync(d).flatMap((n) => {
    const p = join(d, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe("issue 4: a pipeline on a local OpenAI-compatible server", () => {
  it("runs, retries a 429 after its Retry-After, reports the server's tokens, and never prints the key", async () => {
    server.requests.length = 0;
    server.reply({ status: 429, headers: { "retry-after-ms": "150" }, json: { error: { message: `Rate limit reached for key ${KEY}`, type: "requests" } } });
    const r = await runCli(["run", join(dir, "chat.yaml"), "--json", "--progress", "plain"], { cwd: dir, env: { LOCAL_LLM_KEY: KEY } });
    expect(r.code, r.stderr).toBe(0);
    expect(server.requests).toHaveLength(2);
    for (const req of server.requests) {
      expect(req.path).toBe("/v1/chat/completions");
      expect(req.headers.authorization).toBe(`Bearer ${KEY}`);
    }
    const report = JSON.parse(r.stdout) as Record<string, unknown>;
    const text = JSON.stringify(report);
    expect(text).toContain("Bonjour !");
    expect(text).toMatch(/"inputTokens":42/);
    expect(text).toMatch(/"outputTokens":17/);
    expect(r.stderr).toMatch(/429/);
    expect(r.stdout + r.stderr).not.toContain(KEY);
    for (const f of filesUnder(dir)) expect(readFileSync(f, "latin1"), f).not.toContain(KEY);
  });

  it("fails a run on a rejected key without printing it", async () => {
    server.reply({ status: 401, json: { error: { message: `Incorrect API key provided: ${KEY}`, type: "invalid_request_error", code: "invalid_api_key" } } });
    const r = await runCli(["run", join(dir, "chat.yaml"), "--progress", "plain"], { cwd: dir, env: { LOCAL_LLM_KEY: KEY } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("check the API key in $LOCAL_LLM_KEY");
    expect(r.stdout + r.stderr).not.toContain(KEY);
    for (const f of filesUnder(dir)) expect(readFileSync(f, "latin1"), f).not.toContain(KEY);
  });
});
