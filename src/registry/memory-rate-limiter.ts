/**
 * The in-process RateLimiter: a sliding window per key (a log of the calls and token counts
 * of the last `windowMs`), with the callers of a key served first come, first served. A call
 * that would pass a limit waits until enough of the window's oldest entries have expired.
 *
 * Output tokens are known only when an answer arrives: `settle` adds them (and corrects the
 * input estimate) at that time, and a call waits while the window's output tokens are at the
 * limit. A single call larger than a token limit waits for an empty window, then goes alone
 * (else it would wait for ever).
 */
import type { RateLimits } from "../models/types.js";
import { sleep } from "../util/sleep.js";
import type { LimitName, LimitWait, RateLimiter, RatePermit } from "./rate-limiter.js";

interface Entry {
  t: number;
  requests: number;
  input: number;
  output: number;
}

class Window {
  readonly entries: Entry[] = [];
  head = 0;
  requests = 0;
  input = 0;
  output = 0;
  /** The last caller in line: the next one waits for it. */
  tail: Promise<unknown> = Promise.resolve();

  add(e: Entry): void {
    this.entries.push(e);
    this.requests += e.requests;
    this.input += e.input;
    this.output += e.output;
  }

  prune(before: number): void {
    const es = this.entries;
    while (this.head < es.length && es[this.head]!.t <= before) {
      const e = es[this.head++]!;
      this.requests -= e.requests;
      this.input -= e.input;
      this.output -= e.output;
    }
    if (this.head > 1024 && this.head * 2 > es.length) {
      es.splice(0, this.head);
      this.head = 0;
    }
  }
}

export interface MemoryRateLimiterOptions {
  /** Length of the sliding window the limits are per, in ms. @default 60000 (a minute) */
  windowMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export class MemoryRateLimiter implements RateLimiter {
  readonly windowMs: number;
  readonly #now: () => number;
  readonly #windows = new Map<string, Window>();

  constructor(options: MemoryRateLimiterOptions = {}) {
    this.windowMs = options.windowMs ?? 60_000;
    if (!(this.windowMs > 0)) throw new TypeError(`MemoryRateLimiter: \`windowMs\` must be a positive number, received ${String(options.windowMs)}`);
    this.#now = options.now ?? Date.now;
  }

  acquire(key: string, limits: RateLimits, call: { inputTokens: number }, options: { signal?: AbortSignal; onWait?: (w: LimitWait) => void } = {}): Promise<RatePermit> {
    let w = this.#windows.get(key);
    if (!w) this.#windows.set(key, (w = new Window()));
    const win = w;
    const turn = win.tail.then(() => this.#admit(key, win, limits, Math.max(0, call.inputTokens), options));
    // The next caller waits for this one's admission, not for its call (nor its failure).
    win.tail = turn.catch(() => undefined);
    return turn;
  }

  /** Requests and tokens counted under a key in the current window (for tests and metrics). */
  usage(key: string): { requests: number; inputTokens: number; outputTokens: number } {
    const w = this.#windows.get(key);
    if (!w) return { requests: 0, inputTokens: 0, outputTokens: 0 };
    w.prune(this.#now() - this.windowMs);
    return { requests: w.requests, inputTokens: w.input, outputTokens: w.output };
  }

  async #admit(key: string, w: Window, limits: RateLimits, inputTokens: number, options: { signal?: AbortSignal; onWait?: (w: LimitWait) => void }): Promise<RatePermit> {
    for (;;) {
      options.signal?.throwIfAborted();
      const now = this.#now();
      w.prune(now - this.windowMs);
      const wait = this.#wait(w, limits, inputTokens, now);
      if (!wait) break;
      options.onWait?.({ key, limit: wait.limit, waitMs: wait.ms });
      await sleep(wait.ms, options.signal);
    }
    const entry: Entry = { t: this.#now(), requests: 1, input: inputTokens, output: 0 };
    w.add(entry);
    let settled = false;
    return {
      settle: (usage) => {
        if (settled || !usage) return;
        settled = true;
        // Counted now: output tokens arrive with the answer; the input estimate is corrected.
        const t = this.#now();
        if (t - entry.t >= this.windowMs) return;
        w.add({ t, requests: 0, input: usage.inputTokens - inputTokens, output: usage.outputTokens });
      },
    };
  }

  /** The longest wait any limit asks for, or undefined when the call fits now. */
  #wait(w: Window, limits: RateLimits, inputTokens: number, now: number): { limit: LimitName; ms: number } | undefined {
    let worst: { limit: LimitName; ms: number } | undefined;
    const check = (limit: LimitName, max: number | undefined, used: (e: Entry) => number, total: number, need: number) => {
      if (max === undefined) return;
      // A call needing more than the whole limit goes alone, once the window is empty.
      const fits = Math.min(need, max);
      if (total + fits <= max && (need > 0 || total < max)) return;
      let freed = 0;
      let ms = this.windowMs;
      for (let i = w.head; i < w.entries.length; i++) {
        const e = w.entries[i]!;
        freed += used(e);
        if (total - freed + fits <= max && (need > 0 || total - freed < max)) {
          // +1: the entry leaves the window once `t <= now - windowMs`, and timers may fire early.
          ms = e.t + this.windowMs - now + 1;
          break;
        }
      }
      ms = Math.max(1, ms);
      if (!worst || ms > worst.ms) worst = { limit, ms };
    };
    check("rpm", limits.rpm, (e) => e.requests, w.requests, 1);
    check("tpm", limits.tpm, (e) => e.input + e.output, w.input + w.output, inputTokens);
    check("inputTpm", limits.inputTpm, (e) => e.input, w.input, inputTokens);
    check("outputTpm", limits.outputTpm, (e) => e.output, w.output, 0);
    return worst;
  }
}
