/**
 * What the HTTP providers (openai, anthropic, http) share: the model's compiled templates,
 * evaluating `options` against the call's input, reading the API key from the environment
 * variable the config names, and the HttpCall settings of the model.
 */
import { BaseModel } from "../base-model.js";
import { compileTemplateValue, evaluateTemplate, type Template } from "../../expr/template.js";
import { ModelError } from "../errors.js";
import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_TIMEOUT_MS, type HttpCall } from "../http-client.js";
import type { ModelConfig } from "../types.js";
import type { ProviderServices } from "./services.js";
import { describe } from "../chat-request.js";

type TemplateKey = "options" | "headers" | "request" | "response";

/** A model reached over HTTP. Subclasses build the request and read the answer. */
export abstract class RemoteModel extends BaseModel {
  readonly config: ModelConfig;
  readonly #env: NodeJS.ProcessEnv;
  readonly #templates: Partial<Record<TemplateKey, Template>> = {};

  /** The provider's model name: `model`, else the registry name (`gpt-4` in the tutorial). */
  get apiModel(): string {
    return this.config.model ?? this.config.name;
  }

  constructor(
    readonly provider: string,
    config: ModelConfig,
    services: ProviderServices,
    optionKeys: readonly string[],
  ) {
    super();
    this.config = config;
    this.#env = services.env;
    for (const key of ["options", "headers", "request", "response"] as const) {
      const t = config.templates?.[key] ?? (config[key] !== undefined ? compileTemplateValue(config[key], `model '${config.name}' ${key}`) : undefined);
      if (t) this.#templates[key] = t;
    }
    checkOptionKeys(config, this.#templates.options, optionKeys, provider);
  }

  /** The compiled template of a config key, if the model has one. */
  protected template(key: TemplateKey): Template | undefined {
    return this.#templates[key];
  }

  /** `options` evaluated with `$request` = the call's input. */
  protected async options(input: unknown): Promise<Record<string, unknown>> {
    const t = this.#templates.options;
    if (!t) return {};
    const v = await evaluateTemplate(t, { request: input });
    if (v === undefined || v === null) return {};
    if (typeof v !== "object" || Array.isArray(v)) throw this.fatal(`options must be an object, received ${describe(v)}`);
    return v as Record<string, unknown>;
  }

  /** `headers` evaluated with `$request`; values become strings. */
  protected async headers(input: unknown): Promise<Record<string, string>> {
    const t = this.#templates.headers;
    if (!t) return {};
    const v = await evaluateTemplate(t, { request: input });
    const out: Record<string, string> = {};
    if (!v || typeof v !== "object" || Array.isArray(v)) return out;
    for (const [k, val] of Object.entries(v)) {
      if (val === undefined || val === null) continue;
      out[k.toLowerCase()] = typeof val === "string" ? val : JSON.stringify(val);
    }
    return out;
  }

  /**
   * The API key from `apiKeyEnv`, or undefined when the model names no variable (local
   * servers need none). A named variable that is unset or empty is a `fatal` error that
   * names the variable.
   */
  protected apiKey(): string | undefined {
    const name = this.config.apiKeyEnv;
    if (!name) return undefined;
    const key = this.#env[name];
    if (!key) {
      throw this.fatal(`the API key variable $${name} is not set (apiKeyEnv); set it in the environment, or remove apiKeyEnv for a server that needs no key`);
    }
    return key.trim();
  }

  /** The call settings shared by this model's requests; `secrets` holds the key. */
  protected call(url: URL, init: { method: string; headers: Record<string, string>; body?: string; signal: AbortSignal; stream: boolean; key: string | undefined }): HttpCall {
    return {
      provider: this.provider,
      model: this.config.name,
      url,
      method: init.method,
      headers: init.headers,
      ...(init.body !== undefined ? { body: init.body } : {}),
      signal: init.signal,
      timeoutMs: this.config.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      connectTimeoutMs: this.config.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      deadline: !init.stream,
      secrets: this.#secrets(init.key),
      ...(this.config.apiKeyEnv ? { keyEnv: this.config.apiKeyEnv } : {}),
    };
  }

  /** The key as used and as set (untrimmed), so neither can leak. */
  #secrets(key: string | undefined): string[] {
    const raw = this.config.apiKeyEnv ? this.#env[this.config.apiKeyEnv] : undefined;
    return [...new Set([key, raw].filter((s): s is string => typeof s === "string" && s !== ""))];
  }

  /** A `fatal` error of this model (a wrong input or setting: retrying cannot help). */
  protected fatal(detail: string): ModelError {
    return new ModelError(`${this.provider} model '${this.config.name}': ${detail}`, {
      kind: "fatal",
      provider: this.provider,
      model: this.config.name,
    });
  }
}

/** Parses a base URL or endpoint, throwing a TypeError that names the setting. */
export function parseUrl(value: string, setting: string, config: ModelConfig): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`model '${config.name}': ${setting} must be an absolute http(s) URL, received ${JSON.stringify(value)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(`model '${config.name}': ${setting} must be an http(s) URL, received ${JSON.stringify(value)}`);
  }
  return url;
}

/** Joins a base URL and a path: `https://api.openai.com/v1` + `chat/completions`. */
export function endpoint(base: URL, path: string): URL {
  const b = base.href.endsWith("/") ? base.href : `${base.href}/`;
  return new URL(path.replace(/^\//, ""), b);
}

/** Options a provider does not know are a TypeError when the model is created. */
function checkOptionKeys(config: ModelConfig, t: Template | undefined, allowed: readonly string[], provider: string): void {
  if (!t) return;
  const keys = t.kind === "object" ? t.entries.map(([k]) => k) : t.kind === "literal" && t.value && typeof t.value === "object" && !Array.isArray(t.value) ? Object.keys(t.value) : [];
  for (const k of keys) {
    if (!allowed.includes(k)) {
      throw new TypeError(`model '${config.name}': unknown option '${k}' for provider ${provider} (known: ${allowed.join(", ")})`);
    }
  }
}
