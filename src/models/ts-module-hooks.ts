/**
 * Node.js module hooks (`module.register`) that let every supported Node import a user's
 * `.ts`/`.mts` model file the same way: the file is transpiled in memory with the
 * `typescript` package's `transpileModule` (types removed, no type check), so enums and
 * parameter properties work and errors read the same on Node 20 and 24, and relative
 * imports keep resolving from the file's own folder (`./helper.js` meaning `./helper.ts`).
 * Registered by the `module` provider only when it meets such a file. Only `file:` URLs
 * ending in .ts or .mts are touched; everything else passes through.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

interface TypeScriptApi {
  transpileModule(
    source: string,
    options: { fileName: string; compilerOptions: Record<string, unknown>; reportDiagnostics?: boolean },
  ): { outputText: string; diagnostics?: { messageText: unknown; start?: number }[] };
  ModuleKind: { ESNext: number };
  ScriptTarget: { ES2022: number };
}

let typescriptUrl: string | undefined;
let ts: Promise<TypeScriptApi> | undefined;

/**
 * Receives `{ typescript }`: the URL of the typescript package to transpile with. Without
 * it (a Node that strips types itself, and no typescript package) only `resolve` acts and
 * Node loads the .ts file on its own.
 */
export function initialize(data: { typescript?: string } | undefined): void {
  if (data?.typescript) typescriptUrl = data.typescript;
}

const TS_FILE = /\.m?ts$/;

const pathOf = (url: string) => url.replace(/[?#].*$/, "");

type NextResolve = (specifier: string, context: { parentURL?: string }) => Promise<{ url: string; format?: string | null }>;
type NextLoad = (url: string, context: { format?: string | null }) => Promise<{ format: string; source?: unknown; shortCircuit?: boolean }>;

/**
 * TypeScript sources import `./helper.js` meaning `./helper.ts` (the nodenext convention):
 * from a .ts file, a relative .js/.mjs that does not exist is tried as .ts/.mts.
 */
export async function resolve(specifier: string, context: { parentURL?: string }, nextResolve: NextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (e) {
    const parent = context.parentURL ? pathOf(context.parentURL) : "";
    if ((e as { code?: string }).code === "ERR_MODULE_NOT_FOUND" && TS_FILE.test(parent) && /^\.{1,2}\//.test(specifier) && /\.m?js$/.test(specifier)) {
      return nextResolve(specifier.replace(/\.(m?)js$/, ".$1ts"), context);
    }
    throw e;
  }
}

export async function load(url: string, context: { format?: string | null }, nextLoad: NextLoad) {
  if (typescriptUrl === undefined || !url.startsWith("file:") || !TS_FILE.test(pathOf(url))) return nextLoad(url, context);
  ts ??= import(typescriptUrl).then((m: { default?: TypeScriptApi } & TypeScriptApi) => m.default ?? m);
  const api = await ts;
  const fileName = fileURLToPath(pathOf(url));
  const source = await readFile(fileName, "utf8");
  const out = api.transpileModule(source, {
    fileName,
    reportDiagnostics: true,
    compilerOptions: {
      module: api.ModuleKind.ESNext,
      target: api.ScriptTarget.ES2022,
      inlineSourceMap: true,
      inlineSources: true,
      // Keep imports that are only used as types out of the output, as tsc does by default.
      verbatimModuleSyntax: false,
      isolatedModules: true,
    },
  });
  const first = out.diagnostics?.[0];
  if (first) {
    const m = first.messageText as string | { messageText?: unknown };
    const text = typeof m === "string" ? m : String(m.messageText);
    const line = first.start !== undefined ? source.slice(0, first.start).split("\n").length : undefined;
    throw new SyntaxError(`${fileName}${line !== undefined ? `:${line}` : ""}: ${text}`);
  }
  return { format: "module", source: out.outputText, shortCircuit: true };
}
