/** Renders diagnostics as compiler-style text, JSON, or GitHub Actions annotations. */
import { isAbsolute, relative, sep } from "node:path";
import type { Diagnostic } from "./diagnostic.js";
import type { SourceMap } from "./source.js";
import { unreachable } from "../util/unreachable.js";

export type DiagnosticFormat = "text" | "json" | "github";

export interface PrintOptions {
  color?: boolean;
  /** Show the source line with a squiggle under the range. @default true */
  excerpt?: boolean;
  /** Folder that `github` paths are relative to. @default process.cwd() */
  cwd?: string;
}

const paint = (on: boolean, code: string, s: string) => (on ? `\u001b[${code}m${s}\u001b[0m` : s);

/**
 * Line and column of a location. A file whose text was never read (too large, unreadable,
 * not found) or a run input given on the command line has no source: its diagnostics are
 * about the whole of it, at 1:1, so every diagnostic keeps the `file:line:col` form.
 */
function position(location: NonNullable<Diagnostic["location"]>, sources: SourceMap): { line: number; col: number } {
  return sources.get(location.file)?.position(location.offset) ?? { line: 1, col: 1 };
}

function where(d: { location?: Diagnostic["location"] }, sources: SourceMap): string {
  if (!d.location) return "";
  const { line, col } = position(d.location, sources);
  return `${d.location.file}:${line}:${col}: `;
}

/** `file:line:col: error CODE: message`, the first line of every text diagnostic. */
export function formatHeadline(d: Diagnostic, sources: SourceMap, color = false): string {
  const sev = paint(color, d.severity === "error" ? "1;31" : "1;33", d.severity);
  return `${where(d, sources)}${sev} ${d.code}: ${d.message}`;
}

function squiggle(d: Diagnostic, sources: SourceMap, color: boolean): string[] {
  // No excerpt for what is about a whole file (offset 0, length 0: too large, a summary line).
  if (!d.location || (d.location.offset === 0 && d.location.length === 0)) return [];
  const src = sources.get(d.location.file);
  if (!src) return [];
  const { line, col } = src.position(d.location.offset);
  const text = src.line(line);
  if (text.trim() === "") return [];
  const end = src.position(d.location.offset + Math.max(d.location.length, 1));
  const width = end.line === line ? Math.max(1, end.col - col) : Math.max(1, text.length - col + 1);
  const gutter = `${String(line).padStart(5)} | `;
  return [gutter + text, " ".repeat(gutter.length + col - 1) + paint(color, "31", "~".repeat(width))];
}

export function formatText(diagnostics: readonly Diagnostic[], sources: SourceMap, opts: PrintOptions = {}): string {
  const color = opts.color ?? false;
  const out: string[] = [];
  for (const d of diagnostics) {
    out.push(formatHeadline(d, sources, color));
    if (opts.excerpt !== false) out.push(...squiggle(d, sources, color));
    if (d.hint) out.push(`  ${paint(color, "36", "hint")}: ${d.hint}`);
    for (const r of d.related ?? []) out.push(`  ${where(r, sources)}note: ${r.message}`);
  }
  return out.join("\n");
}

export function toJson(diagnostics: readonly Diagnostic[], sources: SourceMap): object[] {
  return diagnostics.map((d) => {
    return {
      severity: d.severity,
      code: d.code,
      message: d.message,
      ...(d.location ? { file: d.location.file, ...position(d.location, sources), offset: d.location.offset, length: d.location.length } : {}),
      ...(d.hint ? { hint: d.hint } : {}),
      ...(d.related?.length
        ? {
            related: d.related.map((r) => ({
              message: r.message,
              ...(r.location ? { file: r.location.file, ...position(r.location, sources) } : {}),
            })),
          }
        : {}),
    };
  });
}

/**
 * GitHub Actions workflow commands; data is escaped as the runner expects. Paths are made
 * relative to the working folder (the checkout), which is how GitHub attaches an
 * annotation to a file of the diff.
 */
export function formatGithub(diagnostics: readonly Diagnostic[], sources: SourceMap, cwd: string = process.cwd()): string {
  const rel = (file: string) => {
    if (!isAbsolute(file)) return file;
    const r = relative(cwd, file);
    return r && !r.startsWith("..") && !isAbsolute(r) ? r.split(sep).join("/") : file;
  };
  const esc = (s: string) => s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
  const escProp = (s: string) => esc(s).replace(/:/g, "%3A").replace(/,/g, "%2C");
  return diagnostics
    .map((d) => {
      const props: string[] = [];
      if (d.location) {
        props.push(`file=${escProp(rel(d.location.file))}`);
        const pos = position(d.location, sources);
        props.push(`line=${pos.line}`, `col=${pos.col}`);
      }
      props.push(`title=${escProp(d.code)}`);
      const msg = d.hint ? `${d.message} (hint: ${d.hint})` : d.message;
      return `::${d.severity} ${props.join(",")}::${esc(`${d.code}: ${msg}`)}`;
    })
    .join("\n");
}

export function formatDiagnostics(diagnostics: readonly Diagnostic[], sources: SourceMap, format: DiagnosticFormat, opts: PrintOptions = {}): string {
  switch (format) {
    case "text":
      return formatText(diagnostics, sources, opts);
    case "json":
      return JSON.stringify(toJson(diagnostics, sources), null, 2);
    case "github":
      return formatGithub(diagnostics, sources, opts.cwd);
    default:
      return unreachable(format);
  }
}
