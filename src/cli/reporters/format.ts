/** Shared formatting of reporters: usage, cost, status marks, and the end-of-run table. */
import { callAttempts, type RunReport, type StepRecord } from "../../events/report.js";
import type { StepStatus } from "../../events/event.js";
import { formatDuration } from "../../util/duration.js";
import { formatCost } from "../../util/money.js";

export const MARK: Record<StepStatus, string> = {
  pending: "·",
  queued: "…",
  running: "▸",
  waiting: "?",
  success: "✓",
  failed: "✗",
  skipped: "-",
  aborted: "■",
};

const COLOR: Partial<Record<StepStatus, string>> = { success: "32", failed: "31", skipped: "2", aborted: "33", running: "36", waiting: "35" };

/** "1 model", "2 models". */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

export function paint(on: boolean, code: string | undefined, s: string): string {
  return on && code ? `\u001b[${code}m${s}\u001b[0m` : s;
}

export function statusMark(status: StepStatus, color: boolean): string {
  return paint(color, COLOR[status], MARK[status]);
}

export { formatCost };

function pad(cells: string[][]): string[] {
  const widths: number[] = [];
  for (const row of cells) row.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, [...c].length)));
  return cells.map((row) =>
    row
      .map((c, i) => (i === row.length - 1 ? c : c + " ".repeat((widths[i] ?? 0) - [...c].length)))
      .join("  ")
      .trimEnd(),
  );
}

/** Items of a forEach step: the distinct `item` indexes its attempts were made for. */
function itemCount(r: StepRecord): number | undefined {
  const items = new Set(r.attempts.filter((a) => a.item !== undefined).map((a) => a.item));
  return items.size ? items.size : undefined;
}

/**
 * Attempts of one call: retries and fallbacks, not forEach items nor repeat iterations
 * (those have columns of their own). For a forEach or repeat step, the most attempts any
 * one item or iteration needed; the failures and models are all of the step's.
 */
function attemptsText(r: StepRecord): string {
  const failed = r.attempts.filter((a) => !a.ok).length;
  const models = [...new Set(r.attempts.map((a) => a.model))];
  const parts = [`${callAttempts(r)}`];
  if (failed) parts.push(`(${failed} failed)`);
  if (models.length > 1) parts.push(`via ${models.join(" → ")}`);
  return parts.join(" ");
}

/** The per-step report table and totals, as printed after a run. */
export function formatReport(report: RunReport, color = false): string {
  const withItems = Object.values(report.steps).some((r) => itemCount(r) !== undefined);
  const withIterations = Object.values(report.steps).some((r) => r.iterations !== undefined);
  const rows: string[][] = [["", "step", "model", ...(withItems ? ["items"] : []), ...(withIterations ? ["iterations"] : []), "attempts", "time", "tokens in/out", "cost", "cache"]];
  for (const [id, r] of Object.entries(report.steps)) {
    rows.push([
      statusMark(r.status, false),
      id,
      r.model ?? "-",
      ...(withItems ? [String(itemCount(r) ?? "-")] : []),
      ...(withIterations ? [String(r.iterations?.length ?? "-")] : []),
      r.attempts.length ? attemptsText(r) : "-",
      r.status === "skipped" ? "-" : formatDuration(r.durationMs),
      // A failed loop still spent what its finished iterations did.
      r.status === "success" || r.iterations ? `${r.usage.inputTokens}/${r.usage.outputTokens}${r.usageEstimated ? "~" : ""}` : "-",
      r.status === "success" || r.iterations ? formatCost(r.cost) : "-",
      r.resumed ? "resumed" : r.cached ? "hit" : r.attempts.some((a) => a.cached) ? "partial" : "-",
    ]);
  }
  const lines = pad(rows).map((l, i) => {
    if (i === 0) return paint(color, "2", l);
    const status = Object.values(report.steps)[i - 1]?.status ?? "pending";
    return color ? l.replace(/^./, statusMark(status, true)) : l;
  });
  const t = report.totals;
  const head = `${paint(color, report.status === "success" ? "32" : report.status === "waiting" ? "35" : "31", report.status)} ${report.runId} (${report.pipeline}) in ${formatDuration(report.durationMs)}`;
  const totals = `tokens ${t.inputTokens} in / ${t.outputTokens} out, cost ${formatCost(t.cost)}, ${t.calls} model call${t.calls === 1 ? "" : "s"}${t.cacheHits ? `, ${t.cacheHits} cache hit${t.cacheHits === 1 ? "" : "s"}` : ""}`;
  const notes = Object.values(report.steps).some((r) => r.usageEstimated) ? ["~ tokens estimated, about 4 characters per token (the provider reported none)"] : [];
  return [...lines, "", head, totals, ...notes].join("\n");
}
