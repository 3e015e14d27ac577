/**
 * The FILE of `mcp run FILE` and `mcp graph FILE`: a test suite or the project config given
 * by mistake gets a usage error that says what the file is and which command takes it,
 * instead of a pipeline's diagnostics about keys it was never meant to have.
 */
import { basename } from "node:path";
import { isTestFile } from "../config/file-kinds.js";
import { CONFIG_NAMES } from "../compiler/load.js";
import { UsageError } from "./io.js";

/** Throws a UsageError when `file` is named like a test suite or an mcp.yaml. */
export function checkPipelineArg(file: string, command: string): void {
  if (isTestFile(file)) throw new UsageError(`${file} is a test suite, not a pipeline: run it with 'mcp test ${file}'`, command);
  if (CONFIG_NAMES.includes(basename(file))) throw new UsageError(`${file} is the project config, not a pipeline: give a pipeline file, e.g. mcp ${command} pipelines/ticket-triage.yaml`, command);
}
