/**
 * Choosing and opening the Store from the project settings (mcp.yaml `store:`) and an
 * override (`--store`).
 */
import { isAbsolute, resolve } from "node:path";
import { McpError } from "../util/errors.js";
import { MemoryStore } from "./memory-store.js";
import { RedactingStore } from "./redaction.js";
import type { Store } from "./store.js";

/** The kinds of store `openStore` knows. */
export type StoreKind = "sqlite" | "memory" | "redis";

/** What openStore reads of the project settings (mcp.yaml `store:` and the project folder). */
export interface StoreSettings {
  /** Folder of mcp.yaml, else of the pipeline: where `.mcp/` lives. */
  projectDir: string;
  store?: { type?: StoreKind; path?: string; url?: string; redact?: boolean };
}

/** Default SQLite file, relative to the project folder. */
export const DEFAULT_STORE_PATH = ".mcp/state.db";

/** Where the SQLite file of a project is: `store.path` (relative to the project), else `.mcp/state.db`. */
export function storePath(settings: StoreSettings): string {
  const p = settings.store?.path ?? DEFAULT_STORE_PATH;
  return isAbsolute(p) ? p : resolve(settings.projectDir, p);
}

/**
 * Which store a project uses: `override` (`--store`, or `MCP_STORE`: sqlite, memory or a
 * redis:// URL), else mcp.yaml's `store:`, else SQLite.
 */
export function storeChoice(settings: Pick<StoreSettings, "store">, override?: StoreKind | string): { kind: StoreKind; url?: string } {
  if (override !== undefined && /^rediss?:\/\//.test(override)) return { kind: "redis", url: override };
  const kind = (override ?? settings.store?.type ?? (settings.store?.url ? "redis" : "sqlite")) as StoreKind;
  return kind === "redis" && settings.store?.url ? { kind, url: settings.store.url } : { kind };
}

/**
 * Opens the project's store: `override` (e.g. `--store memory`, `MCP_STORE=redis://...`),
 * else mcp.yaml's `store:`, else SQLite at `storePath(settings)` (created on first use).
 * @example const store = await openStore(pipeline.settings);
 */
export async function openStore(settings: StoreSettings, override?: StoreKind | string, opts: { connectTimeoutMs?: number } = {}): Promise<Store> {
  const store = await openPlainStore(settings, override, opts);
  // `store: { redact: true }`: prompts and answers stay out of the journal (redaction.ts).
  return settings.store?.redact === true ? new RedactingStore(store) : store;
}

async function openPlainStore(settings: StoreSettings, override: StoreKind | string | undefined, opts: { connectTimeoutMs?: number }): Promise<Store> {
  const { kind, url } = storeChoice(settings, override);
  switch (kind) {
    case "memory":
      return new MemoryStore();
    case "sqlite": {
      const { SqliteStore } = await import("./sqlite-store.js");
      return new SqliteStore(storePath(settings));
    }
    case "redis": {
      if (!url) throw new McpError("STORE_UNSUPPORTED", "the redis store needs a URL: store: redis://HOST:PORT in mcp.yaml, or MCP_STORE=redis://HOST:PORT");
      const { RedisStore } = await import("./redis-store.js");
      return RedisStore.open(url, { connectTimeoutMs: opts.connectTimeoutMs ?? 10_000 });
    }
    default:
      throw new TypeError(`openStore: unknown store type '${String(kind)}' (known: sqlite, memory, redis)`);
  }
}
