/**
 * The Markdown summary of a run for GitHub Actions' job summary (`GITHUB_STEP_SUMMARY`):
 * status, a table of steps, tokens, cost, and the DAG as a mermaid graph.
 */
import { formatCost } from "../util/money.js";
import type { RunReport } from "../events/report.js";
import type { RunView } from "./run-view.js";
import { formatDuration } from "../util/duration.js";

const ICON: Record<string, string> = { success: "✅", failed: "❌", skipped: "⏭️", aborted: "⛔", cancelled: "⛔", running: "⏳", queued: "⏳", pending: "⏳" };

const cost = formatCost;

/** `|` and newlines would break a table cell. */
function cell(s: string): string {
  return s.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

export function markdownSummary(view: RunView, report: RunReport | undefined, mermaid?: string, reportFile?: string): string {
  const steps = view.order.map((id) => view.steps[id]!);
  const totals = report?.totals ?? {
    inputTokens: steps.reduce((a, s) => a + (s.usage?.inputTokens ?? 0), 0),
    outputTokens: steps.reduce((a, s) => a + (s.usage?.outputTokens ?? 0), 0),
    cost: steps.reduce((a, s) => a + (s.cost ?? 0), 0),
  };
  const duration = (view.endedAt ?? view.lastTs) - view.startedAt;
  const lines = [
    `### ${ICON[view.status] ?? ""} mcp run \`${cell(view.pipeline)}\`: ${view.status}`,
    "",
    `Run \`${view.runId}\` · ${formatDuration(Math.max(0, duration))} · ${steps.filter((s) => s.status === "success").length}/${steps.length} steps succeeded · ${totals.inputTokens} in / ${totals.outputTokens} out tokens · ${cost(totals.cost)}`,
    "",
  ];
  if (view.error) lines.push(`> **error:** ${cell(view.error.message)}`, "");
  lines.push("| step | status | model | attempts | time | tokens (in/out) | cost | note |", "| --- | --- | --- | ---: | ---: | ---: | ---: | --- |");
  for (const s of steps) {
    const notes = [
      s.iterations !== undefined ? `${s.iterations} iteration${s.iterations === 1 ? "" : "s"}` : "",
      s.fallbacks.map((f) => `fell back ${f.from} → ${f.to}`).join("; "),
      s.cached ? "cached" : "",
      s.resumed ? "resumed" : "",
      s.skipReason ?? "",
      s.error ? s.error.message : "",
    ]
      .filter(Boolean)
      .join("; ");
    lines.push(
      `| ${cell(s.id)} | ${ICON[s.status] ?? ""} ${s.status} | ${cell(s.model ?? "–")} | ${s.attempts} | ${s.durationMs !== undefined ? formatDuration(s.durationMs) : "–"} | ${s.usage ? `${s.usage.inputTokens}/${s.usage.outputTokens}` : "–"} | ${s.cost !== undefined ? cost(s.cost) : "–"} | ${cell(notes)} |`,
    );
  }
  if (mermaid) lines.push("", "<details><summary>graph</summary>", "", "```mermaid", mermaid, "```", "", "</details>");
  if (reportFile) lines.push("", `Full report: \`${cell(reportFile)}\``);
  lines.push("", "");
  return lines.join("\n");
}
