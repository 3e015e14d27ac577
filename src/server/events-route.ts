/**
 * GET /v1/runs/{id}/events: a run's events as Server-Sent Events. Each event's `id:` is its
 * sequence number in the run's journal, so a client that reconnects with `Last-Event-ID`
 * (or `?after=N`) gets exactly the events it missed, then the live ones. The stream of a
 * finished run replays its events and closes. The run does not depend on the stream: a
 * client that goes away stops only its own stream (cancel is DELETE /v1/runs/{id}).
 */
import type { FastifyInstance } from "fastify";
import type { ProtocolHandler } from "../protocol/handler.js";
import { ProtocolError } from "../protocol/errors.js";
import { EVENTS_ROUTE } from "./schemas.js";

/** Comment lines sent while a run is quiet, so proxies and the socket see traffic. */
export const HEARTBEAT_MS = 15_000;

export interface EventStreams {
  /** Ends every open stream (shutdown): clients reconnect to another instance or later. */
  closeAll(): void;
  readonly open: number;
}

export function eventsRoute(app: FastifyInstance, handler: ProtocolHandler, onDone: (route: string, status: number, seconds: number) => void): EventStreams {
  const open = new Set<AbortController>();
  app.get<{ Params: { id: string }; Querystring: { after?: number }; Headers: { "last-event-id"?: string } }>("/v1/runs/:id/events", { schema: EVENTS_ROUTE }, async (req, reply) => {
    const started = performance.now();
    const runs = handler.services.runs;
    const id = req.params.id;
    const run = await runs.get(id);
    if (!run) throw new ProtocolError("not_found", `no run '${id}'`);
    const header = req.headers["last-event-id"];
    const after = header !== undefined ? Number(header.trim()) : (req.query.after ?? 0);

    const ac = new AbortController();
    open.add(ac);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    res.on("close", () => ac.abort());
    const write = async (text: string): Promise<void> => {
      if (ac.signal.aborted) return;
      if (!res.write(text))
        await new Promise<void>((r) => {
          const done = () => {
            res.off("drain", done);
            ac.signal.removeEventListener("abort", done);
            r();
          };
          res.once("drain", done);
          ac.signal.addEventListener("abort", done, { once: true });
        });
    };
    const heartbeat = setInterval(() => void write(": keep-alive\n\n"), HEARTBEAT_MS);
    heartbeat.unref();
    try {
      // The reconnection delay a browser's EventSource uses.
      await write("retry: 1000\n\n");
      for await (const e of runs.events(id, { after, signal: ac.signal })) {
        await write(`id: ${e.seq}\nevent: ${e.event.type}\ndata: ${JSON.stringify(e.event)}\n\n`);
        if (ac.signal.aborted) break;
      }
    } catch (e) {
      // The client sees a cut stream; the run goes on. Say why in the stream when possible.
      await write(`event: error\ndata: ${JSON.stringify({ code: "internal", message: "the event stream failed" })}\n\n`);
      req.log.error({ err: e, runId: id }, "event stream failed");
    } finally {
      clearInterval(heartbeat);
      open.delete(ac);
      res.end();
      onDone("/v1/runs/:id/events", 200, (performance.now() - started) / 1000);
    }
  });
  return {
    closeAll() {
      for (const ac of open) ac.abort();
    },
    get open() {
      return open.size;
    },
  };
}
