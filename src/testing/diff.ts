/**
 * Expected-vs-actual text for a failed assertion, as test runners print it: values as
 * pretty JSON (strings as they are), and a line diff (`- expected`, `+ actual`) when either
 * side spans lines. The diff is computed by the `diff` package (jsdiff).
 */
import { diffLines } from "diff";

/** How a value reads in a failure message: strings quoted, others as compact JSON. */
export function show(v: unknown, max = 200): string {
  const s = v === undefined ? "undefined" : (JSON.stringify(v) ?? String(v));
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

function pretty(v: unknown): string {
  if (typeof v === "string") return v;
  return v === undefined ? "undefined" : (JSON.stringify(v, null, 2) ?? String(v));
}

/** Most diff lines printed; the rest are counted. */
const MAX_DIFF_LINES = 60;

/**
 * A unified-style diff of expected and actual, or undefined when both are one short line
 * (then "expected X, got Y" says it all).
 */
export function diffValues(expected: unknown, actual: unknown): string | undefined {
  const a = pretty(expected);
  const b = pretty(actual);
  if (!a.includes("\n") && !b.includes("\n") && a.length + b.length < 120) return undefined;
  const lines: string[] = ["- expected", "+ actual", ""];
  for (const part of diffLines(a.endsWith("\n") ? a : a + "\n", b.endsWith("\n") ? b : b + "\n")) {
    const mark = part.added ? "+ " : part.removed ? "- " : "  ";
    const body = part.value.replace(/\n$/, "").split("\n");
    // Unchanged runs are shortened to their edges.
    if (!part.added && !part.removed && body.length > 6) {
      lines.push(...body.slice(0, 2).map((l) => mark + l), `  ... ${body.length - 4} unchanged lines`, ...body.slice(-2).map((l) => mark + l));
    } else lines.push(...body.map((l) => mark + l));
  }
  if (lines.length > MAX_DIFF_LINES + 3) {
    const more = lines.length - MAX_DIFF_LINES - 3;
    lines.length = MAX_DIFF_LINES + 3;
    lines.push(`  ... ${more} more lines`);
  }
  return lines.join("\n");
}
