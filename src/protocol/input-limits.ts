/**
 * Limits on a run input that arrives over the network, checked before the input reaches the
 * pipeline's `inputs` schema or any expression: nesting depth and encoded size. (The
 * hardening issue adds the project-wide check; this one function is where to swap it in.)
 */
import { ProtocolError } from "./errors.js";

export interface InputLimits {
  /** Deepest nesting of arrays and objects. @default 64 */
  maxDepth: number;
  /** Largest input as JSON, in bytes. @default 1048576 (1 MiB) */
  maxBytes: number;
}

export const DEFAULT_INPUT_LIMITS: InputLimits = { maxDepth: 64, maxBytes: 1024 * 1024 };

/** Throws ProtocolError `invalid_input` when `value` is nested deeper or is larger than the limits. */
export function checkInputLimits(value: unknown, limits: InputLimits = DEFAULT_INPUT_LIMITS, what = "the run input"): void {
  // Iterative, so a hostile depth cannot overflow the stack while it is being measured.
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (depth > limits.maxDepth) throw new ProtocolError("invalid_input", `${what} is nested deeper than ${limits.maxDepth} levels`);
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (child !== null && typeof child === "object") stack.push([child, depth + 1]);
  }
  const bytes = Buffer.byteLength(JSON.stringify(value) ?? "");
  if (bytes > limits.maxBytes) throw new ProtocolError("invalid_input", `${what} is ${bytes} bytes as JSON, more than the limit of ${limits.maxBytes}`);
}
