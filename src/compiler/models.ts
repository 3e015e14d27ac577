/**
 * The models of a pipeline (library-registered, then mcp.yaml's, then the pipeline's) and
 * the chain of models each step may run on: the chosen or selected model, then its
 * fallbacks, checked against the step's capabilities.
 */
import { dirname } from "node:path";
import type { Location } from "../diagnostics/diagnostic.js";
import type { JsonPath, YamlFile } from "../config/yaml-file.js";
import type { ModelConfig } from "../models/types.js";
import { ModelRegistry, type SelectPolicy } from "../registry/model-registry.js";
import { didYouMean } from "../util/suggest.js";
import { parseDuration } from "../util/duration.js";
import { obj, strings, type Compilation, type Obj } from "./compilation.js";
import { cachePolicy } from "./settings.js";
import { attachMcpServers, compileMcpServers } from "./mcp-servers.js";
import { checkModelPolicy, keyPolicyOf, type KeyPolicy } from "./model-policy.js";

/** Providers whose models may list deployments: those that send requests to a URL. */
const DEPLOYABLE = new Set(["openai", "anthropic", "http"]);

/** A model's `deployments:`: only for providers that have a URL; each obeys the key policy. */
function checkDeployments(c: Compilation, f: YamlFile, path: JsonPath, name: string, raw: Obj, policy: KeyPolicy): void {
  if (!Array.isArray(raw.deployments)) return;
  const provider = typeof raw.provider === "string" ? raw.provider : "";
  if (!DEPLOYABLE.has(provider)) {
    c.report("MCP408", `model '${name}': provider ${provider} has no deployments (deployments are for openai, anthropic and http models)`, f.locateKey([...path, "deployments"]));
    return;
  }
  raw.deployments.forEach((d, i) => {
    const dep = obj(d);
    const merged: Obj = { provider, apiKeyEnv: dep.apiKeyEnv ?? raw.apiKeyEnv, baseUrl: dep.baseUrl ?? dep.url ?? raw.baseUrl };
    // Each deployment is checked as a model of its own; its diagnostics point into it.
    checkModelPolicy((...a) => c.report(...a), f, [...path, "deployments", i], name, merged, policy);
  });
}

/** The merged models, where each was defined, and the registry over them. */
export interface ModelTable {
  readonly models: Map<string, ModelConfig>;
  readonly modelSource: Map<string, { file: YamlFile; path: JsonPath }>;
  readonly registry: ModelRegistry;
}

/** Merges the models (later wins) and checks that model fallbacks name models. */
export function compileModels(c: Compilation, files: readonly (YamlFile | undefined)[], extra: readonly ModelConfig[] = [], env: readonly string[] = []): ModelTable {
  const models = new Map<string, ModelConfig>();
  for (const m of extra) models.set(m.name, m);
  const modelSource = new Map<string, { file: YamlFile; path: JsonPath }>();
  // What a run would refuse about a model, and the project's key policy (model-policy.ts).
  // The policy is mcp.yaml's: the first of `files` when there are two (config, pipeline).
  const config = files.length > 1 ? files[0] : undefined;
  const keyPolicy = keyPolicyOf(obj(config?.value), config?.path);
  for (const f of files) {
    if (!f) continue;
    for (const [name, raw] of Object.entries(obj(obj(f.value).models))) {
      const path = ["models", name];
      models.set(name, modelConfig(c, f, path, name, obj(raw)));
      checkModelPolicy((...a) => c.report(...a), f, path, name, obj(raw), keyPolicy);
      checkDeployments(c, f, path, name, obj(raw), keyPolicy);
      modelSource.set(name, { file: f, path });
    }
  }
  // `provider: mcp` models get their server from `mcpServers:`.
  const mcpHooks = { report: c.report.bind(c), template: c.template.bind(c), locateInExpr: c.locateInExpr.bind(c) };
  attachMcpServers(models, modelSource, compileMcpServers([...files], env as string[], mcpHooks), mcpHooks);
  const registry = new ModelRegistry(models.values());

  // Model fallbacks must name models.
  for (const [name, src] of modelSource) {
    const fb = strings(models.get(name)?.fallback);
    fb.forEach((f, i) => {
      if (!models.has(f)) {
        c.report("MCP401", `unknown model '${f}' in the fallback of model '${name}'${didYouMean(f, models.keys())}`, src.file.locate([...src.path, "fallback", i]));
      }
    });
  }
  return { models, modelSource, registry };
}

/** What chains() needs to know of a step. */
export interface ChainRequest {
  id: string;
  path: JsonPath;
  raw: Obj;
  task: Obj;
  modelName: string | undefined;
  capabilities: string[];
  select: SelectPolicy;
  stepLoc: Location;
}

/**
 * The chain of each step. Steps asking for the same capabilities get the same candidates;
 * steps with the same chain share one (read-only) array of it.
 */
export class ChainResolver {
  readonly #table: ModelTable;
  readonly #candidatesFor = new Map<string, string[]>();
  readonly #chains = new Map<string, readonly string[]>();
  readonly #validChains = new Map<readonly string[], readonly string[]>();
  // registry.chain(), once per distinct first model, fallback list and candidates (read only).
  readonly #chainsOf = new Map<string, string[]>();

  constructor(table: ModelTable) {
    this.#table = table;
  }

  #chainOf(first: string, explicitFallback: string[] | undefined, candidates?: string[]): string[] {
    const key = JSON.stringify([first, explicitFallback ?? null, candidates ?? null]);
    let chain = this.#chainsOf.get(key);
    if (!chain) this.#chainsOf.set(key, (chain = this.#table.registry.chain(first, explicitFallback, candidates?.slice(1))));
    return chain;
  }

  /** The step's chain of known models; unknown models and missing capabilities are reported. */
  resolve(c: Compilation, file: YamlFile, s: ChainRequest): readonly string[] {
    const { id, path, raw, task, modelName, capabilities, select, stepLoc } = s;
    const { models, modelSource, registry } = this.#table;
    const candidatesFor = this.#candidatesFor;
    const chains = this.#chains;
    const validChains = this.#validChains;
    const chainOf = (first: string, explicitFallback: string[] | undefined, candidates?: string[]) => this.#chainOf(first, explicitFallback, candidates);
    // The chain of models this step may run on.
    let chain: string[] = [];
    const explicitFallback = raw.fallback !== undefined ? strings(raw.fallback) : task.fallback !== undefined ? strings(task.fallback) : undefined;
    if (modelName !== undefined) {
      if (!models.has(modelName)) {
        c.report(
          "MCP401",
          `unknown model '${modelName}'${didYouMean(modelName, models.keys())}`,
          file.locate(raw.model !== undefined ? [...path, "model"] : path),
          models.size ? {} : { hint: "define models under `models:` in the pipeline or mcp.yaml" },
        );
      } else {
        chain = chainOf(modelName, explicitFallback);
      }
    } else if (capabilities.length > 0) {
      const selectKey = JSON.stringify([select, capabilities]);
      let candidates = candidatesFor.get(selectKey);
      if (!candidates) candidatesFor.set(selectKey, (candidates = registry.select({ capabilities, select }).map((m) => m.name)));
      const first = candidates[0];
      if (first === undefined) {
        const partial = registry
          .list()
          .map((m) => ({ m, missing: capabilities.filter((x) => !m.capabilities.includes(x)) }))
          .sort((a, b) => a.missing.length - b.missing.length)[0];
        c.report(
          "MCP403",
          `no model has the capabilities ${capabilities.map((x) => `'${x}'`).join(", ")} needed by step '${id}'`,
          file.locate(raw.capabilities !== undefined ? [...path, "capabilities"] : path),
          {
            hint: partial ? `closest: model '${partial.m.name}' lacks ${partial.missing.map((x) => `'${x}'`).join(", ")}` : "define a model with these capabilities under `models:`",
          },
        );
      } else {
        chain = chainOf(first, explicitFallback, candidates);
      }
    }
    // Capability contracts hold for the whole chain. A fallback comes from the step's (or
    // its task's) list, else from the chosen model's own `fallback:` list.
    const fromModel = explicitFallback === undefined && chain.length > 0 ? modelSource.get(chain[0]!) : undefined;
    const modelFallback = fromModel ? strings(models.get(chain[0]!)?.fallback) : [];
    for (let i = 0; i < chain.length; i++) {
      const name = chain[i]!;
      const m = models.get(name);
      const inModelList = i > 0 && modelFallback.includes(name);
      if (!m) {
        // An unknown name in a model's own list is reported there, once.
        if (!inModelList)
          c.report(
            "MCP401",
            `unknown model '${name}' in the fallback chain of step '${id}'${didYouMean(name, models.keys())}`,
            chainEntryLocation(file, path, raw, explicitFallback, stepLoc, name, i),
          );
        continue;
      }
      let missing: string[] | undefined;
      for (let k = 0; k < capabilities.length; k++) if (!m.capabilities.includes(capabilities[k]!)) (missing ??= []).push(capabilities[k]!);
      if (missing) {
        const related =
          inModelList && fromModel
            ? [{ message: `'${name}' is in the fallback list of model '${chain[0]}'`, location: fromModel.file.locate([...fromModel.path, "fallback", modelFallback.indexOf(name)]) }]
            : [];
        c.report(
          "MCP404",
          `model '${name}' ${i === 0 ? "chosen" : "in the fallback chain"} for step '${id}' lacks the capabilit${missing.length > 1 ? "ies" : "y"} ${missing.map((x) => `'${x}'`).join(", ")}`,
          chainEntryLocation(file, path, raw, explicitFallback, stepLoc, name, i),
          {
            hint: i === 0 ? "pick a model that has it, or drop the capability" : "remove it from the fallback list or give it the capability",
            related,
          },
        );
      }
    }
    let validChain = validChains.get(chain);
    if (!validChain) {
      const validNames = chain.filter((n) => models.has(n));
      const chainKey = JSON.stringify(validNames);
      validChain = chains.get(chainKey);
      if (!validChain) chains.set(chainKey, (validChain = validNames.slice()));
      validChains.set(chain, validChain);
    }
    return validChain;
  }
}

/**
 * Where a step names the i-th model of its chain (the chosen one, or a fallback); found
 * only when reported: a mapping or a list would need the file's nodes.
 */
function chainEntryLocation(file: YamlFile, path: JsonPath, raw: Obj, explicitFallback: string[] | undefined, stepLoc: Location, name: string, i: number): Location | undefined {
  return i === 0
    ? file.locate(raw.model !== undefined ? [...path, "model"] : raw.capabilities !== undefined ? [...path, "capabilities"] : path)
    : explicitFallback && raw.fallback !== undefined
      ? file.locate([...path, "fallback", explicitFallback.indexOf(name)])
      : stepLoc;
}

function modelConfig(c: Compilation, file: YamlFile, path: JsonPath, name: string, raw: Obj): ModelConfig {
  const templates: NonNullable<ModelConfig["templates"]> = {};
  if (raw.options !== undefined) templates.options = c.template(file, [...path, "options"], raw.options);
  if (raw.headers !== undefined) templates.headers = c.template(file, [...path, "headers"], raw.headers);
  if (raw.request !== undefined) templates.request = c.template(file, [...path, "request"], raw.request);
  if (raw.response !== undefined) templates.response = c.template(file, [...path, "response"], raw.response);
  const dur = (v: unknown) => parseDuration(v as string | number | undefined);
  const cache = cachePolicy(raw.cache);
  const { latency: _l, timeout: _t, connectTimeout: _c, ...rest } = raw;
  const m: ModelConfig = {
    ...(rest as Partial<ModelConfig>),
    name,
    provider: raw.provider as ModelConfig["provider"],
    capabilities: strings(raw.capabilities),
    baseDir: dirname(file.path),
    templates,
  };
  if (raw.provider === "module") m.moduleLocation = raw.module !== undefined ? file.locate([...path, "module"]) : file.locateKey(path);
  if (raw.latency !== undefined) m.latencyMs = dur(raw.latency);
  if (raw.timeout !== undefined) m.timeoutMs = dur(raw.timeout);
  if (raw.connectTimeout !== undefined) m.connectTimeoutMs = dur(raw.connectTimeout);
  if (cache) m.cache = cache.enabled ? (cache.ttlMs !== undefined ? { ttlMs: cache.ttlMs } : true) : false;
  if (raw.breaker !== undefined) {
    const b = obj(raw.breaker);
    const { cooldown: _cd, ...restB } = b;
    m.breaker = { ...(restB as ModelConfig["breaker"]) };
    if (b.cooldown !== undefined) m.breaker.cooldownMs = dur(b.cooldown);
  }
  return m;
}
