/**
 * The timeline: one row per step (and per forEach item), one bar per attempt, coloured by
 * how it ended (queued, running, success, retried, fell back, cached, skipped, failed,
 * aborted). Live runs pass `now` so running bars grow.
 */
import type { Bar, BarKind, RunView, StepView } from "../../../src/report/run-view.js";
import { formatDuration } from "./format.js";

export interface TimelineProps {
  view: RunView;
  /** For a live run: the current time, so running bars reach it. */
  now?: number;
  selected?: string;
  onSelect?: (id: string) => void;
  /** Most forEach items shown per step. @default 8 */
  maxItems?: number;
}

export const BAR_LABEL: Record<BarKind, string> = {
  queued: "queued",
  running: "running",
  success: "success",
  retried: "retried",
  fellback: "fell back",
  cached: "cached",
  skipped: "skipped",
  failed: "failed",
  aborted: "aborted",
};

interface Row {
  step: StepView;
  item?: number;
  bars: Bar[];
  more?: number;
}

function rowsOf(view: RunView, maxItems: number): Row[] {
  const rows: Row[] = [];
  for (const id of view.order) {
    const s = view.steps[id]!;
    const items = [...new Set(s.bars.map((b) => b.item).filter((i): i is number => i !== undefined))].sort((a, b) => a - b);
    if (items.length === 0) {
      rows.push({ step: s, bars: s.bars });
      continue;
    }
    rows.push({ step: s, bars: s.bars.filter((b) => b.item === undefined) });
    for (const it of items.slice(0, maxItems)) rows.push({ step: s, item: it, bars: s.bars.filter((b) => b.item === it) });
    if (items.length > maxItems) rows.push({ step: s, bars: [], more: items.length - maxItems });
  }
  return rows;
}

export function Timeline({ view, now, selected, onSelect, maxItems = 8 }: TimelineProps) {
  const t0 = view.startedAt;
  let t1 = Math.max(view.endedAt ?? 0, view.lastTs, now ?? 0);
  for (const s of Object.values(view.steps)) for (const b of s.bars) t1 = Math.max(t1, b.end ?? b.start);
  const span = Math.max(1, t1 - t0);
  const pct = (t: number) => `${(((t - t0) / span) * 100).toFixed(3)}%`;
  const rows = rowsOf(view, maxItems);
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  return (
    <div class="timeline" data-testid="timeline">
      <div class="tl-row tl-axis" aria-hidden="true">
        <div class="tl-label" />
        <div class="tl-track">
          {ticks.map((f) => (
            <span key={f} class="tl-tick" style={{ left: `${f * 100}%` }}>
              {formatDuration(span * f)}
            </span>
          ))}
        </div>
      </div>
      {rows.map((r, i) => (
        <div key={`${r.step.id}-${r.item ?? ""}-${i}`} class={`tl-row${selected === r.step.id ? " selected" : ""}${r.item !== undefined || r.more ? " tl-sub" : ""}`} data-step={r.step.id}>
          <div class="tl-label">
            {r.item !== undefined || r.more ? (
              <span class="muted">{r.more ? `+${r.more} more items` : `item ${r.item}`}</span>
            ) : (
              <button type="button" class={`linklike status-text-${r.step.status}`} onClick={() => onSelect?.(r.step.id)} title={`${r.step.id}: ${r.step.status}`}>
                {r.step.id}
              </button>
            )}
          </div>
          <div class="tl-track">
            {r.bars.map((b, j) => {
              const end = b.end ?? now ?? view.lastTs;
              // A step that did not wait for a slot has a queued bar of no length: not drawn.
              if (b.kind === "queued" && b.end !== undefined && b.end - b.start < 1) return null;
              const mark = b.kind === "cached" || b.kind === "skipped" || end - b.start <= 0;
              const title = [
                `${r.step.id}${b.item !== undefined ? ` [${b.item}]` : ""}: ${BAR_LABEL[b.kind]}`,
                b.model ? `model ${b.model}${b.attempt ? `, attempt ${b.attempt}` : ""}` : "",
                `${formatDuration(b.start - t0)} → ${b.end !== undefined ? formatDuration(b.end - t0) : "now"} (${formatDuration(Math.max(0, end - b.start))})`,
                b.note ?? "",
              ]
                .filter(Boolean)
                .join("\n");
              return (
                <span
                  key={j}
                  class={`tl-bar bar-${b.kind}${mark ? " tl-mark" : ""}`}
                  data-kind={b.kind}
                  style={mark ? { left: pct(b.start) } : { left: pct(b.start), width: `max(3px, ${(((end - b.start) / span) * 100).toFixed(3)}%)` }}
                  title={title}
                >
                  <span class="sr-only">{title}</span>
                </span>
              );
            })}
          </div>
        </div>
      ))}
      <TimelineLegend />
    </div>
  );
}

function TimelineLegend() {
  return (
    <div class="legend">
      {(Object.keys(BAR_LABEL) as BarKind[]).map((k) => (
        <span key={k} class="legend-item">
          <span class={`legend-bar bar-${k}`} /> {BAR_LABEL[k]}
        </span>
      ))}
    </div>
  );
}
