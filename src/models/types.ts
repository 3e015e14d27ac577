/** What a model is, as the registry and the providers see it. */
import type { Location } from "../diagnostics/diagnostic.js";
import type { Template } from "../expr/template.js";
import type { PROVIDERS } from "../schema/definitions.js";

export type ProviderKind = (typeof PROVIDERS)[number];

import type { Usage } from "../events/usage.js";

export type { Usage };

/** The common shape of a text model's answer. Other models return any JSON. */
export interface LlmOutput {
  text: string;
  json?: unknown;
  usage: Usage;
  finishReason: string;
}

/** A model's settings: from YAML (models:) or from `registry.registerModel()`. */
export interface ModelConfig {
  name: string;
  provider: ProviderKind | (string & {});
  description?: string;
  /** The provider's model name (gpt-4o-mini ...). */
  model?: string;
  baseUrl?: string;
  url?: string;
  method?: string;
  apiKeyEnv?: string;
  headers?: Record<string, string>;
  request?: unknown;
  response?: unknown;
  module?: string;
  export?: string;
  capabilities: string[];
  maxTokens?: number;
  /** USD per 1M tokens. */
  cost?: { input?: number; output?: number };
  /** Typical latency in ms, for `select: fastest` and plans. */
  latencyMs?: number;
  concurrency?: number;
  fallback?: string[];
  options?: Record<string, unknown>;
  timeoutMs?: number;
  connectTimeoutMs?: number;
  stream?: boolean;
  cache?: boolean | { ttlMs?: number };
  /** Folder that relative paths (module:) resolve against: the defining file's folder. */
  baseDir?: string;
  /** Where module problems are reported: the `module:` value, else the model's key. */
  moduleLocation?: Location;
  /** Templates compiled at load time (options, headers, request, response). */
  templates?: { options?: Template; headers?: Template; request?: Template; response?: Template };
}
