/** The journal's runs, newest first, filterable by pipeline and status (kept in the URL). */
import { useState } from "preact/hooks";
import { formatCost, formatDuration, formatTime } from "../../components/format.js";
import { listPipelines, listRuns, type RunSummary } from "../api.js";
import { href, usePoll } from "../router.js";

const STATUSES = ["running", "success", "failed", "cancelled", "interrupted"];

export function RunsTable({ pipeline, status, limit = 100 }: { pipeline?: string; status?: string; limit?: number }) {
  const [runs, setRuns] = useState<RunSummary[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  usePoll(
    async (signal) => {
      try {
        setRuns((await listRuns({ ...(pipeline ? { pipeline } : {}), limit }, signal)).runs);
        setError(undefined);
      } catch (e) {
        if (!signal.aborted) setError((e as Error).message);
      }
    },
    2000,
    [pipeline, limit],
  );
  const shown = runs?.filter((r) => !status || r.status === status);
  if (error) return <p class="error-text">{error}</p>;
  if (!shown) return <p class="muted">loading…</p>;
  if (shown.length === 0) return <p class="muted">No runs{pipeline || status ? " match" : " yet"}.</p>;
  return (
    <table class="list" data-testid="runs">
      <thead>
        <tr>
          <th>run</th>
          <th>pipeline</th>
          <th>status</th>
          <th>started</th>
          <th>time</th>
          <th>tokens</th>
          <th>cost</th>
        </tr>
      </thead>
      <tbody>
        {shown.map((r) => (
          <tr key={r.runId} data-run={r.runId} data-status={r.status}>
            <td>
              <a href={href(["runs", r.runId])}>
                <code>{r.runId}</code>
              </a>
            </td>
            <td>{r.pipeline}</td>
            <td>
              <span class={`pill status-${r.status}`}>{r.status}</span>
            </td>
            <td>{formatTime(r.startedAt)}</td>
            <td>{r.durationMs !== undefined ? formatDuration(r.durationMs) : "–"}</td>
            <td>{r.totals ? `${r.totals.inputTokens}/${r.totals.outputTokens}` : "–"}</td>
            <td>{r.totals ? formatCost(r.totals.cost) : "–"}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function RunsPage({ query }: { query: URLSearchParams }) {
  const pipeline = query.get("pipeline") ?? "";
  const status = query.get("status") ?? "";
  const [names, setNames] = useState<string[]>([]);
  usePoll(async (signal) => setNames((await listPipelines(signal)).pipelines.map((p) => p.name)), 10_000, []);
  const go = (q: { pipeline?: string; status?: string }) => (location.hash = href(["runs"], { pipeline, status, ...q }));
  return (
    <section>
      <h2>Runs</h2>
      <div class="filters">
        <label>
          pipeline{" "}
          <select value={pipeline} onChange={(e) => go({ pipeline: (e.currentTarget as HTMLSelectElement).value })} data-testid="filter-pipeline">
            <option value="">all</option>
            {[...new Set([...names, ...(pipeline ? [pipeline] : [])])].map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <label>
          status{" "}
          <select value={status} onChange={(e) => go({ status: (e.currentTarget as HTMLSelectElement).value })} data-testid="filter-status">
            <option value="">all</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
      </div>
      <RunsTable {...(pipeline ? { pipeline } : {})} {...(status ? { status } : {})} />
    </section>
  );
}
