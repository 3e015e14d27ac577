/** `mcp models [PATH]`: the registry: models, capabilities, limits, cost. */
import { statSync } from "node:fs";
import { SourceMap } from "../../diagnostics/source.js";
import { findProjectConfig, loadConfigFile, loadPipelineFile } from "../../compiler/load.js";
import { DEFAULT_LIMITS } from "../../config/limits.js";
import type { ModelConfig } from "../../models/types.js";
import { parse } from "../args.js";
import { printDiagnostics, writeLine, type CliIo } from "../io.js";
import { hasErrors } from "../../diagnostics/diagnostic.js";
import { compilePipeline } from "../../compiler/compile.js";
import { parseYaml } from "../../config/yaml-file.js";
import { EXIT_CODES } from "../exit-codes.js";

export const help = `Usage: mcp models [PATH] [--json]

Prints the model registry: name, provider, capabilities, maxTokens, cost (USD per 1M
tokens in/out), concurrency and fallbacks. PATH is a pipeline file (its models merged
over mcp.yaml's) or a folder (the mcp.yaml found from there); default: the current folder.`;

export async function modelsCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse("models", argv, { json: { type: "boolean" } });
  if (values.help) {
    writeLine(io.stdout, help);
    return 0;
  }
  const path = positionals[0] ?? io.cwd;
  let models: readonly ModelConfig[];
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    writeLine(io.stderr, `mcp models: no such file or folder: ${path}`);
    return EXIT_CODES.invalid;
  }
  if (isDir) {
    const cfgPath = findProjectConfig(path);
    if (!cfgPath) {
      writeLine(io.stderr, `mcp models: no mcp.yaml in ${path} or above; give a pipeline file, or run 'mcp init'`);
      return EXIT_CODES.invalid;
    }
    const sources = new SourceMap();
    const cfg = loadConfigFile(cfgPath, DEFAULT_LIMITS, sources);
    printDiagnostics(io, "stderr", cfg.diagnostics, sources);
    if (hasErrors(cfg.diagnostics)) return EXIT_CODES.invalid;
    // Compile an empty pipeline against the config to get normalised model entries.
    const empty = parseYaml("<models>", "steps: {}\n");
    models = compilePipeline({ pipeline: empty, config: cfg.file, sources }).pipeline?.models ?? [];
  } else {
    const r = loadPipelineFile(path);
    printDiagnostics(io, "stderr", r.diagnostics, r.sources);
    if (!r.pipeline) return EXIT_CODES.invalid;
    models = r.pipeline.models;
  }

  if (values.json) {
    writeLine(
      io.stdout,
      JSON.stringify(
        models.map(({ templates: _t, baseDir: _b, ...m }) => m),
        null,
        2,
      ),
    );
    return EXIT_CODES.ok;
  }
  const rows = [["name", "provider", "model", "capabilities", "maxTokens", "cost in/out", "concurrency", "fallback"]];
  for (const m of models) {
    rows.push([
      m.name,
      m.provider,
      m.model ?? "-",
      m.capabilities.join(", ") || "-",
      m.maxTokens !== undefined ? String(m.maxTokens) : "-",
      m.cost ? `$${m.cost.input ?? 0} / $${m.cost.output ?? 0}` : "-",
      m.concurrency !== undefined ? String(m.concurrency) : "-",
      m.fallback?.join(", ") || "-",
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows)
    writeLine(
      io.stdout,
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    );
  writeLine(io.stdout, `\n${models.length} model${models.length === 1 ? "" : "s"}; cost is USD per 1M tokens`);
  return EXIT_CODES.ok;
}
