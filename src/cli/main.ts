/** The `mcp` command line: dispatches to a command, maps failures to exit codes. */
import { closeMcpConnections } from "../models/mcp-pool.js";
import { ConfigError } from "../util/errors.js";
import { EXIT_CODES } from "./exit-codes.js";
import { defaultIo, printDiagnostics, UsageError, writeLine, type CliIo } from "./io.js";

interface Command {
  name: string;
  synopsis: string;
  summary: string;
  load: () => Promise<(argv: string[], io: CliIo) => Promise<number>>;
}

const COMMANDS: Command[] = [
  { name: "validate", synopsis: "validate PATH...", summary: "check pipeline files without running them", load: async () => (await import("./commands/validate.js")).validateCommand },
  { name: "graph", synopsis: "graph FILE", summary: "print a pipeline's DAG (mermaid, dot, json)", load: async () => (await import("./commands/graph.js")).graphCommand },
  { name: "run", synopsis: "run FILE", summary: "run a pipeline (--input JSON, --json, --dry-run)", load: async () => (await import("./commands/run.js")).runCommand },
  { name: "runs", synopsis: "runs [show ID]", summary: "list recent runs from the journal, or show one", load: async () => (await import("./commands/runs.js")).runsCommand },
  { name: "resume", synopsis: "resume ID", summary: "continue a failed or killed run (finished steps are not run again)", load: async () => (await import("./commands/resume.js")).resumeCommand },
  {
    name: "approve",
    synopsis: "approve ID STEP",
    summary: "approve a waiting approval step (--input JSON answer); the run continues",
    load: async () => (await import("./commands/approve.js")).approveCommand,
  },
  {
    name: "reject",
    synopsis: "reject ID STEP",
    summary: "reject a waiting approval step (--reason TEXT); the step fails",
    load: async () => (await import("./commands/approve.js")).rejectCommand,
  },
  {
    name: "serve",
    synopsis: "serve [DIR]",
    summary: "serve the pipelines of DIR over HTTP (runs API, SSE, OpenAI-compatible, JSON-RPC)",
    load: async () => (await import("./commands/serve.js")).serveCommand,
  },
  {
    name: "worker",
    synopsis: "worker --queue URL [DIR]",
    summary: "process runs queued on Redis (scale-out; docs/scale-out.md)",
    load: async () => (await import("./commands/worker.js")).workerCommand,
  },
  { name: "models", synopsis: "models [PATH]", summary: "list the model registry: capabilities, limits, cost", load: async () => (await import("./commands/models.js")).modelsCommand },
  {
    name: "test",
    synopsis: "test [PATH...]",
    summary: "run pipeline test suites (*.test.yaml): assertions, data sets, recordings",
    load: async () => (await import("./commands/test.js")).testCommand,
  },
  { name: "init", synopsis: "init [DIR]", summary: "scaffold mcp.yaml and an example pipeline", load: async () => (await import("./commands/init.js")).initCommand },
];

const EXIT = EXIT_CODES;

function usage(): string {
  const w = Math.max(...COMMANDS.map((c) => c.synopsis.length));
  return [
    "Usage: mcp <command> [options]",
    "",
    "MCP, the Model Control Protocol runner: declarative AI pipelines in YAML.",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.synopsis.padEnd(w)}  ${c.summary}`),
    "",
    "Run 'mcp <command> --help' for a command's options. --debug shows stack traces.",
  ].join("\n");
}

export async function main(argv: string[], io: CliIo = defaultIo()): Promise<number> {
  const [name, ...rest] = argv;
  const debug = argv.includes("--debug");
  if (!name || name === "--help" || name === "-h" || name === "help") {
    writeLine(name ? io.stdout : io.stderr, usage());
    return name ? EXIT.ok : EXIT.invalid;
  }
  if (name === "--version" || name === "-V") {
    const { createRequire } = await import("node:module");
    writeLine(io.stdout, (createRequire(import.meta.url)("../../package.json") as { version: string }).version);
    return EXIT.ok;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    const { didYouMean } = await import("../util/suggest.js");
    writeLine(
      io.stderr,
      `mcp: unknown command '${name}'${didYouMean(
        name,
        COMMANDS.map((c) => c.name),
      )}\n\n${usage()}`,
    );
    return EXIT.invalid;
  }
  try {
    const run = await cmd.load();
    return await run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      writeLine(io.stderr, `mcp ${e.command ?? name}: ${e.message}${e.showHelp ? `\nRun 'mcp ${e.command ?? name} --help' for usage.` : ""}`);
      return EXIT.invalid;
    }
    if (e instanceof ConfigError) {
      const { SourceMap } = await import("../diagnostics/source.js");
      printDiagnostics(io, "stderr", e.diagnostics, e.sources ?? new SourceMap());
      return EXIT.invalid;
    }
    writeLine(io.stderr, `mcp ${name}: internal error: ${(e as Error)?.message ?? String(e)}`);
    if (debug) writeLine(io.stderr, (e as Error)?.stack ?? "");
    else writeLine(io.stderr, "Run again with --debug for the stack trace, and please report it.");
    return EXIT.internal;
  } finally {
    // External MCP servers started by tool steps (stdio child processes) end with the command.
    await closeMcpConnections();
  }
}
