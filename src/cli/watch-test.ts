/**
 * `mcp test --watch`: run the suites, then run again the suites a save affects, until
 * Ctrl-C. Pipelines (with their mcp.yaml and module files) are watched by the live
 * pipeline set (src/watch), which debounces editors' saves and knows which pipeline a
 * change touches; test files and data sets by a chokidar watcher of their own.
 *
 *   run all --> waiting --(pipeline updated/invalid, test file or data set saved)--> run the
 *   suites of what changed --> waiting ...
 *   any --(Ctrl-C / SIGTERM / signal)--> close the watchers, exit 130
 *
 * An invalid pipeline edit is reported (its diagnostics, as `mcp test` prints them) and
 * its suites are not run until it is valid again.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { watch } from "chokidar";
import { paint } from "./reporters/format.js";
import { LivePipelineSet, type LivePipelineSetOptions } from "../watch/live-pipeline-set.js";
import { collectTestFiles, runTestsOnce, type TestCommandOptions } from "./test-run.js";
import { EXIT_CODES } from "./exit-codes.js";
import { printDiagnostics, useColor, writeLine, type CliIo } from "./io.js";
import { loadSuite } from "../testing/suite.js";
import { SourceMap } from "../diagnostics/source.js";
import { listenForStop } from "./stop-signal.js";

export interface WatchTestOptions extends TestCommandOptions {
  live?: LivePipelineSetOptions;
  /** Stops watching, as Ctrl-C does. */
  signal?: AbortSignal;
}

export async function watchTest(options: WatchTestOptions, io: CliIo): Promise<number> {
  const color = useColor(io.stderr, io.env);
  const tag = paint(color, "36", "[watch]");
  // Which files each suite depends on (absolute): the test file, its pipeline, data sets.
  const deps = new Map<string, Set<string>>();
  const refreshDeps = async (files: string[]) => {
    for (const f of files) {
      const r = await loadSuite(f, { sources: new SourceMap() });
      deps.set(f, new Set(r.files.map((x) => resolve(io.cwd, x))));
    }
  };
  const testFiles = () => collectTestFiles(options.paths, io.cwd).files;
  await refreshDeps(testFiles());

  let queue: Promise<void> = Promise.resolve();
  const run = (files: string[] | undefined, why: string): Promise<void> =>
    (queue = queue
      .then(async () => {
        const all = testFiles();
        const chosen = files ? all.filter((f) => files.includes(f)) : all;
        if (chosen.length === 0) return;
        await refreshDeps(chosen);
        if (why) writeLine(io.stderr, `${tag} ${why}: running ${chosen.length} suite${chosen.length === 1 ? "" : "s"}`);
        const code = await runTestsOnce({ ...options, paths: chosen }, io);
        const at = new Date().toTimeString().slice(0, 8);
        writeLine(
          io.stderr,
          `${tag} ${code === 0 ? paint(color, "32", "passed") : paint(color, "31", code === EXIT_CODES.invalid ? "invalid" : "failed")} (${at}); waiting for changes (Ctrl-C to exit)`,
        );
      })
      .catch((e: unknown) => writeLine(io.stderr, `${tag} the run failed: ${e instanceof Error ? e.message : String(e)}`)));

  /** Suites depending on any of these absolute paths. */
  const affected = (paths: readonly string[]): string[] => {
    const set = new Set(paths.map((p) => resolve(p)));
    return [...deps.entries()].filter(([f, d]) => set.has(resolve(io.cwd, f)) || [...d].some((x) => set.has(x))).map(([f]) => f);
  };

  // Pipelines: the live set over every pipeline the suites test.
  const pipelineFiles = () => [...new Set([...deps.values()].flatMap((d) => [...d].filter((x) => /\.ya?ml$/i.test(x) && !/\.test\.ya?ml$/i.test(x))))].filter((p) => existsSync(p));
  const live = new LivePipelineSet(pipelineFiles(), { skipDirs: ["node_modules", ".mcp", "dist"], ...options.live });
  live.on("invalid", (e) => {
    printDiagnostics(io, "stderr", e.diagnostics, e.sources);
    writeLine(io.stderr, `${tag} ${e.file} has errors; its suites run again once it is valid`);
  });
  // The pipelines a batch brought a new valid version of; their suites run after it.
  const touched = new Set<string>();
  live.on("updated", (e) => touched.add(e.path));
  live.on("loaded", (e) => touched.add(e.path));
  live.on("batch", (e) => {
    const paths = [...touched];
    touched.clear();
    if (e.reason === "start") return;
    const files = affected(paths);
    if (files.length) void run(files, `${paths.length} pipeline${paths.length === 1 ? "" : "s"} changed`);
  });
  live.on("error", (e) => writeLine(io.stderr, `${tag} warning: watching failed: ${e.error.message}`));

  // Test files and data sets (and new test files in the folders given).
  const roots = options.paths.map((p) => resolve(io.cwd, p));
  const extra = watch(roots, {
    ignoreInitial: true,
    ignored: (p: string, st) => /(^|[/\\])(node_modules|\.git|\.mcp|dist)([/\\]|$)/.test(p) || (!!st?.isFile() && !/\.(test\.ya?ml|jsonl|ndjson|csv|json)$/i.test(p)),
    ...options.live?.watchOptions,
  });
  let timer: NodeJS.Timeout | undefined;
  const changed = new Set<string>();
  extra.on("all", (_event, p) => {
    if (/\.recording\.json$/.test(p)) return;
    changed.add(resolve(p));
    clearTimeout(timer);
    timer = setTimeout(() => {
      const paths = [...changed];
      changed.clear();
      const tests = testFiles().filter((f) => paths.includes(resolve(io.cwd, f)));
      const files = [...new Set([...tests, ...affected(paths)])];
      if (files.length) void run(files, `${paths.length} file${paths.length === 1 ? "" : "s"} changed`);
    }, options.live?.debounceMs ?? 50);
  });

  const stop = listenForStop(options.signal);
  try {
    await Promise.race([Promise.all([live.ready, new Promise<void>((r) => extra.once("ready", () => r()))]), stop.stopped]);
    void run(undefined, "");
    await stop.stopped;
    await queue;
  } finally {
    clearTimeout(timer);
    stop.dispose();
    await Promise.all([live.close(), extra.close()]);
  }
  writeLine(io.stderr, `${tag} stopped`);
  return EXIT_CODES.interrupted;
}
