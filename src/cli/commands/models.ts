/** `mcp models [PATH]`: the registry: models, capabilities, limits, cost. */
import { statSync } from "node:fs";
import { relative } from "node:path";
import { SourceMap } from "../../diagnostics/source.js";
import { findProjectConfig, loadConfigFile, loadPipelineFile } from "../../compiler/load.js";
import { DEFAULT_LIMITS } from "../../config/limits.js";
import type { ModelConfig, RateLimits } from "../../models/types.js";
import { DEFAULT_BREAKER } from "../../registry/circuit-breaker.js";
import { deploymentNames } from "../../registry/gateway-state.js";
import { parse } from "../args.js";
import { printDiagnostics, writeLine, type CliIo } from "../io.js";
import { hasErrors } from "../../diagnostics/diagnostic.js";
import { compilePipeline } from "../../compiler/compile.js";
import { parseYaml } from "../../config/yaml-file.js";
import { EXIT_CODES } from "../exit-codes.js";
import { UsageError } from "../io.js";
import { watchDeployments } from "../models-watch.js";
import { parseDuration } from "../../util/duration.js";

export const help = `Usage: mcp models [PATH] [--json]
       mcp models --watch URL [--interval DURATION]

Prints the model registry: name, provider, capabilities, maxTokens, cost (USD per 1M
tokens in/out), concurrency and fallbacks; the deployments, balance, circuit breaker
thresholds and rate limits of the models that have them; then the built-in providers.
PATH is a pipeline file (its models merged over mcp.yaml's) or a folder (the mcp.yaml
found from there); default: the current folder.

--watch URL shows the deployments of a running 'mcp serve' at URL live: each one's circuit
breaker state, calls in flight, calls, errors and rate-limit waits, every --interval
(default 1s) until Ctrl-C. The key is read from MCP_API_KEY.`;

/** The built-in providers (DESIGN section 3), as `mcp models` lists them. */
export const BUILT_IN_PROVIDERS: readonly [name: string, what: string][] = [
  ["nlp", "in-process English NLP: sentiment, entities, keywords, sentences, summary; no network, no key"],
  ["openai", "OpenAI-compatible /chat/completions (OpenAI, Ollama, vLLM, llama.cpp, LM Studio, OpenRouter, Groq); baseUrl, apiKeyEnv"],
  ["anthropic", "the Anthropic Messages API; apiKeyEnv"],
  ["http", "any JSON-over-HTTP model; JSONata maps the request and the response"],
  ["mock", "scripted replies, latency and failures, for tests and demos"],
  ["module", "your own model class or function from a .js/.ts file"],
  ["mcp", "one tool of an external Model Context Protocol server (mcpServers: command or url); docs/mcp.md"],
];

function providersText(): string {
  const w = Math.max(...BUILT_IN_PROVIDERS.map(([n]) => n.length));
  return ["built-in providers (provider: NAME in a model entry; docs/providers.md):", ...BUILT_IN_PROVIDERS.map(([n, what]) => `  ${n.padEnd(w)}  ${what}`)].join("\n");
}

/** The deployments, balance, breaker thresholds and limits of the models that have them. */
export function gatewayText(models: readonly ModelConfig[]): string {
  const lines: string[] = [];
  for (const m of models) {
    if (!m.deployments && !m.limits) continue;
    const b = { ...DEFAULT_BREAKER, ...m.breaker };
    const head = [
      m.deployments
        ? `${m.deployments.length} deployment${m.deployments.length === 1 ? "" : "s"}, balance ${m.balance ?? "least-in-flight"}, breaker opens after ${b.failures} failure${b.failures === 1 ? "" : "s"}, cool-down ${formatDuration(b.cooldownMs)}, ${b.probes} probe${b.probes === 1 ? "" : "s"}`
        : undefined,
      m.limits ? `limits ${limitsText(m.limits)}` : undefined,
    ].filter(Boolean);
    lines.push(`${m.name}: ${head.join("; ")}`);
    const names = m.deployments ? deploymentNames(m, m.deployments) : [];
    m.deployments?.forEach((d, i) => {
      const url = d.baseUrl ?? d.url ?? m.baseUrl ?? m.url ?? "(the model's URL)";
      const parts = [`  ${names[i]}`, url, `weight ${d.weight ?? 1}`];
      if (d.maxConcurrency !== undefined) parts.push(`maxConcurrency ${d.maxConcurrency}`);
      if (d.apiKeyEnv) parts.push(`key $${d.apiKeyEnv}`);
      if (d.model) parts.push(`model ${d.model}`);
      if (d.limits) parts.push(`limits ${limitsText(d.limits)}`);
      lines.push(parts.join("  "));
    });
  }
  return lines.join("\n");
}

function limitsText(l: RateLimits): string {
  return (["rpm", "tpm", "inputTpm", "outputTpm"] as const)
    .filter((k) => l[k] !== undefined)
    .map((k) => `${k} ${l[k]}`)
    .join(", ");
}

function formatDuration(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000}m` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

export async function modelsCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse("models", argv, { json: { type: "boolean" }, watch: { type: "string" }, interval: { type: "string" }, count: { type: "string" } });
  if (values.help) {
    writeLine(io.stdout, help);
    return 0;
  }
  if (values.watch !== undefined) {
    const str = (v: unknown) => (typeof v === "string" ? v : undefined);
    const intervalMs = parseDuration(str(values.interval) ?? "1s");
    if (intervalMs === undefined || !(intervalMs > 0)) throw new UsageError(`--interval must be a duration such as 500ms or 2s, received ${JSON.stringify(values.interval)}`);
    const count = values.count !== undefined ? Number(values.count) : undefined;
    if (count !== undefined && !(Number.isInteger(count) && count > 0)) throw new UsageError(`--count must be a positive integer, received ${JSON.stringify(values.count)}`);
    const ac = new AbortController();
    const stop = () => ac.abort();
    process.once("SIGINT", stop);
    try {
      return await watchDeployments(io, {
        url: String(values.watch),
        intervalMs,
        signal: ac.signal,
        ...(count !== undefined ? { count } : {}),
        ...(process.env.MCP_API_KEY ? { key: process.env.MCP_API_KEY } : {}),
      });
    } finally {
      process.off("SIGINT", stop);
    }
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
  const gateway = gatewayText(models);
  if (gateway) writeLine(io.stdout, `\n${gateway}`);
  writeLine(io.stdout, `\n${models.length} model${models.length === 1 ? "" : "s"} from ${source}; cost is USD per 1M tokens\n`);
  writeLine(io.stdout, providersText());
  return EXIT_CODES.ok;
}
