/**
 * The yaml package's syntax errors as diagnostics: one per place (the parser may report
 * several), at most MAX_SYNTAX_ERRORS then a count of the rest, and an unquoted expression
 * that broke the YAML (`${{ }}` or a bare `when:`/`forEach:`/`until:`) as MCP203 at the
 * expression, with the quotes that fix it, instead of the errors that cascade from it.
 */
import type { YAMLError } from "yaml";
import { error, type Diagnostic, type Location } from "../diagnostics/diagnostic.js";

const TEMPLATE_HINT = "quote this value: YAML reads '{', '}', ': ' and '#' in a plain value as syntax, e.g. key: \"${{ expr }}\"";

/** At most this many YAML syntax errors are reported per file; the rest are counted. */
const MAX_SYNTAX_ERRORS = 20;

export function syntaxDiagnostics(path: string, text: string, errors: readonly YAMLError[], maxDepth: number): Diagnostic[] {
  const out: Diagnostic[] = [];
  const report = (d: Diagnostic): void => void out.push(d);
  const at = (offset: number, length = 0): Location => ({ file: path, offset, length });
  const exprLinesReported = new Set<number>();
  let syntaxErrors = 0;
  const syntaxPlaces = new Set<number>();
  // After an unquoted expression has broken a flow mapping, the parser is out of step with
  // the text and every later line yields an error that goes away with the quotes.
  let cascadeAfter = Infinity;
  for (const e of errors) {
    const [start, end] = e.pos;
    if (/call stack/i.test(e.message)) {
      report(error("MCP003", `nesting is deeper than ${maxDepth} levels`, at(start, 1), { hint: DEPTH_HINT }));
      continue;
    }
    const lineStart = text.lastIndexOf("\n", start - 1) + 1;
    const lineText = lineOf(text, start);
    // An unquoted expression that broke the line: a `${{ }}` (one that is quoted on its line
    // did not cause an error after the first one), else a bare one (`when:`, `forEach:`,
    // `until:`) unquoted in a flow mapping or holding ': '. Quotes fix either.
    const quoted = /["'][^"']*\$\{\{/.test(lineText);
    const expr =
      lineText.includes("${{") && !(quoted && start > cascadeAfter)
        ? { location: expressionOnLine(path, lineText, lineStart, start), hint: TEMPLATE_HINT }
        : start > cascadeAfter
          ? undefined
          : bareExpressionOnLine(path, lineText, lineStart, start);
    if (expr) {
      // One unquoted expression makes YAML report several errors on its line; one is enough.
      if (exprLinesReported.has(lineStart)) continue;
      exprLinesReported.add(lineStart);
      cascadeAfter = Math.min(cascadeAfter, start);
      if (++syntaxErrors > MAX_SYNTAX_ERRORS) continue;
      report(error("MCP203", `YAML cannot read this unquoted expression (${lowerFirst(cleanYamlMessage(e.message))})`, expr.location, { hint: expr.hint }));
      continue;
    }
    // The parser may report several errors at one place; one is listed (or counted).
    if (start > cascadeAfter || syntaxPlaces.has(start)) continue;
    syntaxPlaces.add(start);
    if (++syntaxErrors > MAX_SYNTAX_ERRORS) continue;
    report(error("MCP001", cleanYamlMessage(e.message), at(start, Math.max(0, end - start))));
  }
  if (syntaxErrors > MAX_SYNTAX_ERRORS) {
    report(error("MCP001", `${syntaxErrors - MAX_SYNTAX_ERRORS} more YAML syntax errors not shown`, at(text.length)));
  }
  return out;
}

export const DEPTH_HINT = "flatten the structure; deeply nested values are refused to protect the parser";

/** The `${{ ... }}` on a line that a YAML error at `errorAt` is about. */
function expressionOnLine(path: string, lineText: string, lineStart: number, errorAt: number): Location {
  let best = -1;
  for (let k = lineText.indexOf("${{"); k !== -1; k = lineText.indexOf("${{", k + 3)) {
    if (best === -1 || lineStart + k <= errorAt) best = k;
  }
  const close = lineText.indexOf("}}", best + 3);
  const end = close === -1 ? lineText.length : close + 2;
  return { file: path, offset: lineStart + best, length: end - best };
}

/** Keys whose values are bare JSONata (no `${{ }}`), written unquoted: `when: $x > 1`. */
const BARE_EXPRESSION = /(?:^|[\s{,])(when|forEach|until)\s*:[ \t]+(?=[^\s"'|>&*!])/g;

/** The unquoted bare expression on this line that a YAML error at `errorAt` falls in, if any. */
function bareExpressionOnLine(path: string, lineText: string, lineStart: number, errorAt: number): { location: Location; hint: string } | undefined {
  let found: { key: string; at: number } | undefined;
  for (const m of lineText.matchAll(BARE_EXPRESSION)) {
    const at = m.index + m[0].length;
    if (lineStart + at <= errorAt) found = { key: m[1]!, at };
  }
  if (!found) return undefined;
  // To the end of the line, less a comment-free trailing `}` closing the flow mapping.
  const text = lineText.slice(found.at).replace(/[\s}]+$/, "");
  if (text === "") return undefined;
  return {
    location: { file: path, offset: lineStart + found.at, length: text.length },
    hint: `quote this value: YAML reads ',', '[', ']', '{', '}' inside { ... }, and ': ' and ' #' anywhere, in a plain value as syntax${quotedExample(found.key, text)}`,
  };
}

/** `, e.g. key: '<text>'` in the quotes the text does not hold, or nothing when it holds both. */
function quotedExample(key: string, text: string): string {
  if (!text.includes("'")) return `, e.g. ${key}: '${text}'`;
  if (!text.includes('"')) return `, e.g. ${key}: "${text}"`;
  return "";
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

function lineOf(text: string, offset: number): string {
  const start = text.lastIndexOf("\n", offset - 1) + 1;
  const end = text.indexOf("\n", offset);
  return text.slice(start, end === -1 ? undefined : end);
}

/** yaml's messages end with "at line X, column Y" in some versions; our prefix says that already. */
function cleanYamlMessage(msg: string): string {
  return msg.replace(/ at line \d+, column \d+:?[\s\S]*$/, "").trim();
}
