/** The data a self-contained HTML report carries (inline JSON), read by its inline script. */
import type { RunEvent } from "../events/event.js";
import type { RunReport } from "../events/report.js";
import type { LaidOutGraph } from "./graph-layout.js";

export interface ReportData {
  kind: "mcp-run-report";
  version: 1;
  /** The pipeline's DAG with its layout; undefined when the pipeline file could not be loaded. */
  graph?: LaidOutGraph;
  /** The run's events, in order: the timeline is folded from them. */
  events: RunEvent[];
  /** The run's final report, when it ended (tokens, cost, attempts' own durations). */
  report?: RunReport;
  /** Where the events came from: recorded while running, or rebuilt from the journal. */
  source: "events" | "journal";
  /** When the file was written, ms since the epoch. */
  generatedAt: number;
  /** Notes shown at the top (e.g. the pipeline changed since the run). */
  notes: string[];
}
