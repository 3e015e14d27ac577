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
  /** mcp: the server's name in `mcpServers:`. */
  server?: string;
  /** mcp: the tool to call. */
  tool?: string;
  /** mcp: the server's settings, resolved by the compiler from `mcpServers:`. */
  mcpServer?: McpServerConfig;
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
  /** JSON Schema of the model's output (`outputSchema:`), for checking `$steps.<id>.output` references; built-in providers declare theirs. */
  outputSchema?: Record<string, unknown> | boolean;
  /** Replicas of the model: calls are balanced across them (registry/gateway-model.ts). */
  deployments?: DeploymentConfig[];
  /** How calls are spread over the deployments. @default "least-in-flight" */
  balance?: BalancePolicy;
  /** Circuit breaker thresholds of each deployment. */
  breaker?: BreakerSettings;
  /** Rate limits of the whole model, across the runs of the process. */
  limits?: RateLimits;
  /** Folder that relative paths (module:) resolve against: the defining file's folder. */
  baseDir?: string;
  /** Where module problems are reported: the `module:` value, else the model's key. */
  moduleLocation?: Location;
  /** Templates compiled at load time (options, headers, request, response). */
  templates?: { options?: Template; headers?: Template; request?: Template; response?: Template };
}

/**
 * An external Model Context Protocol server (`mcpServers:` in mcp.yaml or a pipeline), as
 * the compiler resolves it: paths made absolute, header templates compiled.
 */
export interface McpServerConfig {
  /** Its key in `mcpServers:`. */
  name: string;
  /**
   * Identity of the server: its name and a hash of how it is reached (command, args, cwd,
   * url). Connections are pooled and tool listings cached under it.
   */
  id: string;
  /** stdio: the program, its arguments, the variables passed through, the working folder. */
  command?: string;
  args?: string[];
  env?: string[];
  cwd?: string;
  /** Streamable HTTP endpoint. */
  url?: string;
  /** HTTP headers, a template over $env. */
  headers?: Template;
  /** The names $env may read in `headers` (mcp.yaml `env:`). */
  envAllow?: string[];
  /** Longest wait for one call without progress. */
  timeoutMs?: number;
}

/** How calls are spread over a model's deployments. */
export type BalancePolicy = "least-in-flight" | "weighted" | "round-robin";

/** One replica of a model; unset fields are the model's. */
export interface DeploymentConfig {
  /** Name in metrics and events; default: host:port of the URL. */
  name?: string;
  baseUrl?: string;
  url?: string;
  apiKeyEnv?: string;
  model?: string;
  /** @default 1 */
  weight?: number;
  maxConcurrency?: number;
  limits?: RateLimits;
}

/** Circuit breaker thresholds. */
export interface BreakerSettings {
  /** Consecutive failures that open the breaker. @default 3 */
  failures?: number;
  /** How long an open breaker keeps the deployment out, in ms. @default 10000 */
  cooldownMs?: number;
  /** Calls let through while half-open. @default 1 */
  probes?: number;
}

/** Requests and tokens per minute. */
export interface RateLimits {
  rpm?: number;
  tpm?: number;
  inputTpm?: number;
  outputTpm?: number;
}
