import { connect } from "node:net";
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer } from "../../src/server/serve.js";
import { ServerSettingsError } from "../../src/server/settings.js";
import { tempProject } from "../helpers/project.js";
import { runCli } from "../helpers/cli.js";
import { api, MOCK_CONFIG, serve, THREE_STEPS, type Served } from "./helpers.js";

const KEYS_CONFIG = `${MOCK_CONFIG}server:
  bodyLimit: 2kb
  keys:
    - { name: alpha, key: alpha-secret-key-1 }
    - { name: beta, keyEnv: BETA_KEY }
  rateLimit: { max: 5, window: 1m, tokensPerMinute: 40 }
`;

describe("server security", () => {
  let s: Served;
  beforeAll(async () => {
    s = await serve(
      { "mcp.yaml": KEYS_CONFIG, "pipelines/three.yaml": THREE_STEPS },
      { env: { BETA_KEY: "beta-secret-key-2", MCP_API_KEYS: "gamma:gamma-secret-key-3,delta:delta-secret-key-4" }, timeouts: { headersMs: 500, requestMs: 1000 } },
    );
  });
  afterAll(() => s.close());

  it("answers 401 for a missing, malformed or wrong key, and never echoes it", async () => {
    const missing = await api(s.url, "/v1/pipelines");
    expect(missing.status).toBe(401);
    expect(missing.json.error.code).toBe("unauthorized");
    for (const auth of ["alpha-secret-key-1", "Basic YWxwaGE6eA==", "Bearer", "Bearer two words"]) {
      const r = await api(s.url, "/v1/pipelines", { headers: { authorization: auth } });
      expect(r.status, auth).toBe(401);
    }
    const wrong = await api(s.url, "/v1/pipelines", { key: "alpha-secret-key-X" });
    expect(wrong.status).toBe(401);
    expect(wrong.text).not.toContain("alpha-secret-key");
  });

  it("takes keys from mcp.yaml, keyEnv and MCP_API_KEYS; /healthz needs none", async () => {
    expect((await api(s.url, "/healthz")).status).toBe(200);
    for (const key of ["alpha-secret-key-1", "beta-secret-key-2", "gamma-secret-key-3"]) expect((await api(s.url, "/v1/pipelines", { key })).status, key).toBe(200);
  });

  it("answers 429 with Retry-After when a key passes its rate limit, and other keys are not affected", async () => {
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof api>> | undefined;
    for (let i = 0; i < 8; i++) {
      const r = await api(s.url, "/v1/runs", { key: "delta-secret-key-4" });
      statuses.push(r.status);
      if (r.status === 429) limited ??= r;
    }
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses.slice(5)).toEqual([429, 429, 429]);
    expect(limited!.json.error.code).toBe("rate_limited");
    expect(Number(limited!.headers.get("retry-after"))).toBeGreaterThan(0);
    // Another key still has its own budget.
    expect((await api(s.url, "/v1/runs", { key: "beta-secret-key-2" })).status).toBe(200);
  });

  it("answers 429 when a key used its model tokens of the minute", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await api(s.url, "/v1/tasks", { key: "gamma-secret-key-3", body: { capabilities: ["text-generation"], input: { prompt: "a fairly long prompt to use up some tokens quickly" } } });
      statuses.push(r.status);
      if (r.status === 429) {
        expect(r.json.error.message).toMatch(/token limit/);
        expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
      }
    }
    expect(statuses[0]).toBe(200);
    expect(statuses).toContain(429);
  });

  it("answers 413 for a body over the limit, with Content-Length or chunked", async () => {
    const big = JSON.stringify({ input: { text: "x".repeat(5000) } });
    const r = await api(s.url, "/v1/pipelines/three/runs", { key: "alpha-secret-key-1", body: big });
    expect(r.status).toBe(413);
    expect(r.json.error).toEqual({ code: "payload_too_large", message: "the request body is larger than the server accepts (2 KiB: mcp.yaml server.bodyLimit)" });
    const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        `${s.url}/v1/pipelines/three/runs`,
        { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer alpha-secret-key-1", "transfer-encoding": "chunked" } },
        (res) => {
          let body = "";
          res.on("data", (d) => (body += d));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on("error", reject);
      for (let i = 0; i < 10; i++) req.write(big.slice(i * 500, (i + 1) * 500));
      req.end(big.slice(5000));
    });
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.body).error.code).toBe("payload_too_large");
  });

  it("refuses run inputs nested deeper than the limit", async () => {
    let deep: unknown = "x";
    for (let i = 0; i < 100; i++) deep = [deep];
    const r = await api(s.url, "/v1/pipelines/three/runs", { key: "alpha-secret-key-1", body: { input: { text: "a", deep } } });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe("invalid_input");
    expect(r.json.error.message).toMatch(/nested deeper than 64/);
  });

  it("closes a connection whose headers never finish", async () => {
    const { port } = new URL(s.url);
    const closed = await new Promise<{ data: string; ms: number }>((resolve) => {
      const t0 = Date.now();
      const sock = connect(Number(port), "127.0.0.1", () => sock.write("GET /healthz HTTP/1.1\r\nHost: x\r\n"));
      let data = "";
      sock.on("data", (d) => (data += d));
      sock.on("close", () => resolve({ data, ms: Date.now() - t0 }));
      sock.on("error", () => {});
    });
    // Closed by the server (408 or a plain close), long before a test timeout.
    expect(closed.ms).toBeLessThan(15_000);
    expect(closed.data === "" || /^HTTP\/1\.1 408/.test(closed.data)).toBe(true);
  });
});

describe("server settings", () => {
  it("refuses to listen beyond loopback without keys", async () => {
    const dir = tempProject({ "mcp.yaml": MOCK_CONFIG, "pipelines/three.yaml": THREE_STEPS });
    await expect(createServer({ dir: `${dir}/pipelines`, env: {}, overrides: { host: "0.0.0.0", port: 0 }, logger: false })).rejects.toBeInstanceOf(ServerSettingsError);
    const cli = await runCli(["serve", "pipelines", "--host", "0.0.0.0", "--port", "0"], { cwd: dir, env: { MCP_API_KEYS: "" } });
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/refusing to listen on 0\.0\.0\.0 without API keys/);
    expect(cli.stderr).not.toMatch(/\n\s+at /);
  });

  it("refuses a key read from an unset variable", async () => {
    const dir = tempProject({ "mcp.yaml": `${MOCK_CONFIG}server:\n  keys: [{ name: a, keyEnv: NOT_SET_ANYWHERE }]\n`, "pipelines/three.yaml": THREE_STEPS });
    await expect(createServer({ dir: `${dir}/pipelines`, env: {}, overrides: { port: 0 }, logger: false })).rejects.toThrow(/NOT_SET_ANYWHERE/);
  });

  it("says where a refused key came from: mcp.yaml or which entry of MCP_API_KEYS", async () => {
    const dir = tempProject({ "mcp.yaml": `${MOCK_CONFIG}server:\n  keys: [{ name: ops, key: yaml-secret-key-1 }]\n`, "pipelines/three.yaml": THREE_STEPS });
    const serveWith = (keys: string) => runCli(["serve", "pipelines", "--port", "0"], { cwd: dir, env: { MCP_API_KEYS: keys }, timeoutMs: 10_000 });
    // A bare key has a made-up name: the message says where it is.
    const short = await serveWith("short");
    expect(short.code).toBe(2);
    expect(short.stderr).toBe("mcp serve: the key 'key1' (entry 1 of MCP_API_KEYS) is shorter than 8 characters; use a long random key\n");
    const twice = await serveWith("ci:ci-secret-key-1,ops:ops-secret-key-2");
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain("two keys are named 'ops' (mcp.yaml server.keys[0] and entry 2 of MCP_API_KEYS)");
  });
});
