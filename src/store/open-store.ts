/**
 * Choosing and opening the Store from the project settings (mcp.yaml `store:`) and an
 * override (`--store`).
 */
import { isAbsolute, resolve } from "node:path";
import { McpError } from "../util/errors.js";
import { MemoryStore } from "./memory-store.js";
import type { Store } from "./store.js";

/** The kinds of store `openStore` knows. */
export type StoreKind = "sqlite" | "memory" | "redis";

/** What openStore reads of the project settings (mcp.yaml `store:` and the project folder). */
export interface StoreSettings {
  /** Folder of mcp.yaml, else of the pipeline: where `.mcp/` lives. */
  projectDir: string;
  store?: { type?: StoreKind; path?: string; url?: string };
}

/** Default SQLite file, relative to the project folder. */
export const DEFAULT_STORE_PATH = ".mcp/state.db";

/** Where the SQLite file of a project is: `store.path` (relative to the project), else `.mcp/state.db`. */
export function storePath(settings: StoreSettings): string {
  const p = settings.store?.path ?? DEFAULT_STORE_PATH;
  return isAbsolute(p) ? p : resolve(settings.projectDir, p);
}

/**
 * Opens the project's store: `override` (e.g. `--store memory`), else mcp.yaml's `store.type`,
 * else SQLite at `storePath(settings)` (created on first use).
 * @example const store = await openStore(pipeline.settings);
 */
export async function openStore(settings: StoreSettings, override?: StoreKind): Promise<Store> {
  const kind = override ?? settings.store?.type ?? "sqlite";
  switch (kind) {
    case "memory":
      return new MemoryStore();
    case "sqlite": {
      const { SqliteStore } = await import("./sqlite-store.js");
      return new SqliteStore(storePath(settings));
    }
    case "redis":
      throw new McpError("STORE_UNSUPPORTED", "the redis store is not available yet (it comes with `mcp worker`); use store type sqlite or memory");
    default:
      throw new TypeError(`openStore: unknown store type '${String(kind)}' (known: sqlite, memory, redis)`);
  }
}
