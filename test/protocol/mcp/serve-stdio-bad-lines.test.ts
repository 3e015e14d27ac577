/**
 * `mcp serve --stdio` (the real binary, a child process) answers a line that is not a JSON-RPC
 * message as JSON-RPC 2.0 says (a parse error, or an invalid request, with id null when the id
 * cannot be read), keeps serving the lines after it, and prints no stack trace.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { BIN } from "../../helpers/cli.js";
import { CONFIG, PIPELINES } from "../../helpers/mcp-fixtures.js";
import { tempProject } from "../../helpers/project.js";

interface Conn {
  child: ChildProcessWithoutNullStreams;
  /** Writes one raw line and resolves with the next response the server writes to stdout (notifications are skipped). */
  line(text: string): Promise<Record<string, unknown>>;
  stdout: () => string;
  stderr: () => string;
}

const children: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
});

function start(): Conn {
  const child = spawn(process.execPath, [BIN, "serve", "--stdio", "pipelines", "--store", "memory"], {
    cwd: tempProject({ "mcp.yaml": CONFIG, ...PIPELINES }, "mcp-stdio-lines-"),
    stdio: ["pipe", "pipe", "pipe"],
  });
  children.push(child);
  let out = "";
  let err = "";
  let read = 0;
  const waiting: (() => void)[] = [];
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
    for (const w of waiting.splice(0)) w();
  });
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const next = async (): Promise<Record<string, unknown>> => {
    for (;;) {
      const end = out.indexOf("\n", read);
      if (end !== -1) {
        const message = JSON.parse(out.slice(read, end)) as Record<string, unknown>;
        read = end + 1;
        if ("id" in message) return message;
        continue;
      }
      if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}):\n${err}`);
      await new Promise<void>((r) => waiting.push(r));
    }
  };
  return {
    child,
    line: (text) => {
      child.stdin.write(`${text}\n`);
      return next();
    },
    stdout: () => out,
    stderr: () => err,
  };
}

const INITIALIZE = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } } });
const parseError = { jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error" } };
const invalidRequest = (id: string | number | null) => ({ jsonrpc: "2.0", id, error: { code: -32600, message: "Invalid Request" } });

describe("mcp serve --stdio: lines that are not JSON-RPC messages", () => {
  it("answers a line that is not JSON with a parse error (id null), and serves the next line", async () => {
    const c = start();
    expect(await c.line("this is not json")).toEqual(parseError);
    expect(await c.line(INITIALIZE)).toMatchObject({ jsonrpc: "2.0", id: 1, result: { serverInfo: { name: "mcp-runner" } } });
    c.child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" })}\n`);
    expect(await c.line('{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"greet","arguments":{"name":"Ada"')).toEqual(parseError);
    expect(await c.line(JSON.stringify({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "greet", arguments: { name: "Ada" } } }))).toMatchObject({
      id: 3,
      result: { structuredContent: { greeting: "hello Ada" } },
    });
    c.child.stdin.end();
    expect(await new Promise((r) => c.child.on("close", r))).toBe(0);
    expect(c.stderr()).toMatch(/mcp serve --stdio: a line is not JSON \(.*\); answered -32700 Parse error/);
    expect(c.stderr()).not.toMatch(/^\s+at /m);
  });

  it("answers JSON that is not a JSON-RPC message with an invalid request, with its id when it has one; blank lines are skipped", async () => {
    const c = start();
    expect(await c.line(JSON.stringify({ hello: "world" }))).toEqual(invalidRequest(null));
    expect(await c.line(JSON.stringify({ jsonrpc: "1.0", id: 5, method: "ping" }))).toEqual(invalidRequest(5));
    expect(await c.line(JSON.stringify([{ jsonrpc: "2.0", id: 6, method: "ping" }]))).toEqual(invalidRequest(null));
    expect(await c.line("42")).toEqual(invalidRequest(null));
    c.child.stdin.write("\n   \r\n");
    expect(await c.line(JSON.stringify({ jsonrpc: "2.0", id: "p", method: "ping" }))).toEqual({ jsonrpc: "2.0", id: "p", result: {} });
    c.child.stdin.end();
    expect(await new Promise((r) => c.child.on("close", r))).toBe(0);
    // Every stdout line is a JSON-RPC message; stderr has one line per rejected line, no Zod dump or stack.
    for (const l of c.stdout().split("\n").filter(Boolean)) expect((JSON.parse(l) as { jsonrpc: string }).jsonrpc).toBe("2.0");
    expect(c.stderr().match(/answered -32600 Invalid Request/g)).toHaveLength(4);
    expect(c.stderr()).not.toMatch(/^\s+at |invalid_union/m);
  });
});
