/** `mcp models [PATH]`: the registry: models, capabilities, limits, cost. */
import { statSync } from "node:fs";
import { relative } from "node:path";
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
tokens in/out), concurrency and fallbacks, then the built-in providers a model can use.
PATH is a pipeline file (its models merged over mcp.yaml's) or a folder (the mcp.yaml
found from there); default: the current folder.`;

/** The built-in providers (DESIGN section 3), as `mcp models` lists them. */
export const BUILT_IN_PROVIDERS: readonly [name: string, what: string][] = [
  ["nlp", "in-process English NLP: sentiment, entities, keywords, sentences, summary; no network, no key"],
  ["openai", "OpenAI-compatible /chat/completions (OpenAI, Ollama, vLLM, llama.cpp, LM Studio, OpenRouter, Groq); baseUrl, apiKeyEnv"],
  ["anthropic", "the Anthropic Messages API; apiKeyEnv"],
  ["http", "any JSON-over-HTTP model; JSONata maps the request and the response"],
  ["mock", "scripted replies, latency and failures, for tests and demos"],
  ["module", "your own model class or function from a .js/.ts file"],
];

function providersText(): string {
  const w = Math.max(...BUILT_IN_PROVIDERS.map(([n]) => n.length));
  return ["built-in providers (provider: NAME in a model entry; docs/providers.md):", ...BUILT_IN_PROVIDERS.map(([n, what]) => `  ${n.padEnd(w)}  ${what}`)].join("\n");
}

export async function modelsCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse("models", argv, { json: { type: "boolean" } });
  if (values.help) {
    writeLine(io.stdout, help);
    return 0;
  }
  const path = positionals[0] ?? io.cwd;
  let models: readonly ModelConfig[];
  let isDir = false;
  let source = path;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    writeLine(io.stderr, `mcp models: no such file or folder: ${path}`);
    return EXIT_CODES.invalid;
  }
  if (isDir) {
    const cfgPath = findProjectConfig(path);
    if (!cfgPath) {
      if (values.json) {
        writeLine(io.stdout, "[]");
        return EXIT_CODES.ok;
      }
      writeLine(io.stdout, `no mcp.yaml in ${path} or above, so no project models; pipelines may define their own under models:, or run 'mcp init'.\n`);
      writeLine(io.stdout, providersText());
      return EXIT_CODES.ok;
    }
    source = relative(io.cwd, cfgPath) || cfgPath;
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
  if (models.length === 0) {
    writeLine(io.stdout, `no models in ${source}; pipelines may define their own under models:, or add them to mcp.yaml.\n`);
    writeLine(io.stdout, providersText());
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
  writeLine(io.stdout, `\n${models.length} model${models.length === 1 ? "" : "s"} from ${source}; cost is USD per 1M tokens\n`);
  writeLine(io.stdout, providersText());
  return EXIT_CODES.ok;
}
