/**
 * A scriptable HTTP server on 127.0.0.1 (port 0) for provider tests: it records every request
 * and answers from a queue of replies (JSON, error statuses, slow answers, SSE streams, cut
 * streams, dropped connections), falling back to a default reply.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface RecordedRequest {
  method: string;
  /** Path and query, e.g. /v1/chat/completions. */
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The body parsed as JSON, or undefined. */
  json: unknown;
}

/** What the server does with one request. */
export type Reply =
  /** A normal answer. */
  | { status?: number; headers?: Record<string, string>; json?: unknown; body?: string; delayMs?: number }
  /**
   * Server-Sent Events: each string is one raw event block ("event: x\ndata: {...}"), each
   * followed by `chunkDelayMs` (also before the body's end); `cut` drops the connection after
   * them, `hold` never ends the body after them.
   */
  | { sse: string[]; chunkDelayMs?: number; cut?: boolean; hold?: boolean; status?: number }
  /** Never answers (the client's timeout or abort must end the call). */
  | { hang: true }
  /** Destroys the connection at once (a reset). */
  | { drop: true };

export class FakeApiServer {
  readonly requests: RecordedRequest[] = [];
  readonly #queue: Reply[] = [];
  readonly #sockets = new Set<Socket>();
  /** Number of TCP connections accepted: keep-alive reuse keeps it low. */
  connections = 0;
  /** Requests being answered now, and the most at once. */
  inFlight = 0;
  maxInFlight = 0;
  /** When each request arrived (Date.now()), in order. */
  readonly times: number[] = [];

  private constructor(
    readonly server: Server,
    readonly url: string,
    public defaultReply: (req: RecordedRequest) => Reply,
  ) {}

  /** Starts a server on 127.0.0.1; `port` 0 (the default) picks a free one, another restarts a stopped server on its port. */
  static async start(defaultReply: (req: RecordedRequest) => Reply = () => ({ json: {} }), port = 0): Promise<FakeApiServer> {
    // eslint-disable-next-line prefer-const -- assigned once the server it closes over exists
    let self!: FakeApiServer;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        let json: unknown;
        try {
          json = body ? JSON.parse(body) : undefined;
        } catch {
          json = undefined;
        }
        const rec: RecordedRequest = { method: req.method ?? "", path: req.url ?? "", headers: req.headers, body, json };
        self.requests.push(rec);
        self.times.push(Date.now());
        self.inFlight++;
        self.maxInFlight = Math.max(self.maxInFlight, self.inFlight);
        res.on("close", () => self.inFlight--);
        const reply = self.#queue.shift() ?? self.defaultReply(rec);
        void answer(reply, res);
      });
    });
    server.on("connection", (s: Socket) => {
      self.connections++;
      self.#sockets.add(s);
      s.on("close", () => self.#sockets.delete(s));
    });
    await new Promise<void>((r, j) => {
      server.once("error", j);
      server.listen(port, "127.0.0.1", () => r());
    });
    const addr = server.address() as AddressInfo;
    self = new FakeApiServer(server, `http://127.0.0.1:${addr.port}`, defaultReply);
    return self;
  }

  /** Queues replies for the next requests, in order. */
  reply(...replies: Reply[]): this {
    this.#queue.push(...replies);
    return this;
  }

  get last(): RecordedRequest {
    const r = this.requests.at(-1);
    if (!r) throw new Error("no request was received");
    return r;
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function answer(reply: Reply, res: ServerResponse): Promise<void> {
  if ("drop" in reply) {
    res.socket?.destroy();
    return;
  }
  if ("hang" in reply) return;
  if ("sse" in reply) {
    res.writeHead(reply.status ?? 200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    for (const ev of reply.sse) {
      if (res.destroyed) return;
      res.write(`${ev}\n\n`);
      if (reply.chunkDelayMs) await sleep(reply.chunkDelayMs);
    }
    if (reply.hold) return;
    if (reply.cut) {
      // Let the written events reach the client, then break the connection mid-stream.
      await sleep(20);
      res.socket?.destroy();
      return;
    }
    res.end();
    return;
  }
  if (reply.delayMs) await sleep(reply.delayMs);
  if (res.destroyed) return;
  const body = reply.body ?? (reply.json !== undefined ? JSON.stringify(reply.json) : "");
  res.writeHead(reply.status ?? 200, { "content-type": "application/json", ...reply.headers });
  res.end(body);
}

/** One SSE block with a data line (and an event name, as Anthropic sends). */
export function sseEvent(data: unknown, event?: string): string {
  return `${event ? `event: ${event}\n` : ""}data: ${typeof data === "string" ? data : JSON.stringify(data)}`;
}

/**
 * The default reply of an OpenAI-compatible chat server that answers `Echo: <last message>`
 * with the given usage: `FakeApiServer.start(echoChat())`, base URL `${server.url}/v1`.
 */
export function echoChat(usage = { prompt_tokens: 5, completion_tokens: 3 }): (req: RecordedRequest) => Reply {
  return (req) => ({
    json: {
      id: "x",
      object: "chat.completion",
      choices: [{ index: 0, message: { role: "assistant", content: `Echo: ${lastMessage(req)}` }, finish_reason: "stop" }],
      usage,
    },
  });
}

/** The text of the last chat message of each request the server got, in order. */
export function prompts(server: FakeApiServer): string[] {
  return server.requests.map(lastMessage);
}

function lastMessage(req: RecordedRequest): string {
  return (req.json as { messages: { content: string }[] }).messages.at(-1)!.content;
}

/** A FakeApiServer answering as echoChat, with its `/v1` base URL. Close it with `close()`. */
export async function echoOpenAI(usage?: { prompt_tokens: number; completion_tokens: number }): Promise<FakeApiServer & { baseUrl: string }> {
  const server = await FakeApiServer.start(echoChat(usage));
  return Object.assign(server, { baseUrl: `${server.url}/v1` });
}
