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
 * Watching (file-watchers.ts): chokidar, two watchers. One watches the given folders recursively for *.yaml
 * and *.yml (skipping hidden files and folders, node_modules and .mcp). The other watches,
 * one level deep, the folders of named files, of module files, and of every place an
 * mcp.yaml would be picked up by a pipeline outside those folders (from the pipeline's
 * folder up to the mcp.yaml it uses, or when it uses none, up to the watched folder or the
 * working directory), so creating an mcp.yaml that a pipeline would find reloads it.
 */
import { statSync, type Stats } from "node:fs";
import { basename, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { CONFIG_NAMES } from "../compiler/load.js";
import type { CompiledPipeline } from "../compiler/types.js";
import { McpError } from "../util/errors.js";
import { unreachable } from "../util/unreachable.js";
import {
  CHOKIDAR_CHANGE_THROTTLE_MS,
  DEFAULT_DEBOUNCE_MS,
  DEFAULT_MAX_WAIT_MS,
  DEFAULT_SKIP_DIRS,
  type EventOf,
  type LivePipelineInfo,
  type LivePipelineSetOptions,
  type LiveSetEvent,
  type LiveSetEventType,
  type LiveSetState,
} from "./live-set-types.js";
import { FileWatchers } from "./file-watchers.js";
import { PipelineEntries } from "./pipeline-entries.js";
import { displayPath, isInside, WatchedPaths, YAML_RE } from "./watch-paths.js";

export * from "./live-set-types.js";
export { moduleFiles, shortVersion } from "./pipeline-versions.js";

export class LivePipelineSet {
  /** Resolves when every pipeline is loaded and the watchers are ready; rejects if a path is missing. */
  readonly ready: Promise<void>;
  readonly #roots: string[];
  readonly #paths: WatchedPaths;
  readonly #opts: Required<Pick<LivePipelineSetOptions, "debounceMs" | "maxWaitMs" | "verifyModules">> & LivePipelineSetOptions;
  readonly #pipelines: PipelineEntries;
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
  readonly #watchers: FileWatchers;
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
    this.#paths = new WatchedPaths(new Set(options.skipDirs ?? DEFAULT_SKIP_DIRS));
    this.#pipelines = new PipelineEntries(this.#opts, this.#paths.fileRoots, () => this.#isClosed());
    this.#watchers = new FileWatchers(this.#paths, () => this.#pipelines.entries.values(), options.watchOptions, {
      onEvent: (event, path) => this.#onFileEvent(event, path),
      onError: (error) => this.#emit([{ type: "error", error }]),
    });
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
    const path = this.#pipelines.byName.get(name);
    return path ? this.#pipelines.entries.get(path)?.good?.pipeline : undefined;
  }

  /** One pipeline's state, by file path (relative to the working directory, or absolute). */
  info(file: string): LivePipelineInfo | undefined {
    const e = this.#pipelines.entries.get(resolve(file));
    return e ? this.#pipelines.info(e) : undefined;
  }

  /** Every pipeline of the set, sorted by file: name, file, version, status, diagnostics. */
  list(): LivePipelineInfo[] {
    return [...this.#pipelines.entries.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)).map((e) => this.#pipelines.info(e));
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
    await this.#watchers.close();
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
      if (st?.isDirectory()) this.#paths.dirRoots.push(root);
      else if (CONFIG_NAMES.includes(basename(root))) this.#paths.configRoots.add(root);
      else if (st || YAML_RE.test(root)) this.#paths.fileRoots.add(root);
      else throw new McpError("MCP006", `cannot watch ${displayPath(root)}: no such file or folder`);
    }
    const files = new Set<string>(this.#paths.fileRoots);
    for (const dir of this.#paths.dirRoots) for (const f of this.#paths.walk(dir)) files.add(f);
    const events: LiveSetEvent[] = [];
    await this.#pipelines.batch(async () => {
      for (const f of [...files].sort()) await this.#pipelines.load(f, ["file"], events);
    });
    if (this.#isClosed()) return;

    await this.#watchers.start();
    this.#emit(events);
    if (this.#isClosed()) return;

    // A file saved between its load and its watcher being ready would be missed: look at
    // every input again (cheap: unchanged stamps are not recompiled).
    const again = new Set([...this.#pipelines.entries.keys(), ...this.#dirty]);
    this.#dirty.clear();
    this.#reported.clear();
    this.#state = "reloading";
    await this.#batch(again, [], "start");
  }

  // --- the state machine -------------------------------------------------------------

  #onFileEvent(event: string, p: string): void {
    if (this.#isClosed()) return;
    let relevant = false;
    if (event === "unlinkDir") {
      for (const path of this.#pipelines.entries.keys()) {
        if (isInside(p, path)) {
          this.#dirty.add(path);
          relevant = true;
        }
      }
    } else if (event === "addDir") {
      if (this.#paths.treeRoot(p) && !this.#paths.skippedInTree(p, this.#paths.treeRoot(p)!)) {
        for (const f of this.#paths.walk(p)) {
          this.#dirty.add(f);
          relevant = true;
        }
      }
    } else if (this.#paths.isPipelinePath(p) || this.#paths.isExtraFile(p, this.#pipelines.entries.values())) {
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
      await this.#pipelines.batch(() => this.#pipelines.reloadTouched(paths, (p) => this.#paths.isPipelinePath(p), events));
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
    this.#watchers.sync();
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
