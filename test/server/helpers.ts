/** A temp project served by a real `mcp serve` server on 127.0.0.1 (port 0). */
import { createServer } from "../../src/server/serve.js";
import type { McpHttpServer } from "../../src/server/build-server.js";
import { tempProject } from "../helpers/project.js";

export const MOCK_CONFIG = `version: 1
models:
  fake:
    provider: mock
    capabilities: [text-generation]
    options:
      reply: { text: "echo: \${{ $request.prompt ? $request.prompt : $request.messages[-1].content }}" }
  slow:
    provider: mock
    capabilities: [slow-thing]
    options:
      reply: { text: "slow done" }
      latency: 400ms
`;

export const THREE_STEPS = `version: 1
name: three
inputs:
  type: object
  required: [text]
  properties: { text: { type: string } }
steps:
  a:
    model: fake
    input: { prompt: "\${{ $input.text }}" }
  b:
    model: fake
    input: { prompt: "\${{ $steps.a.output.text }}" }
  c:
    model: fake
    input: { prompt: "\${{ $steps.b.output.text }}" }
output:
  text: "\${{ $steps.c.output.text }}"
`;

export const SLOW = `version: 1
name: slow
steps:
  first:
    model: slow
    input: { prompt: "one" }
  second:
    model: slow
    input: { prompt: "\${{ $steps.first.output.text }}" }
  third:
    model: slow
    input: { prompt: "\${{ $steps.second.output.text }}" }
`;

export interface Served {
  server: McpHttpServer;
  url: string;
  dir: string;
  close(): Promise<void>;
}

/** Serves `files` (mcp.yaml and pipelines/) on 127.0.0.1:0 with a real SQLite store. */
export async function serve(files: Record<string, string>, opts: { env?: NodeJS.ProcessEnv; timeouts?: { headersMs?: number; requestMs?: number; keepAliveMs?: number } } = {}): Promise<Served> {
  const dir = tempProject(files, "mcp-serve-");
  const server = await createServer({
    dir: `${dir}/pipelines`,
    env: { ...opts.env },
    overrides: { host: "127.0.0.1", port: 0 },
    logger: false,
    watch: { debounceMs: 30 },
    ...(opts.timeouts ? { timeouts: opts.timeouts } : {}),
  });
  const url = await server.listen();
  return { server, url, dir, close: async () => void (await server.close({ deadlineMs: 2000 })) };
}

/** fetch with a JSON body and an optional key. */
export async function api(
  url: string,
  path: string,
  init: { method?: string; body?: unknown; key?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; json: any; text: string }> {
  const res = await fetch(url + path, {
    method: init.method ?? (init.body !== undefined ? "POST" : "GET"),
    headers: {
      ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
      ...(init.key ? { authorization: `Bearer ${init.key}` } : {}),
      ...init.headers,
    },
    ...(init.body !== undefined ? { body: typeof init.body === "string" ? init.body : JSON.stringify(init.body) } : {}),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

/** One parsed SSE message. */
export interface SseMessage {
  id?: string;
  event?: string;
  data: string;
}

/**
 * Opens an SSE stream and collects its messages until it ends, `stopAfter` returns true
 * (then the connection is dropped, as a client going away), or `timeoutMs` passes.
 */
export async function readSse(
  url: string,
  opts: { headers?: Record<string, string>; stopAfter?: (m: SseMessage, all: SseMessage[]) => boolean; timeoutMs?: number } = {},
): Promise<{ status: number; messages: SseMessage[]; ended: boolean; contentType: string | null }> {
  const { createParser } = await import("eventsource-parser");
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), opts.timeoutMs ?? 20_000);
  const messages: SseMessage[] = [];
  let stop = false;
  const parser = createParser({
    onEvent: (e) => {
      if (stop) return;
      const m: SseMessage = { data: e.data, ...(e.id !== undefined ? { id: e.id } : {}), ...(e.event !== undefined ? { event: e.event } : {}) };
      messages.push(m);
      if (opts.stopAfter?.(m, messages)) stop = true;
    },
  });
  try {
    const res = await fetch(url, { headers: opts.headers ?? {}, signal: ac.signal });
    if (!res.body) return { status: res.status, messages, ended: true, contentType: res.headers.get("content-type") };
    const decoder = new TextDecoder();
    let ended = false;
    const reader = res.body.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        ended = true;
        break;
      }
      parser.feed(decoder.decode(value, { stream: true }));
      if (stop) {
        await reader.cancel();
        break;
      }
    }
    return { status: res.status, messages, ended, contentType: res.headers.get("content-type") };
  } finally {
    clearTimeout(timer);
  }
}

/** Polls GET /v1/runs/{id} until the run is no longer running. */
export async function waitForRun(url: string, runId: string, key?: string, timeoutMs = 20_000): Promise<any> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await api(url, `/v1/runs/${runId}`, key ? { key } : {});
    if (r.json?.status !== "running") return r.json;
    if (Date.now() > until) throw new Error(`run ${runId} still running after ${timeoutMs}ms`);
    await new Promise((res) => setTimeout(res, 25));
  }
}
