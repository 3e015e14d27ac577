import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer } from "../../src/server/serve.js";
import type { McpHttpServer } from "../../src/server/build-server.js";
import { tempProject } from "../helpers/project.js";
import { api, MOCK_CONFIG, THREE_STEPS } from "./helpers.js";

describe("server logs", () => {
  const lines: string[] = [];
  let server: McpHttpServer;
  let url: string;
  beforeAll(async () => {
    const dir = tempProject({ "mcp.yaml": `${MOCK_CONFIG}server:\n  keys: [{ name: logger, key: log-secret-key-77 }]\n`, "pipelines/three.yaml": THREE_STEPS });
    const stream = new Writable({
      write(chunk, _enc, done) {
        lines.push(...String(chunk).split("\n").filter(Boolean));
        done();
      },
    });
    server = await createServer({ dir: `${dir}/pipelines`, env: {}, overrides: { port: 0 }, logger: { level: "info", stream } });
    url = await server.listen();
  });
  afterAll(() => server.close({ deadlineMs: 1000 }));

  it("writes one JSON line per request and per model call, with the key's name but never the key, prompts or answers", async () => {
    await api(url, "/v1/pipelines/three/runs", { key: "log-secret-key-77", body: { input: { text: "my-private-prompt" }, wait: true } });
    await api(url, "/v1/pipelines", { headers: { authorization: "Bearer wrong-secret-key-88" } });
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const requests = parsed.filter((l) => l.msg === "request");
    expect(requests.map((r) => [r.route, r.status])).toEqual([
      ["/v1/pipelines/:name/runs", 200],
      ["/v1/pipelines", 401],
    ]);
    expect(requests[0]!.key).toBe("logger");
    expect(parsed.filter((l) => l.msg === "model call").map((l) => l.step)).toEqual(["a", "b", "c"]);
    const all = lines.join("\n");
    for (const secret of ["log-secret-key-77", "wrong-secret-key-88", "my-private-prompt", "echo: "]) expect(all).not.toContain(secret);
  });
});
