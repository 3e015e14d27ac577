/**
 * One pass of `mcp test` (used by the command and by --watch): find the test files, load
 * them (diagnostics: exit 2, nothing runs), run them with the chosen reporters, and give
 * the exit code.
 */
import { setMaxListeners } from "node:events";
import { existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { basename, isAbsolute, join } from "node:path";
import { error, hasErrors, wholeFile, type Diagnostic } from "../diagnostics/diagnostic.js";
import { SourceMap } from "../diagnostics/source.js";
import type { TestObserver, TestSummary } from "../testing/results.js";
import { runSuites, type RunSuitesOptions } from "../testing/runner.js";
import { isTestFile, loadSuite, type TestSuite } from "../testing/suite.js";
import { EXIT_CODES } from "./exit-codes.js";
import { printDiagnostics, useColor, writeLine, type CliIo } from "./io.js";
import { junitXml } from "./reporters/test-junit.js";
import { TerminalTestReporter } from "./reporters/test-terminal.js";

export const REPORTERS = ["default", "json", "junit", "github"] as const;
export type ReporterName = (typeof REPORTERS)[number];

const SKIP_DIRS = new Set(["node_modules", ".git", ".mcp", "dist"]);

/** Test files under the given files and folders (sorted; hidden folders skipped). */
export function collectTestFiles(paths: string[], cwd: string): { files: string[]; diagnostics: Diagnostic[] } {
  const files: string[] = [];
  const diagnostics: Diagnostic[] = [];
  const walk = (dir: string, shown: string) => {
    for (const ent of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (ent.name.startsWith(".") || SKIP_DIRS.has(ent.name)) continue;
      if (ent.isDirectory()) walk(join(dir, ent.name), shown === "." ? ent.name : join(shown, ent.name));
      else if (isTestFile(ent.name)) files.push(shown === "." ? ent.name : join(shown, ent.name));
    }
  };
  for (const p of paths) {
    const abs = isAbsolute(p) ? p : join(cwd, p);
    let st;
    try {
      st = statSync(abs);
    } catch {
      diagnostics.push(error("MCP006", `cannot read ${p}: no such file or folder`, wholeFile(p)));
      continue;
    }
    if (st.isDirectory()) {
      const before = files.length;
      walk(abs, p);
      if (files.length === before) diagnostics.push(error("MCP009", `no *.test.yaml files in ${p}`, wholeFile(p)));
    } else if (isTestFile(p)) files.push(p);
    else {
      // Any other YAML file is a pipeline (config/file-kinds.ts): the suite is another file.
      const suite = p.replace(/\.ya?ml$/i, "") + ".test.yaml";
      const hint = existsSync(isAbsolute(suite) ? suite : join(cwd, suite))
        ? `its suite is ${suite}: mcp test ${suite}`
        : `a suite is a *.test.yaml file naming it (pipeline: ./${basename(p)}), e.g. ${suite}; docs/testing.md`;
      diagnostics.push(error("MCP009", `${p} is not a test suite: suites are *.test.yaml files`, wholeFile(p), { hint }));
    }
  }
  return { files: [...new Set(files)], diagnostics };
}

export interface TestCommandOptions {
  paths: string[];
  reporters: ReporterName[];
  outputFile?: string;
  run: RunSuitesOptions;
}

/** Loads the suites of the given paths; diagnostics of every file. */
export async function loadSuites(paths: string[], cwd: string): Promise<{ suites: TestSuite[]; diagnostics: Diagnostic[]; sources: SourceMap; files: Map<string, string[]> }> {
  const sources = new SourceMap();
  const { files, diagnostics } = collectTestFiles(paths, cwd);
  const suites: TestSuite[] = [];
  const deps = new Map<string, string[]>();
  for (const f of files) {
    const r = await loadSuite(f, { sources });
    diagnostics.push(...r.diagnostics);
    deps.set(f, r.files);
    if (r.suite) suites.push(r.suite);
  }
  return { suites, diagnostics, sources, files: deps };
}

/** The observers of the chosen reporters; `finish` writes the file reports. */
export function reportersFor(opts: TestCommandOptions, io: CliIo): TestObserver {
  const observers: TestObserver[] = [];
  const color = useColor(io.stdout, io.env);
  for (const r of opts.reporters) {
    if (r === "default" || r === "github") observers.push(new TerminalTestReporter(io.stdout, { color: r === "github" ? false : color, github: r === "github" }));
    else {
      const render = (s: TestSummary) => (r === "json" ? `${JSON.stringify(s, null, 2)}\n` : junitXml(s));
      observers.push({
        finished: (s) => {
          if (opts.outputFile !== undefined) {
            writeFileSync(opts.outputFile, render(s));
            if (opts.reporters.length > 1 || opts.reporters[0] !== r) return;
            writeLine(io.stderr, `wrote the ${r} report to ${opts.outputFile}`);
          } else io.stdout.write(render(s));
        },
      });
    }
  }
  return {
    suiteStarted: (x) => observers.forEach((o) => o.suiteStarted?.(x)),
    caseFinished: (x) => observers.forEach((o) => o.caseFinished?.(x)),
    suiteFinished: (x) => observers.forEach((o) => o.suiteFinished?.(x)),
    finished: async (x) => {
      for (const o of observers) await o.finished?.(x);
    },
  };
}

/** One pass: load, report invalid files (exit 2), run, report; the exit code. */
export async function runTestsOnce(opts: TestCommandOptions, io: CliIo, signal?: AbortSignal): Promise<number> {
  const loaded = await loadSuites(opts.paths, io.cwd);
  printDiagnostics(io, "stderr", loaded.diagnostics, loaded.sources);
  if (hasErrors(loaded.diagnostics)) {
    const bad = new Set(loaded.diagnostics.filter((d) => d.severity === "error").map((d) => d.location?.file)).size;
    writeLine(io.stderr, `mcp test: problems in ${bad} file${bad === 1 ? "" : "s"}; no test ran`);
    return EXIT_CODES.invalid;
  }
  const selected = loaded.suites.flatMap((s) => s.cases).length;
  if (selected === 0) {
    writeLine(io.stderr, "mcp test: no test cases found");
    return EXIT_CODES.runFailed;
  }
  const controller = new AbortController();
  // Every run of every case listens to this one signal.
  setMaxListeners(0, controller.signal);
  const onSigint = () => controller.abort(new Error("interrupted (Ctrl-C)"));
  process.once("SIGINT", onSigint);
  signal?.addEventListener("abort", onSigint, { once: true });
  let summary: TestSummary;
  try {
    summary = await runSuites(loaded.suites, { ...opts.run, observer: reportersFor(opts, io), signal: controller.signal });
  } finally {
    process.off("SIGINT", onSigint);
    signal?.removeEventListener("abort", onSigint);
  }
  if (controller.signal.aborted && !signal?.aborted) return EXIT_CODES.interrupted;
  if (summary.cases === 0) {
    writeLine(io.stderr, `mcp test: no test case matches --filter ${JSON.stringify(opts.run.filter ?? "")}`);
    return EXIT_CODES.runFailed;
  }
  return summary.failed === 0 ? EXIT_CODES.ok : EXIT_CODES.runFailed;
}
