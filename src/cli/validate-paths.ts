/** Validating files and folders, and printing the result: `mcp validate`, once or watching. */
import { readdirSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { error, hasErrors, wholeFile, type Diagnostic } from "../diagnostics/diagnostic.js";
import { SourceMap } from "../diagnostics/source.js";
import { CONFIG_NAMES, loadConfigFile, loadPipelineChecked, type LoadOptions } from "../compiler/load.js";
import { DEFAULT_LIMITS } from "../config/limits.js";
import { capDiagnostics } from "../diagnostics/cap.js";
import { isTestFile } from "../config/file-kinds.js";
import { toJson } from "../diagnostics/printer.js";
import { printDiagnostics, writeLine, type CliIo } from "./io.js";
import { plural } from "./reporters/format.js";

const SKIP_DIRS = new Set(["node_modules", ".git", ".mcp", "dist"]);

/** Expands folders into the YAML files inside them (sorted, hidden folders skipped). */
export function collectFiles(paths: string[], cwd: string): { files: string[]; diagnostics: Diagnostic[] } {
  const files: string[] = [];
  const diagnostics: Diagnostic[] = [];
  const walk = (dir: string) => {
    for (const ent of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (ent.name.startsWith(".") || SKIP_DIRS.has(ent.name)) continue;
      const p = join(dir, ent.name);
      if (ent.isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(ent.name)) files.push(p);
    }
  };
  for (const p of paths) {
    let st;
    try {
      st = statSync(isAbsolute(p) ? p : join(cwd, p));
    } catch {
      diagnostics.push(error("MCP006", `cannot read ${p}: no such file or folder`, wholeFile(p)));
      continue;
    }
    if (st.isDirectory()) {
      const before = files.length;
      walk(p);
      if (files.length === before) diagnostics.push(error("MCP009", `no .yaml files in ${p}`, wholeFile(p)));
    } else files.push(p);
  }
  return { files: [...new Set(files)], diagnostics };
}

export interface ValidateSummary {
  files: number;
  valid: number;
  diagnostics: Diagnostic[];
  sources: SourceMap;
}

/** Validates files and folders; module model files are checked statically, never imported (MCP405); MCP servers are listed only with `listTools`. */
export async function validatePaths(paths: string[], cwd: string, opts: { listTools?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<ValidateSummary> {
  const sources = new SourceMap();
  const { files, diagnostics } = collectFiles(paths, cwd);
  const configCache: NonNullable<LoadOptions["configCache"]> = new Map();
  let valid = 0;
  // Pipeline names by folder: two files of one folder may not share a name (MCP010), as the
  // live set (watch, serve) refuses the second.
  const names = new Map<string, { file: string }>();
  const seen = new Set<string>();
  for (const f of files) {
    let ds: Diagnostic[];
    if (CONFIG_NAMES.includes(basename(f))) {
      // Already read (and reported) as the config of a pipeline validated before it.
      if (configCache.has(resolve(f))) {
        if (!hasErrors(configCache.get(resolve(f))!.diagnostics)) valid++;
        continue;
      }
      const loaded = loadConfigFile(f, DEFAULT_LIMITS, sources);
      configCache.set(resolve(f), loaded);
      ds = loaded.diagnostics;
    } else if (isTestFile(f)) {
      // A test suite (*.test.yaml): checked with the pipeline it names.
      const { loadSuite } = await import("../testing/suite.js");
      ds = (await loadSuite(f, { sources })).diagnostics;
    } else {
      const r = await loadPipelineChecked(f, { sources, configCache });
      ds = r.diagnostics;
      if (r.pipeline?.models.some((m) => m.mcpServer)) {
        // Tool steps: check their inputs against the tools' input schemas (docs/mcp.md).
        const { toolListingsFor } = await import("./tool-listings.js");
        const { listings, diagnostics: listed } = await toolListingsFor(r.pipeline, { online: opts.listTools === true, env: opts.env ?? process.env });
        if (listings.size) ds = (await loadPipelineChecked(f, { sources, configCache, toolListings: listings })).diagnostics;
        ds = [...ds, ...listed];
      }
      if (r.pipeline) {
        const key = `${resolve(cwd, dirname(f))}\u0000${r.pipeline.name}`;
        const first = names.get(key);
        if (first) {
          ds = [
            ...ds,
            error("MCP010", `pipeline name '${r.pipeline.name}' is already used by ${first.file} in the same folder`, nameLocation(f, sources.get(f)?.text ?? ""), {
              hint: "give each pipeline file its own `name:`",
              related: [{ message: `'${r.pipeline.name}' is defined here`, location: nameLocation(first.file, sources.get(first.file)?.text ?? "") }],
            }),
          ];
        } else names.set(key, { file: f });
      }
    }
    if (!hasErrors(ds)) valid++;
    // A suite reports its pipeline's errors under MCP601; the pipeline's own file, validated
    // too, would report them again: each is printed once.
    for (const d of ds) {
      const key = `${d.location ? resolve(cwd, d.location.file) : ""}\u0000${d.location?.offset}\u0000${d.location?.length}\u0000${d.code}\u0000${d.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      diagnostics.push(d);
    }
  }
  return { files: files.length, valid, diagnostics, sources };
}

export function printValidation(r: ValidateSummary, format: "text" | "json" | "github", io: CliIo): number {
  const failed = hasErrors(r.diagnostics);
  if (format === "json") {
    writeLine(io.stdout, JSON.stringify({ ok: !failed, files: r.files, valid: r.valid, diagnostics: toJson(capDiagnostics(r.diagnostics), r.sources) }, null, 2));
  } else {
    printDiagnostics(io, "stdout", r.diagnostics, r.sources, format);
    if (format === "text") {
      const errors = r.diagnostics.filter((d) => d.severity === "error").length;
      const warnings = r.diagnostics.length - errors;
      const tail = warnings ? `, ${warnings} warning${warnings > 1 ? "s" : ""}` : "";
      const where = r.files === 0 ? "" : ` in ${r.files - r.valid} of ${plural(r.files, "file")}`;
      writeLine(io.stdout, failed ? `${plural(errors, "error")}${tail}${where}` : `${plural(r.files, "file")} valid${tail}`);
    }
  }
  return failed ? 2 : 0;
}

/** The value of the file's top-level `name:`, or the whole file. */
function nameLocation(file: string, text: string): { file: string; offset: number; length: number } {
  const m = /^name:[ \t]*(\S[^\n#]*?)[ \t]*(?:#.*)?$/m.exec(text);
  if (!m || m[1] === undefined) return wholeFile(file);
  return { file, offset: m.index + m[0].indexOf(m[1]), length: m[1].length };
}
