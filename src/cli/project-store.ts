/**
 * Finding the store of a project for commands that start from a run id rather than a
 * pipeline (`mcp runs`, `mcp resume`): the nearest mcp.yaml at or above the folder (its
 * `store:` settings), else the folder itself; the default file is `.mcp/state.db` there.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import YAML from "yaml";
import { findProjectConfig } from "../compiler/load.js";
import type { ProjectSettings } from "../compiler/types.js";
import { storeSettings } from "../compiler/settings.js";
import { DEFAULT_STORE_PATH, openStore, storeChoice, storePath } from "../store/open-store.js";
import type { Store } from "../store/store.js";
import { McpError } from "../util/errors.js";
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
export async function openProjectStore(command: string, dir: string, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Promise<Store> {
  // A mistyped --project would otherwise find the mcp.yaml above it and answer for that project.
  if (!existsSync(resolve(cwd, dir))) throw new UsageError(`--project ${dir}: no such folder`, command);
  const settings = projectStoreSettings(dir);
  const choice = storeChoice(settings, env.MCP_STORE || undefined);
  if (choice.kind === "redis") {
    try {
      return await openStore(settings, choice.url ?? "redis");
    } catch (e) {
      throw new UsageError((e as Error).message, command, !(e instanceof McpError && e.code === "REDIS_UNREACHABLE"));
    }
  }
  const kind = choice.kind;
  if (kind !== "sqlite") throw new UsageError(`the project's store is ${kind}; runs are only kept in a sqlite or redis store`, command);
  const path = storePath(settings);
  if (!existsSync(path)) {
    const elsewhere = otherStoresHint(settings.projectDir, cwd);
    throw new UsageError(`no runs recorded in ${settings.projectDir} (there is no ${path}); ${elsewhere ?? "run a pipeline first, or give --project DIR"}`, command);
  }
  try {
    return await openStore(settings, "sqlite");
  } catch (e) {
    // A file written by a newer mcp is refused, with what to do: not an internal error.
    if (e instanceof McpError && e.code === "STORE_VERSION") throw new UsageError(e.message, command);
    throw e;
  }
}

/**
 * Where runs may be instead, when a project's folder has none: the run journals one folder
 * down (`<sub>/.mcp/state.db`). A pipeline run where no mcp.yaml is found has its folder as
 * its project, so `mcp run pipelines/x.yaml` journals in pipelines/.mcp/, not in the folder
 * `mcp runs` starts from. Returns a sentence naming them and the command that lists them
 * (paths relative to `cwd`), or undefined when there are none.
 */
export function otherStoresHint(projectDir: string, cwd: string): string | undefined {
  let subs: string[];
  try {
    subs = readdirSync(projectDir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !e.name.startsWith(".") && e.name !== "node_modules")
      .map((e) => join(projectDir, e.name))
      .filter((d) => existsSync(join(d, DEFAULT_STORE_PATH)))
      .sort();
  } catch {
    return undefined;
  }
  if (subs.length === 0) return undefined;
  const shown = (d: string): string => {
    const r = relative(cwd, d) || ".";
    return /[\s'"$`\\]/.test(r) ? `'${r.replace(/'/g, "'\\''")}'` : r;
  };
  const journals = subs.slice(0, 3).map((d) => shown(join(d, DEFAULT_STORE_PATH)));
  const more = subs.length > 3 ? ` and ${subs.length - 3} more` : "";
  return `found a run journal in ${journals.join(", ")}${more} (a pipeline run with no mcp.yaml keeps its runs in its own folder): mcp runs --project ${shown(subs[0]!)} lists them`;
}
