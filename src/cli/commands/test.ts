/** `mcp test [PATH...]`: run pipeline test suites (`*.test.yaml`) with assertions and recordings. */
import { RECORD_MODES, type RecordMode } from "../../cache/cassette.js";
import { oneOf, parse, positiveInt } from "../args.js";
import { EXIT_CODES } from "../exit-codes.js";
import { UsageError, writeLine, type CliIo } from "../io.js";
import { REPORTERS, runTestsOnce, type TestCommandOptions } from "../test-run.js";

export const help = `Usage: mcp test [PATH...] [options]

Runs pipeline test suites: *.test.yaml files (docs/testing.md). PATH may be a test file or
a folder searched for them  [default: .]. Each case runs the pipeline on the run engine;
model calls of network models are replayed from the recording beside the test file
(x.test.yaml -> x.test.recording.json); nlp and mock models run as they are.

Options:
  --reporter NAME       default|json|junit|github; repeat for several  [default: default]
                        junit: JUnit XML for CI test views; github: ::error annotations
  --output-file F       write the json or junit report to F instead of stdout
  --record-mode MODE    none: replay only, a missing call fails the case (with the nearest
                        recorded call); new: record only the missing calls; all: record
                        every call again  [default: none when CI is set, else new]
  --filter TEXT         only cases whose "file > name" contains TEXT (or matches /regex/)
  --bail                stop after the first failed case
  --concurrency N       cases run at once  [default: 4]
  --watch               run again the suites a save affects (test file, pipeline, mcp.yaml,
                        data set), until Ctrl-C
  -h, --help            show this help

Exit codes: 0 every case passed, 1 a case failed, 2 invalid test files or usage (nothing ran),
130 interrupted.`;

export const TEST_OPTIONS = {
  reporter: { type: "string", multiple: true },
  "output-file": { type: "string" },
  "record-mode": { type: "string" },
  filter: { type: "string" },
  bail: { type: "boolean" },
  concurrency: { type: "string" },
  watch: { type: "boolean" },
} as const;

/** Reads the command line into options; throws UsageError. */
export function testOptions(argv: string[], io: CliIo): TestCommandOptions & { help?: boolean; watch?: boolean } {
  const { values, positionals } = parse("test", argv, TEST_OPTIONS);
  if (values.help) return { help: true, paths: [], reporters: [], run: {} };
  const reporters = ((values.reporter as string[] | undefined) ?? ["default"]).map((r) => oneOf("test", "reporter", r, REPORTERS, "default"));
  const recordMode = oneOf<RecordMode>(
    "test",
    "record-mode",
    values["record-mode"] as string | undefined,
    RECORD_MODES,
    io.env.CI !== undefined && io.env.CI !== "" && io.env.CI !== "false" ? "none" : "new",
  );
  const concurrency = positiveInt("test", "concurrency", values.concurrency as string | undefined);
  const outputFile = values["output-file"] as string | undefined;
  if (outputFile !== undefined && !reporters.some((r) => r === "json" || r === "junit")) throw new UsageError("--output-file goes with --reporter json or junit", "test");
  if (outputFile !== undefined && reporters.includes("json") && reporters.includes("junit")) throw new UsageError("--output-file takes one report: give --reporter json or junit, not both", "test");
  if (reporters.filter((r) => r === "json" || r === "junit").length > 0 && outputFile === undefined && reporters.length > 1) {
    throw new UsageError("with several reporters, write the json or junit report to a file with --output-file", "test");
  }
  return {
    paths: positionals.length ? positionals : ["."],
    reporters,
    ...(outputFile !== undefined ? { outputFile } : {}),
    ...(values.watch ? { watch: true } : {}),
    run: {
      recordMode,
      ...(concurrency ? { concurrency } : {}),
      ...(values.bail ? { bail: 1 } : {}),
      ...(typeof values.filter === "string" ? { filter: values.filter } : {}),
      env: io.env,
    },
  };
}

export async function testCommand(argv: string[], io: CliIo): Promise<number> {
  const opts = testOptions(argv, io);
  if (opts.help) {
    writeLine(io.stdout, help);
    return EXIT_CODES.ok;
  }
  // A report that cannot be written is refused before any case runs (as --record is).
  if (opts.outputFile !== undefined) {
    const { ensureWritable } = await import("../../cache/recording.js");
    try {
      ensureWritable(opts.outputFile);
    } catch (e) {
      throw new UsageError((e as Error).message, "test");
    }
  }
  if (opts.watch) return (await import("../watch-test.js")).watchTest(opts, io);
  return runTestsOnce(opts, io);
}
