/**
 * Where an expression's text is in its file, made on demand. A pipeline holds thousands of
 * expressions whose locations are only needed for a diagnostic, so a compiled expression
 * keeps two fields, `where` and `at`, and the Location is made from them when asked for.
 */
import type { Location } from "../diagnostics/diagnostic.js";

/**
 * The Location an expression was compiled with, or (compileAt) the file whose text at `at`
 * is a verbatim copy of the expression.
 */
export type TextPlace = Location | string | undefined;

/** Where the expression `source` is written: its text without surrounding spaces. */
export function locationOf(where: TextPlace, at: number, source: string): Location | undefined {
  if (typeof where !== "string") return where;
  const lead = source.length - source.trimStart().length;
  return { file: where, offset: at + lead, length: source.trim().length };
}

/**
 * The file location of `length` characters at `offset` in the text, when the expression's
 * place is a file and offset (compileAt); undefined otherwise.
 */
export function locateInText(where: TextPlace, at: number, offset: number, length: number): Location | undefined {
  return typeof where === "string" ? { file: where, offset: at + offset, length } : undefined;
}
