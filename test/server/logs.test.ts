import { spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer } from "../../src/server/serve.js";
import type { McpHttpServer } from "../../src/server/build-server.js";
import { turnBatchedDestination } from "../../src/server/log-destination.js";
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

describe("server log destination (lines written once per event-loop turn)", () => {
  const tmp = mkdtempSync(join(tmpdir(), "mcp-logs-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const nextTurn = () => new Promise((r) => setImmediate(r));

  it("writes the lines of a turn together at its end, none lost", async () => {
    const file = join(tmp, "turn.log");
    const fd = openSync(file, "w");
    const dest = turnBatchedDestination(fd);
    dest.write('{"n":1}\n');
    dest.write('{"n":2}\n');
    expect(readFileSync(file, "utf8")).toBe("");
    await nextTurn();
    expect(readFileSync(file, "utf8")).toBe('{"n":1}\n{"n":2}\n');
    dest.write('{"n":3}\n');
    dest.close();
    expect(readFileSync(file, "utf8").split("\n").filter(Boolean)).toHaveLength(3);
    // After close, a line is written at once.
    dest.write('{"n":4}\n');
    expect(readFileSync(file, "utf8").split("\n").filter(Boolean)).toHaveLength(4);
    closeSync(fd);
  });

  it("flushes what is pending when the process exits in the middle of a turn", async () => {
    const moduleUrl = pathToFileURL(join(import.meta.dirname, "..", "..", "dist", "server", "log-destination.js")).href;
    const script = `const { turnBatchedDestination } = await import(${JSON.stringify(moduleUrl)}); const d = turnBatchedDestination(1); d.write("last words\\n"); process.exit(0);`;
    const out = await new Promise<string>((resolve) => {
      const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
      let text = "";
      child.stdout.on("data", (d) => (text += d));
      child.on("close", () => resolve(text));
    });
    expect(out).toBe("last words\n");
  });

  it("serves with its log on a file descriptor: one redacted line per request, all of them in the file once the server closed", async () => {
    const file = join(tmp, "server.log");
    const fd = openSync(file, "w");
    const dir = tempProject({ "mcp.yaml": `${MOCK_CONFIG}server:\n  keys: [{ name: filer, key: file-secret-key-99 }]\n`, "pipelines/three.yaml": THREE_STEPS });
    const server = await createServer({ dir: `${dir}/pipelines`, env: {}, overrides: { port: 0 }, logger: { level: "info", fd } });
    const url = await server.listen();
    const n = 25;
    await Promise.all(Array.from({ length: n }, () => api(url, "/v1/models", { key: "file-secret-key-99" })));
    await api(url, "/v1/models", { headers: { authorization: "Bearer not-the-key-1234" } });
    await server.close({ deadlineMs: 1000 });
    closeSync(fd);
    const text = readFileSync(file, "utf8");
    const requests = text
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === "request");
    expect(requests.filter((r) => r.status === 200 && r.key === "filer")).toHaveLength(n);
    expect(requests.filter((r) => r.status === 401)).toHaveLength(1);
    for (const secret of ["file-secret-key-99", "not-the-key-1234"]) expect(text).not.toContain(secret);
  });
});
