/**
 * The live pipeline set: every pipeline under some folders (or named files) kept loaded,
 * validated and compiled while the files change, with the mcp.yaml each one uses and the
 * files of its `module` models. `mcp run --watch`, `mcp validate --watch` and the server's
 * hot reload are built on it.
 *
 * What a change does: file events are collected for `debounceMs` of quiet (50 ms by
 * default), then one *batch* reloads only the pipelines the changed paths touch: the
 * pipeline file itself, every pipeline under the folder of a changed mcp.yaml, every
 * pipeline using a changed module file. A pipeline whose inputs (its text, its mcp.yaml's
 * text, its module files' contents) did not change is not even recompiled.
 *
 * What survives a bad edit: each pipeline keeps its last good version, live and returned
 * by `get()`, while `list()` and the `invalid` event report the current diagnostics. A new
 * version is a new CompiledPipeline object; none is ever changed after it is published (they
 * are frozen), so a run started on one finishes on it whatever is saved meanwhile.
 *
 * Why the disk, not the event, decides: editors save in ways that produce confusing event
 * sequences (an atomic rename is an unlink and an add, or a change; a truncate-then-write
 * is two changes, the first of an empty file). An event only marks a path *dirty*; when the
 * debounce settles, the batch looks at what is on disk now. A file that was briefly empty
 * or missing inside the debounce window is never seen as such.
 *
 * States (in the style of wireit's src/watcher.ts):
 *
 *       new LivePipelineSet(paths)
 *                 |
 *                 v
 *           +-----------+   initial load done, watchers ready, recheck done
 *           | starting  |------------------------------------+
 *           +-----------+                                    |
 *                                                            v
 *                             file event               +-----------+
 *                +-------------------------------------|   idle    |<-------------+
 *                |                                     +-----------+              |
 *                v                                                                |
 *         +-------------+  file event: restart the timer                          |
 *         | debouncing  |----+  (never past maxWaitMs from the first event)       |
 *         +-------------+<---+                                                    |
 *                |                                                                |
 *                | timer fires: take the dirty paths                              |
 *                v                                                                |
 *         +-------------+  file event   +------------------+                      |
 *         |  reloading  |-------------->| reloading,       |                      |
 *         +-------------+               | changes pending  |                      |
 *                |                      +------------------+                      |
 *                |                               | batch applied                  |
 *                |                               v                                |
 *                |                          debouncing                            |
 *                | batch applied, events emitted, nothing pending                 |
 *                +----------------------------------------------------------------+
 *
 *     idle/debouncing --- recheck timer ---> as a file event (see #batch: a file read within
 *                                            chokidar's 50 ms change throttle is read again)
 *     any state --- close() ---> closed (watchers closed, timers cleared, no more events)
 *
 * Watching: chokidar, two watchers. One watches the given folders recursively for *.yaml
 * and *.yml (skipping hidden files and folders, node_modules and .mcp). The other watches,
 * one level deep, the folders of named files, of module files, and of every place an
 * mcp.yaml would be picked up by a pipeline outside those folders (from the pipeline's
 * folder up to the mcp.yaml it uses, or when it uses none, up to the watched folder or the
 * working directory), so creating an mcp.yaml that a pipeline would find reloads it.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync, type Stats } from "node:fs";
import { basename, dirname, extname, isAbsolute, relative, resolve, sep } from "node:path";
import { performance } from "node:perf_hooks";
import { watch, type FSWatcher } from "chokidar";
import { CONFIG_NAMES, findProjectConfig, loadPipelineFile } from "../compiler/load.js";
import { DEFAULT_LIMITS, type LoadLimits } from "../config/limits.js";
import type { CompiledPipeline } from "../compiler/types.js";
import { error, hasErrors, sortDiagnostics, wholeFile, type Diagnostic } from "../diagnostics/diagnostic.js";
import { SourceMap } from "../diagnostics/source.js";
import type { ModelConfig } from "../models/types.js";
import { McpError } from "../util/errors.js";
import { unreachable } from "../util/unreachable.js";

/** Quiet time after the last file event before a batch reloads. */
export const DEFAULT_DEBOUNCE_MS = 50;
/** Longest a batch waits while events keep coming. */
export const DEFAULT_MAX_WAIT_MS = 1000;
/**
 * chokidar reports a file's `change` at most once per 50 ms and drops the others (it has
 * no trailing event); a batch read sooner than this after a file's last event looks again.
 */
const CHOKIDAR_CHANGE_THROTTLE_MS = 50;
/** Folders never searched for pipelines (hidden folders are skipped too). */
export const DEFAULT_SKIP_DIRS: readonly string[] = ["node_modules", ".mcp"];

export interface LivePipelineSetOptions {
  /**
   * Quiet time in ms after the last file event before the changed files are reloaded. An
   * editor's save (truncate then write, write a temp file then rename it, several saves in
   * a row) is one batch; a file that is empty or half-written for less than this is never
   * loaded in that state.
   * @default 50
   */
  debounceMs?: number;
  /**
   * Longest wait in ms from the first event of a batch while events keep coming, so a file
   * written to continuously is still reloaded.
   * @default 1000
   */
  maxWaitMs?: number;
  /**
   * Folder names not searched (in addition to hidden folders).
   * @default ["node_modules", ".mcp"]
   * @example { skipDirs: ["node_modules", ".mcp", "dist"] }
   */
  skipDirs?: readonly string[];
  /** File size and nesting limits for loading. @default DEFAULT_LIMITS */
  limits?: LoadLimits;
  /** Models registered in code, merged under the files' models. */
  models?: readonly ModelConfig[];
  /**
   * Load the files of `module` models to check they export a model (MCP405). Loading runs
   * the module's top-level code, as running the pipeline would.
   * @default true
   */
  verifyModules?: boolean;
  /** Extra chokidar options (tests: `{ usePolling: true }`). */
  watchOptions?: { usePolling?: boolean; interval?: number };
}

/** Whether a pipeline's current file is usable. */
export type PipelineStatus = "valid" | "invalid";

/** One pipeline of the set, as `list()` reports it. */
export interface LivePipelineInfo {
  /** The live version's name; while none was ever valid, the file's name without extension. */
  readonly name: string;
  /** Path relative to the working directory (as diagnostics print it), or absolute outside it. */
  readonly file: string;
  /** Absolute path. */
  readonly path: string;
  /** Version of the live (last good) pipeline: sha256 of its file, mcp.yaml and module files. */
  readonly version?: string;
  /** `invalid`: the file on disk has errors; the last good version, if any, stays live. */
  readonly status: PipelineStatus;
  /** Diagnostics of the file as it is on disk now (warnings only, when valid). */
  readonly diagnostics: readonly Diagnostic[];
  /** Source texts for printing `diagnostics`. */
  readonly sources: SourceMap;
  /** The live version: the last one that was valid. */
  readonly pipeline?: CompiledPipeline;
  /** Absolute path of the mcp.yaml used, if any. */
  readonly configPath?: string;
  /** Absolute paths of the files of the pipeline's `module` models. */
  readonly modules: readonly string[];
}

/** What made a batch reload a pipeline. */
export type ChangeCause = "file" | "config" | "module" | "name";

interface PipelineEventBase {
  /** Name of the pipeline (of the live version, or the file's name when none). */
  readonly name: string;
  /** Path as printed (relative to the working directory when inside it). */
  readonly file: string;
  /** Absolute path. */
  readonly path: string;
}

/** Something that happened to the set; listeners get these after a batch is fully applied. */
export type LiveSetEvent =
  /**
   * A pipeline became live for the first time: found at start, created, or valid for the
   * first time after being invalid since it appeared. `diagnostics` holds its warnings.
   */
  | (PipelineEventBase & {
      readonly type: "loaded";
      readonly version: string;
      readonly pipeline: CompiledPipeline;
      readonly diagnostics: readonly Diagnostic[];
    })
  /**
   * A new version of a live pipeline replaced the old one (its file, its mcp.yaml or one of
   * its module files changed), or the pipeline is valid again after an invalid edit.
   * Runs started on `previous` keep running on it.
   */
  | (PipelineEventBase & {
      readonly type: "updated";
      readonly version: string;
      readonly pipeline: CompiledPipeline;
      readonly previousVersion: string;
      readonly previous: CompiledPipeline;
      readonly diagnostics: readonly Diagnostic[];
      readonly causes: readonly ChangeCause[];
    })
  /**
   * The file as saved has errors (or its mcp.yaml or a module file has). The last good
   * version, if there is one, stays live.
   */
  | (PipelineEventBase & {
      readonly type: "invalid";
      readonly diagnostics: readonly Diagnostic[];
      readonly sources: SourceMap;
      readonly lastGood?: CompiledPipeline;
      readonly lastGoodVersion?: string;
      readonly causes: readonly ChangeCause[];
    })
  /** The file was deleted or moved away (or its folder was); its pipeline is gone. */
  | (PipelineEventBase & {
      readonly type: "removed";
      readonly lastGood?: CompiledPipeline;
    })
  /**
   * A batch was applied: the events above for it were emitted. `paths` are the absolute
   * paths whose change started it.
   */
  | {
      readonly type: "batch";
      /**
       * `start`: the check when the watchers got ready; `change`: file events; `recheck`: a
       * second look at files changed again right after they were read (see #batch).
       */
      readonly reason: "start" | "change" | "recheck";
      readonly paths: readonly string[];
      /** Pipeline events the batch produced. */
      readonly events: number;
      /** Time to reload, from the debounce settling to the events being emitted. */
      readonly durationMs: number;
    }
  /** The file watcher failed (too many files, permissions); watching may be incomplete. */
  | { readonly type: "error"; readonly error: Error };

export type LiveSetEventType = LiveSetEvent["type"];
type EventOf<T extends LiveSetEventType | "all"> = T extends "all" ? LiveSetEvent : Extract<LiveSetEvent, { type: T }>;

/** The set's state machine; see the diagram at the top of this file. */
export type LiveSetState = "starting" | "idle" | "debouncing" | "reloading" | "reloading-pending" | "closed";

interface Entry {
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

const YAML_RE = /\.ya?ml$/i;

export class LivePipelineSet {
  /** Resolves when every pipeline is loaded and the watchers are ready; rejects if a path is missing. */
  readonly ready: Promise<void>;
  readonly #roots: string[];
  readonly #dirRoots: string[] = [];
  readonly #fileRoots = new Set<string>();
  readonly #configRoots = new Set<string>();
  readonly #opts: Required<Pick<LivePipelineSetOptions, "debounceMs" | "maxWaitMs" | "verifyModules">> & LivePipelineSetOptions;
  readonly #skipDirs: Set<string>;
  readonly #entries = new Map<string, Entry>();
  readonly #byName = new Map<string, string>();
  readonly #listeners = new Map<LiveSetEventType | "all", Set<(e: LiveSetEvent) => void>>();
  #state: LiveSetState = "starting";
  #dirty = new Set<string>();
  /** Paths with file events since the last batch started (what `batch.paths` reports). */
  #reported = new Set<string>();
  /** When each dirty path's last file event came. */
  readonly #lastEventAt = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #recheck = new Set<string>();
  #recheckTimer: NodeJS.Timeout | undefined;
  #firstEventAt = 0;
  #tree: FSWatcher | undefined;
  #extras: FSWatcher | undefined;
  #extraDirs = new Set<string>();
  #current: Promise<void> | undefined;

  /**
   * Starts loading and watching at once; await `ready` before `get()`/`list()`.
   * @param paths folders (searched recursively for *.yaml, *.yml) and pipeline files
   * @example
   * const set = new LivePipelineSet("pipelines");
   * set.on("invalid", (e) => console.error(e.diagnostics));
   * await set.ready;
   * const run = orchestrator.startRun(set.get("support-triage")!, input);
   */
  constructor(paths: string | readonly string[], options: LivePipelineSetOptions = {}) {
    const debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
    const maxWaitMs = options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
    if (!Number.isFinite(debounceMs) || debounceMs < 0) throw new TypeError(`LivePipelineSet: \`debounceMs\` must be a number >= 0, received ${String(debounceMs)}`);
    if (!Number.isFinite(maxWaitMs) || maxWaitMs < debounceMs) throw new TypeError(`LivePipelineSet: \`maxWaitMs\` must be a number >= debounceMs, received ${String(maxWaitMs)}`);
    this.#opts = { ...options, debounceMs, maxWaitMs, verifyModules: options.verifyModules ?? true };
    this.#skipDirs = new Set(options.skipDirs ?? DEFAULT_SKIP_DIRS);
    this.#roots = (typeof paths === "string" ? [paths] : [...paths]).map((p) => resolve(p));
    if (this.#roots.length === 0) throw new TypeError("LivePipelineSet: give at least one folder or file");
    this.ready = this.#start();
    this.ready.catch(() => {});
  }

  /** Where the set is in its state machine. */
  get state(): LiveSetState {
    return this.#state;
  }

  /** The live (last good) version of a pipeline, by name. */
  get(name: string): CompiledPipeline | undefined {
    const path = this.#byName.get(name);
    return path ? this.#entries.get(path)?.good?.pipeline : undefined;
  }

  /** One pipeline's state, by file path (relative to the working directory, or absolute). */
  info(file: string): LivePipelineInfo | undefined {
    const e = this.#entries.get(resolve(file));
    return e ? this.#info(e) : undefined;
  }

  /** Every pipeline of the set, sorted by file: name, file, version, status, diagnostics. */
  list(): LivePipelineInfo[] {
    return [...this.#entries.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)).map((e) => this.#info(e));
  }

  /**
   * Listens to one kind of event, or to all; returns a function that stops listening.
   * Listeners are called after a batch is fully applied, so `get()` and `list()` already
   * show its outcome. A listener that throws does not stop the others or the set.
   */
  on<T extends LiveSetEventType | "all">(type: T, listener: (e: EventOf<T>) => void): () => void {
    let set = this.#listeners.get(type);
    if (!set) this.#listeners.set(type, (set = new Set()));
    const l = listener as (e: LiveSetEvent) => void;
    set.add(l);
    return () => set.delete(l);
  }

  /**
   * Resolves when no batch is pending or running: every change seen so far is applied.
   * (Changes not yet reported by the file system are not waited for.)
   */
  async settled(): Promise<void> {
    await this.ready;
    while (this.#state === "debouncing" || this.#state === "reloading" || this.#state === "reloading-pending") {
      await new Promise<void>((r) => {
        const off = this.on("batch", () => {
          off();
          r();
        });
      });
    }
  }

  /** Stops watching. Pipelines already handed out stay usable; no more events are emitted. */
  async close(): Promise<void> {
    if (this.#state === "closed") return;
    this.#state = "closed";
    clearTimeout(this.#timer);
    clearTimeout(this.#recheckTimer);
    this.#timer = this.#recheckTimer = undefined;
    const watchers = [this.#tree, this.#extras].filter((w): w is FSWatcher => !!w);
    this.#tree = this.#extras = undefined;
    await Promise.all(watchers.map((w) => w.close()));
    await this.#current?.catch(() => {});
    this.#listeners.clear();
  }

  // --- starting ----------------------------------------------------------------------

  async #start(): Promise<void> {
    // Let the caller attach listeners before the first events.
    await Promise.resolve();
    for (const root of this.#roots) {
      let st: Stats | undefined;
      try {
        st = statSync(root);
      } catch {
        st = undefined;
      }
      if (st?.isDirectory()) this.#dirRoots.push(root);
      else if (CONFIG_NAMES.includes(basename(root))) this.#configRoots.add(root);
      else if (st || YAML_RE.test(root)) this.#fileRoots.add(root);
      else throw new McpError("MCP006", `cannot watch ${displayPath(root)}: no such file or folder`);
    }
    const files = new Set<string>(this.#fileRoots);
    for (const dir of this.#dirRoots) for (const f of this.#walk(dir)) files.add(f);
    const events: LiveSetEvent[] = [];
    for (const f of [...files].sort()) await this.#load(f, ["file"], events);
    if (this.#isClosed()) return;

    if (this.#dirRoots.length) {
      this.#tree = watch(this.#dirRoots, { ...this.#chokidarOptions(), ignored: (p: string, st?: Stats) => this.#ignoredInTree(p, st) });
      this.#wire(this.#tree);
    }
    this.#extraDirs = this.#neededExtraDirs();
    // chokidar never gets ready with nothing to watch: the second watcher starts when needed.
    if (this.#extraDirs.size) this.#extras = this.#watchExtras([...this.#extraDirs]);
    await Promise.all([this.#tree, this.#extras].map((w) => (w ? new Promise<void>((r) => w.once("ready", () => r())) : undefined)));
    this.#emit(events);
    if (this.#isClosed()) return;

    // A file saved between its load and its watcher being ready would be missed: look at
    // every input again (cheap: unchanged stamps are not recompiled).
    const again = new Set([...this.#entries.keys(), ...this.#dirty]);
    this.#dirty.clear();
    this.#reported.clear();
    this.#state = "reloading";
    await this.#batch(again, [], "start");
  }

  /** Pipeline files under a folder: *.yaml/*.yml, not mcp.yaml, no hidden or skipped folders. */
  #walk(dir: string): string[] {
    const out: string[] = [];
    let ents;
    try {
      ents = readdirSync(dir, { withFileTypes: true });
    } catch {
      return out;
    }
    for (const ent of ents) {
      if (ent.name.startsWith(".")) continue;
      const p = resolve(dir, ent.name);
      if (ent.isDirectory()) {
        if (!this.#skipDirs.has(ent.name)) out.push(...this.#walk(p));
      } else if (ent.isFile() && this.#isPipelinePath(p)) out.push(p);
    }
    return out;
  }

  #chokidarOptions() {
    return { ignoreInitial: true, persistent: true, ...this.#opts.watchOptions };
  }

  #watchExtras(dirs: string[]): FSWatcher {
    const w = watch(dirs, { ...this.#chokidarOptions(), depth: 0, ignored: (p: string, st?: Stats) => this.#ignoredExtra(p, st) });
    this.#wire(w);
    return w;
  }

  #wire(w: FSWatcher): void {
    w.on("all", (event, path) => this.#onFileEvent(event, resolve(path)));
    w.on("error", (err) => this.#emit([{ type: "error", error: err instanceof Error ? err : new Error(String(err)) }]));
  }

  // --- which paths matter ------------------------------------------------------------

  /** The recursive root a path is in (or is), if any. */
  #treeRoot(p: string): string | undefined {
    return this.#dirRoots.find((r) => p === r || p.startsWith(r + sep));
  }

  /** Whether a path (in a watched tree) goes through a hidden or skipped folder. */
  #skippedInTree(p: string, root: string): boolean {
    const parts = relative(root, p).split(sep);
    const last = parts.length - 1;
    return parts.some((part, i) => part.startsWith(".") || (i < last && this.#skipDirs.has(part)));
  }

  #isPipelinePath(p: string): boolean {
    if (this.#fileRoots.has(p)) return true;
    const name = basename(p);
    if (!YAML_RE.test(name) || CONFIG_NAMES.includes(name) || name.startsWith(".")) return false;
    const root = this.#treeRoot(p);
    return !!root && root !== p && !this.#skippedInTree(p, root);
  }

  #ignoredInTree(path: string, st?: Stats): boolean {
    const p = resolve(path);
    const root = this.#treeRoot(p);
    if (!root) return true;
    if (root === p) return false;
    if (this.#skippedInTree(p, root)) return true;
    const name = basename(p);
    if (st?.isDirectory()) return this.#skipDirs.has(name);
    // Only YAML files: module files are watched by the other watcher, through their folder.
    if (st?.isFile()) return !YAML_RE.test(name);
    return false;
  }

  /** The second watcher sees only the files that matter in its (one level) folders. */
  #ignoredExtra(path: string, st?: Stats): boolean {
    const p = resolve(path);
    if (this.#extraDirs.has(p)) return false;
    if (st?.isDirectory()) return true;
    return !this.#isExtraFile(p);
  }

  #isExtraFile(p: string): boolean {
    if (this.#fileRoots.has(p) || this.#configRoots.has(p)) return true;
    if (CONFIG_NAMES.includes(basename(p))) return true;
    for (const e of this.#entries.values()) if (e.modules.includes(p)) return true;
    return false;
  }

  /** Folders the second watcher must watch, given the pipelines as they are now. */
  #neededExtraDirs(): Set<string> {
    const dirs = new Set<string>();
    for (const f of this.#fileRoots) dirs.add(dirname(f));
    for (const f of this.#configRoots) dirs.add(dirname(f));
    const cwd = process.cwd();
    for (const e of this.#entries.values()) {
      for (const m of e.modules) dirs.add(dirname(m));
      // Every folder where an mcp.yaml would change what this pipeline uses.
      let d = dirname(e.path);
      const stop = e.configPath ? dirname(e.configPath) : (this.#treeRoot(d) ?? d);
      const top = !e.configPath && isInside(cwd, stop) ? cwd : stop;
      for (;;) {
        if (!this.#treeRoot(d)) dirs.add(d);
        if (d === top || !isInside(top, d)) break;
        const up = dirname(d);
        if (up === d) break;
        d = up;
      }
    }
    return dirs;
  }

  #syncExtraWatches(): void {
    const needed = this.#neededExtraDirs();
    const add = [...needed].filter((d) => !this.#extraDirs.has(d));
    const drop = [...this.#extraDirs].filter((d) => !needed.has(d));
    this.#extraDirs = needed;
    if (!this.#extras) {
      if (add.length) this.#extras = this.#watchExtras(add);
      return;
    }
    const w = this.#extras;
    if (drop.length) w.unwatch(drop);
    if (add.length) w.add(add);
    // Module files in folders watched already: make sure chokidar watches them now.
    const modules = new Set<string>();
    for (const e of this.#entries.values()) for (const m of e.modules) modules.add(m);
    const watched = w.getWatched();
    const fresh = [...modules].filter((m) => !(watched[dirname(m)] ?? []).includes(basename(m)) && !add.includes(dirname(m)));
    if (fresh.length) w.add(fresh);
  }

  // --- the state machine -------------------------------------------------------------

  #onFileEvent(event: string, p: string): void {
    if (this.#isClosed()) return;
    let relevant = false;
    if (event === "unlinkDir") {
      for (const path of this.#entries.keys()) {
        if (isInside(p, path)) {
          this.#dirty.add(path);
          relevant = true;
        }
      }
    } else if (event === "addDir") {
      if (this.#treeRoot(p) && !this.#skippedInTree(p, this.#treeRoot(p)!)) {
        for (const f of this.#walk(p)) {
          this.#dirty.add(f);
          relevant = true;
        }
      }
    } else if (this.#isPipelinePath(p) || this.#isExtraFile(p)) {
      this.#dirty.add(p);
      this.#lastEventAt.set(p, performance.now());
      relevant = true;
    }
    if (!relevant) return;
    this.#reported.add(p);
    this.#kick();
  }

  /** Something is dirty: the transition out of the current state. */
  #kick(): void {
    switch (this.#state) {
      case "starting":
      case "reloading-pending":
        return;
      case "reloading":
        this.#state = "reloading-pending";
        return;
      case "idle":
        this.#firstEventAt = performance.now();
        this.#state = "debouncing";
        this.#arm();
        return;
      case "debouncing":
        this.#arm();
        return;
      case "closed":
        return;
      default:
        unreachable(this.#state);
    }
  }

  /** (Re)starts the debounce timer, but never past maxWaitMs from the batch's first event. */
  #arm(): void {
    clearTimeout(this.#timer);
    const left = this.#opts.maxWaitMs - (performance.now() - this.#firstEventAt);
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, Math.min(this.#opts.debounceMs, left)));
  }

  #fire(): void {
    this.#timer = undefined;
    if (this.#state !== "debouncing") return;
    const paths = this.#dirty;
    const reported = [...this.#reported];
    this.#dirty = new Set();
    this.#reported = new Set();
    this.#state = "reloading";
    this.#current = this.#batch(paths, reported, reported.length ? "change" : "recheck");
  }

  /**
   * Reloads what `paths` touch, emits the events, then goes idle or debounces again.
   *
   * Why a recheck: chokidar drops a file's change events for 50 ms after one it reported.
   * When this batch reads a file sooner than that after its last event (a short debounce,
   * or maxWaitMs cutting a stream of saves short), a save in the rest of that window would
   * go unseen; so those files are looked at again once the window has passed. An unchanged
   * file costs a read and a hash, no compile and no event.
   */
  async #batch(paths: Set<string>, reported: string[], reason: "start" | "change" | "recheck"): Promise<void> {
    const t0 = performance.now();
    const seen = new Map<string, number>();
    for (const p of paths) {
      const at = this.#lastEventAt.get(p);
      if (at !== undefined) seen.set(p, at);
    }
    const events: LiveSetEvent[] = [];
    try {
      await this.#reload(paths, events);
    } catch (e) {
      events.push({ type: "error", error: e instanceof Error ? e : new Error(String(e)) });
    }
    if (this.#isClosed()) return;
    let due = 0;
    for (const [p, at] of seen) {
      if (this.#lastEventAt.get(p) !== at) continue; // a newer event: in the next batch anyway
      this.#lastEventAt.delete(p);
      if (t0 - at < CHOKIDAR_CHANGE_THROTTLE_MS) {
        this.#recheck.add(p);
        due = Math.max(due, at + CHOKIDAR_CHANGE_THROTTLE_MS + 5 - performance.now());
      }
    }
    if (this.#recheck.size) {
      clearTimeout(this.#recheckTimer);
      this.#recheckTimer = setTimeout(() => this.#fireRecheck(), Math.max(0, due));
    }
    this.#syncExtraWatches();
    const pending = this.#state === "reloading-pending";
    this.#state = pending || this.#dirty.size ? "debouncing" : "idle";
    const pipelineEvents = events.filter((e) => e.type !== "error").length;
    this.#emit([...events, { type: "batch", reason, paths: reported, events: pipelineEvents, durationMs: performance.now() - t0 }]);
    if (this.#state === "debouncing" && !this.#timer) {
      this.#firstEventAt = performance.now();
      this.#arm();
    }
  }

  #fireRecheck(): void {
    this.#recheckTimer = undefined;
    if (this.#isClosed() || this.#recheck.size === 0) return;
    for (const p of this.#recheck) this.#dirty.add(p);
    this.#recheck = new Set();
    this.#kick();
  }

  #isClosed(): boolean {
    return this.#state === "closed";
  }

  // --- reloading ---------------------------------------------------------------------

  async #reload(paths: Set<string>, events: LiveSetEvent[]): Promise<void> {
    const targets = new Map<string, Set<ChangeCause>>();
    const add = (p: string, cause: ChangeCause) => {
      let s = targets.get(p);
      if (!s) targets.set(p, (s = new Set()));
      s.add(cause);
    };
    for (const p of paths) {
      if (CONFIG_NAMES.includes(basename(p)) && !this.#fileRoots.has(p)) {
        const dir = dirname(p);
        for (const e of this.#entries.values()) if (e.configPath === p || isInside(dir, e.path)) add(e.path, "config");
        continue;
      }
      for (const e of this.#entries.values()) if (e.modules.includes(p)) add(e.path, "module");
      if (this.#isPipelinePath(p)) add(p, "file");
    }
    // Deleted files first, so a folder renamed in one batch frees its names before the
    // files at the new place claim them.
    const order = [...targets.keys()].sort((a, b) => Number(exists(a)) - Number(exists(b)) || (a < b ? -1 : 1));
    for (const p of order) {
      if (this.#isClosed()) return;
      await this.#load(p, [...targets.get(p)!], events);
    }
    // Files whose name was taken by a file now gone or renamed: try them again.
    for (let round = 0; round < 3; round++) {
      const retry = [...this.#entries.values()].filter((e) => e.clashWith && this.#byName.get(this.#nameOfFile(e)) !== e.clashWith);
      if (retry.length === 0) break;
      for (const e of retry) {
        e.stamp = undefined;
        await this.#load(e.path, ["name"], events);
      }
    }
  }

  #nameOfFile(e: Entry): string {
    return e.clashName ?? e.good?.pipeline.name ?? basename(e.path, extname(e.path));
  }

  /** Loads one pipeline file if anything it reads changed; records what happened in `events`. */
  async #load(path: string, causes: readonly ChangeCause[], events: LiveSetEvent[]): Promise<void> {
    const prev = this.#entries.get(path);
    const file = displayPath(path);
    const limits = this.#opts.limits ?? DEFAULT_LIMITS;
    let text: string;
    try {
      const st = statSync(path);
      if (!st.isFile()) throw Object.assign(new Error("not a file"), { code: "EISDIR" });
      if (st.size > limits.maxFileBytes) text = "\u0000too-large:" + String(st.size) + ":" + String(st.mtimeMs);
      else text = readFileSync(path, "utf8");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") {
        if (prev) this.#remove(prev, events);
        else if (this.#fileRoots.has(path)) this.#setInvalid(path, file, [error("MCP006", `cannot read ${file}: no such file`, wholeFile(file))], new SourceMap(), causes, events);
        return;
      }
      this.#setInvalid(path, file, [error("MCP006", `cannot read ${file}: ${(e as Error).message}`, wholeFile(file))], new SourceMap(), causes, events);
      return;
    }

    const configPath = findProjectConfig(dirname(path));
    const modulesBefore = prev?.modules ?? [];
    const stampBefore = stampOf(text, configPath, modulesBefore);
    if (prev && prev.stamp === stampBefore && !prev.clashWith) return;

    const sources = new SourceMap();
    const loaded = loadPipelineFile(file, {
      sources,
      limits,
      configPath: configPath ? displayPath(configPath) : null,
      ...(text.startsWith("\u0000too-large:") ? {} : { text }),
      ...(this.#opts.models ? { models: this.#opts.models } : {}),
    });
    let diagnostics = loaded.diagnostics;
    let pipeline = loaded.pipeline;
    let modules = modulesBefore;
    if (pipeline) {
      modules = moduleFiles(pipeline);
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
    entry.stamp = stampOf(text, configPath, modules);
    entry.sources = sources;
    entry.modules = modules;
    if (configPath) entry.configPath = configPath;
    else delete entry.configPath;
    this.#entries.set(path, entry);

    if (!pipeline) {
      this.#setInvalid(path, file, diagnostics, sources, causes, events);
      return;
    }

    // A name belongs to one file: the first to claim it.
    const owner = this.#byName.get(pipeline.name);
    if (owner !== undefined && owner !== path && this.#entries.has(owner)) {
      const other = this.#entries.get(owner)!;
      entry.clashWith = owner;
      entry.clashName = pipeline.name;
      const at = nameLocation(file, text);
      const clash = error("MCP010", `pipeline name '${pipeline.name}' is already used by ${other.file}`, at, {
        hint: "give each pipeline file its own `name:`",
        ...(other.good ? { related: [{ message: `'${pipeline.name}' is defined here`, location: { file: other.file, offset: 0, length: 0 } }] } : {}),
      });
      this.#setInvalid(path, file, sortDiagnostics([...diagnostics, clash]), sources, causes, events);
      return;
    }
    delete entry.clashWith;
    delete entry.clashName;

    const version = versionOf(pipeline, modules);
    const before = entry.good;
    const wasValid = entry.status === "valid";
    freezePipeline(pipeline, new Set(this.#opts.models ?? []));
    if (before && before.pipeline.name !== pipeline.name && this.#byName.get(before.pipeline.name) === path) this.#byName.delete(before.pipeline.name);
    this.#byName.set(pipeline.name, path);
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

  #setInvalid(path: string, file: string, diagnostics: readonly Diagnostic[], sources: SourceMap, causes: readonly ChangeCause[], events: LiveSetEvent[]): void {
    let entry = this.#entries.get(path);
    if (!entry) {
      entry = { path, file, status: "invalid", diagnostics, sources, modules: [] };
      this.#entries.set(path, entry);
    }
    entry.status = "invalid";
    entry.diagnostics = diagnostics;
    entry.sources = sources;
    const good = entry.good;
    events.push({
      type: "invalid",
      name: this.#nameOfFile(entry),
      file,
      path,
      diagnostics,
      sources,
      ...(good ? { lastGood: good.pipeline, lastGoodVersion: good.version } : {}),
      causes,
    });
  }

  #remove(entry: Entry, events: LiveSetEvent[]): void {
    this.#entries.delete(entry.path);
    const name = this.#nameOfFile(entry);
    if (entry.good && this.#byName.get(entry.good.pipeline.name) === entry.path) this.#byName.delete(entry.good.pipeline.name);
    events.push({ type: "removed", name, file: entry.file, path: entry.path, ...(entry.good ? { lastGood: entry.good.pipeline } : {}) });
  }

  #info(e: Entry): LivePipelineInfo {
    return {
      name: this.#nameOfFile(e),
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

  #emit(events: readonly LiveSetEvent[]): void {
    for (const e of events) {
      if (this.#isClosed()) return;
      for (const key of [e.type, "all"] as const) {
        for (const l of [...(this.#listeners.get(key) ?? [])]) {
          try {
            l(e);
          } catch (err) {
            // As an EventEmitter would, but without leaving the set half-updated.
            queueMicrotask(() => {
              throw err;
            });
          }
        }
      }
    }
  }
}

/** The short form of a version, as the CLI prints it. */
export function shortVersion(version: string): string {
  return version.slice(0, 7);
}

/** Absolute paths of the files of a pipeline's `module` models. */
export function moduleFiles(pipeline: CompiledPipeline): string[] {
  const out = new Set<string>();
  for (const m of pipeline.models) {
    if (m.provider !== "module" || typeof m.module !== "string" || m.module === "") continue;
    out.add(isAbsolute(m.module) ? m.module : resolve(m.baseDir ?? process.cwd(), m.module));
  }
  return [...out].sort();
}

/** Path relative to the working directory when inside it, else absolute. */
function displayPath(abs: string): string {
  const rel = relative(process.cwd(), abs);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : abs;
}

function isInside(dir: string, p: string): boolean {
  return p === dir || p.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

function readOrEmpty(p: string): string {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return "\u0000missing";
  }
}

function stampOf(text: string, configPath: string | undefined, modules: readonly string[]): string {
  const h = createHash("sha256")
    .update(text)
    .update("\u0000")
    .update(configPath ?? "")
    .update("\u0000");
  if (configPath) h.update(readOrEmpty(configPath));
  for (const m of modules) h.update("\u0000").update(m).update("\u0000").update(readOrEmpty(m));
  return h.digest("hex");
}

/** The pipeline's hash (its file and mcp.yaml) with the contents of its module files. */
function versionOf(pipeline: CompiledPipeline, modules: readonly string[]): string {
  if (modules.length === 0) return pipeline.hash;
  const h = createHash("sha256").update(pipeline.hash);
  for (const m of modules) h.update("\u0000").update(m).update("\u0000").update(readOrEmpty(m));
  return h.digest("hex");
}

/** Where `name:` is in the file's text, for the duplicate name diagnostic. */
function nameLocation(file: string, text: string): { file: string; offset: number; length: number } {
  const m = /^name:[ \t]*(\S[^\n#]*?)[ \t]*(?:#.*)?$/m.exec(text);
  if (!m || m[1] === undefined) return { file, offset: 0, length: 0 };
  return { file, offset: m.index + m[0].indexOf(m[1]), length: m[1].length };
}

/**
 * Freezes what a run reads of a published version, so that nothing (in this package or
 * a caller) can change a pipeline a run is using. Templates and compiled expressions are
 * left alone: JSONata keeps evaluation state on its own objects.
 */
function freezePipeline(p: CompiledPipeline, shared: ReadonlySet<ModelConfig>): void {
  for (const level of p.levels) Object.freeze(level);
  Object.freeze(p.levels);
  Object.freeze(p.order);
  // Models registered in code are the caller's objects: not ours to freeze.
  for (const m of p.models) if (!shared.has(m)) Object.freeze(m);
  Object.freeze(p.models);
  for (const s of p.steps.values()) Object.freeze(s);
  Object.freeze(p.settings);
  Object.freeze(p);
}
