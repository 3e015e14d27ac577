/**
 * Maps an offset inside a YAML string value back to an offset in the file. The value and
 * its source differ: quotes, escapes, block-scalar indentation and line folding. Exact
 * where the source is a verbatim copy (plain, quoted without escapes, literal blocks),
 * and a text search otherwise.
 */
import { isScalar, type Scalar } from "yaml";
import type { Location } from "../diagnostics/diagnostic.js";
import type { JsonPath, YamlFile } from "./yaml-file.js";

export type OffsetMapper = (valueOffset: number, length: number) => Location;

export function scalarOffsetMapper(file: YamlFile, path: JsonPath): OffsetMapper {
  const node = file.node(path);
  const fallback = file.locate(path);
  if (!node || !isScalar(node) || !node.range || typeof node.value !== "string") {
    return () => fallback;
  }
  const [start, valueEnd] = node.range;
  const raw = file.text.slice(start, valueEnd);
  const value = node.value;
  const at = (offset: number, length: number): Location => ({ file: file.path, offset, length });
  const type = (node as Scalar).type;

  const search = (off: number, len: number): Location => {
    const needle = value.slice(off, off + Math.max(len, 1));
    const idx = needle.trim() ? raw.indexOf(needle) : -1;
    return idx >= 0 ? at(start + idx, len) : { ...fallback, length: fallback.length };
  };

  if (type === "PLAIN" && raw === value) return (off, len) => at(start + off, len);
  if ((type === "QUOTE_DOUBLE" || type === "QUOTE_SINGLE") && raw.slice(1, -1) === value) {
    return (off, len) => at(start + 1 + off, len);
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

/** Whether the node at a path is a string scalar (so a template there can be positioned). */
export function isStringScalar(file: YamlFile, path: JsonPath): boolean {
  const n = file.node(path);
  return !!n && isScalar(n) && typeof n.value === "string";
}
