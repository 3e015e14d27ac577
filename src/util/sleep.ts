/** Abortable waiting, on node:timers/promises. */
import { setTimeout as delay } from "node:timers/promises";

/**
 * Resolves after `ms`, or rejects with the signal's reason (not node's AbortError wrapper)
 * when it aborts first, so a cancelled run sees the reason it was cancelled with.
 */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) throw signal.reason;
  if (ms <= 0) return;
  try {
    await delay(ms, undefined, signal ? { signal } : undefined);
  } catch (e) {
    if (signal?.aborted) throw signal.reason;
    throw e;
  }
}
