/**
 * Regular expressions from pipeline files (JSONata `/re/` literals, `pattern` and
 * `patternProperties` in an `inputs` schema) run on run input, so a catastrophic pattern
 * such as `^(a+)+$` must not block the event loop: one native RegExp call cannot be
 * interrupted by a timer. docs/limits.md describes the policy:
 *
 * - V8's linear-time engine takes over from the backtracking one after excessive
 *   backtracking (`--enable-experimental-regexp-engine-on-excessive-backtracks`, set here
 *   before any user pattern is compiled). Every pattern that engine can run (checked by
 *   compiling it with the `l` flag) is a plain RegExp: fast, and linear in the worst case.
 * - A pattern it cannot run (backreferences, lookaround, large counted repeats, and on
 *   Node 20 the `i` and `u` flags) is run in a worker thread, synchronously (Atomics.wait),
 *   with a time limit per match: past it the worker is terminated and the match throws a
 *   RegexTimeoutError, so the caller (an expression, a schema check) fails with a clear
 *   message instead of hanging.
 *
 * `safeRegExp` has the shape both JSONata (`RegexEngine`: `new E(regexp)`) and ajv
 * (`code.regExp`: `E(pattern, flags)`) take.
 */
import { setFlagsFromString } from "node:v8";
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";

setFlagsFromString("--enable-experimental-regexp-engine-on-excessive-backtracks");
setFlagsFromString("--enable-experimental-regexp-engine");

/** Limits on user regular expressions. docs/limits.md. */
export const REGEX_LIMITS = {
  /** Milliseconds one match of a pattern the linear engine cannot run may take. */
  matchTimeoutMs: 500,
  /** Milliseconds allowed for the matching worker to start. */
  startTimeoutMs: 10_000,
} as const;

/** A match of a user pattern ran past REGEX_LIMITS.matchTimeoutMs. */
export class RegexTimeoutError extends Error {
  constructor(readonly pattern: string) {
    super(
      `the regular expression /${pattern.length > 60 ? pattern.slice(0, 60) + "…" : pattern}/ took longer than ${REGEX_LIMITS.matchTimeoutMs} ms to match and was stopped (catastrophic backtracking; simplify it or avoid backreferences and lookaround)`,
    );
    this.name = "RegexTimeoutError";
  }
}

const linearCache = new Map<string, boolean>();

/** Whether V8's linear-time engine can run this pattern (so it never backtracks without bound). */
export function isLinear(source: string, flags: string): boolean {
  const key = `${flags}/${source}`;
  let ok = linearCache.get(key);
  if (ok === undefined) {
    try {
      new RegExp(source, flags.replace(/[gyd]/g, "") + "l");
      ok = true;
    } catch {
      ok = false;
    }
    if (linearCache.size > 10_000) linearCache.clear();
    linearCache.set(key, ok);
  }
  return ok;
}

/** What the worker runs: exec one pattern on one string from lastIndex. */
const WORKER_SOURCE = `
const { workerData, receiveMessageOnPort } = require("node:worker_threads");
const { state, port } = workerData;
const flag = new Int32Array(state);
let text = "";
const cache = new Map();
Atomics.store(flag, 0, 1); Atomics.notify(flag, 0);
port.on("message", (m) => {
  if (m.text !== undefined) text = m.text;
  let re = cache.get(m.flags + "/" + m.source);
  if (!re) { re = new RegExp(m.source, m.flags); if (cache.size > 100) cache.clear(); cache.set(m.flags + "/" + m.source, re); }
  re.lastIndex = m.lastIndex;
  const r = re.exec(text);
  port.postMessage(r === null ? { match: null, lastIndex: re.lastIndex } : { match: [...r], index: r.index, groups: r.groups, lastIndex: re.lastIndex });
  Atomics.store(flag, 0, 2); Atomics.notify(flag, 0);
});
`;

interface Matcher {
  worker: Worker;
  port: MessagePort;
  flag: Int32Array;
  text: string | undefined;
}

let matcher: Matcher | undefined;

function startMatcher(): Matcher {
  const state = new SharedArrayBuffer(4);
  const flag = new Int32Array(state);
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { state, port: port2 }, transferList: [port2], resourceLimits: { maxOldGenerationSizeMb: 256 } });
  worker.unref();
  port1.unref();
  worker.on("error", () => undefined);
  if (Atomics.wait(flag, 0, 0, REGEX_LIMITS.startTimeoutMs) === "timed-out") {
    void worker.terminate();
    throw new Error("the regular expression worker did not start");
  }
  return { worker, port: port1, flag, text: undefined };
}

interface WorkerReply {
  match: string[] | null;
  index?: number;
  groups?: Record<string, string>;
  lastIndex: number;
}

/** Runs one exec in the worker, waiting at most matchTimeoutMs. */
function execInWorker(source: string, flags: string, text: string, lastIndex: number): WorkerReply {
  const m = (matcher ??= startMatcher());
  Atomics.store(m.flag, 0, 1);
  m.port.postMessage({ source, flags, lastIndex, ...(m.text === text ? {} : { text }) });
  m.text = text;
  if (Atomics.wait(m.flag, 0, 1, REGEX_LIMITS.matchTimeoutMs) === "timed-out" && Atomics.load(m.flag, 0) === 1) {
    matcher = undefined;
    m.port.close();
    void m.worker.terminate();
    throw new RegexTimeoutError(source);
  }
  const reply = receiveMessageOnPort(m.port);
  if (!reply) throw new Error("Internal error: the regular expression worker sent no reply");
  return reply.message as WorkerReply;
}

/** A RegExp-like object whose exec runs in the matching worker, bounded in time. */
class BoundedRegExp {
  lastIndex = 0;
  readonly global: boolean;
  readonly sticky: boolean;
  constructor(
    readonly source: string,
    readonly flags: string,
  ) {
    new RegExp(source, flags); // throws a SyntaxError here, as RegExp would
    this.global = flags.includes("g");
    this.sticky = flags.includes("y");
  }

  exec(text: string): RegExpExecArray | null {
    const r = execInWorker(this.source, this.flags, String(text), this.global || this.sticky ? this.lastIndex : 0);
    if (this.global || this.sticky) this.lastIndex = r.lastIndex;
    if (r.match === null) return null;
    const out = Object.assign([...r.match], { index: r.index ?? 0, input: text, groups: r.groups }) as unknown as RegExpExecArray;
    return out;
  }

  test(text: string): boolean {
    return this.exec(text) !== null;
  }

  toString(): string {
    return `/${this.source}/${this.flags}`;
  }
}

/**
 * A RegExp for a user pattern: a plain RegExp when V8's linear engine can run it, else a
 * BoundedRegExp. Callable with or without `new`, with a RegExp or a source and flags.
 */
export function safeRegExp(pattern: string | RegExp, flags?: string): RegExp {
  const source = typeof pattern === "string" ? pattern : pattern.source;
  const f = flags ?? (typeof pattern === "string" ? "" : pattern.flags);
  if (isLinear(source, f)) return new RegExp(source, f);
  // Without `u`, a pattern of plain ASCII means the same and the linear engine may run it.
  if (f.includes("u") && isAsciiPattern(source)) {
    new RegExp(source, f); // a syntax error under `u` stays one
    const g = f.replace("u", "");
    if (isLinear(source, g)) return new RegExp(source, g);
  }
  return new BoundedRegExp(source, f) as unknown as RegExp;
}
/** ajv's `code.regExp` wants to know how standalone code would name it (never used for user schemas). */
safeRegExp.code = "new RegExp";

/** ASCII only, and no escape whose meaning depends on the `u` flag. */
function isAsciiPattern(source: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(source) && !/\\[pPuk]/.test(source);
}

/** Stops the matching worker (tests, a server shutting down). */
export async function stopRegexWorker(): Promise<void> {
  const m = matcher;
  matcher = undefined;
  if (m) {
    m.port.close();
    await m.worker.terminate();
  }
}
