/**
 * The lines of an MCP stdio connection, checked before the SDK's StdioServerTransport reads
 * them. The SDK drops a line that is not JSON without a word, and reports a JSON value that is
 * not a JSON-RPC message only to its error callback; JSON-RPC 2.0 answers both: a parse error
 * (-32700) and an invalid request (-32600), with id null when the id cannot be read. The guard
 * passes every valid message line on unchanged, in order, and hands the others to `reject`.
 */
import { Transform, type TransformCallback } from "node:stream";
import { deserializeMessage } from "@modelcontextprotocol/server";

/** The JSON-RPC error response to a line that is not a message. */
export interface LineErrorReply {
  jsonrpc: "2.0";
  id: string | number | null;
  error: { code: -32700 | -32600; message: "Parse error" | "Invalid Request" };
}

/** A line that was not passed on: the reply it gets, and why, in one line for a log. */
export interface RejectedLine {
  reply: LineErrorReply;
  reason: string;
}

/** The SDK transport's own limit on one message (its ReadBuffer's default), in bytes. */
const MAX_LINE_BYTES = 10 * 1024 * 1024;

/**
 * A stream from the client's raw input to the SDK transport's input that passes on only lines
 * holding a JSON-RPC message. Blank lines are skipped. A line longer than `maxLineBytes` is
 * passed on as it is, from there on everything is, so that the SDK transport reports it and
 * closes, as it does without the guard.
 */
export function guardMessageLines(reject: (line: RejectedLine) => void, maxLineBytes = MAX_LINE_BYTES): Transform {
  let pending: Buffer = Buffer.alloc(0);
  let passThrough = false;
  return new Transform({
    transform(chunk: Buffer | string, _encoding: BufferEncoding, done: TransformCallback) {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      if (passThrough) return done(null, bytes);
      pending = pending.length ? Buffer.concat([pending, bytes]) : bytes;
      let start = 0;
      for (let end = pending.indexOf(0x0a); end !== -1; end = pending.indexOf(0x0a, start)) {
        const line = pending.subarray(start, end);
        start = end + 1;
        const rejected = checkLine(line.toString("utf8").replace(/\r$/, ""));
        if (rejected) reject(rejected);
        else if (rejected === undefined) this.push(Buffer.concat([line, Buffer.from("\n")]));
      }
      pending = pending.subarray(start);
      if (pending.length > maxLineBytes) {
        passThrough = true;
        const rest = pending;
        pending = Buffer.alloc(0);
        return done(null, rest);
      }
      done();
    },
    // A last line without its newline is not a message (the SDK does not read it either).
  });
}

/** undefined: a message, to pass on; null: a blank line, to skip; else what the line gets. */
function checkLine(text: string): RejectedLine | null | undefined {
  if (text.trim() === "") return null;
  // A message (the common case) is parsed once here; only a rejected line is parsed again, to say why.
  try {
    deserializeMessage(text);
    return undefined;
  } catch {
    // Not a message: not JSON at all, or JSON of another shape.
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { reply: errorReply(null, -32700, "Parse error"), reason: `a line is not JSON (${(e as Error).message})` };
  }
  const id = (value as { id?: unknown } | null)?.id;
  const kind = Array.isArray(value)
    ? "an array (batches are not part of MCP)"
    : value !== null && typeof value === "object"
      ? "JSON but not a JSON-RPC 2.0 message"
      : `a JSON ${value === null ? "null" : typeof value}`;
  return { reply: errorReply(typeof id === "string" || typeof id === "number" ? id : null, -32600, "Invalid Request"), reason: `a line is ${kind}` };
}

function errorReply(id: string | number | null, code: -32700 | -32600, message: "Parse error" | "Invalid Request"): LineErrorReply {
  return { jsonrpc: "2.0", id, error: { code, message } };
}
