/**
 * Where the server's log lines go: standard output (or another file descriptor), with the
 * lines of one event-loop turn written together, at the end of that turn, instead of one
 * `write` system call per line. Under load a turn answers many requests, so this saves most
 * of the log's system calls; a quiet server still writes each line within the turn that
 * made it. Nothing is lost: `flush()` writes what is pending (the server calls it when it
 * closes), and so does the process's `exit`.
 *
 * The batch is kept here and handed to pino's destination (sonic-boom, synchronous, no
 * minimum length) as one write. Its `flushSync()` is not used: it also calls `fsync`, which
 * on a log file cost a sixth of the server's CPU under load, and a log line needs no disk
 * sync per turn.
 */
import pino, { type DestinationStream } from "pino";

/** Pending bytes that trigger a write before the turn ends. */
const EARLY_WRITE_BYTES = 16 * 1024;

export interface LogDestination extends DestinationStream {
  /** Writes the pending lines now. */
  flush(): void;
  /** Flushes; later lines are written at once (the file descriptor stays open). */
  close(): void;
}

export function turnBatchedDestination(fd = 1): LogDestination {
  // pino's own destination (sonic-boom): retries EAGAIN on a non-blocking pipe, and EPIPE (a
  // closed pipe) stops logging instead of throwing.
  const out = pino.destination({ dest: fd, sync: true });
  let pending = "";
  let scheduled = false;
  let closed = false;
  const flush = (): void => {
    scheduled = false;
    if (pending === "") return;
    const text = pending;
    pending = "";
    if (!(out as unknown as { destroyed: boolean }).destroyed) out.write(text);
  };
  const atExit = (): void => flush();
  process.on("exit", atExit);
  return {
    write(line: string) {
      pending += line;
      if (closed || pending.length >= EARLY_WRITE_BYTES) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
    close() {
      if (closed) return;
      closed = true;
      flush();
      process.off("exit", atExit);
    },
  };
}
