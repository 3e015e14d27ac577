/**
 * The runtime behind every transport of a project folder: the live pipeline set (hot
 * reload), the project's mcp.yaml (models, server settings), the store, the orchestrator,
 * the run service and the Protocol Handler over them. `mcp serve` (HTTP) and the Model
 * Context Protocol over stdio both start from `createRuntime(dir)`.
 *
 * @example
 * const rt = await createRuntime({ dir: "pipelines" });
 * const out = await rt.handler.dispatch("pipelines.list", {}, { signal: AbortSignal.timeout(5000) });
 * await rt.close();
 */
import { basename, resolve } from "node:path";
import { statSync } from "node:fs";
import { cacheMayApply, ResponseCache } from "../cache/response-cache.js";
import { compilePipeline } from "../compiler/compile.js";
import type { ProjectSettings } from "../compiler/types.js";
import { CONFIG_NAMES, findProjectConfig, loadConfigFile } from "../compiler/load.js";
import { DEFAULT_LIMITS } from "../config/limits.js";
import { parseYaml } from "../config/yaml-file.js";
import { ContextManager } from "../context/context-manager.js";
import { hasErrors, type Diagnostic } from "../diagnostics/diagnostic.js";
import { SourceMap } from "../diagnostics/source.js";
import type { RunObserver } from "../events/event.js";
import type { ModelConfig } from "../models/types.js";
import type { CallHook } from "../events/ports.js";
import { LocalRunService } from "../orchestrator/local-run-service.js";
import { TaskOrchestrator, type OrchestratorOptions } from "../orchestrator/orchestrator.js";
import type { RunService } from "../orchestrator/run-service.js";
import { ModelRegistry } from "../registry/model-registry.js";
import { openStore, type StoreKind } from "../store/open-store.js";
import type { Store } from "../store/store.js";
import { LivePipelineSet, type LivePipelineSetOptions } from "../watch/live-pipeline-set.js";
import { ChatService } from "./chat.js";
import { ProtocolHandler } from "./handler.js";
import { DEFAULT_INPUT_LIMITS, type InputLimits } from "./input-limits.js";
import type { PipelineCatalog, ProtocolServices } from "./services.js";

/** The project's mcp.yaml as the runtime uses it. */
export interface ProjectConfig {
  configPath?: string;
  settings: ProjectSettings;
  models: readonly ModelConfig[];
  /** Problems of mcp.yaml; with errors, `models` is empty. */
  diagnostics: readonly Diagnostic[];
  sources: SourceMap;
}

/** Reads the mcp.yaml found at or above `dir` (none: no models, default settings). */
export function loadProjectConfig(dir: string): ProjectConfig {
  const projectDir = resolve(dir);
  const configPath = findProjectConfig(projectDir);
  const sources = new SourceMap();
  if (!configPath) return { settings: { projectDir, env: [] }, models: [], diagnostics: [], sources };
  const cfg = loadConfigFile(configPath, DEFAULT_LIMITS, sources);
  if (hasErrors(cfg.diagnostics)) return { configPath, settings: { projectDir: resolve(configPath, ".."), env: [] }, models: [], diagnostics: cfg.diagnostics, sources };
  // Compile an empty pipeline against the config: normalised models and settings.
  const compiled = compilePipeline({ pipeline: parseYaml("<project>", "steps: {}\n"), config: cfg.file, sources });
  const settings = compiled.pipeline?.settings ?? { projectDir: resolve(configPath, ".."), env: [] };
  return { configPath, settings, models: compiled.pipeline?.models ?? [], diagnostics: [...cfg.diagnostics, ...compiled.diagnostics], sources };
}

export interface RuntimeOptions {
  /** Folder of pipelines to serve (or one file). */
  dir: string;
  /** Store kind (or a redis:// URL) instead of mcp.yaml's. */
  store?: StoreKind | string;
  /** Environment for providers' API keys and $env. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Options of the live pipeline set (debounce, polling in tests). */
  watch?: LivePipelineSetOptions;
  /** Observer of every run's events (metrics, logs). */
  observer?: RunObserver;
  /** Run-input limits. @default DEFAULT_INPUT_LIMITS */
  limits?: InputLimits;
  /** Longest wait for runs in flight on close, in ms. @default 10000 */
  deadlineMs?: number;
  /** Limits shared with other processes (the queue's fleet). @default per process */
  fleetLimits?: Pick<OrchestratorOptions, "gate" | "rateLimiter" | "deploymentSlots">;
  /** Another run service (a queue). @default LocalRunService */
  runs?: (parts: { orchestrator: TaskOrchestrator; store: Store }) => RunService;
  onInternalError?: (method: string, error: unknown) => void;
}

export interface Runtime {
  readonly handler: ProtocolHandler;
  readonly pipelines: LivePipelineSet;
  readonly runs: RunService;
  readonly store: Store;
  readonly orchestrator: TaskOrchestrator;
  /** The project's mcp.yaml, re-read after it changed. */
  project(): ProjectConfig;
  /** Ready: pipelines loaded and watched. */
  readonly ready: Promise<void>;
  /** Finishes (or interrupts, after the deadline) the runs in flight, stops watching, closes the store. */
  close(opts?: { deadlineMs?: number }): Promise<{ interrupted: string[] }>;
}

export async function createRuntime(options: RuntimeOptions): Promise<Runtime> {
  const dir = resolve(options.dir);
  let project = loadProjectConfig(dir);
  let projectStamp = stamp(project.configPath);
  let dirty = false;
  const current = (): ProjectConfig => {
    if (!dirty) return project;
    // The live set saw an mcp.yaml change: re-read it if it really changed (or appeared).
    dirty = false;
    const path = findProjectConfig(dir);
    const s = stamp(path);
    if (path !== project.configPath || s !== projectStamp) {
      project = loadProjectConfig(dir);
      projectStamp = s;
    }
    return project;
  };

  const store = await openStore({ projectDir: project.settings.projectDir, ...(project.settings.store ? { store: project.settings.store } : {}) }, options.store);
  const env = options.env ?? process.env;
  const orchestrator = new TaskOrchestrator(new ModelRegistry(), { env, ...(options.observer ? { observer: options.observer } : {}), ...options.fleetLimits });
  const context = new ContextManager(store);
  const caches = new WeakMap<object, ResponseCache>();
  const cacheFor = (settings: ProjectSettings): ResponseCache => {
    const key = settings.cache ?? settings;
    let c = caches.get(key);
    if (!c) caches.set(key, (c = new ResponseCache(store, settings.cache ? { project: settings.cache } : {})));
    return c;
  };
  const runs =
    options.runs?.({ orchestrator, store }) ??
    new LocalRunService({
      orchestrator,
      store,
      ...(options.deadlineMs !== undefined ? { deadlineMs: options.deadlineMs } : {}),
      runOptions: (p) => ({
        context,
        hooks: cacheMayApply(p.steps.values(), p.models, p.settings.cache) ? [cacheFor(p.settings)] : [],
      }),
    });

  const pipelines = new LivePipelineSet(dir, options.watch ?? {});
  const catalog: PipelineCatalog = {
    list: () => pipelines.list(),
    get: (name) => pipelines.get(name),
    onChange: (listener) =>
      pipelines.on("batch", (e) => {
        if (e.events > 0) listener();
      }),
  };
  pipelines.on("batch", (e) => {
    if (e.paths.some((p) => CONFIG_NAMES.includes(basename(p)))) dirty = true;
  });

  const services: ProtocolServices = {
    pipelines: catalog,
    runs,
    orchestrator,
    store,
    models: () => current().models,
    settings: () => current().settings,
    hooks: (): CallHook[] => [cacheFor(current().settings)],
    limits: options.limits ?? DEFAULT_INPUT_LIMITS,
  };
  const chat = new ChatService(services, env, options.observer);
  services.chat = chat;
  const handler = new ProtocolHandler(services, options.onInternalError ? { onInternalError: options.onInternalError } : {});
  let closed: Promise<{ interrupted: string[] }> | undefined;
  return {
    handler,
    pipelines,
    runs,
    store,
    orchestrator,
    project: current,
    ready: pipelines.ready,
    close(opts = {}) {
      closed ??= (async () => {
        const r = await runs.close(opts);
        await pipelines.close();
        await chat.close();
        await orchestrator.close();
        await store.close();
        return r;
      })();
      return closed;
    },
  };
}

function stamp(path: string | undefined): string {
  if (!path) return "";
  try {
    const s = statSync(path);
    return `${s.mtimeMs}:${s.size}`;
  } catch {
    return "";
  }
}
