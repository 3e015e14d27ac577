/**
 * Checks a parsed YAML file against a JSON Schema with ajv and turns each ajv error into a
 * diagnostic a person understands: which key, what was expected, what was found, and a
 * close match for a misspelt key or value. Positions come from the YAML nodes.
 */
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import type { Ajv2020 } from "ajv/dist/2020.js";
import type { ErrorObject, Options, ValidateFunction } from "ajv";
import { error, type Diagnostic } from "../diagnostics/diagnostic.js";
import type { DiagnosticCode } from "../diagnostics/codes.js";
import type { JsonPath, YamlFile } from "../config/yaml-file.js";
import { closest } from "../util/suggest.js";
import { safeRegExp } from "../util/safe-regex.js";
import { configSchema, defs, pipelineSchema } from "./definitions.js";
import { testSchema } from "./test-schema.js";

const require = createRequire(import.meta.url);
/** Ajv, loaded on first need: a valid file checked by the prebuilt validators never needs it. */
const newAjv = (opts: Options): Ajv2020 => new (require("ajv/dist/2020.js") as typeof import("ajv/dist/2020.js")).Ajv2020(opts);

/** How the built-in schemas are compiled, here and by scripts/build-validators.mjs. */
export const SCHEMA_AJV_OPTIONS: Readonly<Options> = { allErrors: true, verbose: true, strict: false, allowUnionTypes: true };

/** A digest of the built-in schemas and the options: prebuilt validators are used only if theirs is the same. */
export function schemaFingerprint(): string {
  return createHash("sha256")
    .update(JSON.stringify([SCHEMA_AJV_OPTIONS, pipelineSchema, configSchema]))
    .digest("hex");
}

/** The module scripts/build-validators.mjs writes next to the built validate.js. */
interface Prebuilt {
  fingerprint: string;
  pipeline: ValidateFunction;
  config: ValidateFunction;
}

let prebuilt: Prebuilt | null | undefined;

/**
 * The validators compiled at build time (ajv's standalone code, dist/schema/validators.cjs):
 * compiling the schemas takes ~100 ms, most of a cold `mcp validate`. None when running
 * from the sources (tests) or when the module is missing or was built from other schemas.
 */
function prebuiltValidators(): Prebuilt | null {
  if (prebuilt === undefined) {
    prebuilt = null;
    try {
      const m = require("./validators.cjs") as Prebuilt;
      if (m.fingerprint === schemaFingerprint()) prebuilt = m;
    } catch {
      // not built: compile at run time
    }
  }
  return prebuilt;
}

let ajv: Ajv2020 | undefined;
let pipelineValidator: ValidateFunction | undefined;
let configValidator: ValidateFunction | undefined;

/** One Ajv instance for the process; each schema is compiled once, on first use. */
export function getAjv(): Ajv2020 {
  ajv ??= newAjv({ ...SCHEMA_AJV_OPTIONS });
  return ajv;
}

export function validatePipelineSchema(file: YamlFile): Diagnostic[] {
  pipelineValidator ??= prebuiltValidators()?.pipeline ?? getAjv().compile(pipelineSchema);
  return validateWith(pipelineValidator, file);
}

export function validateConfigSchema(file: YamlFile): Diagnostic[] {
  configValidator ??= prebuiltValidators()?.config ?? getAjv().compile(configSchema);
  return validateWith(configValidator, file);
}

let testValidator: ValidateFunction | undefined;

/** Checks a test suite file (`*.test.yaml`) against schemas/test.schema.json. */
export function validateTestSchema(file: YamlFile): Diagnostic[] {
  testValidator ??= getAjv().compile(testSchema);
  return validateWith(testValidator, file);
}

let userAjv: Ajv2020 | undefined;

/**
 * Options for users' schemas: patterns run through safeRegExp (linear time, or stopped:
 * docs/limits.md).
 */
const USER_AJV_OPTIONS: Options = { allErrors: true, verbose: true, strict: false, allowUnionTypes: true, code: { regExp: safeRegExp as never } };

/**
 * Checks a JSON Schema written by the user (a pipeline's `inputs`): against the draft
 * 2020-12 meta-schema, then by compiling it (unresolvable `$ref`s). It uses an Ajv
 * instance of its own and removes the schema again, so a schema with an `$id` can be
 * checked any number of times (validating a folder, hot reload) without "already exists".
 */
export function checkUserSchema(file: YamlFile, path: JsonPath, what = "the run input"): Diagnostic[] {
  const schema = valueAt(file.value, path);
  if (!schema || typeof schema !== "object") return [];
  userAjv ??= newAjv(USER_AJV_OPTIONS);
  const where = displayPath(path);
  if (!userAjv.validateSchema(schema)) {
    const out: Diagnostic[] = [];
    const byPath = new Map<string, ErrorObject>();
    for (const e of userAjv.errors ?? []) {
      const prev = byPath.get(e.instancePath);
      if (!prev || (e.keyword === "enum" && prev.keyword !== "enum")) byPath.set(e.instancePath, e);
    }
    for (const [instancePath, e] of byPath) {
      const p = [...path, ...pathToJsonPath(instancePath)];
      let msg = `${displayPath(p)} is not valid JSON Schema: ${e.message ?? "invalid"}`;
      if (e.keyword === "enum") {
        const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map(String);
        const data = valueAt(file.value, p);
        const near = typeof data === "string" ? closest(data, allowed) : undefined;
        msg = `${displayPath(p)} must be one of ${allowed.join(", ")}; found ${describeValue(data)}${near ? ` (did you mean '${near}'?)` : ""}`;
      }
      out.push(error("MCP104", msg, file.locate(p), { hint: `${where} is the JSON Schema (draft 2020-12) of ${what}` }));
    }
    return out;
  }
  try {
    userAjv.compile(schema);
    return [];
  } catch (e) {
    return [error("MCP104", `${where} is not a usable JSON Schema: ${(e as Error).message}`, file.locate(path))];
  } finally {
    userAjv.removeSchema(schema);
  }
}

/**
 * Compiles a user's JSON Schema (a pipeline's `inputs`) into a validator without keeping it
 * registered: the same `$id` compiled again (a reloaded pipeline) would otherwise throw
 * "schema with key or id already exists". Throws on a schema that checkUserSchema rejects.
 */
export function compileUserSchema(schema: object): ValidateFunction {
  userAjv ??= newAjv(USER_AJV_OPTIONS);
  try {
    return userAjv.compile(schema);
  } finally {
    userAjv.removeSchema(schema);
  }
}

function valueAt(root: unknown, path: JsonPath): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== "object" || !Object.hasOwn(v, seg)) return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return "an empty value";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v)}`;
  if (typeof v === "boolean") return `the boolean ${v}`;
  return `the number ${String(v)}`;
}

const TYPE_NAMES: Record<string, string> = {
  object: "a mapping",
  array: "a list",
  string: "a string",
  integer: "an integer",
  number: "a number",
  boolean: "true or false",
  null: "empty",
};

export function pathToJsonPath(instancePath: string): (string | number)[] {
  if (instancePath === "") return [];
  return instancePath
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** `steps.reply.retry` for messages; "the file" at the root. */
export function displayPath(path: JsonPath): string {
  if (path.length === 0) return "the file";
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
}

function validateWith(validate: ValidateFunction, file: YamlFile): Diagnostic[] {
  if (validate(file.value)) return [];
  const errors = validate.errors ?? [];
  // Errors inside a failed anyOf branch are noise when the anyOf itself is reported.
  const anyOfAt = new Set(errors.filter((e) => e.keyword === "anyOf").map((e) => e.instancePath));
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    if (e.keyword !== "anyOf" && isInsideFailedAnyOf(e, anyOfAt)) continue;
    const d = toDiagnostic(e, file);
    if (!d) continue;
    const key = `${d.code}:${d.location?.offset}:${d.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(d);
  }
  return out;
}

function isInsideFailedAnyOf(e: ErrorObject, anyOfAt: Set<string>): boolean {
  if (!e.schemaPath.includes("/anyOf/")) return false;
  for (const p of anyOfAt) if (e.instancePath === p || e.instancePath.startsWith(p + "/")) return true;
  return false;
}

/**
 * One ajv error as a diagnostic. Keywords without a message of their own (none of the
 * built-in schemas uses one today) fall back to MCP105 with ajv's wording.
 */
export function schemaErrorToDiagnostic(e: ErrorObject, file: YamlFile): Diagnostic | undefined {
  return toDiagnostic(e, file);
}

/** Where a key belongs when it is a key of a step, a model or a task, but not of the mapping it is in. */
const KEY_HOMES: readonly [string, string][] = [
  ["step", "a step (steps.<id>)"],
  ["model", "a model (models.<name>)"],
  ["task", "a task (tasks.<name>)"],
];

/** `'latency' is a key of a model (models.<name>), not of this mapping`, or undefined: for keys in a step, model, task or defaults. */
function misplacedHint(key: string, path: JsonPath, here: Record<string, unknown> | undefined): string | undefined {
  if (!["steps", "models", "tasks", "defaults"].includes(String(path[0]))) return undefined;
  const homes = KEY_HOMES.filter(([def]) => {
    const props = (defs[def] as { properties?: Record<string, unknown> } | undefined)?.properties;
    return props !== undefined && props !== here && Object.hasOwn(props, key);
  }).map(([, name]) => name);
  return homes.length ? `'${key}' is a key of ${homes.join(" or ")}, not of this mapping; move it there` : undefined;
}

function toDiagnostic(e: ErrorObject, file: YamlFile): Diagnostic | undefined {
  const path = pathToJsonPath(e.instancePath);
  const where = displayPath(path);
  const parent = (e.parentSchema ?? {}) as { description?: string; properties?: Record<string, unknown> };
  const mk = (code: DiagnosticCode, message: string, p: JsonPath, hint?: string, key = false) => error(code, message, key ? file.locateKey(p) : file.locate(p), hint ? { hint } : {});

  switch (e.keyword) {
    case "additionalProperties": {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      const known = Object.keys(parent.properties ?? {});
      const near = closest(extra, known);
      return mk(
        "MCP101",
        `unknown key '${extra}' in ${where}${near ? ` (did you mean '${near}'?)` : ""}`,
        [...path, extra],
        near ? undefined : (misplacedHint(extra, path, parent.properties) ?? (known.length ? `allowed keys: ${known.join(", ")}` : undefined)),
        true,
      );
    }
    case "required": {
      const missing = (e.params as { missingProperty: string }).missingProperty;
      const hint = missing === "max" && path[path.length - 1] === "repeat" ? "no loop is unbounded: say how many times it may run at most, e.g. max: 5" : undefined;
      return mk("MCP103", `${where} is missing the key '${missing}'`, path, hint, true);
    }
    case "type": {
      const t = (e.params as { type: string | string[] }).type;
      const want = (Array.isArray(t) ? t : t.split(",")).map((x) => TYPE_NAMES[x] ?? x).join(" or ");
      return mk("MCP102", `${where} must be ${want}, found ${describeValue(e.data)}`, path, typeHint(e.data, t));
    }
    case "enum": {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map(String);
      const near = typeof e.data === "string" ? closest(e.data, allowed) : undefined;
      return mk("MCP104", `${where} must be one of ${allowed.join(", ")}; found ${describeValue(e.data)}${near ? ` (did you mean '${near}'?)` : ""}`, path);
    }
    case "const":
      return mk("MCP104", `${where} must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}, found ${describeValue(e.data)}`, path);
    case "anyOf":
    case "oneOf":
      return mk("MCP102", `${where} is not valid: expected ${lowerFirst(parent.description ?? "another form")}; found ${describeValue(e.data)}`, path);
    case "pattern":
      return mk("MCP104", `${where} has an invalid form: ${describeValue(e.data)} ${patternWords(e)}`, path);
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum": {
      const p = e.params as { comparison: string; limit: number };
      return mk("MCP104", `${where} must be ${p.comparison} ${p.limit}, found ${describeValue(e.data)}`, path);
    }
    case "minProperties":
      return mk("MCP104", `${where} must not be empty`, path, undefined, true);
    case "minLength":
      return mk("MCP104", `${where} must not be empty`, path);
    case "uniqueItems":
      return mk("MCP104", `${where} lists the same value twice`, path);
    case "minItems":
    case "maxItems":
    case "maxLength":
      return mk("MCP104", `${where} ${e.message ?? "is invalid"}`, path);
    default:
      return mk("MCP105", `${where} ${e.message ?? "is invalid"}`, path);
  }
}

function patternWords(e: ErrorObject): string {
  const desc = (e.parentSchema as { description?: string } | undefined)?.description;
  return desc ? `(expected ${lowerFirst(desc)})` : `(must match ${(e.params as { pattern: string }).pattern})`;
}

function typeHint(data: unknown, t: string | string[]): string | undefined {
  const types = Array.isArray(t) ? t : [t];
  if (data && typeof data === "object" && !Array.isArray(data) && types.includes("string")) {
    return 'if this is an expression, quote it: "${{ ... }}" (YAML reads unquoted { } as a mapping)';
  }
  if (data === null && types.length) return "the value is empty; write one after the colon or remove the key";
  return undefined;
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1).replace(/\.$/, "");
}
