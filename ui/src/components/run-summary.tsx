/** The header of a run: pipeline, id, status, duration, steps, tokens, cost. */
import type { RunReport } from "../../../src/events/report.js";
import type { RunView } from "../../../src/report/run-view.js";
import { formatCost, formatDuration, formatTime } from "./format.js";

export function totalsOf(view: RunView, report?: RunReport) {
  if (report) return { inputTokens: report.totals.inputTokens, outputTokens: report.totals.outputTokens, cost: report.totals.cost };
  let inputTokens = 0,
    outputTokens = 0,
    cost = 0;
  for (const s of Object.values(view.steps)) {
    inputTokens += s.usage?.inputTokens ?? 0;
    outputTokens += s.usage?.outputTokens ?? 0;
    cost += s.cost ?? 0;
  }
  return { inputTokens, outputTokens, cost };
}

export function RunSummary({ view, report, now }: { view: RunView; report?: RunReport; now?: number }) {
  const t = totalsOf(view, report);
  const steps = Object.values(view.steps);
  const count = (st: string) => steps.filter((s) => s.status === st).length;
  const duration = (view.endedAt ?? now ?? view.lastTs) - view.startedAt;
  return (
    <div class="run-summary">
      <span class={`pill big status-${view.status}`} data-testid="run-status">
        {view.status}
      </span>
      <dl class="kv inline">
        <dt>pipeline</dt>
        <dd>{view.pipeline}</dd>
        <dt>run</dt>
        <dd>
          <code>{view.runId}</code>
        </dd>
        <dt>started</dt>
        <dd>{view.startedAt ? formatTime(view.startedAt) : "–"}</dd>
        <dt>duration</dt>
        <dd>{formatDuration(Math.max(0, duration))}</dd>
        <dt>steps</dt>
        <dd>
          {count("success")} ok, {count("failed")} failed, {count("skipped")} skipped{count("running") ? `, ${count("running")} running` : ""} of {steps.length}
        </dd>
        <dt>tokens</dt>
        <dd>
          {t.inputTokens} in / {t.outputTokens} out
        </dd>
        <dt>cost</dt>
        <dd>{formatCost(t.cost)}</dd>
        {view.resumedFrom ? (
          <>
            <dt>resumed from</dt>
            <dd>
              <code>{view.resumedFrom}</code>
            </dd>
          </>
        ) : null}
      </dl>
      {view.error ? <p class="error-text">error: {view.error.message}</p> : null}
    </div>
  );
}
