/**
 * The response cache, as a CallHook: identical model calls (provider, model, endpoint,
 * options, capabilities, input) are answered from the Store instead of the model.
 *
 * Enabled per step (`cache:` on the step, its task or `defaults`), else per model (`cache:`
 * on the model), else for the project (mcp.yaml `cache: { enabled, ttl }`); `--no-cache`
 * turns it off. The TTL is the first set of step, model and project; none: entries never
 * expire. Only successful calls are stored (the orchestrator calls `store` for nothing else).
 */
import type { Usage } from "../events/usage.js";
import type { CallHit, CallHook, CallRequest } from "../events/ports.js";
import type { Store } from "../store/store.js";
import { callKey } from "./call-key.js";

/** mcp.yaml `cache:` settings, the project's default for every call. */
export interface CacheSettings {
  enabled?: boolean;
  ttlMs?: number;
}

/** What the cache decides for one call. */
export interface EffectiveCachePolicy {
  enabled: boolean;
  ttlMs?: number;
}

/** Step over model over project: the first that says anything decides. */
export function cachePolicyFor(req: Pick<CallRequest, "cache" | "model">, project: CacheSettings = {}): EffectiveCachePolicy {
  const step = req.cache;
  const model = req.model.cache;
  const modelTtl = typeof model === "object" ? model.ttlMs : undefined;
  const enabled = step?.enabled ?? (model !== undefined ? model !== false : (project.enabled ?? false));
  const ttlMs = step?.ttlMs ?? modelTtl ?? project.ttlMs;
  return { enabled, ...(ttlMs !== undefined ? { ttlMs } : {}) };
}

/** Whether any call of these steps and models may be cached (the cache hook is needed at all). */
export function cacheMayApply(steps: Iterable<{ cache?: { enabled: boolean } }>, models: Iterable<{ cache?: boolean | { ttlMs?: number } }>, project: CacheSettings = {}): boolean {
  if (project.enabled) return true;
  for (const s of steps) if (s.cache?.enabled) return true;
  for (const m of models) if (m.cache !== undefined && m.cache !== false) return true;
  return false;
}

interface CachedValue {
  output: unknown;
  usage?: Usage;
  model?: string;
}

export interface ResponseCacheOptions {
  /** mcp.yaml `cache:` settings. */
  project?: CacheSettings;
  /** Clock (tests). @default Date.now */
  now?: () => number;
}

export class ResponseCache implements CallHook {
  readonly kind = "cache";
  readonly #store: Store;
  readonly #project: CacheSettings;
  readonly #now: () => number;
  #purged = false;

  constructor(store: Store, options: ResponseCacheOptions = {}) {
    this.#store = store;
    this.#project = options.project ?? {};
    this.#now = options.now ?? Date.now;
  }

  applies(req: CallRequest): boolean {
    return cachePolicyFor(req, this.#project).enabled;
  }

  async lookup(req: CallRequest): Promise<CallHit | undefined> {
    if (!this.#purged) {
      // Expired entries are dropped once per process, not on every lookup.
      this.#purged = true;
      await this.#store.cacheDeleteExpired(this.#now());
    }
    const entry = await this.#store.cacheGet(callKey(req), this.#now());
    if (!entry) return undefined;
    const v = entry.value as CachedValue;
    return { output: v.output, ...(v.usage ? { usage: v.usage } : {}), source: "cache" };
  }

  async store(req: CallRequest, output: unknown, info: { usage: Usage; latencyMs: number }): Promise<void> {
    const policy = cachePolicyFor(req, this.#project);
    if (!policy.enabled) return;
    const now = this.#now();
    const value: CachedValue = { output, usage: info.usage, model: req.model.name };
    await this.#store.cacheSet(callKey(req), { value, createdAt: now, ...(policy.ttlMs !== undefined ? { expiresAt: now + policy.ttlMs } : {}) });
  }
}
