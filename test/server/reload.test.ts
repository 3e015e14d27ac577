import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, MOCK_CONFIG, serve, type Served } from "./helpers.js";

const version = (greeting: string) => `version: 1
name: hello
steps:
  say:
    model: fake
    input: { prompt: "${greeting} \${{ $input.name }}" }
output: "\${{ $steps.say.output.text }}"
`;

async function until<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 40));
  }
}

describe("hot reload behind the server", () => {
  let s: Served;
  beforeAll(async () => {
    s = await serve({ "mcp.yaml": MOCK_CONFIG, "pipelines/hello.yaml": version("Hello") });
  });
  afterAll(() => s.close());

  const run = async () => (await api(s.url, "/v1/pipelines/hello/runs", { body: { input: { name: "Ada" }, wait: true } })).json;

  it("serves an edit to the next request, keeps the last good version when an edit is broken, and reports why", async () => {
    expect((await run()).output).toBe("echo: Hello Ada");
    const v1 = (await api(s.url, "/v1/pipelines")).json.pipelines[0].version;

    writeFileSync(join(s.dir, "pipelines/hello.yaml"), version("Goodbye"));
    const listed = await until(
      "the new version",
      async () => (await api(s.url, "/v1/pipelines")).json.pipelines[0],
      (p) => p.version !== v1,
    );
    expect(listed.status).toBe("valid");
    expect((await run()).output).toBe("echo: Goodbye Ada");

    writeFileSync(join(s.dir, "pipelines/hello.yaml"), version("Broken").replace("model: fake", "model: missing"));
    const broken = await until(
      "the broken edit",
      async () => (await api(s.url, "/v1/pipelines")).json.pipelines[0],
      (p) => p.status === "invalid",
    );
    expect(broken.version).toBe(listed.version);
    expect(broken.diagnostics[0].code).toBe("MCP401");
    expect(broken.diagnostics[0].text).toMatch(/hello\.yaml:\d+:\d+: error MCP401/);
    // The last good version keeps serving.
    expect((await run()).output).toBe("echo: Goodbye Ada");
  });

  it("a new pipeline file is runnable once saved", async () => {
    writeFileSync(join(s.dir, "pipelines/second.yaml"), version("Hi").replace("name: hello", "name: second"));
    const r = await until(
      "the new pipeline",
      async () => api(s.url, "/v1/pipelines/second/runs", { body: { input: { name: "Bo" }, wait: true } }),
      (x) => x.status === 200,
    );
    expect(r.json.output).toBe("echo: Hi Bo");
  });
});
