/**
 * What every provider gets from the runner, in a file of its own so providers import it
 * without importing the provider table (providers/index.ts), which imports them.
 */
import type { BaseModel } from "../base-model.js";
import type { ModelConfig } from "../types.js";

/** Services a provider may use; the orchestrator passes the same object to all. */
export interface ProviderServices {
  /** Process environment, for apiKeyEnv (tests inject their own). */
  env: NodeJS.ProcessEnv;
}

/** Makes the model instance of one config. */
export type ProviderFactory = (config: ModelConfig, services: ProviderServices) => BaseModel | Promise<BaseModel>;
