/**
 * Ad-hoc model calls (POST /v1/tasks, /v1/chat/completions): one step, picked by model name
 * or by capabilities from the project's registry, run by the orchestrator as a one-step
 * pipeline so it gets what pipeline steps get: selection, retries, the fallback chain, the
 * response cache, per-model concurrency limits.
 */
import type { CompiledPipeline, CompiledStep, ProjectSettings } from "../compiler/types.js";
import { DEFAULT_RETRY } from "../compiler/types.js";
import { SourceMap } from "../diagnostics/source.js";
import type { ModelConfig } from "../models/types.js";
import { ModelRegistry, type SelectPolicy } from "../registry/model-registry.js";
import { ProtocolError } from "./errors.js";

/** Which model a call goes to. */
export interface CallTarget {
  model?: string;
  capabilities?: readonly string[];
  select?: SelectPolicy;
}

const registries = new WeakMap<readonly ModelConfig[], ModelRegistry>();

/** The registry of a models list (memoized per list: a new list after each mcp.yaml reload). */
export function registryOf(models: readonly ModelConfig[]): ModelRegistry {
  let r = registries.get(models);
  if (!r) registries.set(models, (r = new ModelRegistry(models)));
  return r;
}

/** The chain of model names a call goes down; `not_found` when no model fits. */
export function chainFor(target: CallTarget, models: readonly ModelConfig[]): string[] {
  const registry = registryOf(models);
  if (target.model !== undefined) {
    if (!registry.has(target.model)) throw new ProtocolError("not_found", `no model '${target.model}' in the registry (known: ${registry.names().join(", ") || "none"})`);
    return registry.chain(target.model).filter((n) => registry.has(n));
  }
  const caps = target.capabilities ?? [];
  const candidates = registry.select({ capabilities: caps, ...(target.select ? { select: target.select } : {}) }).map((m) => m.name);
  if (candidates.length === 0) {
    throw new ProtocolError("not_found", `no registered model has the capabilities ${caps.map((c) => `'${c}'`).join(", ") || "(none given)"}`);
  }
  return registry.chain(candidates[0]!, undefined, candidates.slice(1)).filter((n) => registry.has(n));
}

/** A one-step pipeline that calls `chain` with `input`. */
export function oneStepPipeline(opts: {
  name: string;
  models: readonly ModelConfig[];
  chain: readonly string[];
  capabilities?: readonly string[];
  input: unknown;
  settings: ProjectSettings;
  select?: SelectPolicy;
  retry?: Partial<CompiledStep["retry"]>;
  timeoutMs?: number;
}): CompiledPipeline {
  const step: CompiledStep = {
    id: "call",
    capabilities: opts.capabilities ?? [],
    select: opts.select ?? "first",
    chain: opts.chain,
    input: { kind: "literal", value: opts.input },
    retry: { ...DEFAULT_RETRY, ...opts.retry },
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    onError: "fail",
    dependencies: [],
    location: { file: "<call>", offset: 0, length: 0 },
  };
  return {
    version: 1,
    name: opts.name,
    file: "<call>",
    hash: "",
    models: opts.models,
    steps: new Map([["call", step]]),
    order: ["call"],
    levels: [["call"]],
    dependants: new Map([["call", []]]),
    settings: opts.settings,
    sources: EMPTY_SOURCES,
  };
}

const EMPTY_SOURCES = new SourceMap();
