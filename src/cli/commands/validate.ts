/** `mcp validate PATH...`: check pipeline files and mcp.yaml without running anything. */
import { oneOf, parse } from "../args.js";
import { writeLine, type CliIo, UsageError } from "../io.js";
import { printValidation, validatePaths } from "../validate-paths.js";

export const help = `Usage: mcp validate PATH... [--format text|json|github] [--watch] [--offline]

Checks pipeline files (and the mcp.yaml each one uses) and test suites (*.test.yaml)
without running them.
PATH may be a file or a folder; folders are searched for *.yaml and *.yml.
All problems of all files are reported in one pass.

Options:
  --format text|json|github  output format (github prints ::error annotations)  [default: text]
  --watch                    validate again after every change, until Ctrl-C (docs/watch.md)
  --list-tools               start (or connect to) the MCP servers tool steps use, list their
                             tools and keep the listing, to check tool inputs (docs/mcp.md).
                             Runs commands named in the files: only on files you trust.
  --offline                  the default: start and connect to nothing; check tool inputs
                             against the listings kept from an earlier --list-tools
  -h, --help                 show this help

Exit codes: 0 all valid, 2 problems found; with --watch, 130 on Ctrl-C.`;

export async function validateCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse("validate", argv, { format: { type: "string" }, watch: { type: "boolean" }, offline: { type: "boolean" }, "list-tools": { type: "boolean" } });
  if (values.help) {
    writeLine(io.stdout, help);
    return 0;
  }
  const format = oneOf("validate", "format", values.format as string | undefined, ["text", "json", "github"] as const, "text");
  if (positionals.length === 0) throw new UsageError("give at least one file or folder, e.g. mcp validate pipelines/", "validate");
  if (values.watch) return (await import("../watch-validate.js")).watchValidate({ paths: positionals, format }, io);
  if (values.offline && values["list-tools"]) throw new UsageError("--offline and --list-tools contradict each other: choose one", "validate");
  // Offline unless asked: validating a file from an untrusted pull request must run nothing
  // from it, and a stdio MCP server is a command written in the file (docs/limits.md).
  return printValidation(await validatePaths(positionals, io.cwd, { listTools: values["list-tools"] === true }), format, io);
}
