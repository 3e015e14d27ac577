/**
 * The pipelines of a LivePipelineSet, one entry per file: loading a file when anything it
 * reads changed (its text, its mcp.yaml, its module files), the name each valid file
 * claims (a name belongs to the first file to claim it), and the events that follow.
 */
import { readFileSync, statSync } from "node:fs";
import { basename, dirname, extname } from "node:path";
import { CONFIG_NAMES, findProjectConfig, loadPipelineFile, type ParsedPipelines } from "../compiler/load.js";
import type { CompiledPipeline } from "../compiler/types.js";
import { DEFAULT_LIMITS } from "../config/limits.js";
import { error, wholeFile, hasErrors, sortDiagnostics, type Diagnostic } from "../diagnostics/diagnostic.js";
import { SourceMap } from "../diagnostics/source.js";
import type { ChangeCause, LivePipelineInfo, LivePipelineSetOptions, LiveSetEvent, PipelineStatus } from "./live-set-types.js";
import type { YamlFile } from "../config/yaml-file.js";
import { freezePipeline, moduleFiles, nameLocation, readOrEmpty, stampOf, versionOf } from "./pipeline-versions.js";
import { displayPath, exists, isInside } from "./watch-paths.js";

export interface Entry {
  readonly path: string;
  file: string;
  /** Hash of everything the last load read: unchanged means no reload. */
  stamp?: string;
  good?: { pipeline: CompiledPipeline; version: string };
  status: PipelineStatus;
  diagnostics: readonly Diagnostic[];
  sources: SourceMap;
  configPath?: string;
  modules: readonly string[];
  /** Set while this file's name is taken by another file: that file's path. */
  clashWith?: string;
  /** The name that is taken. */
  clashName?: string;
}

/**
 * What one batch reads once for all its pipelines: the mcp.yaml found from each folder, its
 * text, and the parsed and validated file (only a config without diagnostics is shared, so
 * each pipeline of a broken mcp.yaml still reports its errors). An mcp.yaml edit reloads
 * every pipeline under it: without this, each would read, parse and validate it again.
 */
class BatchReads {
  readonly configs = new (class extends Map<string, { file: YamlFile; diagnostics: Diagnostic[] }> {
    override set(key: string, value: { file: YamlFile; diagnostics: Diagnostic[] }): this {
      return value.diagnostics.length === 0 ? super.set(key, value) : this;
    }
  })();
  readonly #found = new Map<string, string | undefined>();
  readonly #texts = new Map<string, string>();

  configFor(dir: string): string | undefined {
    if (this.#found.has(dir)) return this.#found.get(dir);
    const found = findProjectConfig(dir);
    this.#found.set(dir, found);
    return found;
  }

  read = (p: string): string => {
    let t = this.#texts.get(p);
    if (t === undefined) this.#texts.set(p, (t = readOrEmpty(p)));
    return t;
  };
}

export class PipelineEntries {
  /** By absolute path. */
  readonly entries = new Map<string, Entry>();
  /** Pipeline name -> the path of the file that owns it. */
  readonly byName = new Map<string, string>();
  readonly #opts: Pick<LivePipelineSetOptions, "limits" | "models" | "verifyModules">;
  readonly #fileRoots: ReadonlySet<string>;
  readonly #isClosed: () => boolean;
  #batch: BatchReads | undefined;
  /**
   * The files parsed so far (pipelines and their sub-pipelines), so that an mcp.yaml or
   * module edit recompiles the pipelines under it without parsing their unchanged text again.
   * A removed file's is dropped; all are dropped when more are held than files loaded allow.
   */
  readonly #parsed: ParsedPipelines = new Map();

  constructor(opts: Pick<LivePipelineSetOptions, "limits" | "models" | "verifyModules">, fileRoots: ReadonlySet<string>, isClosed: () => boolean) {
    this.#opts = opts;
    this.#fileRoots = fileRoots;
    this.#isClosed = isClosed;
  }

  /** Loads in `fn` share their reads of mcp.yaml files (BatchReads). */
  async batch<T>(fn: () => Promise<T>): Promise<T> {
    this.#batch = new BatchReads();
    try {
      return await fn();
    } finally {
      this.#batch = undefined;
    }
  }

  nameOfFile(e: Entry): string {
    return e.clashName ?? e.good?.pipeline.name ?? basename(e.path, extname(e.path));
  }

  /**
   * Reloads what changed paths touch: a pipeline file itself, every pipeline under the folder
   * of a changed mcp.yaml (or using it), every pipeline using a changed module file; then the
   * files whose name was taken by a file now gone or renamed.
   */
  async reloadTouched(paths: Iterable<string>, isPipelinePath: (p: string) => boolean, events: LiveSetEvent[]): Promise<void> {
    const targets = new Map<string, Set<ChangeCause>>();
    const add = (p: string, cause: ChangeCause) => {
      let s = targets.get(p);
      if (!s) targets.set(p, (s = new Set()));
      s.add(cause);
    };
    for (const p of paths) {
      if (CONFIG_NAMES.includes(basename(p)) && !this.#fileRoots.has(p)) {
        const dir = dirname(p);
        for (const e of this.entries.values()) if (e.configPath === p || isInside(dir, e.path)) add(e.path, "config");
        continue;
      }
      for (const e of this.entries.values()) if (e.modules.includes(p)) add(e.path, /\.ya?ml$/.test(p) ? "sub-pipeline" : "module");
      if (isPipelinePath(p)) add(p, "file");
    }
    // Deleted files first, so a folder renamed in one batch frees its names before the
    // files at the new place claim them.
    const order = [...targets.keys()].sort((a, b) => Number(exists(a)) - Number(exists(b)) || (a < b ? -1 : 1));
    for (const p of order) {
      if (this.#isClosed()) return;
      await this.load(p, [...targets.get(p)!], events);
    }
    // Files whose name was taken by a file now gone or renamed: try them again.
    for (let round = 0; round < 3; round++) {
      const retry = [...this.entries.values()].filter((e) => e.clashWith && this.byName.get(this.nameOfFile(e)) !== e.clashWith);
      if (retry.length === 0) break;
      for (const e of retry) {
        e.stamp = undefined;
        await this.load(e.path, ["name"], events);
      }
    }
  }

  /** Loads one pipeline file if anything it reads changed; records what happened in `events`. */
  async load(path: string, causes: readonly ChangeCause[], events: LiveSetEvent[]): Promise<void> {
    const prev = this.entries.get(path);
    const file = displayPath(path);
    const limits = this.#opts.limits ?? DEFAULT_LIMITS;
    // The text read; for a file past the size limit none (the loader reports MCP002 without
    // reading it), and the stamp is made of its size and time instead.
    let text: string | undefined;
    let stampText: string;
    try {
      const st = statSync(path);
      if (!st.isFile()) throw Object.assign(new Error("not a file"), { code: "EISDIR" });
      if (st.size > limits.maxFileBytes) stampText = `size ${st.size}, modified ${st.mtimeMs}`;
      else stampText = text = readFileSync(path, "utf8");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") {
        if (prev) this.remove(prev, events);
        else if (this.#fileRoots.has(path)) this.setInvalid(path, file, [error("MCP006", `cannot read ${file}: no such file`, wholeFile(file))], new SourceMap(), causes, events);
        return;
      }
      this.setInvalid(path, file, [error("MCP006", `cannot read ${file}: ${(e as Error).message}`, wholeFile(file))], new SourceMap(), causes, events);
      return;
    }

    const batch = this.#batch;
    const configPath = batch ? batch.configFor(dirname(path)) : findProjectConfig(dirname(path));
    const modulesBefore = prev?.modules ?? [];
    const stampBefore = stampOf(stampText, configPath, modulesBefore, batch?.read);
    if (prev && prev.stamp === stampBefore && !prev.clashWith) return;

    const sources = new SourceMap();
    const loaded = loadPipelineFile(file, {
      sources,
      limits,
      configPath: configPath ? displayPath(configPath) : null,
      ...(text !== undefined ? { text } : {}),
      ...(this.#opts.models ? { models: this.#opts.models } : {}),
      ...(batch ? { configCache: batch.configs } : {}),
      parsed: this.#parsed,
    });
    if (this.#parsed.size > 2 * this.entries.size + 64) this.#parsed.clear();
    let diagnostics = loaded.diagnostics;
    let pipeline = loaded.pipeline;
    // The files it depends on: module models' files and sub-pipeline files (those also when
    // the load failed, so fixing a child reloads its parents).
    let modules = loaded.files ? [...new Set([...modulesBefore, ...loaded.files])].sort() : modulesBefore;
    if (pipeline) {
      modules = moduleFiles(pipeline);
      if (pipeline.files) modules = [...new Set([...modules, ...pipeline.files])].sort();
      if (this.#opts.verifyModules && modules.length) {
        const { verifyModuleModels } = await import("../models/providers/module.js");
        const found = await verifyModuleModels(pipeline);
        if (this.#isClosed()) return;
        if (found.length) diagnostics = sortDiagnostics([...diagnostics, ...found]);
        if (hasErrors(found)) pipeline = undefined;
      }
    }
    const entry: Entry = prev ?? { path, file, status: "invalid", diagnostics: [], sources, modules: [] };
    entry.file = file;
    entry.stamp = stampOf(stampText, configPath, modules, batch?.read);
    entry.sources = sources;
    entry.modules = modules;
    if (configPath) entry.configPath = configPath;
    else delete entry.configPath;
    this.entries.set(path, entry);

    if (!pipeline) {
      this.setInvalid(path, file, diagnostics, sources, causes, events);
      return;
    }

    // A name belongs to one file: the first to claim it.
    const owner = this.byName.get(pipeline.name);
    if (owner !== undefined && owner !== path && this.entries.has(owner)) {
      const other = this.entries.get(owner)!;
      entry.clashWith = owner;
      entry.clashName = pipeline.name;
      const at = nameLocation(file, text ?? "");
      const clash = error("MCP010", `pipeline name '${pipeline.name}' is already used by ${other.file}`, at, {
        hint: "give each pipeline file its own `name:`",
        ...(other.good ? { related: [{ message: `'${pipeline.name}' is defined here`, location: { file: other.file, offset: 0, length: 0 } }] } : {}),
      });
      this.setInvalid(path, file, sortDiagnostics([...diagnostics, clash]), sources, causes, events);
      return;
    }
    delete entry.clashWith;
    delete entry.clashName;

    const version = versionOf(pipeline, modules);
    const before = entry.good;
    const wasValid = entry.status === "valid";
    freezePipeline(pipeline, new Set(this.#opts.models ?? []));
    if (before && before.pipeline.name !== pipeline.name && this.byName.get(before.pipeline.name) === path) this.byName.delete(before.pipeline.name);
    this.byName.set(pipeline.name, path);
    entry.good = { pipeline, version };
    entry.status = "valid";
    entry.diagnostics = diagnostics;
    const base = { name: pipeline.name, file, path };
    if (!before) {
      events.push({ type: "loaded", ...base, version, pipeline, diagnostics });
    } else if (before.version !== version || !wasValid || before.pipeline.name !== pipeline.name) {
      events.push({ type: "updated", ...base, version, pipeline, previousVersion: before.version, previous: before.pipeline, diagnostics, causes });
    }
  }

  setInvalid(path: string, file: string, diagnostics: readonly Diagnostic[], sources: SourceMap, causes: readonly ChangeCause[], events: LiveSetEvent[]): void {
    let entry = this.entries.get(path);
    if (!entry) {
      entry = { path, file, status: "invalid", diagnostics, sources, modules: [] };
      this.entries.set(path, entry);
    }
    entry.status = "invalid";
    entry.diagnostics = diagnostics;
    entry.sources = sources;
    const good = entry.good;
    events.push({
      type: "invalid",
      name: this.nameOfFile(entry),
      file,
      path,
      diagnostics,
      sources,
      ...(good ? { lastGood: good.pipeline, lastGoodVersion: good.version } : {}),
      causes,
    });
  }

  remove(entry: Entry, events: LiveSetEvent[]): void {
    this.entries.delete(entry.path);
    this.#parsed.delete(entry.path);
    const name = this.nameOfFile(entry);
    if (entry.good && this.byName.get(entry.good.pipeline.name) === entry.path) this.byName.delete(entry.good.pipeline.name);
    events.push({ type: "removed", name, file: entry.file, path: entry.path, ...(entry.good ? { lastGood: entry.good.pipeline } : {}) });
  }

  info(e: Entry): LivePipelineInfo {
    return {
      name: this.nameOfFile(e),
      file: e.file,
      path: e.path,
      ...(e.good ? { version: e.good.version, pipeline: e.good.pipeline } : {}),
      status: e.status,
      diagnostics: e.diagnostics,
      sources: e.sources,
      ...(e.configPath ? { configPath: e.configPath } : {}),
      modules: e.modules,
    };
  }
}
