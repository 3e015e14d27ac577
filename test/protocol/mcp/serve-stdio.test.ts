/**
 * `mcp serve --stdio DIR` (the real binary, a child process) against independent clients:
 * the official SDK client v2 (@modelcontextprotocol/client), the v1 client
 * (@modelcontextprotocol/sdk) and the inspector's CLI mode (@modelcontextprotocol/inspector-cli).
 * Pipelines are tools; results, failures, progress, cancellation, hot reload, run reports
 * as resources, and a stdout that carries protocol messages only.
 */
import { spawn, execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { promisify } from "node:util";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { Client as ClientV1 } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport as StdioClientTransportV1 } from "@modelcontextprotocol/sdk/client/stdio.js";
import { afterEach, describe, expect, it } from "vitest";
import { BIN } from "../../helpers/cli.js";
import { CONFIG, PIPELINES } from "../../helpers/mcp-fixtures.js";
import { tempProject } from "../../helpers/project.js";

const require = createRequire(import.meta.url);
const INSPECTOR = join(require.resolve("@modelcontextprotocol/inspector-cli/package.json"), "..", "build", "index.js");

function project(): string {
  return tempProject({ "mcp.yaml": CONFIG, ...PIPELINES }, "mcp-stdio-");
}

const clients: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close().catch(() => {});
});

async function v2(dir: string): Promise<Client> {
  const client = new Client({ name: "test-v2", version: "1.0.0" });
  const transport = new StdioClientTransport({ command: process.execPath, args: [BIN, "serve", "--stdio", "pipelines", "--store", "memory"], cwd: dir, stderr: "pipe" });
  await client.connect(transport);
  clients.push(client);
  return client;
}

describe("mcp serve --stdio with the SDK v2 client", () => {
  it("lists every valid pipeline as a tool with its input and output schemas", async () => {
    const client = await v2(project());
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(["fails", "greet", "stuck", "three"]);
    const greet = tools.find((t) => t.name === "greet")!;
    expect(greet.description).toBe("Greets someone by name.");
    expect(greet.inputSchema).toEqual({ type: "object", required: ["name"], properties: { name: { type: "string", description: "Who to greet." } } });
    expect(greet.outputSchema).toEqual({ type: "object", required: ["greeting"], properties: { greeting: { type: "string" } } });
  });

  it("runs a pipeline: structuredContent is the output, text its rendering, the run report a resource", async () => {
    const client = await v2(project());
    const r = await client.callTool({ name: "greet", arguments: { name: "Ada" } });
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toEqual({ greeting: "hello Ada" });
    expect(r.content).toEqual([{ type: "text", text: JSON.stringify({ greeting: "hello Ada" }, null, 2) }]);
    const uri = (r._meta as { resource: string }).resource;
    expect(uri).toMatch(/^mcp:\/\/runs\/run_/);
    const read = await client.readResource({ uri });
    const report = JSON.parse((read.contents[0] as { text: string }).text) as { status: string; output: unknown };
    expect(report).toMatchObject({ status: "success", output: { greeting: "hello Ada" } });
    const { resources } = await client.listResources();
    expect(resources.map((x) => x.uri)).toContain(uri);
  });

  it("answers a failed run with isError and the failing step's error, not a protocol error", async () => {
    const client = await v2(project());
    const r = await client.callTool({ name: "fails", arguments: {} });
    expect(r.isError).toBe(true);
    expect((r.content as { text: string }[])[0]!.text).toMatch(/failed at step 'refuse': .*the model refused/);
  });

  it("answers an input that does not match the tool's schema with isError, and an unknown tool with a protocol error", async () => {
    const client = await v2(project());
    const bad = await client.callTool({ name: "greet", arguments: { name: 42 } });
    expect(bad.isError).toBe(true);
    expect((bad.content as { text: string }[])[0]!.text).toMatch(/name/);
    await expect(client.callTool({ name: "nope", arguments: {} })).rejects.toThrow(/no tool 'nope'/);
  });

  it("sends step events as progress notifications when the client asks for progress", async () => {
    const client = await v2(project());
    const seen: { progress: number; total?: number; message?: string }[] = [];
    const r = await client.callTool({ name: "three", arguments: {} }, { onprogress: (p) => seen.push(p) });
    expect(r.structuredContent).toEqual({ result: "step done" });
    // The server sends every notification before the result. The SDK client dispatches a
    // notification in a microtask but a response at once, and forgets the call's progress
    // handler with the response: when the last notification and the result arrive in one
    // read (a loaded machine), the client drops that last one. So: all six, or the first five.
    for (let i = 0; i < 250 && seen.length < 6; i++) await new Promise((r) => setTimeout(r, 20));
    expect(seen.length).toBeGreaterThanOrEqual(5); // each of the 3 steps started and finished
    expect(seen.map((p) => p.progress)).toEqual([0.5, 1, 1.5, 2, 2.5, 3].slice(0, seen.length));
    expect(seen.every((p) => p.total === 3)).toBe(true);
    expect(seen[0]!.message).toBe("step 'a' started");
  });

  it("cancels the run when the client cancels the call", async () => {
    const client = await v2(project());
    const ctl = new AbortController();
    const call = client.callTool({ name: "stuck", arguments: {} }, { signal: ctl.signal });
    // Wait until the run exists, then cancel.
    let runs: { uri: string; title?: string }[] = [];
    for (let i = 0; i < 200 && runs.length === 0; i++) {
      runs = (await client.listResources()).resources.filter((x) => x.title?.startsWith("stuck:"));
      if (!runs.length) await new Promise((r) => setTimeout(r, 50));
    }
    expect(runs).toHaveLength(1);
    ctl.abort(new Error("user cancelled"));
    await expect(call).rejects.toThrow();
    let status = "";
    for (let i = 0; i < 200 && status !== "cancelled"; i++) {
      const read = await client.readResource({ uri: runs[0]!.uri });
      status = (JSON.parse((read.contents[0] as { text: string }).text) as { status: string }).status;
      if (status !== "cancelled") await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe("cancelled");
  });

  it("sends tools/list_changed when a pipeline file is added, and lists the new tool", async () => {
    const dir = project();
    const client = await v2(dir);
    expect((await client.listTools()).tools).toHaveLength(4);
    const changed = new Promise<void>((resolve) => client.setNotificationHandler("notifications/tools/list_changed", () => resolve()));
    writeFileSync(join(dir, "pipelines", "added.yaml"), `version: 1\nname: added\nsteps:\n  s: { model: writer, input: { prompt: new } }\n`);
    await changed;
    expect((await client.listTools()).tools.map((t) => t.name)).toContain("added");
  });
});

describe("mcp serve --stdio with other clients", () => {
  it("serves the SDK v1 client (an older protocol client)", async () => {
    const client = new ClientV1({ name: "test-v1", version: "1.0.0" });
    await client.connect(new StdioClientTransportV1({ command: process.execPath, args: [BIN, "serve", "--stdio", "pipelines", "--store", "memory"], cwd: project(), stderr: "pipe" }));
    clients.push(client);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(["fails", "greet", "stuck", "three"]);
    const r = await client.callTool({ name: "greet", arguments: { name: "Grace" } });
    expect(r.structuredContent).toEqual({ greeting: "hello Grace" });
  });

  it("lists and calls a pipeline tool from the inspector's CLI mode", async () => {
    // inspector-cli 1.0.3 looks for its package.json with existsSync("../package.json")
    // relative to the working folder (a bug): run it from a folder whose parent has one.
    const dir = join(tempProject({ "package.json": '{ "private": true }\n', "mcp.yaml": CONFIG, ...PIPELINES }, "mcp-inspector-"), "pipelines");
    const run = promisify(execFile);
    const target = [process.execPath, BIN, "serve", "--stdio", ".", "--store", "memory"];
    const listed = await run(process.execPath, [INSPECTOR, ...target, "--method", "tools/list"], { cwd: dir });
    const tools = (JSON.parse(listed.stdout) as { tools: { name: string; inputSchema: unknown }[] }).tools;
    expect(tools.find((t) => t.name === "greet")?.inputSchema).toMatchObject({ required: ["name"] });
    const called = await run(process.execPath, [INSPECTOR, ...target, "--method", "tools/call", "--tool-name", "greet", "--tool-arg", "name=Lin"], { cwd: dir });
    expect(JSON.parse(called.stdout)).toMatchObject({ structuredContent: { greeting: "hello Lin" } });
  });

  it("writes nothing but JSON-RPC messages to stdout; its own lines go to stderr", async () => {
    const child = spawn(process.execPath, [BIN, "serve", "--stdio", "pipelines", "--store", "memory"], { cwd: project(), stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const send = (m: unknown) => child.stdin.write(`${JSON.stringify(m)}\n`);
    send({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } } });
    send({ jsonrpc: "2.0", method: "notifications/initialized" });
    send({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "greet", arguments: { name: "Raw" } } });
    for (let i = 0; i < 400 && !out.includes('"id":2'); i++) await new Promise((r) => setTimeout(r, 50));
    child.stdin.end();
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(code).toBe(0);
    const lines = out.split("\n").filter((l) => l !== "");
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const l of lines) expect((JSON.parse(l) as { jsonrpc: string }).jsonrpc).toBe("2.0");
    expect(err).toMatch(/mcp serve --stdio: 4 pipelines from .* as tools/);
  });
});
