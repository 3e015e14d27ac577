/** Loading YAML text the way the CLI does and rendering its diagnostics as the CLI prints them. */
import { loadPipelineFile, type LoadOptions, type LoadResult } from "../../src/compiler/load.js";
import type { Diagnostic } from "../../src/diagnostics/diagnostic.js";
import { formatHeadline, formatText } from "../../src/diagnostics/printer.js";

/** A pipeline's models for tests: mock models, no network. */
export const MOCK_MODELS = `models:
  writer:
    provider: mock
    capabilities: [text-generation]
  tagger:
    provider: mock
    capabilities: [text-generation, entity-extraction]
`;

/** Loads pipeline text as file `file` (default p.yaml) with no mcp.yaml. */
export function load(text: string, opts: LoadOptions & { file?: string } = {}): LoadResult {
  const { file = "p.yaml", ...rest } = opts;
  return loadPipelineFile(file, { configPath: null, text, ...rest });
}

/** The `file:line:col: error CODE: message` line of every diagnostic. */
export function headlines(r: LoadResult, diagnostics: readonly Diagnostic[] = r.diagnostics): string[] {
  return diagnostics.map((d) => formatHeadline(d, r.sources));
}

/** Everything the CLI prints for the diagnostics of a load: headline, excerpt, hint, notes. */
export function rendered(r: LoadResult): string {
  return formatText(r.diagnostics, r.sources);
}

/** The one diagnostic with `code`; fails when there is none or more than one. */
export function only(r: LoadResult, code: string): Diagnostic {
  const found = r.diagnostics.filter((d) => d.code === code);
  if (found.length !== 1) {
    throw new Error(`expected one ${code}, got ${found.length}:\n${rendered(r)}`);
  }
  return found[0]!;
}
