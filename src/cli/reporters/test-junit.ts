/**
 * JUnit XML for CI test views (GitHub, GitLab, Jenkins, Azure, CircleCI): one <testsuite>
 * per test file, one <testcase> per case, a <failure> with every failed assertion (its
 * file:line, expected vs actual and diff), <error> for a case that could not run,
 * <skipped/> for a skipped one. Written by hand with full escaping (and characters XML
 * forbids removed); the tests read it back with an XML parser.
 */
import type { CaseResult, TestSummary } from "../../testing/results.js";
import { failureText } from "./test-terminal.js";

/** Text safe inside an XML attribute or element. */
export function xmlEscape(s: string): string {
  return (
    s
      // Characters XML 1.0 does not allow at all (C0 controls other than tab, LF, CR; lone surrogates; U+FFFE/FFFF).
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "")
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;")
      .replace(/'/g, "&apos;")
  );
}

const seconds = (ms: number) => (ms / 1000).toFixed(3);

function testcase(c: CaseResult): string[] {
  const attrs = `name="${xmlEscape(c.name)}" classname="${xmlEscape(`${c.suite} (${c.pipeline})`)}" time="${seconds(c.durationMs)}" file="${xmlEscape(c.where.file)}" line="${c.where.line}"`;
  const body: string[] = [];
  if (c.status === "skipped") body.push("      <skipped/>");
  else if (c.status === "error") body.push(`      <error message="${xmlEscape(c.error?.message ?? "the case could not run")}" type="error">${xmlEscape(failureText(c))}</error>`);
  else if (c.status === "failed") {
    const first = c.assertions.find((a) => !a.passed);
    const message = first ? `${first.message} (${first.where.file}:${first.where.line})` : (c.error?.message ?? "failed");
    body.push(`      <failure message="${xmlEscape(message)}" type="${xmlEscape(first?.kind ?? "assertion")}">${xmlEscape(failureText(c))}</failure>`);
  }
  body.push(`      <system-out>${xmlEscape(`runs: ${c.runIds.join(", ") || "none"}; tokens: ${c.tokens}; cost: ${c.cost}`)}</system-out>`);
  return [`    <testcase ${attrs}>`, ...body, "    </testcase>"];
}

export function junitXml(s: TestSummary, timestamp = new Date()): string {
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="mcp test" tests="${s.cases}" failures="${s.failed - s.errors}" errors="${s.errors}" skipped="${s.skipped}" time="${seconds(s.durationMs)}">`,
  ];
  for (const suite of s.suites) {
    const f = suite.cases.filter((c) => c.status === "failed").length;
    const e = suite.cases.filter((c) => c.status === "error").length;
    const k = suite.cases.filter((c) => c.status === "skipped").length;
    lines.push(
      `  <testsuite name="${xmlEscape(suite.file)}" tests="${suite.cases.length}" failures="${f}" errors="${e}" skipped="${k}" time="${seconds(suite.durationMs)}" timestamp="${timestamp.toISOString().replace(/\.\d+Z$/, "")}" file="${xmlEscape(suite.file)}">`,
    );
    lines.push(
      `    <properties><property name="pipeline" value="${xmlEscape(suite.pipeline)}"/>${suite.recording && suite.recording.replayed + suite.recording.recorded > 0 ? `<property name="recording" value="${xmlEscape(suite.recording.path)}"/>` : ""}</properties>`,
    );
    for (const c of suite.cases) lines.push(...testcase(c));
    lines.push("  </testsuite>");
  }
  lines.push("</testsuites>");
  return lines.join("\n") + "\n";
}
