/**
 * Finding the store of a project for commands that start from a run id rather than a
 * pipeline (`mcp runs`, `mcp resume`): the nearest mcp.yaml at or above the folder (its
 * `store:` settings), else the folder itself; the default file is `.mcp/state.db` there.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import YAML from "yaml";
import { findProjectConfig } from "../compiler/load.js";
import type { ProjectSettings } from "../compiler/types.js";
import { storeSettings } from "../compiler/settings.js";
import { openStore, storeChoice, storePath } from "../store/open-store.js";
import type { Store } from "../store/store.js";
import { UsageError } from "./io.js";

/** The project settings that locate the store, from `dir` (a folder or a file in it). */
export function projectStoreSettings(dir: string): Pick<ProjectSettings, "projectDir" | "store"> {
  let d = resolve(dir);
  if (existsSync(d) && !statSync(d).isDirectory()) d = dirname(d);
  const cfg = findProjectConfig(d);
  if (!cfg) return { projectDir: d };
  let store: ProjectSettings["store"];
  try {
    const doc = YAML.parse(readFileSync(cfg, "utf8")) as { store?: unknown } | null;
    if (doc?.store && (typeof doc.store === "object" || typeof doc.store === "string")) store = storeSettings(doc.store);
  } catch {
    // A broken mcp.yaml is reported by the commands that load it; here the default applies.
  }
  return { projectDir: dirname(cfg), ...(store ? { store } : {}) };
}

/**
 * Opens the project's existing store for reading runs; a UsageError when there is none
 * (nothing was ever run here) or it is memory (a memory store dies with its process).
 * `MCP_STORE` (a redis:// URL, sqlite) overrides mcp.yaml's `store:`.
 */
export async function openProjectStore(command: string, dir: string, env: NodeJS.ProcessEnv = process.env): Promise<Store> {
  const settings = projectStoreSettings(dir);
  const choice = storeChoice(settings, env.MCP_STORE || undefined);
  if (choice.kind === "redis") {
    try {
      return await openStore(settings, choice.url ?? "redis");
    } catch (e) {
      throw new UsageError((e as Error).message, command);
    }
  }
  const kind = choice.kind;
  if (kind !== "sqlite") throw new UsageError(`the project's store is ${kind}; runs are only kept in a sqlite or redis store`, command);
  const path = storePath(settings);
  if (!existsSync(path)) throw new UsageError(`no runs recorded in ${settings.projectDir} (there is no ${path}); run a pipeline first, or give --project DIR`, command);
  return openStore(settings, "sqlite");
}
