/**
 * What identifies a loaded pipeline: the stamp of everything a load read (unchanged means
 * no reload), the version of what it runs (its hash plus its module files), and freezing a
 * published version.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import type { CompiledPipeline } from "../compiler/types.js";
import type { ModelConfig } from "../models/types.js";

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

export function readOrEmpty(p: string): string {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return "\u0000missing";
  }
}

export function stampOf(text: string, configPath: string | undefined, modules: readonly string[], read: (p: string) => string = readOrEmpty): string {
  const h = createHash("sha256")
    .update(text)
    .update("\u0000")
    .update(configPath ?? "")
    .update("\u0000");
  if (configPath) h.update(read(configPath));
  for (const m of modules) h.update("\u0000").update(m).update("\u0000").update(readOrEmpty(m));
  return h.digest("hex");
}

/** The pipeline's hash (its file and mcp.yaml) with the contents of its module files. */
export function versionOf(pipeline: CompiledPipeline, modules: readonly string[]): string {
  if (modules.length === 0) return pipeline.hash;
  const h = createHash("sha256").update(pipeline.hash);
  for (const m of modules) h.update("\u0000").update(m).update("\u0000").update(readOrEmpty(m));
  return h.digest("hex");
}

/** Where `name:` is in the file's text, for the duplicate name diagnostic. */
export function nameLocation(file: string, text: string): { file: string; offset: number; length: number } {
  const m = /^name:[ \t]*(\S[^\n#]*?)[ \t]*(?:#.*)?$/m.exec(text);
  if (!m || m[1] === undefined) return { file, offset: 0, length: 0 };
  return { file, offset: m.index + m[0].indexOf(m[1]), length: m[1].length };
}

/**
 * Freezes what a run reads of a published version, so that nothing (in this package or
 * a caller) can change a pipeline a run is using. Templates and compiled expressions are
 * left alone: JSONata keeps evaluation state on its own objects.
 */
export function freezePipeline(p: CompiledPipeline, shared: ReadonlySet<ModelConfig>): void {
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
