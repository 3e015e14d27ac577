/**
 * Checks a model of a file against what a run would refuse and against the project's key
 * policy, so `mcp validate` reports it first (docs/limits.md, "Trust model"):
 * - `options` keys a provider does not know (openai, anthropic, http refuse them): MCP406;
 * - mcp.yaml `apiKeys.env`: the only variables `apiKeyEnv` may name: MCP407;
 * - mcp.yaml `apiKeys.hosts`: the only hosts a model with an `apiKeyEnv` may send its key
 *   to (`api.openai.com`, `*.example.com`, `127.0.0.1`): MCP407.
 * Knows nothing about running: it reads the model's raw mapping and the config's.
 */
import type { DiagnosticCode } from "../diagnostics/codes.js";
import type { Location } from "../diagnostics/diagnostic.js";
import type { JsonPath, YamlFile } from "../config/yaml-file.js";
import { effectiveBaseUrl, PROVIDER_OPTION_KEYS } from "../models/provider-facts.js";
import { didYouMean } from "../util/suggest.js";

type Report = (code: DiagnosticCode, message: string, location: Location | undefined, extra?: { hint?: string }) => void;
type Obj = Record<string, unknown>;

/** The project's key policy, from mcp.yaml `apiKeys`; undefined lists allow anything. */
export interface KeyPolicy {
  env?: readonly string[];
  hosts?: readonly string[];
  /** Where the policy is written, for the diagnostics' hints. */
  file?: string;
}

export function keyPolicyOf(cfg: Obj, file: string | undefined): KeyPolicy {
  const k = cfg.apiKeys;
  if (!k || typeof k !== "object" || Array.isArray(k)) return {};
  const list = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : undefined);
  const env = list((k as Obj).env);
  const hosts = list((k as Obj).hosts);
  return { ...(env ? { env } : {}), ...(hosts ? { hosts } : {}), ...(file ? { file } : {}) };
}

/** Whether `host` is allowed by one of `patterns` (exact, or `*.domain` for its subdomains). */
export function hostAllowed(host: string, patterns: readonly string[]): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, "");
  return patterns.some((p) => {
    const q = p.toLowerCase().trim();
    return q.startsWith("*.") ? h.endsWith(q.slice(1)) : h === q;
  });
}

export function checkModelPolicy(report: Report, file: YamlFile, path: JsonPath, name: string, raw: Obj, policy: KeyPolicy): void {
  const provider = typeof raw.provider === "string" ? raw.provider : "";
  const known = PROVIDER_OPTION_KEYS[provider];
  const options = raw.options;
  if (known && options && typeof options === "object" && !Array.isArray(options)) {
    for (const key of Object.keys(options)) {
      if (known.includes(key)) continue;
      report("MCP406", `model '${name}': unknown option '${key}' for provider ${provider}${didYouMean(key, known)}`, file.locateKey([...path, "options", key]), {
        hint: `${provider} models take: ${known.join(", ")}`,
      });
    }
  }
  const keyEnv = raw.apiKeyEnv;
  if (typeof keyEnv !== "string") return;
  const where = policy.file ? ` in ${policy.file}` : "";
  if (policy.env && !policy.env.includes(keyEnv)) {
    report("MCP407", `model '${name}': apiKeyEnv '${keyEnv}' is not an allowed key variable (apiKeys.env${where}: ${policy.env.join(", ") || "none"})`, file.locate([...path, "apiKeyEnv"]), {
      hint: "add the variable to apiKeys.env in mcp.yaml if this model may use it",
    });
  }
  const url = effectiveBaseUrl(provider, raw.baseUrl);
  if (policy.hosts && url !== undefined) {
    let host: string | undefined;
    try {
      host = new URL(url).hostname;
    } catch {
      return; // an invalid URL is reported by the schema or the provider
    }
    if (!hostAllowed(host, policy.hosts)) {
      report(
        "MCP407",
        `model '${name}': its key (${keyEnv}) would be sent to ${host}, which is not an allowed host (apiKeys.hosts${where}: ${policy.hosts.join(", ") || "none"})`,
        file.locate(raw.baseUrl !== undefined ? [...path, "baseUrl"] : [...path, "apiKeyEnv"]),
        {
          hint: "add the host to apiKeys.hosts in mcp.yaml if keys may be sent there",
        },
      );
    }
  }
}
