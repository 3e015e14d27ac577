/**
 * `mcp serve --stdio [DIR]`: the Model Context Protocol over stdin/stdout, for clients that
 * start a local command (desktop assistants, IDE agents). Every valid pipeline of DIR is a
 * tool (src/protocol/mcp/pipeline-tools.ts), hot-reloaded: an edit sends
 * `notifications/tools/list_changed`. stdout carries protocol messages only; everything
 * else (the start line, errors) goes to stderr. A line that is not a JSON-RPC message gets the
 * JSON-RPC error reply (parse error, invalid request) and the next line is served. Ends when
 * the client closes stdin, or on SIGTERM/SIGINT, letting runs in flight finish up to the
 * deadline.
 */
import type { Server } from "@modelcontextprotocol/server";
import { serveStdio, StdioServerTransport } from "@modelcontextprotocol/server/stdio";
import { createPipelineToolServer } from "../protocol/mcp/pipeline-tools.js";
import { guardMessageLines } from "../protocol/mcp/stdio-lines.js";
import { createRuntime } from "../protocol/runtime.js";
import type { StoreKind } from "../store/open-store.js";
import { EXIT_CODES } from "./exit-codes.js";
import { writeLine, type CliIo } from "./io.js";

export interface StdioServeOptions {
  dir: string;
  store?: StoreKind;
  deadlineMs: number;
  /** Streams of the protocol (tests); default: the process's stdin and stdout. */
  stdin?: NodeJS.ReadableStream;
}

export async function serveStdioCommand(options: StdioServeOptions, io: CliIo): Promise<number> {
  const runtime = await createRuntime({ dir: options.dir, env: io.env, deadlineMs: options.deadlineMs, ...(options.store ? { store: options.store } : {}) });
  await runtime.ready;
  const servers = new Set<Server>();
  const stdin = options.stdin ?? process.stdin;
  const stdout = process.stdout;
  // The SDK's transport reads message lines only; the others are answered here.
  const lines = guardMessageLines(({ reply, reason }) => {
    writeLine(io.stderr, `mcp serve --stdio: ${reason}; answered ${reply.error.code} ${reply.error.message}`);
    if (!stdout.destroyed) stdout.write(`${JSON.stringify(reply)}\n`);
  });
  stdin.pipe(lines);
  const handle = serveStdio(
    () => {
      const s = createPipelineToolServer(runtime.handler);
      servers.add(s);
      s.onclose = () => servers.delete(s);
      return s;
    },
    { transport: new StdioServerTransport(lines, stdout), onerror: (e) => writeLine(io.stderr, `mcp serve --stdio: ${e.message}`) },
  );
  const unsubscribe = runtime.handler.onPipelinesChanged(() => {
    for (const s of servers) s.sendToolListChanged().catch(() => {});
  });
  const valid = runtime.pipelines.list().filter((p) => p.pipeline).length;
  writeLine(io.stderr, `mcp serve --stdio: ${valid} pipeline${valid === 1 ? "" : "s"} from ${options.dir} as tools; waiting for a client on stdin`);

  const reason = await new Promise<string>((resolve) => {
    stdin.once("end", () => resolve("stdin closed"));
    stdin.once("close", () => resolve("stdin closed"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  unsubscribe();
  await handle.close().catch(() => {});
  stdin.unpipe(lines);
  stdin.pause();
  const { interrupted } = await runtime.close({ deadlineMs: options.deadlineMs });
  if (interrupted.length) writeLine(io.stderr, `mcp serve --stdio: ${reason}; interrupted ${interrupted.map((id) => `mcp resume ${id}`).join(", ")}`);
  return EXIT_CODES.ok;
}
