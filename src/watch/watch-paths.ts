/**
 * Which paths a LivePipelineSet watches and loads: the folders and files it was given, the
 * ignore rules of its two watchers, and the folders whose files its pipelines depend on
 * (mcp.yaml wherever a pipeline would pick one up, module files).
 */
import { readdirSync, statSync, type Stats } from "node:fs";
import { basename, dirname, isAbsolute, relative, resolve, sep } from "node:path";
import { CONFIG_NAMES } from "../compiler/load.js";
import { isTestFile } from "../config/file-kinds.js";

export const YAML_RE = /\.ya?ml$/i;

/** What the dependency index reads of a loaded pipeline. */
export interface WatchedEntry {
  readonly path: string;
  readonly configPath?: string;
  readonly modules: readonly string[];
}

export class WatchedPaths {
  /** Folders watched recursively. */
  readonly dirRoots: string[] = [];
  /** Pipeline files named directly. */
  readonly fileRoots = new Set<string>();
  /** mcp.yaml files named directly. */
  readonly configRoots = new Set<string>();

  constructor(readonly skipDirs: ReadonlySet<string>) {}

  /** The recursive root a path is in (or is), if any. */
  treeRoot(p: string): string | undefined {
    return this.dirRoots.find((r) => p === r || p.startsWith(r + sep));
  }

  /** Whether a path (in a watched tree) goes through a hidden or skipped folder. */
  skippedInTree(p: string, root: string): boolean {
    const parts = relative(root, p).split(sep);
    const last = parts.length - 1;
    return parts.some((part, i) => part.startsWith(".") || (i < last && this.skipDirs.has(part)));
  }

  isPipelinePath(p: string): boolean {
    if (this.fileRoots.has(p)) return true;
    const name = basename(p);
    if (!YAML_RE.test(name) || CONFIG_NAMES.includes(name) || isTestFile(name) || name.startsWith(".")) return false;
    const root = this.treeRoot(p);
    return !!root && root !== p && !this.skippedInTree(p, root);
  }

  ignoredInTree(path: string, st?: Stats): boolean {
    const p = resolve(path);
    const root = this.treeRoot(p);
    if (!root) return true;
    if (root === p) return false;
    if (this.skippedInTree(p, root)) return true;
    const name = basename(p);
    if (st?.isDirectory()) return this.skipDirs.has(name);
    // Only YAML files: module files are watched by the other watcher, through their folder.
    if (st?.isFile()) return !YAML_RE.test(name);
    return false;
  }

  isExtraFile(p: string, entries: Iterable<WatchedEntry>): boolean {
    if (this.fileRoots.has(p) || this.configRoots.has(p)) return true;
    if (CONFIG_NAMES.includes(basename(p))) return true;
    for (const e of entries) if (e.modules.includes(p)) return true;
    return false;
  }

  /** Folders the second watcher must watch, given the pipelines as they are now. */
  neededExtraDirs(entries: Iterable<WatchedEntry>): Set<string> {
    const dirs = new Set<string>();
    for (const f of this.fileRoots) dirs.add(dirname(f));
    for (const f of this.configRoots) dirs.add(dirname(f));
    const cwd = process.cwd();
    for (const e of entries) {
      for (const m of e.modules) dirs.add(dirname(m));
      // Every folder where an mcp.yaml would change what this pipeline uses.
      let d = dirname(e.path);
      const stop = e.configPath ? dirname(e.configPath) : (this.treeRoot(d) ?? d);
      const top = !e.configPath && isInside(cwd, stop) ? cwd : stop;
      for (;;) {
        if (!this.treeRoot(d)) dirs.add(d);
        if (d === top || !isInside(top, d)) break;
        const up = dirname(d);
        if (up === d) break;
        d = up;
      }
    }
    return dirs;
  }

  /** Pipeline files under a folder: *.yaml/*.yml, not mcp.yaml, no hidden or skipped folders. */
  walk(dir: string): string[] {
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
        if (!this.skipDirs.has(ent.name)) out.push(...this.walk(p));
      } else if (ent.isFile() && this.isPipelinePath(p)) out.push(p);
    }
    return out;
  }
}

/** Path relative to the working directory when inside it, else absolute. */
export function displayPath(abs: string): string {
  const rel = relative(process.cwd(), abs);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : abs;
}

export function isInside(dir: string, p: string): boolean {
  return p === dir || p.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

export function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}
