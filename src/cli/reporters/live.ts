/**
 * The terminal view: one line per step (state, model, time), redrawn in place (log-update)
 * while the run goes on. Retries, fallbacks and failures are printed above it as they happen.
 *
 * Streamed steps (`mcp run --stream` on a terminal, `streamTo()`): their text is printed
 * above the rows too, as it arrives; finished lines stay, and the line being written is
 * the first line of the redrawn block, so the rows keep showing the other steps.
 */
import type { Writable } from "node:stream";
import { createLogUpdate } from "log-update";
import type { RunEvent, RunObserver, StepStatus } from "../../events/event.js";
import { formatDuration } from "../../util/duration.js";
import { unreachable } from "../../util/unreachable.js";
import { paint, statusMark } from "./format.js";
import { PlainReporter } from "./plain.js";
import { answerTextOf } from "../../models/base-model.js";
import { noTextNote } from "./stream.js";

interface Row {
  status: StepStatus;
  model?: string;
  started?: number;
  ms?: number;
  note?: string;
}

export class LiveReporter implements RunObserver {
  readonly #rows = new Map<string, Row>();
  readonly #plain: PlainReporter;
  readonly #view: ReturnType<typeof createLogUpdate>;
  #timer: NodeJS.Timeout | undefined;
  /** Steps whose text this view prints (streamTo), the one being written, its unfinished line. */
  #streamSteps: ReadonlySet<string> = new Set();
  #streaming: string | undefined;
  #tail = "";
  #streamedSteps = new Set<string>();

  constructor(
    readonly out: Writable & { columns?: number },
    readonly color = true,
  ) {
    this.#plain = new PlainReporter(out, color);
    // The cursor stays as it is: log-update would hide it through process.stderr, not `out`.
    this.#view = createLogUpdate(out, { showCursor: true, defaultWidth: 100 });
  }

  /** Prints the text of these steps as it arrives (step.delta), above the rows. */
  streamTo(steps: readonly string[]): this {
    this.#streamSteps = new Set(steps);
    return this;
  }

  onEvent(e: RunEvent): void {
    if (this.#streamSteps.size) this.#stream(e);
    switch (e.type) {
      case "run.started":
        for (const id of e.steps) this.#rows.set(id, { status: "pending" });
        this.#timer = setInterval(() => this.#draw(), 100);
        this.#timer.unref();
        break;
      case "step.queued":
        this.#set(e.stepId, { status: "queued" });
        break;
      case "step.started":
        this.#set(e.stepId, { status: "running", model: e.model, started: this.#rows.get(e.stepId)?.started ?? e.ts });
        this.#nestedStarted(e.stepId, e.ts);
        break;
      case "step.finished":
        this.#set(e.stepId, { status: "success", ...(e.model ? { model: e.model } : {}), ms: e.durationMs, note: e.resumed ? "resumed" : e.cached ? "cached" : "" });
        break;
      case "step.skipped":
        this.#set(e.stepId, { status: "skipped", note: e.reason });
        break;
      case "step.failed":
        this.#set(e.stepId, { status: "failed", ms: e.durationMs });
        this.#above(e);
        break;
      case "step.aborted":
        this.#set(e.stepId, { status: "aborted" });
        break;
      case "step.iteration":
        this.#set(e.stepId, { note: `iteration ${e.iteration}/${e.max}${e.done ? ", until holds" : ""}` });
        break;
      case "step.waiting":
        this.#set(e.stepId, { status: "waiting", note: "waits for approval" });
        this.#above(e);
        break;
      case "step.attempt_failed":
      case "step.fell_back":
      case "model.throttled":
      case "model.limit_wait":
      case "model.breaker":
        this.#above(e);
        break;
      case "run.finished":
        if (this.#timer) clearInterval(this.#timer);
        this.#draw();
        this.#view.done();
        break;
      case "step.cache":
      case "step.progress":
      case "step.delta":
        break;
      default:
        unreachable(e);
    }
  }

  #stream(e: RunEvent): void {
    if (e.type === "step.delta" && this.#streamSteps.has(e.stepId)) {
      this.#streamedSteps.add(e.stepId);
      this.#text(e.stepId, e.text);
    } else if (e.type === "step.attempt_failed" && this.#streaming === e.stepId) {
      this.#endText();
      this.#streamedSteps.delete(e.stepId);
    } else if (e.type === "step.iteration" && this.#streaming === e.stepId) {
      // Each iteration of a loop is an answer of its own: one line each, as without a terminal.
      this.#endText();
    } else if (e.type === "step.finished" && this.#streamSteps.has(e.stepId)) {
      if (!this.#streamedSteps.has(e.stepId)) {
        const text = answerTextOf(e.output);
        if (text !== undefined) this.#text(e.stepId, text);
        else {
          // A data answer: nothing to stream, said once above the rows.
          if (this.#streaming !== undefined) this.#endText();
          this.#view.clear();
          this.out.write(noTextNote(e) + "\n");
          this.#draw();
        }
      }
      if (this.#streaming === e.stepId) this.#endText();
    } else if (e.type === "run.finished" && this.#streaming !== undefined) {
      this.#endText();
    }
  }

  /** Adds streamed text: whole lines (and lines as wide as the terminal) are printed for good. */
  #text(stepId: string, text: string): void {
    if (this.#streaming !== stepId) {
      if (this.#streaming !== undefined) this.#endText();
      this.#streaming = stepId;
      if (this.#streamSteps.size > 1) this.#tail = `[${stepId}] `;
    }
    this.#tail += text;
    const width = Math.max(10, (this.out.columns ?? 100) - 1);
    const done: string[] = [];
    for (;;) {
      const nl = this.#tail.indexOf("\n");
      if (nl >= 0 && nl <= width) {
        done.push(this.#tail.slice(0, nl));
        this.#tail = this.#tail.slice(nl + 1);
      } else if ([...this.#tail].length > width) {
        const chars = [...this.#tail];
        done.push(chars.slice(0, width).join(""));
        this.#tail = chars.slice(width).join("");
      } else break;
    }
    this.#view.clear();
    if (done.length) this.out.write(done.join("\n") + "\n");
    this.#draw();
  }

  #endText(): void {
    this.#view.clear();
    if (this.#tail !== "") this.out.write(this.#tail + "\n");
    this.#tail = "";
    this.#streaming = undefined;
    this.#draw();
  }

  dispose(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#view.done();
  }

  /** A step of a sub-pipeline (`summary/extract`) started: the steps around it run too. */
  #nestedStarted(id: string, ts: number): void {
    for (let i = id.lastIndexOf("/"); i > 0; i = id.lastIndexOf("/", i - 1)) {
      const outer = id.slice(0, i).replace(/(#\d+|\[\d+\])+$/, "");
      const row = this.#rows.get(outer);
      if (row && (row.status === "pending" || row.status === "queued")) this.#set(outer, { status: "running", started: ts });
    }
  }

  #set(id: string, patch: Partial<Row>): void {
    this.#rows.set(id, { ...this.#rows.get(id), ...patch } as Row);
  }

  #above(e: RunEvent): void {
    this.#view.clear();
    this.#plain.onEvent(e);
    this.#draw();
  }

  #draw(): void {
    const width = this.out.columns ?? 100;
    const idw = Math.min(30, Math.max(4, ...[...this.#rows.keys()].map((k) => k.length)));
    const lines: string[] = this.#tail !== "" ? [this.#tail] : [];
    const now = Date.now();
    for (const [id, r] of this.#rows) {
      const ms = r.ms ?? (r.started !== undefined && r.status === "running" ? now - r.started : undefined);
      // Cut to the terminal's width before painting, so a row never wraps.
      const cells = `${id.padEnd(idw)}  ${(r.model ?? "").padEnd(14)} ${ms !== undefined ? formatDuration(ms) : ""} `.slice(0, Math.max(0, width - 2));
      const note = (r.note ?? "").slice(0, Math.max(0, width - 2 - cells.length));
      lines.push(`${statusMark(r.status, this.color)} ${cells}${note ? paint(this.color, "2", note) : ""}`.trimEnd());
    }
    if (lines.length) this.#view(lines.join("\n"));
  }
}
