/**
 * Writes a run's reports: the self-contained HTML file (`--report F.html`) and, when
 * `GITHUB_STEP_SUMMARY` names a file, a Markdown summary appended to it. Both are drawn
 * from the run's events (recorded while it ran, or rebuilt from the journal).
 */
import { appendFileSync, writeFileSync } from "node:fs";
import { makeDirs } from "../util/make-dirs.js";
import { dirname } from "node:path";
import type { CompiledPipeline } from "../compiler/types.js";
import { renderGraph } from "../compiler/render.js";
import type { RunEvent, RunObserver } from "../events/event.js";
import type { RunReport } from "../events/report.js";
import { layoutGraph } from "./graph-layout.js";
import { graphModel } from "./graph-model.js";
import { renderHtmlReport } from "./html-report.js";
import { markdownSummary } from "./markdown-summary.js";
import type { ReportData } from "./report-data.js";
import { buildRunView } from "./run-view.js";

/** Keeps every event of a run, for the report written when it ends. */
export class EventRecorder implements RunObserver {
  readonly events: RunEvent[] = [];
  onEvent(event: RunEvent): void {
    this.events.push(event);
  }
}

export interface WriteReportOptions {
  /** The HTML file to write, if any. */
  htmlFile?: string;
  /** Append a Markdown summary to this file (the value of GITHUB_STEP_SUMMARY), if set. */
  summaryFile?: string;
  /** The pipeline, for the DAG; without it the report has the timeline and steps only. */
  pipeline?: CompiledPipeline;
  events: RunEvent[];
  report?: RunReport;
  source: ReportData["source"];
  notes?: string[];
}

/** Builds the report's data: the laid-out graph, the events, the report. */
export async function reportData(o: WriteReportOptions): Promise<ReportData> {
  return {
    kind: "mcp-run-report",
    version: 1,
    ...(o.pipeline ? { graph: await layoutGraph(graphModel(o.pipeline)) } : {}),
    events: o.events,
    ...(o.report ? { report: o.report } : {}),
    source: o.source,
    generatedAt: Date.now(),
    notes: o.notes ?? [],
  };
}

/** Writes what `o` asks for; returns the files written. */
export async function writeRunReports(o: WriteReportOptions): Promise<string[]> {
  const written: string[] = [];
  if (o.htmlFile) {
    const html = renderHtmlReport(await reportData(o));
    makeDirs(dirname(o.htmlFile));
    writeFileSync(o.htmlFile, html);
    written.push(o.htmlFile);
  }
  if (o.summaryFile) {
    const view = buildRunView(o.events, o.report);
    appendFileSync(o.summaryFile, markdownSummary(view, o.report, o.pipeline ? renderGraph(o.pipeline, "mermaid") : undefined, o.htmlFile));
    written.push(o.summaryFile);
  }
  return written;
}
