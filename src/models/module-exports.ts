/**
 * Checks a `module` model's file WITHOUT running it, for `mcp validate` (docs/limits.md,
 * "Trust model"): the file exists, is a .js/.mjs/.cjs/.ts/.mts file within the size limit,
 * lexes as a module, and has the export the model names. ES modules are read by
 * es-module-lexer, CommonJS by cjs-module-lexer (the lexer Node itself uses to find a
 * CommonJS module's named exports); `export * from "./x.js"` is followed, a few levels
 * deep. Whether the export is really a model is known only by loading it, which `run` does.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, extname, isAbsolute, resolve } from "node:path";
import { error, type Diagnostic } from "../diagnostics/diagnostic.js";
import type { ModelConfig } from "./types.js";

const require = createRequire(import.meta.url);

const EXTENSIONS = [".js", ".mjs", ".cjs", ".ts", ".mts"];
/** Largest module file read. */
const MAX_MODULE_BYTES = 4 * 1024 * 1024;
/** Deepest chain of `export * from` followed. */
const MAX_REEXPORT_DEPTH = 8;

type EsLexer = typeof import("es-module-lexer");
type CjsLexer = typeof import("cjs-module-lexer");
let esLexer: EsLexer | undefined;
let cjsLexer: CjsLexer | undefined;

function es(): EsLexer {
  if (!esLexer) {
    esLexer = require("es-module-lexer") as EsLexer;
    esLexer.initSync();
  }
  return esLexer;
}

function cjs(): CjsLexer {
  if (!cjsLexer) {
    cjsLexer = require("cjs-module-lexer") as CjsLexer;
    cjsLexer.initSync();
  }
  return cjsLexer;
}

/** The exports of a module file found by lexing it; `open`: a star re-export could not be followed. */
interface FoundExports {
  names: Set<string>;
  open: boolean;
}

class ModuleReadError extends Error {}

function readModule(path: string): string {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new ModuleReadError("not found");
  }
  if (!st.isFile()) throw new ModuleReadError("not a file");
  if (st.size > MAX_MODULE_BYTES) throw new ModuleReadError(`larger than ${MAX_MODULE_BYTES} bytes`);
  return readFileSync(path, "utf8");
}

/** Exports of one file, following relative `export *` re-exports. */
function exportsOf(path: string, depth: number, seen: Set<string>): FoundExports {
  const found: FoundExports = { names: new Set(), open: false };
  if (seen.has(path)) return found;
  seen.add(path);
  const source = readModule(path);
  const ext = extname(path).toLowerCase();
  let esm: ReturnType<EsLexer["parse"]> | undefined;
  if (ext !== ".cjs") {
    try {
      esm = es().parse(source, path);
    } catch (e) {
      throw new ModuleReadError(`does not parse: ${lexerMessage(e)}`);
    }
  }
  if (esm && (esm[3] || ext === ".mjs" || ext === ".mts")) {
    const [imports, exports] = esm;
    for (const e of exports) found.names.add(e.n);
    // `export * from "x"`: a star re-export is an import statement whose text starts with `export`.
    for (const i of imports) {
      if (i.d !== -1 || i.n === undefined) continue;
      const stmt = source.slice(i.ss, i.se);
      if (!/^export\s*\*\s*from/.test(stmt)) continue;
      const target = i.n.startsWith(".") ? resolveRelative(dirname(path), i.n) : undefined;
      if (!target || depth >= MAX_REEXPORT_DEPTH) {
        found.open = true;
        continue;
      }
      const sub = exportsOf(target, depth + 1, seen);
      for (const n of sub.names) if (n !== "default") found.names.add(n);
      found.open ||= sub.open;
    }
    return found;
  }
  // CommonJS: `default` is module.exports itself; named exports as Node detects them.
  let lexed;
  try {
    lexed = cjs().parse(source);
  } catch (e) {
    throw new ModuleReadError(`does not parse: ${lexerMessage(e)}`);
  }
  found.names.add("default");
  for (const n of lexed.exports) found.names.add(n);
  if (lexed.reexports.length) found.open = true;
  return found;
}

function resolveRelative(dir: string, spec: string): string | undefined {
  const base = resolve(dir, spec);
  for (const p of [base, ...EXTENSIONS.map((e) => base + e), ...EXTENSIONS.map((e) => base.replace(/\.js$/, e))]) {
    if (existsSync(p) && statSync(p).isFile()) return p;
  }
  return undefined;
}

function lexerMessage(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split("\n")[0] ?? m;
}

/**
 * MCP405 diagnostics for the `module` models of a pipeline, found without running any of
 * their code: missing file, wrong extension, unreadable or unparsable file, no such export.
 */
export function checkModuleModelsStatically(pipeline: { readonly models: readonly ModelConfig[] }): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const config of pipeline.models) {
    if (config.provider !== "module") continue;
    if (config.module === undefined && config.moduleLocation === undefined) continue;
    const problem = check(config);
    if (problem) out.push(error("MCP405", problem.message, config.moduleLocation, problem.hint ? { hint: problem.hint } : {}));
  }
  return out;
}

function check(config: ModelConfig): { message: string; hint?: string } | undefined {
  const who = `model '${config.name}'`;
  const spec = config.module;
  if (!spec) return { message: `${who}: provider module needs \`module\`, the path of a .js, .mjs or .ts file` };
  const path = isAbsolute(spec) ? spec : resolve(config.baseDir ?? process.cwd(), spec);
  if (!EXTENSIONS.includes(extname(path).toLowerCase())) {
    return { message: `${who}: module file '${spec}' must end in .js, .mjs or .ts`, hint: "compile other languages to JavaScript, or call them with provider: http" };
  }
  let found: FoundExports;
  try {
    found = exportsOf(path, 0, new Set());
  } catch (e) {
    if (!(e instanceof ModuleReadError)) throw e;
    if (e.message === "not found") return { message: `${who}: module file '${spec}' not found (looked for ${path})`, hint: "relative paths start from the folder of the file that defines the model" };
    return { message: `${who}: module '${spec}' ${e.message}` };
  }
  const name = config.export ?? "default";
  if (found.names.has(name) || found.open) return undefined;
  // The lexer lists only the first name of `export const a = 1, b = 2`: accept a name that
  // an export statement declares, rather than report an export that is there.
  const word = name.replace(/[^A-Za-z0-9_$]/g, "");
  if (word && new RegExp(`\\bexport\\s+(?:const|let|var)\\b[^;]*\\b${word.replace(/\$/g, "\\$")}\\b`).test(readFileSync(path, "utf8"))) return undefined;
  const names = [...found.names];
  return {
    message: `${who}: '${spec}' has no export '${name}'`,
    hint: names.length ? `it exports: ${names.join(", ")}; pick one with \`export:\`` : "it exports nothing; export a BaseModel subclass, a BaseModel instance, or a function (input, ctx) => output",
  };
}
