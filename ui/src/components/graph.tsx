/**
 * The DAG, drawn from a layout computed on the server (elkjs, layered): steps coloured by
 * kind (their model's provider), `$steps` references as solid edges and `needs` as dashed,
 * forEach steps as a stack and `when` steps with a "?" badge and a dashed border. Pan with
 * drag or the arrow keys, zoom with the wheel or + and -, 0 fits the graph.
 */
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { StepStatus } from "../../../src/events/event.js";
import type { LaidOutGraph } from "../../../src/report/graph-layout.js";

export interface GraphProps {
  graph: LaidOutGraph;
  /** Step statuses of a run, to outline each step. */
  statuses?: Record<string, StepStatus>;
  selected?: string;
  onSelect?: (id: string) => void;
  /** Height of the viewport in px. @default 480 */
  height?: number;
}

interface View {
  x: number;
  y: number;
  k: number;
}

/** The smallest zoom at which step names stay legible. */
const MIN_READABLE = 0.5;

const KINDS = ["nlp", "openai", "anthropic", "http", "mock", "module", "none"];

export function kindClass(kind: string): string {
  return `kind-${KINDS.includes(kind) ? kind : "other"}`;
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

export function Graph({ graph, statuses, selected, onSelect, height = 480 }: GraphProps) {
  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(800);
  const { layout } = graph;
  /**
   * The whole graph in view; at first (`readable`), never so small that labels cannot be
   * read: a large graph then opens at its top, to be panned.
   */
  const fit = (w: number, readable = false): View => {
    const k = Math.max(0.05, Math.min(1, (w - 16) / Math.max(1, layout.width), (height - 16) / Math.max(1, layout.height)));
    if (readable && k < MIN_READABLE) {
      const x = layout.width * MIN_READABLE < w ? (w - layout.width * MIN_READABLE) / 2 : 8;
      return { k: MIN_READABLE, x, y: 8 };
    }
    return { k, x: (w - layout.width * k) / 2, y: Math.max(8, (height - layout.height * k) / 2) };
  };
  const [view, setView] = useState<View>(() => fit(800, true));
  const drag = useRef<{ px: number; py: number; x: number; y: number } | null>(null);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const w = el.clientWidth || 800;
    setWidth(w);
    setView(fit(w, true));
    const ro = typeof ResizeObserver !== "undefined" ? new ResizeObserver(() => setWidth(el.clientWidth || 800)) : undefined;
    ro?.observe(el);
    return () => ro?.disconnect();
  }, [graph]);

  const nodeById = useMemo(() => new Map(graph.nodes.map((n) => [n.id, n])), [graph]);
  const zoomAt = (factor: number, cx: number, cy: number) =>
    setView((v) => {
      const k = Math.min(4, Math.max(0.05, v.k * factor));
      const f = k / v.k;
      return { k, x: cx - (cx - v.x) * f, y: cy - (cy - v.y) * f };
    });

  const onWheel = (e: WheelEvent) => {
    e.preventDefault();
    const r = box.current!.getBoundingClientRect();
    zoomAt(e.deltaY < 0 ? 1.15 : 1 / 1.15, e.clientX - r.left, e.clientY - r.top);
  };
  useEffect(() => {
    const el = box.current;
    el?.addEventListener("wheel", onWheel, { passive: false });
    return () => el?.removeEventListener("wheel", onWheel);
  });

  const onKey = (e: KeyboardEvent) => {
    if ((e.target as Element).closest?.(".node")) {
      if (e.key === "Enter" || e.key === " ") return;
    }
    const step = 60;
    const moves: Record<string, [number, number]> = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
    const m = moves[e.key];
    if (m) {
      e.preventDefault();
      setView((v) => ({ ...v, x: v.x + m[0], y: v.y + m[1] }));
    } else if (e.key === "+" || e.key === "=") zoomAt(1.25, width / 2, height / 2);
    else if (e.key === "-") zoomAt(1 / 1.25, width / 2, height / 2);
    else if (e.key === "0") setView(fit(width));
  };

  return (
    <div class="graph">
      <div class="graph-tools">
        <button type="button" onClick={() => zoomAt(1.25, width / 2, height / 2)} aria-label="zoom in">
          +
        </button>
        <button type="button" onClick={() => zoomAt(1 / 1.25, width / 2, height / 2)} aria-label="zoom out">
          −
        </button>
        <button type="button" onClick={() => setView(fit(width))}>
          fit
        </button>
        <span class="muted">{graph.nodes.length} steps · drag or arrow keys to pan, wheel or +/− to zoom, 0 to fit</span>
      </div>
      <div
        class="graph-viewport"
        ref={box}
        style={{ height: `${height}px` }}
        tabIndex={0}
        role="group"
        aria-label={`graph of ${graph.name}`}
        onKeyDown={onKey}
        onPointerDown={(e) => {
          if ((e.target as Element).closest(".node")) return;
          drag.current = { px: e.clientX, py: e.clientY, x: view.x, y: view.y };
          (e.currentTarget as HTMLElement).setPointerCapture?.(e.pointerId);
        }}
        onPointerMove={(e) => {
          const d = drag.current;
          if (d) setView((v) => ({ ...v, x: d.x + e.clientX - d.px, y: d.y + e.clientY - d.py }));
        }}
        onPointerUp={() => (drag.current = null)}
      >
        <svg width="100%" height={height} data-testid="graph-svg">
          <defs>
            <marker id="arrow-ref" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
              <path d="M0,0 L10,5 L0,10 z" class="arrow-ref" />
            </marker>
            <marker id="arrow-needs" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
              <path d="M0,0 L10,5 L0,10 z" class="arrow-needs" />
            </marker>
          </defs>
          <g transform={`translate(${view.x},${view.y}) scale(${view.k})`}>
            {layout.edges.map((e, i) => {
              const kind = graph.edges[i]?.kind ?? "ref";
              const d = e.points.map((p, j) => `${j ? "L" : "M"}${p.x},${p.y}`).join(" ");
              return <path key={`${e.from}-${e.to}`} d={d} class={`edge edge-${kind}`} marker-end={`url(#arrow-${kind})`} data-from={e.from} data-to={e.to} />;
            })}
            {layout.nodes.map((ln) => {
              const n = nodeById.get(ln.id);
              if (!n) return null;
              const status = statuses?.[n.id];
              const cls = ["node", kindClass(n.kind), status ? `status-${status}` : "", n.when ? "has-when" : "", n.forEach ? "has-foreach" : "", selected === n.id ? "selected" : ""].join(" ");
              const title = [
                `${n.id} (${n.kind})`,
                n.model ? `model: ${n.model}${n.fallback.length ? ` → ${n.fallback.join(" → ")}` : ""}` : `capabilities: ${n.capabilities.join(", ")}`,
                n.when ? `when: ${n.when}` : "",
                n.forEach ? `forEach: ${n.forEach}` : "",
                status ? `status: ${status}` : "",
                n.description ?? "",
              ]
                .filter(Boolean)
                .join("\n");
              return (
                <g
                  key={n.id}
                  class={cls}
                  data-step={n.id}
                  transform={`translate(${ln.x},${ln.y})`}
                  tabIndex={onSelect ? 0 : -1}
                  role={onSelect ? "button" : undefined}
                  aria-label={`step ${n.id}${status ? `, ${status}` : ""}`}
                  onClick={() => onSelect?.(n.id)}
                  onKeyDown={(e) => {
                    if (e.key === "Enter" || e.key === " ") {
                      e.preventDefault();
                      onSelect?.(n.id);
                    }
                  }}
                >
                  <title>{title}</title>
                  {n.forEach ? <rect class="stack" x={6} y={-6} width={ln.width} height={ln.height} rx={7} /> : null}
                  <rect class="body" width={ln.width} height={ln.height} rx={7} />
                  <rect class="stripe" width={6} height={ln.height} rx={3} />
                  <text x={14} y={21} class="node-id">
                    {clip(n.id, 22)}
                  </text>
                  <text x={14} y={39} class="node-label">
                    {clip(n.label + (n.fallback.length ? ` +${n.fallback.length}` : ""), 26)}
                  </text>
                  {n.when ? (
                    <g transform={`translate(${ln.width - 14},12)`} class="badge-when">
                      <path d="M0,-8 L8,0 L0,8 L-8,0 z" />
                      <text y={4} text-anchor="middle">
                        ?
                      </text>
                    </g>
                  ) : null}
                  {n.forEach ? (
                    <text x={ln.width - 8} y={ln.height - 8} text-anchor="end" class="badge-foreach">
                      ∀
                    </text>
                  ) : null}
                </g>
              );
            })}
          </g>
        </svg>
      </div>
      <GraphLegend kinds={[...new Set(graph.nodes.map((n) => n.kind))]} />
    </div>
  );
}

function GraphLegend({ kinds }: { kinds: string[] }) {
  return (
    <div class="legend" aria-label="legend">
      {kinds.map((k) => (
        <span key={k} class={`legend-item ${kindClass(k)}`}>
          <span class="swatch" /> {k}
        </span>
      ))}
      <span class="legend-item">
        <svg width="28" height="8">
          <line x1="0" y1="4" x2="28" y2="4" class="edge edge-ref" />
        </svg>{" "}
        reads $steps
      </span>
      <span class="legend-item">
        <svg width="28" height="8">
          <line x1="0" y1="4" x2="28" y2="4" class="edge edge-needs" />
        </svg>{" "}
        needs
      </span>
      <span class="legend-item">? when (may skip)</span>
      <span class="legend-item">∀ forEach (fans out)</span>
    </div>
  );
}
