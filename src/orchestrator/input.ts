/** Checks a run's input against the pipeline's `inputs` JSON Schema before any step runs. */
import type { ValidateFunction } from "ajv";
import type { CompiledPipeline } from "../compiler/types.js";
import { error, type Diagnostic } from "../diagnostics/diagnostic.js";
import { SourceMap } from "../diagnostics/source.js";
import { compileUserSchema, describeValue, displayPath, pathToJsonPath } from "../schema/validate.js";
import { ConfigError } from "../util/errors.js";

const compiled = new WeakMap<object, ValidateFunction>();

/** The problems of an input, as diagnostics (MCP501) without a file location. */
export function checkRunInput(pipeline: CompiledPipeline, input: unknown): Diagnostic[] {
  const schema = pipeline.inputs;
  if (!schema) return [];
  let validate = compiled.get(schema);
  if (!validate) {
    validate = compileUserSchema(schema);
    compiled.set(schema, validate);
  }
  if (validate(input)) return [];
  return (validate.errors ?? []).map((e) => {
    const path = pathToJsonPath(e.instancePath);
    const where = path.length ? `input.${displayPath(path)}` : "the input";
    let msg: string;
    switch (e.keyword) {
      case "required":
        msg = `${where} is missing '${(e.params as { missingProperty: string }).missingProperty}'`;
        break;
      case "type":
        msg = `${where} must be ${(e.params as { type: string }).type}, found ${describeValue(e.data)}`;
        break;
      case "additionalProperties":
        msg = `${where} has an unexpected key '${(e.params as { additionalProperty: string }).additionalProperty}'`;
        break;
      default:
        msg = `${where} ${e.message ?? "is invalid"}`;
    }
    return error("MCP501", `invalid run input for pipeline '${pipeline.name}': ${msg}`);
  });
}

/** Throws ConfigError (exit 2, nothing ran) when the input does not match `inputs`. */
export function assertRunInput(pipeline: CompiledPipeline, input: unknown): void {
  const problems = checkRunInput(pipeline, input);
  if (problems.length) throw new ConfigError(problems, pipeline.sources ?? new SourceMap());
}
