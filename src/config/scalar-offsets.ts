/**
 * Maps an offset inside a YAML string value back to an offset in the file. The value and
 * its source differ: quotes, escapes, block-scalar indentation and line folding. Exact
 * where the source is a verbatim copy (plain, quoted without escapes, literal blocks),
 * and a text search otherwise.
 */
import type { Location } from "../diagnostics/diagnostic.js";
import type { JsonPath, ScalarInfo, YamlFile } from "./yaml-file.js";

export type OffsetMapper = (valueOffset: number, length: number) => Location;

/**
 * The file offset of the first character of the string value at `path` when the source is
 * a verbatim copy of the value (plain, or quoted on one line without escapes), so that
 * value offset k is file offset start + k; undefined otherwise.
 */
export function verbatimStart(file: YamlFile, path: JsonPath): number | undefined {
  const scalar = file.scalar(path);
  return scalar && verbatimAt(file.text, scalar);
}

function verbatimAt(text: string, { start, end: valueEnd, value, type }: ScalarInfo): number | undefined {
  // (compared as a slice: String.prototype.startsWith compares a long prompt several times slower)
  if (type === "PLAIN" && valueEnd - start === value.length && text.slice(start, valueEnd) === value) return start;
  if ((type === "QUOTE_DOUBLE" || type === "QUOTE_SINGLE") && valueEnd - start - 2 === value.length && text.slice(start + 1, valueEnd - 1) === value) return start + 1;
  return undefined;
}

export function scalarOffsetMapper(file: YamlFile, path: JsonPath): OffsetMapper {
  const scalar = file.scalar(path);
  // Where the value has no position of its own (computed on first need: for a valid file,
  // never).
  let fallbackLoc: Location | undefined;
  const fallback = (): Location => (fallbackLoc ??= file.locate(path));
  if (!scalar) return () => fallback();
  const { start, end: valueEnd, value, type } = scalar;
  const text = file.text;
  const at = (offset: number, length: number): Location => ({ file: file.path, offset, length });
  // The commonest cases, compared in place: the source is the value, or the value quoted.
  const verbatim = verbatimAt(text, scalar);
  if (verbatim !== undefined) return (off, len) => at(verbatim + off, len);
  const raw = text.slice(start, valueEnd);

  // Where the source is not a verbatim copy (folded lines, escapes over several lines), find
  // the text around the offset in the source: the widest context that occurs exactly once.
  const search = (off: number, len: number): Location => {
    for (const ctx of [24, 12, 6, 2, 0]) {
      const from = Math.max(0, off - ctx);
      const needle = value.slice(from, off + Math.max(len, 1) + ctx);
      if (!needle.trim() || needle.includes("\n")) continue;
      const idx = raw.indexOf(needle);
      if (idx >= 0 && raw.indexOf(needle, idx + 1) === -1) return at(start + idx + (off - from), len);
    }
    const fb = fallback();
    return { ...fb, length: fb.length };
  };

  if ((type === "QUOTE_DOUBLE" || type === "QUOTE_SINGLE") && !raw.includes("\n")) {
    const map = quotedOffsets(raw, type === "QUOTE_DOUBLE");
    if (map.length === value.length + 1) return (off, len) => at(start + (map[off] ?? map[map.length - 1]!), len);
  }
  if (type === "BLOCK_LITERAL") {
    const headerEnd = raw.indexOf("\n");
    if (headerEnd === -1) return search;
    const body = raw.slice(headerEnd + 1);
    const bodyLines = body.split("\n");
    const firstContent = bodyLines.find((l) => l.trim() !== "") ?? "";
    const indent = firstContent.length - firstContent.trimStart().length;
    const lineStarts: number[] = [];
    let pos = start + headerEnd + 1;
    for (const l of bodyLines) {
      lineStarts.push(pos);
      pos += l.length + 1;
    }
    return (off, len) => {
      const before = value.slice(0, off);
      const k = before.split("\n").length - 1;
      const col = off - (before.lastIndexOf("\n") + 1);
      const ls = lineStarts[k];
      return ls === undefined ? search(off, len) : at(ls + indent + col, len);
    };
  }
  return search;
}

/**
 * For a quoted scalar on one line, the source offset (from the opening quote) of each
 * character of its value, plus one for the end: escapes (\\t, \\u00e9, '') take several
 * source characters for one of the value.
 */
function quotedOffsets(raw: string, double: boolean): number[] {
  const out: number[] = [];
  let i = 1;
  const end = raw.length - 1;
  while (i < end) {
    out.push(i);
    if (double && raw[i] === "\\") {
      const e = raw[i + 1];
      const width = e === "x" ? 4 : e === "u" ? 6 : e === "U" ? 10 : 2;
      if (e === "U" && parseInt(raw.slice(i + 2, i + 10), 16) > 0xffff) out.push(i); // a surrogate pair
      i += width;
    } else if (!double && raw[i] === "'" && raw[i + 1] === "'") {
      i += 2;
    } else {
      i += 1;
    }
  }
  out.push(end);
  return out;
}

/** Whether the node at a path is a string scalar (so a template there can be positioned). */
export function isStringScalar(file: YamlFile, path: JsonPath): boolean {
  return file.scalar(path) !== undefined;
}
