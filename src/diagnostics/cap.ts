/**
 * Bounds a list of diagnostics: one mistake repeated 200,000 times (a wrong type in every
 * item of a huge input, a file of garbage) must print a screenful and a count, not 24 MB.
 * docs/limits.md.
 */
import type { Diagnostic } from "./diagnostic.js";

/** How many diagnostics are listed. docs/limits.md. */
export const DIAGNOSTIC_CAPS = {
  /** Per file (or per run input). */
  perFile: 20,
  /** In one report (validate over many files). */
  total: 200,
} as const;

/**
 * The first `perFile` diagnostics of each file and `total` in all, in order; each file with
 * more gets one summary diagnostic after its last listed one ("... and 199,980 more
 * errors"), and one more summary counts those past `total`.
 */
export function capDiagnostics(diagnostics: readonly Diagnostic[], perFile: number = DIAGNOSTIC_CAPS.perFile, total: number = DIAGNOSTIC_CAPS.total): Diagnostic[] {
  if (diagnostics.length <= Math.min(perFile, total)) return [...diagnostics];
  const out: Diagnostic[] = [];
  const listed = new Map<string, number>();
  const dropped = new Map<string, { index: number; first: Diagnostic; count: number; errors: number }>();
  let overTotal = 0;
  let overErrors = 0;
  let firstOver: Diagnostic | undefined;
  for (const d of diagnostics) {
    if (summaries.has(d)) {
      out.push(d); // already a count of what an earlier cap left out
      continue;
    }
    const file = d.location?.file ?? "";
    const n = listed.get(file) ?? 0;
    if (n >= perFile) {
      let s = dropped.get(file);
      if (!s) {
        s = { index: out.length, first: d, count: 0, errors: 0 };
        dropped.set(file, s);
        out.push(d); // placeholder, replaced below
      }
      s.count++;
      if (d.severity === "error") s.errors++;
      continue;
    }
    if (out.length - dropped.size >= total) {
      firstOver ??= d;
      overTotal++;
      if (d.severity === "error") overErrors++;
      continue;
    }
    listed.set(file, n + 1);
    out.push(d);
  }
  for (const s of dropped.values()) out[s.index] = summary(s.first, s.count, s.errors, s.first.location ? ` in ${s.first.location.file}` : "");
  if (overTotal) out.push(summary(firstOver, overTotal, overErrors, ` (only the first ${total} are listed)`));
  return out;
}

/** The summary lines made here, so that capping a capped list again counts them as one line. */
const summaries = new WeakSet<Diagnostic>();

/** Whether a diagnostic is a "... and N more" line. */
export function isSummary(d: Diagnostic): boolean {
  return summaries.has(d);
}

/**
 * Caps a list known only by its first items and its length (a validator's 200,000 errors,
 * of which only `perFile` are turned into diagnostics).
 */
export function withSummary(listed: Diagnostic[], total: number): Diagnostic[] {
  if (total <= listed.length || listed.length === 0) return listed;
  const last = listed[listed.length - 1]!;
  const more = total - listed.length;
  return [...listed, summary(last, more, last.severity === "error" ? more : 0, last.location ? ` in ${last.location.file}` : "")];
}

function summary(first: Diagnostic | undefined, count: number, errors: number, where: string): Diagnostic {
  const what = errors === count ? "error" : errors === 0 ? "warning" : "problem";
  const d: Diagnostic = {
    severity: errors ? "error" : "warning",
    code: first?.code ?? "MCP105",
    message: `... and ${count.toLocaleString("en-US")} more ${what}${count === 1 ? "" : "s"}${where}`,
    // At the file's start with no length: printed as `file:1:1` with no excerpt.
    ...(first?.location ? { location: { file: first.location.file, offset: 0, length: 0 } } : {}),
  };
  summaries.add(d);
  return d;
}
