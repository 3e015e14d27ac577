/**
 * How the watch modes (run, validate, test) end: Ctrl-C, SIGTERM, or the caller's signal
 * (tests, the server). One place, so every mode stops the same way and removes its handlers.
 */

/** The ANSI sequence that clears the screen and the scrollback before a new round. */
export const CLEAR_SCREEN = "\u001b[2J\u001b[3J\u001b[H";

export interface StopSignal {
  /** Resolves when a stop was asked for. */
  readonly stopped: Promise<void>;
  /** Whether a stop was asked for. */
  readonly stopping: boolean;
  /** Removes the handlers (in a `finally`). */
  dispose(): void;
}

/** Listens for Ctrl-C, SIGTERM and `signal`; `onStop` runs once, on the first of them. */
export function listenForStop(signal: AbortSignal | undefined, onStop?: () => void): StopSignal {
  let stopping = false;
  let resolve!: () => void;
  const stopped = new Promise<void>((r) => (resolve = r));
  const stop = () => {
    if (stopping) return;
    stopping = true;
    onStop?.();
    resolve();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  signal?.addEventListener("abort", stop, { once: true });
  if (signal?.aborted) stop();
  return {
    stopped,
    get stopping() {
      return stopping;
    },
    dispose() {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      signal?.removeEventListener("abort", stop);
    },
  };
}
