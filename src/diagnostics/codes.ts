/**
 * The one catalog of diagnostic codes, a range per phase (as JSONata's errorCodes):
 * MCP0xx files and YAML, MCP1xx schema, MCP2xx expressions, MCP3xx graph, MCP4xx models,
 * MCP5xx run input and runtime, MCP6xx test suites. docs/diagnostics.md explains each one.
 */
export const CODES = {
  // 0xx: reading files and YAML
  MCP001: "YAML syntax error",
  MCP002: "file too large",
  MCP003: "nesting too deep",
  MCP004: "too many alias expansions",
  MCP005: "forbidden key",
  MCP006: "cannot read file",
  MCP007: "duplicate key",
  MCP008: "not a mapping",
  MCP009: "no pipeline files found",
  MCP010: "duplicate pipeline name",
  MCP012: "unknown step in needs",
  // 1xx: schema
  MCP101: "unknown key",
  MCP102: "wrong type",
  MCP103: "missing key",
  MCP104: "invalid value",
  MCP105: "schema violation",
  // 2xx: expressions
  MCP201: "expression syntax error",
  MCP202: "unknown step in expression",
  MCP203: "expression misread by YAML",
  MCP204: "environment variable not allowed",
  MCP205: "unknown binding",
  MCP206: "unclosed template",
  MCP207: "output field not in the step's output schema",
  MCP208: "comparison with a value of the wrong type",
  MCP210: "expression failed at run time",
  // 3xx: graph
  MCP301: "dependency cycle",
  MCP302: "invalid step id",
  MCP303: "step has no model",
  MCP304: "step depends on itself",
  // 4xx: models and tasks
  MCP401: "unknown model",
  MCP402: "unknown task",
  MCP403: "no model has the capabilities",
  MCP404: "model lacks a capability",
  MCP405: "model file problem",
  MCP406: "invalid model option",
  MCP407: "API key not allowed",
  MCP408: "deployments not supported by the provider",
  MCP420: "unknown MCP server",
  MCP421: "step input does not match the tool's input schema",
  MCP422: "unknown MCP tool",
  MCP423: "cannot list an MCP server's tools",
  // 5xx: run input and running
  MCP501: "invalid run input",
  MCP502: "budget exceeded",
  // 6xx: test suites (*.test.yaml)
  MCP601: "pipeline under test not usable",
  MCP602: "unknown step in assertion",
  MCP603: "data set problem",
  MCP604: "invalid regular expression",
  MCP605: "unknown model in test",
  MCP606: "check not applicable",
  MCP607: "case has no input",
} as const;

export type DiagnosticCode = keyof typeof CODES;
