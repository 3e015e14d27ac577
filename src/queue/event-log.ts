/**
 * The events of a queued run, in a Redis stream per run (`mcp:events:{RUN}`), so that the
 * CLI and the server see them from whichever worker runs the run, and see them again after
 * reconnecting. Each event's sequence number is its stream id's sequence part (`0-N`,
 * given by Redis with `XADD key 0-* ...`), so numbers are dense, start at 1 and keep
 * counting when another worker takes the run over: a client that read up to N resumes with
 * `follow(runId, { after: N })` (SSE Last-Event-ID).
 */
import type { Redis } from "ioredis";
import type { RunEvent, RunObserver } from "../events/event.js";
import type { QueueNames } from "./names.js";

/** An event with its sequence number in the run's log. */
export interface LoggedEvent {
  seq: number;
  event: RunEvent;
}

/** How long a finished run's events are kept. @default 24 h */
export const EVENTS_TTL_SECONDS = 24 * 3600;

export class RedisEventLog {
  readonly #redis: Redis;
  readonly #names: QueueNames;

  constructor(redis: Redis, names: QueueNames) {
    this.#redis = redis;
    this.#names = names;
  }

  /** Appends one event; resolves with its sequence number. */
  async append(runId: string, event: RunEvent): Promise<number> {
    const key = this.#names.events(runId);
    const id = await this.#redis.xadd(key, "0-*", "e", JSON.stringify(event));
    if (event.type === "run.finished") await this.#redis.expire(key, EVENTS_TTL_SECONDS);
    return seqOf(id ?? "0-0");
  }

  /**
   * An observer that appends a run's events in order. Appends are sent at once (one
   * connection keeps their order); `flush()` waits until Redis has them all.
   */
  observer(runId: string, filter?: (e: RunEvent) => RunEvent | undefined): RunObserver & { flush(): Promise<void> } {
    let last: Promise<unknown> = Promise.resolve();
    return {
      onEvent: (e) => {
        const out = filter ? filter(e) : e;
        if (!out) return;
        const p = this.append(runId, out).catch(() => undefined);
        last = p;
      },
      flush: async () => {
        await last;
      },
    };
  }

  /** Events with sequence numbers above `after`, at most `count`. */
  async read(runId: string, after = 0, count = 1000): Promise<LoggedEvent[]> {
    const rows = await this.#redis.xrange(this.#names.events(runId), `0-${after + 1}`, "+", "COUNT", count);
    return rows.map(([id, fields]) => ({ seq: seqOf(id), event: JSON.parse(fields[1] ?? "null") as RunEvent }));
  }

  /**
   * Follows a run's events: those already logged after `after`, then new ones as they come,
   * until `run.finished` (or the signal). `blocking` is a connection of its own (XREAD BLOCK
   * holds it); the caller owns it.
   */
  async *follow(runId: string, blocking: Redis, opts: { after?: number; signal?: AbortSignal; pollMs?: number } = {}): AsyncGenerator<LoggedEvent> {
    let after = opts.after ?? 0;
    const key = this.#names.events(runId);
    while (!opts.signal?.aborted) {
      const res = (await blocking.xread("COUNT", 500, "BLOCK", opts.pollMs ?? 1000, "STREAMS", key, `0-${after}`)) as [string, [string, string[]][]][] | null;
      for (const [, rows] of res ?? []) {
        for (const [id, fields] of rows) {
          const ev: LoggedEvent = { seq: seqOf(id), event: JSON.parse(fields[1] ?? "null") as RunEvent };
          after = ev.seq;
          yield ev;
          if (ev.event.type === "run.finished") return;
        }
      }
    }
  }
}

function seqOf(id: string): number {
  return Number(id.slice(id.indexOf("-") + 1));
}
