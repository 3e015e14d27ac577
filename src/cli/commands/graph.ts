/** `mcp graph FILE`: print the compiled DAG. */
import { loadPipelineFile } from "../../compiler/load.js";
import { renderGraph } from "../../compiler/render.js";
import { oneOf, parse } from "../args.js";
import { printDiagnostics, writeLine, type CliIo, UsageError } from "../io.js";
import { checkPipelineArg } from "../pipeline-arg.js";

export const help = `Usage: mcp graph FILE [--format mermaid|dot|json]

Prints the compiled DAG of a pipeline: steps, the model each would use, and edges
(from needs and from $steps references).

Options:
  --format mermaid|dot|json  [default: mermaid]
  -h, --help                 show this help

Exit codes: 0 ok, 2 the pipeline is invalid.`;

export async function graphCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse("graph", argv, { format: { type: "string" } });
  if (values.help) {
    writeLine(io.stdout, help);
    return 0;
  }
  const format = oneOf("graph", "format", values.format as string | undefined, ["mermaid", "dot", "json"] as const, "mermaid");
  if (positionals.length !== 1) throw new UsageError("give exactly one pipeline file", "graph");
  checkPipelineArg(positionals[0]!, "graph");
  const r = loadPipelineFile(positionals[0]!);
  printDiagnostics(io, "stderr", r.diagnostics, r.sources);
  if (!r.pipeline) return 2;
  writeLine(io.stdout, renderGraph(r.pipeline, format));
  return 0;
}
