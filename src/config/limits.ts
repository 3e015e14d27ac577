/**
 * Limits on what the loader accepts, so a hostile or broken file cannot exhaust memory or
 * hang the process. docs/limits.md documents each one.
 */
export interface LoadLimits {
  /** Largest file read, in bytes. @default 1 MiB */
  maxFileBytes: number;
  /** Deepest nesting of mappings and sequences. @default 64 */
  maxDepth: number;
  /** Most alias (`*name`) uses in one file. @default 1000 */
  maxAliases: number;
  /** Most values materialised from one file, counting alias expansions (billion laughs). @default 200000 */
  maxNodes: number;
}

export const DEFAULT_LIMITS: LoadLimits = {
  maxFileBytes: 1024 * 1024,
  maxDepth: 64,
  maxAliases: 1000,
  maxNodes: 200_000,
};

/** Keys that would reach an object's prototype if copied naively; rejected everywhere. */
export const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);
