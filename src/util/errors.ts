/** Thrown failures. User mistakes are values (Diagnostic); these are for when a throw is needed. */
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import type { SourceMap } from "../diagnostics/source.js";

export class McpError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "McpError";
  }
}

/** Invalid config, pipeline or input: nothing ran. The CLI exits 2. */
export class ConfigError extends McpError {
  constructor(
    readonly diagnostics: Diagnostic[],
    readonly sources?: SourceMap,
  ) {
    super(diagnostics[0]?.code ?? "MCP000", diagnostics.map((d) => `${d.code}: ${d.message}`).join("\n"));
    this.name = "ConfigError";
  }
}
