/**
 * Data sets of test cases: every row of a JSON Lines, CSV or JSON file is one case. Rows
 * are mappings (CSV: the header names the columns, values stay strings). Problems are
 * diagnostics (MCP603) pointing at the row's line in the data set file.
 */
import { readFileSync, statSync } from "node:fs";
import { extname } from "node:path";
import { parse as parseCsv } from "csv-parse/sync";
import { error, type Diagnostic } from "../diagnostics/diagnostic.js";
import type { SourceMap } from "../diagnostics/source.js";

/** Largest data set file read, in bytes. */
export const DATASET_MAX_BYTES = 64 * 1024 * 1024;
/** Most rows of one data set. */
export const DATASET_MAX_ROWS = 100_000;

/** One row and where it starts in the file. */
export interface DatasetRow {
  value: Record<string, unknown>;
  /** 1-based line of the row in the file. */
  line: number;
  /** Offset of that line in the file. */
  offset: number;
}

export interface Dataset {
  rows: DatasetRow[];
  diagnostics: Diagnostic[];
}

/** The data set formats, by file extension. */
export const DATASET_FORMATS = [".jsonl", ".ndjson", ".csv", ".json"] as const;

/**
 * Reads a data set file. `sources` receives its text, so diagnostics print with line:col.
 * @example readDataset("pipelines/samples/tickets.jsonl", sources).rows[0]?.value
 */
export function readDataset(path: string, sources: SourceMap): Dataset {
  const ext = extname(path).toLowerCase();
  const fail = (message: string, offset = 0, length = 0): Dataset => ({ rows: [], diagnostics: [error("MCP603", message, { file: path, offset, length })] });
  if (!(DATASET_FORMATS as readonly string[]).includes(ext))
    return { rows: [], diagnostics: [error("MCP603", `data set ${path}: unknown format '${ext || "(no extension)"}'; use ${DATASET_FORMATS.join(", ")}`)] };
  let text: string;
  try {
    const size = statSync(path).size;
    if (size > DATASET_MAX_BYTES) return { rows: [], diagnostics: [error("MCP603", `data set ${path} is ${size} bytes; the limit is ${DATASET_MAX_BYTES}`)] };
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { rows: [], diagnostics: [error("MCP603", `cannot read the data set ${path}: ${code === "ENOENT" ? "no such file" : (e as Error).message}`)] };
  }
  sources.add(path, text);
  const lineStarts = [0];
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) lineStarts.push(i + 1);
  const at = (line: number) => lineStarts[line - 1] ?? 0;

  if (ext === ".jsonl" || ext === ".ndjson") {
    const rows: DatasetRow[] = [];
    const diagnostics: Diagnostic[] = [];
    const lines = text.split("\n");
    lines.forEach((raw, i) => {
      const s = raw.replace(/\r$/, "");
      if (s.trim() === "" || rows.length >= DATASET_MAX_ROWS) return;
      let v: unknown;
      try {
        v = JSON.parse(s);
      } catch (e) {
        diagnostics.push(error("MCP603", `data set row is not JSON: ${(e as Error).message}`, { file: path, offset: at(i + 1), length: s.length }));
        return;
      }
      if (!isRow(v)) diagnostics.push(error("MCP603", "data set row must be a JSON object (one case per line)", { file: path, offset: at(i + 1), length: s.length }));
      else rows.push({ value: v, line: i + 1, offset: at(i + 1) });
    });
    if (rows.length === 0 && diagnostics.length === 0) return fail(`data set ${path} has no rows`);
    return { rows, diagnostics };
  }

  if (ext === ".csv") {
    let records: { record: Record<string, string>; info: { lines: number } }[];
    try {
      records = parseCsv(text, { columns: true, skip_empty_lines: true, bom: true, trim: false, info: true, to: DATASET_MAX_ROWS }) as typeof records;
    } catch (e) {
      const err = e as { message?: string; lines?: number };
      return fail(`data set is not valid CSV: ${err.message ?? String(e)}`, err.lines ? at(err.lines) : 0);
    }
    if (records.length === 0) return fail(`data set ${path} has no rows (a header line, then one case per line)`);
    return { rows: records.map((r) => ({ value: r.record, line: r.info.lines, offset: at(r.info.lines) })), diagnostics: [] };
  }

  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return fail(`data set is not valid JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(doc)) return fail("a .json data set must be a list of objects, one per case");
  const bad = doc.findIndex((r) => !isRow(r));
  if (bad !== -1) return fail(`data set row ${bad + 1} is not an object`);
  if (doc.length === 0) return fail(`data set ${path} has no rows`);
  return { rows: (doc as Record<string, unknown>[]).slice(0, DATASET_MAX_ROWS).map((value) => ({ value, line: 1, offset: 0 })), diagnostics: [] };
}

function isRow(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}
