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
export async function serve(files: Record<string, string>, opts: { env?: NodeJS.ProcessEnv } = {}): Promise<Served> {
  const dir = tempProject(files, "mcp-serve-");
  const server = await createServer({
    dir: `${dir}/pipelines`,
    env: { ...opts.env },
    overrides: { host: "127.0.0.1", port: 0 },
    logger: false,
    watch: { debounceMs: 30 },
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
