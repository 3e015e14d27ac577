/**
 * The run's limit on model calls in flight (`concurrency:`), and the calls in flight
 * themselves, rejected at once when the run aborts.
 *
 * A call that finds a slot free and nobody waiting takes it directly: a counter, no
 * promise, no listener. Only calls that must wait go through p-queue, which keeps them in
 * order (and honours their AbortSignal while they wait); while any call waits or runs
 * there, new calls queue behind it, and the queue's concurrency is what the direct calls
 * leave free:
 *
 *     free slot, queue idle  ->  direct (counter)      ends: release(); the queue gets the slot
 *     otherwise              ->  p-queue (waits)       ends: p-queue starts the next
 */
import PQueue from "p-queue";

export class CallSlots {
  readonly queue: PQueue;
  readonly #limit: number;
  /** Calls holding a slot taken directly. */
  #direct = 0;

  constructor(limit: number) {
    this.#limit = limit;
    this.queue = new PQueue({ concurrency: limit });
  }

  get limit(): number {
    return this.#limit;
  }

  /** Calls in flight, direct and queued. */
  get inFlight(): number {
    return this.#direct + this.queue.pending;
  }

  /** Takes a slot at once when one is free and no call waits or runs in the queue. */
  tryTake(): boolean {
    const q = this.queue;
    if (this.#direct >= this.#limit || q.size !== 0 || q.pending !== 0) return false;
    this.#direct++;
    return true;
  }

  /** Gives back a slot taken by tryTake(). */
  release(): void {
    this.#direct--;
    if (this.queue.size !== 0 || this.queue.pending !== 0) this.#sync();
  }

  /** Runs `fn` in the queue, when a slot is free (after the calls already waiting). */
  enqueue<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    this.#sync();
    return this.queue.add(fn, signal ? { signal } : undefined) as Promise<T>;
  }

  /** The queue's share: the slots the direct calls leave free (paused while there are none). */
  #sync(): void {
    const q = this.queue;
    const free = this.#limit - this.#direct;
    if (free <= 0) {
      if (!q.isPaused) q.pause();
      return;
    }
    if (q.concurrency !== free) q.concurrency = free;
    if (q.isPaused) q.start();
  }
}
