/**
 * Loading a pipeline: read the file (within limits), find and read mcp.yaml by walking up
 * from the pipeline's folder, check both against their schemas, and compile.
 */
import { isUtf8 } from "node:buffer";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { error, hasErrors, sortDiagnostics, wholeFile, type Diagnostic, type Location } from "../diagnostics/diagnostic.js";
import type { SubPipelineLoader } from "./sub-pipelines.js";
import { SourceMap } from "../diagnostics/source.js";
import { compilePipeline } from "./compile.js";
import type { CompiledPipeline } from "./types.js";
import type { ModelConfig } from "../models/types.js";
import type { ToolListings } from "../compiler/mcp-servers.js";
import { checkUserSchema, validateConfigSchema, validatePipelineSchema } from "../schema/validate.js";
import { ConfigError } from "../util/errors.js";
import { DEFAULT_LIMITS, type LoadLimits } from "../config/limits.js";
import { parseYaml, type YamlFile } from "../config/yaml-file.js";

export const CONFIG_NAMES = ["mcp.yaml", "mcp.yml"];

export interface LoadOptions {
  limits?: LoadLimits;
  /** Collects every text read, for printing diagnostics. */
  sources?: SourceMap;
  /** mcp.yaml to use; null: none; undefined: search upwards from the pipeline. */
  configPath?: string | null;
  /** Models registered in code, merged under the files' models. */
  models?: readonly ModelConfig[];
  /** Parsed mcp.yaml files by absolute path, shared across loads (a folder validated at once). */
  configCache?: Map<string, { file: YamlFile; diagnostics: Diagnostic[] }>;
  /** Pipeline text to use instead of reading the file (editors, tests). */
  text?: string;
  /**
   * Pipeline files parsed and schema-checked before, kept by a long-lived caller (the live
   * set): a file whose text is unchanged is compiled again (its mcp.yaml or a module may have
   * changed) without being parsed and checked again. Filled in by the load.
   */
  parsed?: ParsedPipelines;
  /** Listings of MCP servers' tools, to check tool steps' inputs (see cli/tool-listings). */
  toolListings?: ToolListings;
  /**
   * Internal: the pipeline files being loaded around this one, outermost first, each with
   * where it names the next (a sub-pipeline chain), to find cycles of files.
   */
  chain?: readonly FileLink[];
}

/**
 * What a pipeline file's text alone yields, by absolute path: the parsed file and the
 * diagnostics of its parse and schema checks. The compile reads the parsed file, never
 * changes it, so one parse serves every compile of the same text.
 */
export type ParsedPipelines = Map<string, { readonly text: string; readonly file: YamlFile; readonly diagnostics: readonly Diagnostic[] }>;

/** One file of a chain of sub-pipelines: where it is, and where it names the next file. */
interface FileLink {
  readonly path: string;
  readonly file: string;
  readonly ref?: Location;
}

export interface LoadResult {
  pipeline?: CompiledPipeline;
  /** Errors and warnings of the pipeline and its mcp.yaml, sorted. */
  diagnostics: Diagnostic[];
  sources: SourceMap;
  /** The mcp.yaml used, if any. */
  configPath?: string;
  /** Absolute paths of the sub-pipeline files read (at any depth), also when invalid. */
  files?: string[];
}

/** The nearest mcp.yaml at or above `dir`. */
export function findProjectConfig(dir: string): string | undefined {
  let d = resolve(dir);
  for (;;) {
    for (const n of CONFIG_NAMES) {
      const p = join(d, n);
      if (existsSync(p)) return p;
    }
    const up = dirname(d);
    if (up === d) return undefined;
    d = up;
  }
}

/** Reads a text file, refusing files over the size limit before reading them. */
export function readSource(path: string, limits: LoadLimits): { text?: string; diagnostic?: Diagnostic } {
  try {
    const st = statSync(path);
    if (st.isDirectory()) return { diagnostic: error("MCP006", `${path} is a folder, not a file`, wholeFile(path)) };
    if (st.size > limits.maxFileBytes) {
      return {
        diagnostic: error("MCP002", `file is ${st.size} bytes; the limit is ${limits.maxFileBytes}`, wholeFile(path)),
      };
    }
    const bytes = readFileSync(path);
    if (!isUtf8(bytes)) {
      return { diagnostic: error("MCP006", `cannot read ${path}: it is not UTF-8 text`, wholeFile(path), { hint: "save the file as UTF-8" }) };
    }
    return { text: bytes.toString("utf8") };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : (e as Error).message;
    return { diagnostic: error("MCP006", `cannot read ${path}: ${why}`, wholeFile(path)) };
  }
}

/** Loads, validates and compiles one pipeline file; never throws for user mistakes. */
export function loadPipelineFile(path: string, opts: LoadOptions = {}): LoadResult {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const sources = opts.sources ?? new SourceMap();
  const diagnostics: Diagnostic[] = [];

  let text = opts.text;
  if (text === undefined) {
    const r = readSource(path, limits);
    if (r.diagnostic) return { diagnostics: [r.diagnostic], sources };
    text = r.text!;
  }
  sources.add(path, text);
  const key = opts.parsed ? resolve(path) : "";
  const held = opts.parsed?.get(key);
  const { file, diagnostics: checked } = held && held.text === text && held.file.path === path ? held : parseAndCheck(path, text, limits);
  if (opts.parsed && held?.file !== file) opts.parsed.set(key, { text, file, diagnostics: checked });
  diagnostics.push(...checked);

  // mcp.yaml. Shown relative to the working folder when the pipeline path is relative, as
  // the user would type it; cached by absolute path, so `mcp validate .` reads it once.
  const found = opts.configPath === null ? undefined : (opts.configPath ?? findProjectConfig(dirname(path)));
  const configPath = found && opts.configPath === undefined && !isAbsolute(path) ? relative(process.cwd(), found) || found : found;
  let config: YamlFile | undefined;
  if (configPath) {
    const key = resolve(configPath);
    const cached = opts.configCache?.get(key);
    const loaded = cached ?? loadConfigFile(configPath, limits, sources);
    if (!cached) opts.configCache?.set(key, loaded);
    else if (!sources.get(loaded.file.path)) sources.add(loaded.file.path, loaded.file.text);
    config = loaded.file;
    // A broken mcp.yaml is reported once per validation run, with its first pipeline.
    if (!cached) diagnostics.push(...loaded.diagnostics);
    else if (hasErrors(loaded.diagnostics)) {
      diagnostics.push(error("MCP006", `its project config ${loaded.file.path} has errors (reported above)`, wholeFile(path)));
    }
  }

  const structured = file.value !== null && typeof file.value === "object" && !Array.isArray(file.value);
  if (hasErrors(file.diagnostics) || !structured) {
    return { diagnostics: sortDiagnostics(diagnostics), sources, ...(configPath ? { configPath } : {}) };
  }
  // Compile even when the schema check failed, so every problem of the file shows at once;
  // a schema error supersedes a compile error at the same place.
  const files = new Set<string>();
  const compiled = compilePipeline({
    pipeline: file,
    ...(config ? { config } : {}),
    sources,
    ...(opts.models ? { models: opts.models } : {}),
    ...(opts.toolListings ? { toolListings: opts.toolListings } : {}),
    subPipeline: subPipelineLoader(path, { ...opts, sources, limits }, files),
  });
  const taken = new Set(diagnostics.map((d) => `${d.location?.file}:${d.location?.offset}`));
  diagnostics.push(...compiled.diagnostics.filter((d) => !taken.has(`${d.location?.file}:${d.location?.offset}`)));
  return {
    ...(compiled.pipeline && !hasErrors(diagnostics) ? { pipeline: compiled.pipeline } : {}),
    diagnostics: sortDiagnostics(diagnostics),
    sources,
    ...(configPath ? { configPath } : {}),
    ...(files.size ? { files: [...files].sort() } : {}),
  };
}

/** Parses a pipeline file's text and checks it against the pipeline schema: what its text alone yields. */
function parseAndCheck(path: string, text: string, limits: LoadLimits): { file: YamlFile; diagnostics: Diagnostic[] } {
  const file = parseYaml(path, text, limits);
  const diagnostics = [...file.diagnostics];
  if (file.value !== undefined && !hasErrors(file.diagnostics)) {
    if (text.trim() === "" || (file.value === null && !/^\s*[^#\s]/m.test(text))) {
      diagnostics.push(error("MCP008", "the file is empty; a pipeline file is a mapping with at least `steps:`", wholeFile(path), { hint: "see pipelines/ for examples, or run mcp init" }));
    } else if (file.value === null || typeof file.value !== "object" || Array.isArray(file.value)) {
      diagnostics.push(error("MCP008", "a pipeline file must be a mapping with at least `steps:`", file.locate([]), { hint: "see pipelines/ for examples" }));
    } else {
      diagnostics.push(...validatePipelineSchema(file));
      diagnostics.push(...checkInputsSchema(file));
    }
  }
  return { file, diagnostics };
}

/**
 * The loader of `pipeline:` steps for the file at `path`: a path relative to that file,
 * loaded with the same options (mcp.yaml search, limits, models, sources), unless it is
 * already being loaded further out, which is a cycle of files (MCP310) named with its chain.
 */
function subPipelineLoader(path: string, opts: LoadOptions, files: Set<string>): SubPipelineLoader {
  return (ref, at) => {
    const abs = resolve(dirname(path), ref);
    const shown = isAbsolute(ref) ? ref : join(dirname(path), ref);
    const outer = opts.chain ?? [{ path: resolve(path), file: path }];
    const chain: FileLink[] = [...outer.slice(0, -1), { ...outer[outer.length - 1]!, ...(at ? { ref: at } : {}) }];
    const from = chain.findIndex((l) => l.path === abs);
    if (from >= 0) {
      const loop = chain.slice(from);
      const names = [...loop.map((l) => l.file), shown];
      return {
        diagnostics: [
          error("MCP310", `cycle of pipeline files: ${names.join(" -> ")}`, at, {
            hint: "a pipeline cannot run itself, directly or through others; remove one of these `pipeline:` steps",
            related: loop.slice(0, -1).map((l, i) => ({ message: `${l.file} runs ${loop[i + 1]!.file}`, ...(l.ref ? { location: l.ref } : {}) })),
          }),
        ],
        files: [],
      };
    }
    files.add(abs);
    if (!existsSync(abs)) {
      return { diagnostics: [error("MCP311", `cannot read the sub-pipeline ${ref}: no such file (${shown})`, at, { hint: "the path is relative to this pipeline file" })], files: [abs] };
    }
    const { text: _text, chain: _chain, ...rest } = opts;
    const r = loadPipelineFile(shown, { ...rest, chain: [...chain, { path: abs, file: shown }] });
    for (const f of r.files ?? []) files.add(f);
    return { ...(r.pipeline ? { pipeline: r.pipeline } : {}), diagnostics: r.diagnostics, files: [abs, ...(r.files ?? [])] };
  };
}

export function loadConfigFile(path: string, limits: LoadLimits, sources: SourceMap): { file: YamlFile; diagnostics: Diagnostic[] } {
  const r = readSource(path, limits);
  if (r.diagnostic) {
    const file = parseYaml(path, "", limits);
    return { file, diagnostics: [r.diagnostic] };
  }
  sources.add(path, r.text!);
  const file = parseYaml(path, r.text!, limits);
  const diagnostics = [...file.diagnostics];
  if (file.value !== undefined && file.value !== null && !hasErrors(diagnostics)) {
    if (typeof file.value !== "object" || Array.isArray(file.value)) {
      diagnostics.push(error("MCP008", "mcp.yaml must be a mapping", file.locate([])));
    } else {
      diagnostics.push(...validateConfigSchema(file));
    }
  }
  return { file, diagnostics };
}

/** The JSON Schemas a pipeline file holds: inputs, outputSchema, and those of its steps and models. */
function checkInputsSchema(file: YamlFile): Diagnostic[] {
  const out = [...checkUserSchema(file, ["inputs"]), ...checkUserSchema(file, ["outputSchema"], "the run's result")];
  const doc = file.value as Record<string, unknown>;
  const mapping = (v: unknown): Record<string, unknown> | undefined => (v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
  for (const [id, raw] of Object.entries(mapping(doc.steps) ?? {})) {
    const step = mapping(raw);
    if (!step) continue;
    if (step.outputSchema !== undefined) out.push(...checkUserSchema(file, ["steps", id, "outputSchema"], `step '${id}'s output`));
    if (mapping(step.approval)?.schema !== undefined) out.push(...checkUserSchema(file, ["steps", id, "approval", "schema"], `the answer to approval step '${id}'`));
  }
  for (const [name, raw] of Object.entries(mapping(doc.models) ?? {})) {
    if (mapping(raw)?.outputSchema !== undefined) out.push(...checkUserSchema(file, ["models", name, "outputSchema"], `model '${name}'s output`));
  }
  return out;
}

/**
 * Loads a pipeline for running; throws ConfigError (with every diagnostic) when invalid.
 * @example const p = await loadPipeline("pipelines/ticket-triage.yaml");
 */
export async function loadPipeline(path: string, opts: LoadOptions = {}): Promise<CompiledPipeline> {
  const r = await loadPipelineChecked(path, { modules: "load", ...opts });
  if (!r.pipeline) throw new ConfigError(r.diagnostics, r.sources);
  return r.pipeline;
}

/**
 * loadPipelineFile, plus the checks of `module` models' files (MCP405). With `modules:
 * "static"` (the default, and what `mcp validate` uses) the files are only read and lexed:
 * they must exist, parse and have the named export, and none of their code runs. With
 * `"load"` (`mcp run`, loadPipeline) they are imported, as running the pipeline would, and
 * the export must be a model. docs/limits.md, "Trust model".
 */
export async function loadPipelineChecked(path: string, opts: LoadOptions & { modules?: "static" | "load" } = {}): Promise<LoadResult> {
  const r = loadPipelineFile(path, opts);
  if (!r.pipeline || !r.pipeline.models.some((m) => m.provider === "module" && m.module !== undefined)) return r;
  let problems: Diagnostic[];
  if (opts.modules === "load") {
    const { verifyModuleModels } = await import("../models/providers/module.js");
    problems = await verifyModuleModels(r.pipeline);
  } else {
    const { checkModuleModelsStatically } = await import("../models/module-exports.js");
    problems = checkModuleModelsStatically(r.pipeline);
  }
  if (problems.length === 0) return r;
  const { pipeline: _dropped, ...rest } = r;
  return { ...rest, diagnostics: sortDiagnostics([...r.diagnostics, ...problems]) };
}
