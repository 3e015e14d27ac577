/**
 * The terminal reporter of `mcp test` (default), and its GitHub Actions flavour (github):
 * a line per case as it finishes, the failures in full at the end (case, assertion, file:line,
 * expected vs actual with a diff), and the summary. The github flavour adds an `::error`
 * annotation at each failed assertion's line, shown on the pull request's diff.
 */
import type { Writable } from "node:stream";
import type { AssertionResult, CaseResult, TestObserver, TestSummary } from "../../testing/results.js";
import { formatCost, paint } from "./format.js";
import { formatDuration } from "../../util/duration.js";
import { writeLine } from "../io.js";

export interface TerminalReporterOptions {
  color: boolean;
  /** Print ::error annotations (GitHub Actions). */
  github?: boolean;
  /** Do not print passing cases. */
  quiet?: boolean;
}

/** `file:line:col` of an assertion. */
export function whereText(w: { file: string; line: number; col: number }): string {
  return `${w.file}:${w.line}:${w.col}`;
}

/** The full text of a failed case: each failed assertion with its place and diff. */
export function failureText(c: CaseResult, color = false): string {
  const lines: string[] = [];
  if (c.error) lines.push(`  ${paint(color, "31", "error")}: ${c.error.message}${c.error.where ? `\n    at ${whereText(c.error.where)}` : ""}`);
  for (const a of c.assertions.filter((x) => !x.passed)) lines.push(...assertionLines(a, color));
  return lines.join("\n");
}

function assertionLines(a: AssertionResult, color: boolean): string[] {
  const head = `${a.turn !== undefined ? `turn ${a.turn + 1}: ` : ""}${a.name ? `${a.name}: ` : ""}${a.kind}`;
  const out = [`  ${paint(color, "31", "✗")} ${head}: ${a.message}`, `    at ${whereText(a.where)}`];
  if (a.diff) out.push(...a.diff.split("\n").map((l) => `      ${color ? (l.startsWith("- ") ? paint(true, "32", l) : l.startsWith("+ ") ? paint(true, "31", l) : l) : l}`));
  return out;
}

/** `%`, CR, LF (and in properties `:` and `,`) escaped as GitHub's workflow commands need. */
export function githubEscape(s: string, property = false): string {
  let e = s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
  if (property) e = e.replace(/:/g, "%3A").replace(/,/g, "%2C");
  return e;
}

export function summaryLines(s: TestSummary, color = false): string[] {
  const parts = [`${s.passed} passed`, `${s.failed} failed`];
  if (s.skipped) parts.push(`${s.skipped} skipped`);
  const line = `Tests: ${parts.join(", ")}`;
  return [
    s.failed ? paint(color, "1;31", line) : paint(color, "1;32", line),
    `cases: ${s.cases} (${s.suites.length} suite${s.suites.length === 1 ? "" : "s"})${s.errors ? `, ${s.errors} could not run` : ""} · tokens: ${s.tokens} · cost: ${formatCost(s.cost)} · time: ${formatDuration(s.durationMs)}${s.bailed ? " · stopped early (--bail)" : ""}`,
  ];
}

export class TerminalTestReporter implements TestObserver {
  readonly #out: Writable;
  readonly #opts: TerminalReporterOptions;
  readonly #failed: CaseResult[] = [];

  constructor(out: Writable, opts: TerminalReporterOptions) {
    this.#out = out;
    this.#opts = opts;
  }

  caseFinished(c: CaseResult): void {
    const color = this.#opts.color;
    const mark = c.status === "passed" ? paint(color, "32", "✓") : c.status === "skipped" ? paint(color, "2", "-") : paint(color, "31", "✗");
    if (c.status === "failed" || c.status === "error") this.#failed.push(c);
    if (this.#opts.quiet && c.status === "passed") return;
    const checks = c.assertions.length;
    const bad = c.assertions.filter((a) => !a.passed).length;
    const detail = c.status === "skipped" ? "skipped" : c.status === "error" ? "could not run" : bad ? `${bad} of ${checks} checks failed` : `${checks} check${checks === 1 ? "" : "s"}`;
    writeLine(this.#out, ` ${mark} ${c.suite} > ${c.name} ${paint(color, "2", `(${detail}, ${formatDuration(c.durationMs)})`)}`);
  }

  finished(s: TestSummary): void {
    const color = this.#opts.color;
    if (this.#failed.length) {
      writeLine(this.#out, "");
      writeLine(this.#out, paint(color, "1;31", `Failures (${this.#failed.length}):`));
      for (const c of this.#failed) {
        writeLine(this.#out, "");
        writeLine(this.#out, `${paint(color, "1", `${c.suite} > ${c.name}`)}  ${paint(color, "2", `(${whereText(c.where)})`)}`);
        writeLine(this.#out, failureText(c, color));
      }
    }
    if (this.#opts.github) {
      for (const c of this.#failed) {
        if (c.error) {
          const w = c.error.where ?? c.where;
          writeLine(this.#out, `::error file=${githubEscape(w.file, true)},line=${w.line},col=${w.col},title=${githubEscape(`mcp test: ${c.name}`, true)}::${githubEscape(c.error.message)}`);
        }
        for (const a of c.assertions.filter((x) => !x.passed)) {
          const body = a.diff ? `${a.message}\n${a.diff}` : a.message;
          writeLine(
            this.#out,
            `::error file=${githubEscape(a.where.file, true)},line=${a.where.line},col=${a.where.col},title=${githubEscape(`mcp test: ${c.name} (${a.kind})`, true)}::${githubEscape(body)}`,
          );
        }
      }
    }
    writeLine(this.#out, "");
    for (const l of summaryLines(s, color)) writeLine(this.#out, l);
  }
}
