/**
 * The shared-slots port: a deployment's `maxConcurrency` held by more than one process. The
 * gateway checks its own calls in flight first (the process's share); a fleet of workers
 * also takes one of the deployment's slots kept in Redis (src/queue/fleet-limiter.ts), so
 * `maxConcurrency: 4` means 4 calls in flight to that replica in the whole fleet.
 */

/** A slot taken; `release` gives it back (more calls are harmless). */
export interface SlotLease {
  release(): void;
}

export interface SharedSlots {
  /** Takes one of `limit` slots of `key` when one is free; undefined when all are taken. */
  tryTake(key: string, limit: number): Promise<SlotLease | undefined>;
  /**
   * Resolves when a slot of one of `keys` may have been given back (or after a short while,
   * so a lost message only delays); resolves early when the signal aborts.
   */
  freed(keys: readonly string[], signal: AbortSignal): Promise<void>;
}

/** The key of a deployment's slots. */
export function deploymentSlotKey(model: string, deployment: string): string {
  return `deployment/${model}/${deployment}`;
}
