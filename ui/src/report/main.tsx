/**
 * The script inlined into every HTML run report: reads the JSON in <script id="mcp-data">,
 * folds the events into a RunView and draws the summary, DAG, timeline and every step.
 */
import { render } from "preact";
import { useState } from "preact/hooks";
import type { ReportData } from "../../../src/report/report-data.js";
import { buildRunView } from "../../../src/report/run-view.js";
import { Graph } from "../components/graph.js";
import { RunSummary } from "../components/run-summary.js";
import { StepDetails } from "../components/step-details.js";
import { Timeline } from "../components/timeline.js";
import { ThemeToggle } from "../components/theme.js";
import { formatJson, formatTime } from "../components/format.js";
import "../styles.css";

function Report({ data }: { data: ReportData }) {
  const view = buildRunView(data.events, data.report);
  const [selected, setSelected] = useState<string | undefined>();
  const select = (id: string) => {
    setSelected(id);
    const el = document.getElementById(`step-${id}`) as HTMLDetailsElement | null;
    if (el) {
      el.open = true;
      el.scrollIntoView({ block: "nearest" });
    }
  };
  const statuses = Object.fromEntries(Object.values(view.steps).map((s) => [s.id, s.status]));
  return (
    <>
      <header class="topbar">
        <h1>
          {view.pipeline} <span class="muted">run report</span>
        </h1>
        <ThemeToggle />
      </header>
      <main>
        {data.notes.map((n, i) => (
          <p key={i} class="note">
            {n}
          </p>
        ))}
        <RunSummary view={view} {...(data.report ? { report: data.report } : {})} />
        {data.graph ? (
          <section>
            <h2>Graph</h2>
            <Graph graph={data.graph} statuses={statuses} {...(selected ? { selected } : {})} onSelect={select} height={Math.min(560, Math.max(220, data.graph.layout.height + 24))} />
          </section>
        ) : null}
        <section>
          <h2>Timeline</h2>
          <Timeline view={view} {...(selected ? { selected } : {})} onSelect={select} />
        </section>
        <section>
          <h2>Steps</h2>
          {view.order.map((id) => (
            <StepDetails key={id} step={view.steps[id]!} open={selected === id} />
          ))}
        </section>
        {view.output !== undefined ? (
          <section>
            <h2>Output</h2>
            <pre>{formatJson(view.output)}</pre>
          </section>
        ) : null}
        <footer class="muted">
          Written by mcp at {formatTime(data.generatedAt)} from the run's {data.source === "events" ? "events" : "journal"}. This file is self-contained: no network.
        </footer>
      </main>
    </>
  );
}

const el = document.getElementById("mcp-data");
const root = document.getElementById("app");
if (el && root) {
  const data = JSON.parse(el.textContent ?? "{}") as ReportData;
  render(<Report data={data} />, root);
}
