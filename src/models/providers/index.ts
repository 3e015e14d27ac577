/**
 * The provider table: provider kind -> factory. Each provider is a small adapter behind
 * BaseModel.process(input, ctx). Factories get the model's config and shared services.
 */
import type { BaseModel } from "../base-model.js";
import type { ModelConfig } from "../types.js";
import type { ProviderFactory, ProviderServices } from "./services.js";

export type { ProviderFactory, ProviderServices };

const factories = new Map<string, () => Promise<ProviderFactory>>([
  ["mock", async () => (await import("./mock.js")).createMockModel],
  ["nlp", async () => (await import("./nlp.js")).createNlpModel],
  ["openai", async () => (await import("./openai.js")).createOpenAIModel],
  ["anthropic", async () => (await import("./anthropic.js")).createAnthropicModel],
  ["http", async () => (await import("./http.js")).createHttpModel],
  ["module", async () => (await import("./module.js")).createModuleModel],
  ["mcp", async () => (await import("./mcp.js")).createMcpToolModel],
]);

/** Adds a provider kind (used by providers added later and by tests). */
export function registerProvider(kind: string, load: () => Promise<ProviderFactory>): void {
  factories.set(kind, load);
}

export function providerKinds(): string[] {
  return [...factories.keys()];
}

/** Creates the model instance of a config; throws TypeError for an unknown provider. */
export async function createModel(config: ModelConfig, services: ProviderServices): Promise<BaseModel> {
  const load = factories.get(config.provider);
  if (!load) throw new TypeError(`model '${config.name}': unknown provider '${config.provider}' (known: ${providerKinds().join(", ")})`);
  const model = await (await load())(config, services);
  model.name = config.name;
  if (model.capabilities.length === 0) model.capabilities = [...config.capabilities];
  if (config.maxTokens !== undefined) model.maxTokens = config.maxTokens;
  if (config.cost !== undefined) model.cost = config.cost;
  return model;
}
