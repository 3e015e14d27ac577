/**
 * The two chokidar watchers of a live pipeline set. The *tree* watcher watches the given
 * folders recursively for pipeline files (WatchedPaths decides what it skips). The *extras*
 * watcher watches, one level deep, the folders of named files, of module files and of every
 * place an mcp.yaml would be picked up; its folders follow the pipelines as they change
 * (`sync()`). Both report every event as (event, absolute path).
 */
import { basename, dirname, resolve } from "node:path";
import { existsSync, type Stats } from "node:fs";
import { watch, type FSWatcher } from "chokidar";
import type { LivePipelineSetOptions } from "./live-set-types.js";
import type { WatchedEntry, WatchedPaths } from "./watch-paths.js";

export interface FileWatcherHandlers {
  /** A file event: chokidar's event name and the absolute path. */
  onEvent(event: string, path: string): void;
  onError(error: Error): void;
}

export class FileWatchers {
  #tree: FSWatcher | undefined;
  #extras: FSWatcher | undefined;
  #extraDirs = new Set<string>();

  constructor(
    readonly paths: WatchedPaths,
    /** The pipelines now: their module files decide what the extras watcher looks at. */
    readonly entries: () => Iterable<WatchedEntry>,
    readonly options: LivePipelineSetOptions["watchOptions"],
    readonly handlers: FileWatcherHandlers,
  ) {}

  /** Starts watching; resolves when both watchers are ready. */
  async start(): Promise<void> {
    if (this.paths.dirRoots.length) {
      this.#tree = watch(this.paths.dirRoots, { ...this.#chokidarOptions(), ignored: (p: string, st?: Stats) => this.paths.ignoredInTree(p, st) });
      this.#wire(this.#tree);
    }
    this.#extraDirs = this.paths.neededExtraDirs(this.entries());
    // chokidar never gets ready with nothing to watch: the second watcher starts when needed.
    if (this.#extraDirs.size) this.#extras = this.#watchExtras([...this.#extraDirs]);
    await Promise.all([this.#tree, this.#extras].map((w) => (w ? new Promise<void>((r) => w.once("ready", () => r())) : undefined)));
  }

  /** Watches the folders and module files the pipelines need now, and no others. */
  sync(): void {
    const needed = this.paths.neededExtraDirs(this.entries());
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
    // Module files in folders watched already: make sure chokidar watches them now. Not a
    // missing one: its folder's watcher reports it when it appears (the ignore test reads the
    // pipelines now), while chokidar's add() of a missing file re-adds the folder, and a file
    // created during that re-scan is taken as already there, with no event.
    const modules = new Set<string>();
    for (const e of this.entries()) for (const m of e.modules) modules.add(m);
    const watched = w.getWatched();
    const fresh = [...modules].filter((m) => !(watched[dirname(m)] ?? []).includes(basename(m)) && !add.includes(dirname(m)) && existsSync(m));
    if (fresh.length) w.add(fresh);
  }

  async close(): Promise<void> {
    const watchers = [this.#tree, this.#extras].filter((w): w is FSWatcher => !!w);
    this.#tree = this.#extras = undefined;
    await Promise.all(watchers.map((w) => w.close()));
  }

  #chokidarOptions() {
    return { ignoreInitial: true, persistent: true, ...this.options };
  }

  #watchExtras(dirs: string[]): FSWatcher {
    const w = watch(dirs, { ...this.#chokidarOptions(), depth: 0, ignored: (p: string, st?: Stats) => this.#ignoredExtra(p, st) });
    this.#wire(w);
    return w;
  }

  /** The extras watcher sees only the files that matter in its (one level) folders. */
  #ignoredExtra(path: string, st?: Stats): boolean {
    const p = resolve(path);
    if (this.#extraDirs.has(p)) return false;
    if (st?.isDirectory()) return true;
    return !this.paths.isExtraFile(p, this.entries());
  }

  #wire(w: FSWatcher): void {
    w.on("all", (event, path) => this.handlers.onEvent(event, resolve(path)));
    w.on("error", (err) => this.handlers.onError(err instanceof Error ? err : new Error(String(err))));
  }
}
