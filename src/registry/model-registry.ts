/**
 * The Model Registry: models with their capabilities, limits and cost; selection by
 * capability; fallback chains. Holds configurations, and model instances once created.
 */
import type { ModelConfig } from "../models/types.js";
import type { BaseModel } from "../models/base-model.js";

export type SelectPolicy = "first" | "cheapest" | "fastest";

export interface SelectRequest {
  capabilities: readonly string[];
  select?: SelectPolicy;
  /** Estimated input tokens; models with a smaller maxTokens are left out. */
  inputTokens?: number;
}

/** Input to `registerModel`: a config (name + provider), or a BaseModel instance. */
export type ModelRegistration = (Partial<ModelConfig> & { name: string }) | BaseModel;

export class ModelRegistry {
  readonly #configs = new Map<string, ModelConfig>();
  readonly #instances = new Map<string, BaseModel>();

  constructor(models: Iterable<ModelConfig> = []) {
    for (const m of models) this.#configs.set(m.name, m);
  }

  /**
   * Adds or replaces a model.
   * @example registry.registerModel({ name: "gpt-4", provider: "openai", capabilities: ["text-generation"], maxTokens: 8192 })
   * @example registry.registerModel(new MyModel()) // a BaseModel subclass
   */
  registerModel(model: ModelRegistration): this {
    if (isBaseModel(model)) {
      const name = model.name;
      if (!name) throw new TypeError("registerModel: a BaseModel needs a `name`");
      this.#configs.set(name, {
        name,
        provider: "module",
        capabilities: [...model.capabilities],
        ...(model.maxTokens ? { maxTokens: model.maxTokens } : {}),
        ...(model.cost ? { cost: model.cost } : {}),
        ...(model.concurrency ? { concurrency: model.concurrency } : {}),
      });
      this.#instances.set(name, model);
      return this;
    }
    if (!model || typeof model.name !== "string" || model.name === "") {
      throw new TypeError(`registerModel: expected { name, provider, capabilities }, received ${JSON.stringify(model)}`);
    }
    const capabilities = model.capabilities ?? [];
    if (!Array.isArray(capabilities)) {
      throw new TypeError(`registerModel: \`capabilities\` must be an array of strings, received ${JSON.stringify(capabilities)}`);
    }
    this.#configs.set(model.name, { ...model, provider: model.provider ?? "mock", capabilities });
    this.#instances.delete(model.name);
    return this;
  }

  /** Adds a complete config as it is (no copy): the compiler's and the orchestrator's way in. */
  add(config: ModelConfig): this {
    this.#configs.set(config.name, config);
    return this;
  }

  has(name: string): boolean {
    return this.#configs.has(name);
  }

  get(name: string): ModelConfig | undefined {
    return this.#configs.get(name);
  }

  /** All models, in registration order. */
  list(): ModelConfig[] {
    return [...this.#configs.values()];
  }

  names(): string[] {
    return [...this.#configs.keys()];
  }

  /** A model instance registered directly (registerModel(new X())), if any. */
  instance(name: string): BaseModel | undefined {
    return this.#instances.get(name);
  }

  /** Models having every capability, in registry order. */
  findByCapabilities(capabilities: readonly string[]): ModelConfig[] {
    return this.list().filter((m) => capabilities.every((c) => m.capabilities.includes(c)));
  }

  /**
   * Candidates for a request, best first: models with all the capabilities and a large enough
   * maxTokens, ordered by the policy (stable: ties keep registry order).
   */
  select(req: SelectRequest): ModelConfig[] {
    const fits = this.findByCapabilities(req.capabilities).filter((m) => req.inputTokens === undefined || m.maxTokens === undefined || m.maxTokens >= req.inputTokens);
    switch (req.select ?? "first") {
      case "first":
        return fits;
      case "cheapest":
        return [...fits].sort((a, b) => price(a) - price(b));
      case "fastest":
        return [...fits].sort((a, b) => (a.latencyMs ?? Infinity) - (b.latencyMs ?? Infinity));
    }
  }

  /**
   * The chain a call goes down: the first model, then its fallbacks (explicit ones, else
   * the other candidates). Names are unique; unknown names are kept for the caller to report.
   */
  chain(first: string, explicitFallback?: readonly string[], others: readonly string[] = []): string[] {
    const fallback = explicitFallback ?? this.get(first)?.fallback ?? others;
    return [...new Set([first, ...fallback])];
  }

  /** USD cost of a call with these token counts, or 0 when the model has no price. */
  cost(name: string, inputTokens: number, outputTokens: number): number {
    const c = this.get(name)?.cost;
    if (!c) return 0;
    return ((c.input ?? 0) * inputTokens + (c.output ?? 0) * outputTokens) / 1_000_000;
  }
}

function price(m: ModelConfig): number {
  // Input and output weighted alike: a typical call has comparable counts.
  return m.cost ? (m.cost.input ?? 0) + (m.cost.output ?? 0) : Infinity;
}

function isBaseModel(x: unknown): x is BaseModel {
  return !!x && typeof (x as BaseModel).process === "function";
}
