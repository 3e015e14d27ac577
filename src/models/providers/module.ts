/**
 * The `module` provider: a user's model from a .js, .mjs or .ts file named by `module:`,
 * resolved against the folder of the file that defined the model. The export named by
 * `export:` (default `default`) may be
 * - a BaseModel subclass (any class with a `process` method): instantiated with `options`;
 * - a BaseModel instance (any object with a `process` method);
 * - a plain function `(input, ctx) => output`, sync or async.
 *
 * .ts files are transpiled in memory by the `typescript` package where it is installed
 * (see ts-module-hooks.ts), else loaded by Node's own type stripping where it has it.
 *
 * `verifyModuleModels` checks every module model of a pipeline without running it and
 * reports MCP405 diagnostics: file missing, no such export, not a model, throws on load.
 */
import { existsSync, statSync } from "node:fs";
import { createRequire, register } from "node:module";
import { extname, isAbsolute, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { BaseModel, type ModelCallContext } from "../base-model.js";
import { error, type Diagnostic } from "../../diagnostics/diagnostic.js";
import { ConfigError } from "../../util/errors.js";
import { describe } from "../chat-request.js";
import type { ModelConfig } from "../types.js";
import type { ProviderServices } from "./services.js";

const EXTENSIONS = [".js", ".mjs", ".cjs", ".ts", ".mts"];
const TS_EXTENSIONS = [".ts", ".mts"];
const MODEL_HINT = "export a BaseModel subclass, a BaseModel instance, or a function (input, ctx) => output";

/** A function exported as a model. */
export type ModelFunction = (input: unknown, ctx: ModelCallContext) => unknown;

/** Wraps a plain function as a model. */
export class FunctionModel extends BaseModel {
  readonly #fn: ModelFunction;

  constructor(fn: ModelFunction) {
    super();
    this.#fn = fn;
    const caps = (fn as { capabilities?: unknown }).capabilities;
    if (Array.isArray(caps)) this.capabilities = caps.filter((c): c is string => typeof c === "string");
  }

  async process(input: unknown, ctx: ModelCallContext): Promise<unknown> {
    return this.#fn(input, ctx);
  }
}

/** Why a module model cannot be used: a message and what to do about it. */
export interface ModuleProblem {
  message: string;
  hint?: string;
}

/** What a module's export turned out to be. */
type ModelExport = { kind: "class"; value: new (options: unknown) => unknown } | { kind: "instance"; value: BaseModel } | { kind: "function"; value: ModelFunction };

/**
 * Loads the model's file and finds its export. Problems are returned, not thrown, so
 * `verifyModuleModels` can report them all.
 */
export async function loadModelExport(config: ModelConfig): Promise<{ ok: true; export: ModelExport; path: string } | { ok: false; problem: ModuleProblem }> {
  const who = `model '${config.name}'`;
  const spec = config.module;
  if (!spec) return { ok: false, problem: { message: `${who}: provider module needs \`module\`, the path of a .js, .mjs or .ts file` } };
  const path = isAbsolute(spec) ? spec : resolve(config.baseDir ?? process.cwd(), spec);
  const ext = extname(path).toLowerCase();
  if (!EXTENSIONS.includes(ext)) {
    return { ok: false, problem: { message: `${who}: module file '${spec}' must end in .js, .mjs or .ts`, hint: "compile other languages to JavaScript, or call them with provider: http" } };
  }
  let mtime: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) return { ok: false, problem: { message: `${who}: module '${spec}' is not a file (${path})` } };
    mtime = Math.floor(st.mtimeMs);
  } catch {
    return {
      ok: false,
      problem: { message: `${who}: module file '${spec}' not found (looked for ${path})`, hint: "relative paths start from the folder of the file that defines the model" },
    };
  }
  if (TS_EXTENSIONS.includes(ext)) {
    const ready = enableTypeScript(path);
    if (ready !== true) return { ok: false, problem: { message: `${who}: cannot load '${spec}': ${ready.message}`, ...(ready.hint ? { hint: ready.hint } : {}) } };
  }
  let mod: Record<string, unknown>;
  try {
    // The file's mtime in the URL: an edited file is loaded afresh (watch mode, mcp serve).
    mod = (await import(`${pathToFileURL(path).href}?mtime=${mtime}`)) as Record<string, unknown>;
  } catch (e) {
    const msg = e instanceof Error ? `${e.name === "Error" ? "" : `${e.name}: `}${e.message}` : String(e);
    return { ok: false, problem: { message: `${who}: '${spec}' threw while loading: ${firstLine(msg)}` } };
  }
  const name = config.export ?? "default";
  if (!Object.hasOwn(mod, name) || mod[name] === undefined) {
    const names = Object.keys(mod).filter((k) => mod[k] !== undefined);
    return {
      ok: false,
      problem: {
        message: `${who}: '${spec}' has no export '${name}'`,
        hint: names.length ? `it exports: ${names.join(", ")}; pick one with \`export:\`` : `it exports nothing; ${MODEL_HINT}`,
      },
    };
  }
  const exp = classify(mod[name]);
  if (!exp) {
    return { ok: false, problem: { message: `${who}: export '${name}' of '${spec}' is not a model (it is ${describe(mod[name])})`, hint: MODEL_HINT } };
  }
  return { ok: true, export: exp, path };
}

/** Instantiates a module model: the factory of the provider table. */
export async function createModuleModel(config: ModelConfig, _services: ProviderServices): Promise<BaseModel> {
  const loaded = await loadModelExport(config);
  if (!loaded.ok) throw new ConfigError([problemDiagnostic(config, loaded.problem)]);
  const model = instantiate(loaded.export, config);
  if (!model.ok) throw new ConfigError([problemDiagnostic(config, model.problem)]);
  return model.model;
}

/**
 * Checks every `module` model of a pipeline: the file exists, loads, and exports a model.
 * Loading runs the module's top-level code (as running the pipeline would); classes are not
 * instantiated unless their `process` is not on the prototype.
 */
export async function verifyModuleModels(pipeline: { readonly models: readonly ModelConfig[] }): Promise<Diagnostic[]> {
  const out: Diagnostic[] = [];
  for (const config of pipeline.models) {
    if (config.provider !== "module") continue;
    // A BaseModel instance registered in code has no file to check.
    if (config.module === undefined && config.moduleLocation === undefined) continue;
    const loaded = await loadModelExport(config);
    if (!loaded.ok) {
      out.push(problemDiagnostic(config, loaded.problem));
      continue;
    }
    if (loaded.export.kind === "class" && typeof (loaded.export.value.prototype as { process?: unknown }).process !== "function") {
      const model = instantiate(loaded.export, config);
      if (!model.ok) out.push(problemDiagnostic(config, model.problem));
    }
  }
  return out;
}

function problemDiagnostic(config: ModelConfig, p: ModuleProblem): Diagnostic {
  return error("MCP405", p.message, config.moduleLocation, p.hint ? { hint: p.hint } : {});
}

function classify(v: unknown): ModelExport | undefined {
  if (typeof v === "function") {
    if (isClass(v)) return { kind: "class", value: v as new (options: unknown) => unknown };
    return { kind: "function", value: v as ModelFunction };
  }
  if (v && typeof v === "object" && typeof (v as { process?: unknown }).process === "function") return { kind: "instance", value: asModel(v) };
  return undefined;
}

/** A class (not a plain function): `class` syntax, or a function with prototype methods. */
function isClass(f: unknown): boolean {
  if (typeof f !== "function") return false;
  if (/^class[\s{]/.test(Function.prototype.toString.call(f))) return true;
  const proto = (f as { prototype?: object }).prototype;
  return !!proto && typeof (proto as { process?: unknown }).process === "function";
}

function instantiate(exp: ModelExport, config: ModelConfig): { ok: true; model: BaseModel } | { ok: false; problem: ModuleProblem } {
  const who = `model '${config.name}'`;
  switch (exp.kind) {
    case "instance":
      return { ok: true, model: exp.value };
    case "function":
      return { ok: true, model: new FunctionModel(exp.value) };
    case "class": {
      let inst: unknown;
      try {
        inst = new exp.value(config.options ?? {});
      } catch (e) {
        return { ok: false, problem: { message: `${who}: the constructor of ${exp.value.name || "the class"} threw: ${firstLine(e instanceof Error ? e.message : String(e))}` } };
      }
      if (!inst || typeof (inst as { process?: unknown }).process !== "function") {
        return { ok: false, problem: { message: `${who}: class ${exp.value.name || "(anonymous)"} has no process() method`, hint: MODEL_HINT } };
      }
      return { ok: true, model: asModel(inst) };
    }
  }
}

/**
 * Gives an object the BaseModel members it lacks. A user's file may import BaseModel from
 * its own copy of this package, so `instanceof BaseModel` cannot be relied on.
 */
function asModel(v: object): BaseModel {
  const m = v as Partial<BaseModel> & { process: BaseModel["process"] };
  if (typeof m.name !== "string") m.name = "";
  if (!Array.isArray(m.capabilities)) m.capabilities = [];
  if (typeof m.close !== "function") m.close = async () => {};
  return m as BaseModel;
}

function firstLine(s: string): string {
  return s.split("\n")[0] ?? s;
}

let tsState: true | ModuleProblem | undefined;

/**
 * Makes `import()` of .ts files work alike on every supported Node: registers
 * ts-module-hooks with the typescript package found from the model's folder or from this
 * package (transpiled in memory: enums, parameter properties and `./x.js` imports of
 * `./x.ts` work, errors name the file and line). Without the typescript package, a Node
 * that strips types itself loads the file, with the hooks' `.js` -> `.ts` resolution only.
 * Under a TypeScript-aware runner (tsx, vitest) the hooks file is not compiled and the
 * runner loads .ts itself.
 */
function enableTypeScript(modelPath: string): true | ModuleProblem {
  if (tsState !== undefined) return tsState;
  const hooks = new URL("../ts-module-hooks.js", import.meta.url);
  if (!existsSync(fileURLToPath(hooks))) return (tsState = true);
  let tsPath: string | undefined;
  for (const from of [modelPath, fileURLToPath(import.meta.url)]) {
    try {
      tsPath = createRequire(from).resolve("typescript");
      break;
    } catch {
      // try the next place
    }
  }
  if (!tsPath && !(process.features as { typescript?: unknown }).typescript) {
    return (tsState = {
      message: `Node.js ${process.version} cannot run TypeScript itself, and the typescript package is not installed`,
      hint: "run `npm install --save-dev typescript` in your project, compile the model to .js, or use Node.js >= 22.18",
    });
  }
  register(hooks.href, { data: tsPath ? { typescript: pathToFileURL(tsPath).href } : {} });
  return (tsState = true);
}
