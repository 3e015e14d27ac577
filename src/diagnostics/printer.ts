/** Renders diagnostics as compiler-style text, JSON, or GitHub Actions annotations. */
import type { Diagnostic } from "./diagnostic.js";
import type { SourceMap } from "./source.js";
import { unreachable } from "../util/unreachable.js";

export type DiagnosticFormat = "text" | "json" | "github";

export interface PrintOptions {
  color?: boolean;
  /** Show the source line with a squiggle under the range. @default true */
  excerpt?: boolean;
}

const paint = (on: boolean, code: string, s: string) => (on ? `\u001b[${code}m${s}\u001b[0m` : s);

function where(d: { location?: Diagnostic["location"] }, sources: SourceMap): string {
  if (!d.location) return "";
  const src = sources.get(d.location.file);
  if (!src) return `${d.location.file}: `;
  const { line, col } = src.position(d.location.offset);
  return `${d.location.file}:${line}:${col}: `;
}

/** `file:line:col: error CODE: message`, the first line of every text diagnostic. */
export function formatHeadline(d: Diagnostic, sources: SourceMap, color = false): string {
  const sev = paint(color, d.severity === "error" ? "1;31" : "1;33", d.severity);
  return `${where(d, sources)}${sev} ${d.code}: ${d.message}`;
}

function squiggle(d: Diagnostic, sources: SourceMap, color: boolean): string[] {
  if (!d.location) return [];
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
    const pos = d.location ? sources.get(d.location.file)?.position(d.location.offset) : undefined;
    return {
      severity: d.severity,
      code: d.code,
      message: d.message,
      ...(d.location ? { file: d.location.file, ...(pos ?? {}), offset: d.location.offset, length: d.location.length } : {}),
      ...(d.hint ? { hint: d.hint } : {}),
      ...(d.related?.length
        ? {
            related: d.related.map((r) => ({
              message: r.message,
              ...(r.location ? { file: r.location.file, ...(sources.get(r.location.file)?.position(r.location.offset) ?? {}) } : {}),
            })),
          }
        : {}),
    };
  });
}

/** GitHub Actions workflow commands; data is escaped as the runner expects. */
export function formatGithub(diagnostics: readonly Diagnostic[], sources: SourceMap): string {
  const esc = (s: string) => s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
  const escProp = (s: string) => esc(s).replace(/:/g, "%3A").replace(/,/g, "%2C");
  return diagnostics
    .map((d) => {
      const props: string[] = [];
      if (d.location) {
        props.push(`file=${escProp(d.location.file)}`);
        const pos = sources.get(d.location.file)?.position(d.location.offset);
        if (pos) props.push(`line=${pos.line}`, `col=${pos.col}`);
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
      return formatGithub(diagnostics, sources);
    default:
      return unreachable(format);
  }
}
