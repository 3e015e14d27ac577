/**
 * `/mcp` of `mcp serve`: the Model Context Protocol over Streamable HTTP (stateless) on a
 * real server on 127.0.0.1, against the official SDK clients v2 and v1; the same bearer
 * keys as the other routes; Origin and Host checks (403); and the official conformance suite
 * (@modelcontextprotocol/conformance, server mode) with its committed baseline of expected
 * failures, which may only shrink.
 */
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { Client as ClientV1 } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as StreamableHTTPClientTransportV1 } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { createServer } from "../../src/server/serve.js";
import { tempProject } from "../helpers/project.js";
import { CONFIG, PIPELINES } from "../helpers/mcp-fixtures.js";

const require = createRequire(import.meta.url);
const CONFORMANCE = join(require.resolve("@modelcontextprotocol/conformance/package.json"), "..", "dist", "index.js");
const CONFORMANCE_PROJECT = resolve(__dirname, "../fixtures/conformance");
const CONFORMANCE_PIPELINES = join(CONFORMANCE_PROJECT, "pipelines");

interface Served {
  url: string;
  close(): Promise<void>;
}
const open: Served[] = [];
afterAll(async () => {
  for (const s of open.splice(0)) await s.close();
});
const clients: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close().catch(() => {});
});

async function serve(dir: string, env: NodeJS.ProcessEnv = {}): Promise<Served> {
  const server = await createServer({ dir, env, store: "memory", overrides: { host: "127.0.0.1", port: 0 }, logger: false, watch: { debounceMs: 30 } });
  const url = await server.listen();
  const s = { url, close: async () => void (await server.close({ deadlineMs: 1000 })) };
  open.push(s);
  return s;
}

let shared: Promise<Served> | undefined;
const project = () => (shared ??= serve(join(tempProject({ "mcp.yaml": CONFIG, ...PIPELINES }, "mcp-http-"), "pipelines")));

describe("/mcp over Streamable HTTP", () => {
  it("serves the SDK v2 client: tools with schemas, a structured result, progress", async () => {
    const { url } = await project();
    const client = new Client({ name: "test-v2", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
    clients.push(client);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(["fails", "greet", "stuck", "three"]);
    expect(tools.find((t) => t.name === "greet")!.outputSchema).toEqual({ type: "object", required: ["greeting"], properties: { greeting: { type: "string" } } });
    const r = await client.callTool({ name: "greet", arguments: { name: "Ada" } });
    expect(r.structuredContent).toEqual({ greeting: "hello Ada" });
    const seen: number[] = [];
    await client.callTool({ name: "three", arguments: {} }, { onprogress: (p) => seen.push(p.progress) });
    for (let i = 0; i < 250 && seen.length < 6; i++) await new Promise((r) => setTimeout(r, 20));
    expect(seen).toEqual([0.5, 1, 1.5, 2, 2.5, 3]);
    const failed = await client.callTool({ name: "fails", arguments: {} });
    expect(failed.isError).toBe(true);
  });

  it("serves the SDK v1 client (protocol 2025-era, stateless)", async () => {
    const { url } = await project();
    const client = new ClientV1({ name: "test-v1", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransportV1(new URL(`${url}/mcp`)));
    clients.push(client);
    expect((await client.listTools()).tools.map((t) => t.name)).toContain("greet");
    const r = await client.callTool({ name: "greet", arguments: { name: "Grace" } });
    expect(r.structuredContent).toEqual({ greeting: "hello Grace" });
  });

  it("refuses a foreign Origin and a foreign Host with 403, and accepts localhost ones", async () => {
    const { url } = await project();
    const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } } });
    const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
    const post = (extra: Record<string, string>) => fetch(`${url}/mcp`, { method: "POST", headers: { ...headers, ...extra }, body });
    expect((await post({ origin: "http://evil.example" })).status).toBe(403);
    expect((await post({ origin: `http://localhost:${new URL(url).port}` })).status).toBe(200);
    const { request } = await import("node:http");
    const status = await new Promise<number>((done, fail) => {
      const req = request(`${url}/mcp`, { method: "POST", headers: { ...headers, host: "evil.example" } }, (res) => {
        res.resume();
        done(res.statusCode ?? 0);
      });
      req.on("error", fail);
      req.end(body);
    });
    expect(status).toBe(403);
  });

  it("answers a body that is not JSON with the JSON-RPC parse error (-32700), not the REST error shape", async () => {
    const { url } = await project();
    const res = await fetch(`${url}/mcp`, { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream" }, body: '{"jsonrpc": "2.0", "id": 1,' });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { jsonrpc: string; id: null; error: { code: number; message: string } };
    expect(body).toMatchObject({ jsonrpc: "2.0", id: null, error: { code: -32700 } });
    expect(body.error.message).toMatch(/^Parse error: /);
  });

  it("needs the server's bearer key like every other route", async () => {
    const dir = join(tempProject({ "mcp.yaml": CONFIG, ...PIPELINES }, "mcp-http-keys-"), "pipelines");
    const { url } = await serve(dir, { MCP_API_KEYS: "alice:s3cret-key-of-alice" });
    const without = new Client({ name: "no-key", version: "1.0.0" });
    await expect(without.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)))).rejects.toThrow(/401|nauthori/);
    const client = new Client({ name: "with-key", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers: { authorization: "Bearer s3cret-key-of-alice" } } }));
    clients.push(client);
    expect((await client.callTool({ name: "greet", arguments: { name: "Key" } })).structuredContent).toEqual({ greeting: "hello Key" });
  });
});

describe("the official MCP conformance suite (server mode)", () => {
  it("passes every scenario except the committed baseline of expected failures", async () => {
    const { url } = await serve(CONFORMANCE_PIPELINES);
    const out = mkdtempSync(join(tmpdir(), "mcp-conformance-"));
    const run = promisify(execFile);
    let result: { stdout: string; stderr: string; code: number };
    try {
      const r = await run(process.execPath, [CONFORMANCE, "server", "--url", `${url}/mcp`, "--expected-failures", join(CONFORMANCE_PROJECT, "expected-failures.yaml"), "-o", out], {
        timeout: 240_000,
      });
      result = { ...r, code: 0 };
    } catch (e) {
      const x = e as { stdout: string; stderr: string; code: number };
      result = { stdout: x.stdout, stderr: x.stderr, code: x.code };
    }
    // Exit 0: every failure is in the baseline and no baseline entry passes (it would have
    // to be removed from the baseline: the list may only shrink).
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
  }, 300_000);
});
