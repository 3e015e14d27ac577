/** The options, events and states of a LivePipelineSet (live-pipeline-set.ts). */
import type { CompiledPipeline } from "../compiler/types.js";
import type { LoadLimits } from "../config/limits.js";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import type { SourceMap } from "../diagnostics/source.js";
import type { ModelConfig } from "../models/types.js";

/** Quiet time after the last file event before a batch reloads. */
export const DEFAULT_DEBOUNCE_MS = 50;
/** Longest a batch waits while events keep coming. */
export const DEFAULT_MAX_WAIT_MS = 1000;
/**
 * chokidar reports a file's `change` at most once per 50 ms and drops the others (it has
 * no trailing event); a batch read sooner than this after a file's last event looks again.
 */
export const CHOKIDAR_CHANGE_THROTTLE_MS = 50;
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
  /** Absolute paths of the files the pipeline depends on: its `module` models' files and its sub-pipeline files. */
  readonly modules: readonly string[];
}

/** What made a batch reload a pipeline. */
export type ChangeCause = "file" | "config" | "module" | "sub-pipeline" | "name";

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
export type EventOf<T extends LiveSetEventType | "all"> = T extends "all" ? LiveSetEvent : Extract<LiveSetEvent, { type: T }>;

/** The set's state machine; see the diagram at the top of this file. */
export type LiveSetState = "starting" | "idle" | "debouncing" | "reloading" | "reloading-pending" | "closed";
