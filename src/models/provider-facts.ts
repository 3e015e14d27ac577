/**
 * Facts about the built-in providers that the compiler needs without loading them: the
 * option keys each HTTP provider accepts (a run refuses others, so `mcp validate` reports
 * them first) and where each sends requests when a model sets no `baseUrl`.
 */

/** `options` keys of the chat providers (openai, anthropic). */
export const CHAT_OPTION_KEYS = ["system", "temperature", "maxTokens", "json", "body"] as const;

/** `options` keys of the http provider. */
export const HTTP_OPTION_KEYS = ["apiKeyHeader", "apiKeyPrefix"] as const;

/** Option keys by provider, for the providers that refuse unknown ones. */
export const PROVIDER_OPTION_KEYS: Readonly<Record<string, readonly string[]>> = {
  openai: CHAT_OPTION_KEYS,
  anthropic: CHAT_OPTION_KEYS,
  http: HTTP_OPTION_KEYS,
};

/** Where requests go when an openai model sets no `baseUrl`. */
export const OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1";
/** Where requests go when an anthropic model sets no `baseUrl`. */
export const ANTHROPIC_DEFAULT_BASE_URL = "https://api.anthropic.com/v1";

/** The base URL a model's requests (and its API key) go to, if the provider sends any. */
export function effectiveBaseUrl(provider: string, baseUrl: unknown): string | undefined {
  if (typeof baseUrl === "string") return baseUrl;
  if (provider === "openai") return OPENAI_DEFAULT_BASE_URL;
  if (provider === "anthropic") return ANTHROPIC_DEFAULT_BASE_URL;
  return undefined;
}
