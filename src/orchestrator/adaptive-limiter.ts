/**
 * Per-model concurrency that backs off when the API rate-limits, like a TCP window:
 * multiplicative decrease on a 429 (halve the calls in flight), additive increase as calls
 * succeed (about +1 per window of successes), up to the configured limit.
 */
import PQueue from "p-queue";
import type { CallGate } from "../events/ports.js";

export class AdaptiveLimiter {
  readonly #queue: PQueue;
  readonly #max: number;
  #window: number;
  #inFlight = 0;
  #lastDecrease = 0;

  /** @param max the model's configured concurrency (Infinity when unset). */
  constructor(
    max: number,
    readonly onChange?: (concurrency: number) => void,
    /** A further gate each call passes once it has a slot here (a fleet-wide limit). */
    readonly gate?: CallGate,
  ) {
    this.#max = max;
    this.#window = max;
    this.#queue = new PQueue({ concurrency: max });
  }

  get concurrency(): number {
    return this.#queue.concurrency;
  }

  /**
   * Enters at once when nothing limits the model (no concurrency set, never rate limited, no
   * gate): true, and leave() must follow when the call ends. False: go through run().
   */
  enter(): boolean {
    if (this.gate || this.#queue.concurrency !== Infinity) return false;
    this.#inFlight++;
    return true;
  }

  /** Ends a call that enter() let in. */
  leave(): void {
    this.#inFlight--;
  }

  /** Runs `fn` when a slot is free; rejects with the signal's reason if aborted while waiting. */
  run<T>(call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const gate = this.gate;
    const fn = gate ? () => gate.run(call, signal) : call;
    // Unlimited (no concurrency set and never rate limited): no queue to go through.
    if (this.#queue.concurrency === Infinity) return this.#direct(fn);
    return this.#queue.add(
      async () => {
        this.#inFlight++;
        try {
          return await fn();
        } finally {
          this.#inFlight--;
        }
      },
      signal ? { signal } : {},
    ) as Promise<T>;
  }

  async #direct<T>(fn: () => Promise<T>): Promise<T> {
    this.#inFlight++;
    try {
      return await fn();
    } finally {
      this.#inFlight--;
    }
  }

  /** The API said "too many requests". Decreases at most once per `cooldownMs`. */
  rateLimited(cooldownMs = 1000, now = Date.now()): void {
    if (now - this.#lastDecrease < cooldownMs) return;
    this.#lastDecrease = now;
    const base = Number.isFinite(this.#window) ? this.#window : Math.max(1, this.#inFlight);
    this.#set(Math.max(1, Math.floor(base / 2)));
  }

  /** A call succeeded: grow the window by 1/window (about one per window of calls). */
  succeeded(): void {
    if (this.#window >= this.#max) return;
    this.#window = Math.min(this.#max, this.#window + 1 / Math.max(1, this.#window));
    const next = Math.floor(this.#window);
    if (next !== this.#queue.concurrency) {
      this.#queue.concurrency = next;
      this.onChange?.(next);
    }
  }

  #set(n: number): void {
    this.#window = n;
    if (this.#queue.concurrency !== n) {
      this.#queue.concurrency = n;
      this.onChange?.(n);
    }
  }
}
