/**
 * A diagnostic is a user mistake reported as a value, never thrown. Locations are stored as
 * byte offsets into a source text; line and column are computed only when printing.
 */
import type { DiagnosticCode } from "./codes.js";

/** A span of a source file. */
export interface Location {
  /** Path of the file as the user named it (relative paths stay relative). */
  readonly file: string;
  /** Offset of the first character, in UTF-16 code units as JavaScript strings count them. */
  readonly offset: number;
  /** Number of characters covered; 0 points between characters. */
  readonly length: number;
}

/** A secondary location that helps explain a diagnostic (each edge of a cycle, say). */
export interface RelatedInfo {
  readonly message: string;
  readonly location?: Location;
}

export type Severity = "error" | "warning";

export interface Diagnostic {
  readonly severity: Severity;
  readonly code: DiagnosticCode;
  readonly message: string;
  readonly location?: Location;
  /** A suggestion of what to do, printed on its own line. */
  readonly hint?: string;
  readonly related?: readonly RelatedInfo[];
}

/** Either a value or the diagnostics that explain why there is none. */
export type Result<T> = { ok: true; value: T; warnings?: Diagnostic[] } | { ok: false; diagnostics: Diagnostic[] };

export function error(code: DiagnosticCode, message: string, location?: Location, extra: { hint?: string; related?: RelatedInfo[] } = {}): Diagnostic {
  return { severity: "error", code, message, ...(location ? { location } : {}), ...extra };
}

export function warning(code: DiagnosticCode, message: string, location?: Location, extra: { hint?: string; related?: RelatedInfo[] } = {}): Diagnostic {
  return { severity: "warning", code, message, ...(location ? { location } : {}), ...extra };
}

/** The location of a diagnostic about a whole file (too large, unreadable): printed `file:1:1`. */
export function wholeFile(file: string): Location {
  return { file, offset: 0, length: 0 };
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === "error");
}

/** Orders diagnostics by file then position, so output is stable whatever order checks ran in. */
export function sortDiagnostics(diagnostics: Diagnostic[]): Diagnostic[] {
  return diagnostics.sort((a, b) => {
    const fa = a.location?.file ?? "";
    const fb = b.location?.file ?? "";
    if (fa !== fb) return fa < fb ? -1 : 1;
    return (a.location?.offset ?? -1) - (b.location?.offset ?? -1);
  });
}
