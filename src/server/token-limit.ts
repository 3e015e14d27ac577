/**
 * Tokens per minute per API key, for model calls (chat completions, tasks): a call is
 * refused with 429 and Retry-After while the key's tokens of the last 60 seconds reach the
 * limit. Counting happens after each call (its real usage), so one call may pass the limit;
 * the next waits.
 */
import { ProtocolError } from "../protocol/errors.js";

const WINDOW_MS = 60_000;

export class TokenLimiter {
  readonly #limit: number;
  readonly #now: () => number;
  readonly #used = new Map<string, { at: number; tokens: number }[]>();

  constructor(tokensPerMinute: number, now: () => number = Date.now) {
    this.#limit = tokensPerMinute;
    this.#now = now;
  }

  #window(key: string): { at: number; tokens: number }[] {
    const list = this.#used.get(key) ?? [];
    const from = this.#now() - WINDOW_MS;
    while (list.length && list[0]!.at <= from) list.shift();
    if (list.length === 0) this.#used.delete(key);
    return list;
  }

  /** Throws `rate_limited` when the key used its tokens of the minute. */
  check(key: string): void {
    const list = this.#window(key);
    const used = list.reduce((n, e) => n + e.tokens, 0);
    if (used < this.#limit) return;
    const secs = Math.max(1, Math.ceil((list[0]!.at + WINDOW_MS - this.#now()) / 1000));
    throw new ProtocolError("rate_limited", `token limit of ${this.#limit} tokens per minute reached for this key; retry in ${secs}s`, undefined, { retryAfterSeconds: secs });
  }

  add(key: string, tokens: number): void {
    if (!(tokens > 0)) return;
    const list = this.#window(key);
    list.push({ at: this.#now(), tokens });
    this.#used.set(key, list);
  }
}
