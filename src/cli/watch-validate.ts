/**
 * `mcp validate --watch PATH...`: validate, then validate again after every change to the
 * files (pipelines, the mcp.yaml they use, their module files), printing the diagnostics
 * each time, until Ctrl-C.
 *
 * The LivePipelineSet (src/watch/live-pipeline-set.ts) watches and debounces; what is
 * printed is exactly what `mcp validate PATH...` prints (validatePaths + printValidation),
 * so the watch output and a CI run never disagree.
 *
 *   validate --> waiting --(batch of changes settles)--> validate --> waiting ...
 *   any --(Ctrl-C / SIGTERM)--> close the watcher, exit 130
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { paint } from "./reporters/format.js";
import { LivePipelineSet, type LivePipelineSetOptions } from "../watch/live-pipeline-set.js";
import { printValidation, validatePaths } from "./validate-paths.js";
import { EXIT_CODES } from "./exit-codes.js";
import { useColor, writeLine, type CliIo } from "./io.js";
import { CLEAR_SCREEN, listenForStop } from "./stop-signal.js";

export interface WatchValidateOptions {
  paths: string[];
  format: "text" | "json" | "github";
  /** Options of the live set (debounceMs ...). */
  live?: LivePipelineSetOptions;
  /** Stops watching, as Ctrl-C does (for tests and embedding). */
  signal?: AbortSignal;
}

/** `mcp validate` skips these folders too (and hidden ones): the same files either way. */
const VALIDATE_SKIP_DIRS = ["node_modules", ".mcp", "dist"];

/** Validates on every change until Ctrl-C (or `signal`); resolves to the exit code (130). */
export async function watchValidate(options: WatchValidateOptions, io: CliIo): Promise<number> {
  const color = useColor(io.stderr, io.env);
  const tag = paint(color, "36", "[watch]");
  // Paths that do not exist yet are reported by validatePaths each time; a missing file
  // that looks like a pipeline is watched, so creating it is seen.
  const watched = options.paths.map((p) => resolve(io.cwd, p)).filter((p) => existsSync(p) || /\.ya?ml$/i.test(p));
  let rounds = 0;
  // Validation is async (module model files are loaded); rounds run one after another so
  // their output never interleaves.
  let queue: Promise<void> = Promise.resolve();
  const validate = (changed: number): Promise<void> =>
    (queue = queue
      .then(async () => {
        const summary = await validatePaths(options.paths, io.cwd);
        if (rounds++ > 0 && io.stdout.isTTY && options.format !== "json") io.stdout.write(CLEAR_SCREEN);
        const code = printValidation(summary, options.format, io);
        const at = new Date().toTimeString().slice(0, 8);
        const why = changed ? `${changed} file${changed === 1 ? "" : "s"} changed; ` : "";
        writeLine(io.stderr, `${tag} ${why}${code === 0 ? paint(color, "32", "valid") : paint(color, "31", "problems found")} (${at}); waiting for changes (Ctrl-C to exit)`);
      })
      // A failed round is reported and the next change tries again.
      .catch((e: unknown) => writeLine(io.stderr, `${tag} validation failed: ${e instanceof Error ? e.message : String(e)}`)));

  if (watched.length === 0) {
    // Nothing to watch: say why once, as `mcp validate` would, and stop.
    return printValidation(await validatePaths(options.paths, io.cwd), options.format, io);
  }
  const set = new LivePipelineSet(watched, { skipDirs: VALIDATE_SKIP_DIRS, ...options.live });
  set.on("batch", (e) => {
    // A recheck that found nothing new changes nothing printed.
    if (e.reason === "change" || (e.reason === "recheck" && e.events > 0)) void validate(e.paths.length || e.events);
  });
  set.on("error", (e) => writeLine(io.stderr, `${tag} warning: watching failed: ${e.error.message}`));

  const stop = listenForStop(options.signal);
  try {
    try {
      await Promise.race([set.ready, stop.stopped]);
    } catch (e) {
      writeLine(io.stderr, `mcp validate: ${e instanceof Error ? e.message : String(e)}`);
      return EXIT_CODES.invalid;
    }
    if (!stop.stopping) void validate(0);
    await stop.stopped;
    await queue;
  } finally {
    stop.dispose();
    await set.close();
  }
  writeLine(io.stderr, `${tag} stopped`);
  return EXIT_CODES.interrupted;
}
