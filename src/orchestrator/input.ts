/**
 * Checks a run's input before anything else touches it: first its shape (depth, number of
 * values, size: the same kind of limits as pipeline files, checked without recursion), then
 * the pipeline's `inputs` JSON Schema. Every face that accepts run input (the CLI, the HTTP
 * server, the queue worker) calls checkRunInput or assertRunInput. docs/limits.md.
 */
import type { ErrorObject, ValidateFunction } from "ajv";
import type { CompiledPipeline } from "../compiler/types.js";
import { error, type Diagnostic, type Location } from "../diagnostics/diagnostic.js";
import { SourceMap } from "../diagnostics/source.js";
import { compileUserSchema, displayPath, pathToJsonPath } from "../schema/validate.js";
import { ConfigError } from "../util/errors.js";
import { withSummary } from "../diagnostics/cap.js";

/** Limits on one run input. docs/limits.md. */
export interface RunInputLimits {
  /** Deepest nesting of objects and arrays. @default 64 (as pipeline files) */
  maxDepth: number;
  /** Most values (objects, arrays, scalars) in the input. @default 1000000 */
  maxValues: number;
  /** Largest input, in bytes of its JSON text (estimated for a parsed value). @default 10 MiB */
  maxBytes: number;
  /** Most problems listed for one input; the rest are counted in one summary line. @default 20 */
  maxErrors: number;
}

export const RUN_INPUT_LIMITS: Readonly<RunInputLimits> = {
  maxDepth: 64,
  maxValues: 1_000_000,
  maxBytes: 10 * 1024 * 1024,
  maxErrors: 20,
};

/** Where run-input diagnostics point: the file it came from, or a name like `--input`. */
export interface InputOrigin {
  /** Shown as the diagnostic's file (`--input`, `tickets/42.json`, `request body`). @default "input" */
  file?: string;
}

function originLocation(origin: InputOrigin | undefined): Location {
  return { file: origin?.file ?? "input", offset: 0, length: 0 };
}

/**
 * The shape check: depth, count and size of the value, walked with an explicit stack (a
 * 20,000-deep array must not overflow the call stack here, nor anywhere after: everything
 * that walks run input later relies on this bound). Returns the first problem found.
 */
export function checkInputShape(input: unknown, limits: Partial<RunInputLimits> = {}, origin?: InputOrigin): Diagnostic[] {
  const { maxDepth, maxValues, maxBytes } = { ...RUN_INPUT_LIMITS, ...limits };
  const where = originLocation(origin);
  const stack: [unknown, number][] = [[input, 0]];
  let values = 0;
  let bytes = 0;
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    values++;
    if (values > maxValues) return [error("MCP501", `the run input has more than ${maxValues.toLocaleString("en-US")} values`, where, { hint: "docs/limits.md lists the limits on run input" })];
    if (typeof v === "string") bytes += v.length + 2;
    else if (v === null || typeof v !== "object") bytes += 8;
    else {
      if (depth >= maxDepth) return [error("MCP501", `the run input is nested more than ${maxDepth} levels deep`, where, { hint: "docs/limits.md lists the limits on run input" })];
      if (Array.isArray(v)) {
        bytes += 2 + v.length;
        for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], depth + 1]);
      } else {
        bytes += 2;
        for (const k of Object.keys(v)) {
          bytes += k.length + 4;
          stack.push([(v as Record<string, unknown>)[k], depth + 1]);
        }
      }
    }
    if (bytes > maxBytes) return [error("MCP501", `the run input is larger than ${maxBytes.toLocaleString("en-US")} bytes`, where, { hint: "docs/limits.md lists the limits on run input" })];
  }
  return [];
}

/**
 * Deepest model answer accepted (docs/limits.md): a remote model's JSON, or text parsed as
 * JSON, is as untrusted as run input, and the journal, cache, recordings and templates all
 * walk it.
 */
export const MAX_OUTPUT_DEPTH = 256;

/**
 * Whether a value nests deeper than `maxDepth`. Recursive, but never deeper than `maxDepth`
 * frames (it stops there), and it allocates nothing for a model's usual small answer.
 */
export function nestsDeeperThan(value: unknown, maxDepth: number, depth = 0): boolean {
  if (value === null || typeof value !== "object") return false;
  if (depth >= maxDepth) return true;
  if (Array.isArray(value)) {
    for (const x of value) if (x !== null && typeof x === "object" && nestsDeeperThan(x, maxDepth, depth + 1)) return true;
  } else {
    for (const k in value) {
      if (!Object.hasOwn(value, k)) continue;
      const x = (value as Record<string, unknown>)[k];
      if (x !== null && typeof x === "object" && nestsDeeperThan(x, maxDepth, depth + 1)) return true;
    }
  }
  return false;
}

const compiled = new WeakMap<object, ValidateFunction>();

/**
 * The problems of a run input, as MCP501 diagnostics: its shape first (nothing else looks at
 * an input past a limit), then the pipeline's `inputs` schema; at most `maxErrors` of them,
 * then one line counting the rest.
 */
export function checkRunInput(pipeline: CompiledPipeline, input: unknown, limits: Partial<RunInputLimits> = {}, origin?: InputOrigin): Diagnostic[] {
  const shape = checkInputShape(input, limits, origin);
  if (shape.length) return shape;
  const schema = pipeline.inputs;
  if (!schema) return [];
  let validate = compiled.get(schema);
  if (!validate) {
    validate = compileUserSchema(schema);
    compiled.set(schema, validate);
  }
  const where = originLocation(origin);
  try {
    if (validate(input)) return [];
  } catch (e) {
    // A pattern stopped by its time limit (src/util/safe-regex.ts).
    return [error("MCP501", `invalid run input for pipeline '${pipeline.name}': ${(e as Error).message}`, where)];
  }
  const maxErrors = limits.maxErrors ?? RUN_INPUT_LIMITS.maxErrors;
  const errors = validate.errors ?? [];
  const listed = errors.slice(0, maxErrors).map((e) => error("MCP501", `invalid run input for pipeline '${pipeline.name}': ${describeInputError(e)}`, where));
  return withSummary(listed, errors.length);
}

function describeInputError(e: ErrorObject): string {
  const path = pathToJsonPath(e.instancePath);
  const where = path.length ? `input.${displayPath(path)}` : "the input";
  switch (e.keyword) {
    case "required":
      return `${where} is missing '${(e.params as { missingProperty: string }).missingProperty}'`;
    case "type":
      return `${where} must be ${(e.params as { type: string }).type}, found ${describeJson(e.data)}`;
    case "additionalProperties":
      return `${where} has an unexpected key '${(e.params as { additionalProperty: string }).additionalProperty}'`;
    case "enum":
      return `${where} must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(", ")}, found ${describeJson(e.data)}`;
    default:
      return `${where} ${e.message ?? "is invalid"}`;
  }
}

/** A JSON value in words, as a person reading the input would name it. */
export function describeJson(v: unknown): string {
  if (v === null) return "null";
  if (v === undefined) return "nothing";
  if (Array.isArray(v)) return v.length ? "an array" : "an empty array";
  if (typeof v === "object") return Object.keys(v).length ? "an object" : "an empty object";
  if (typeof v === "string") return v === "" ? "an empty string" : `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v)}`;
  if (typeof v === "boolean") return `the boolean ${v}`;
  return `the number ${String(v)}`;
}

/** Throws ConfigError (exit 2, nothing ran) when the input is past a limit or does not match `inputs`. */
export function assertRunInput(pipeline: CompiledPipeline, input: unknown, limits: Partial<RunInputLimits> = {}, origin?: InputOrigin): void {
  const problems = checkRunInput(pipeline, input, limits, origin);
  if (problems.length) throw new ConfigError(problems, pipeline.sources ?? new SourceMap());
}
