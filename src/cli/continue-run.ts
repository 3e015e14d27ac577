/**
 * Continuing a stored run in this process, under its own id (`mcp resume`, `mcp approve`,
 * `mcp reject`): the run's environment on the store it was found in, its conversation, the
 * run itself with progress and result as `mcp run` prints them, and everything closed after.
 */
import type { CompiledPipeline } from "../compiler/types.js";
import { SourceMap } from "../diagnostics/source.js";
import { TaskOrchestrator } from "../orchestrator/orchestrator.js";
import type { RunOptions } from "../orchestrator/run.js";
import { ModelRegistry } from "../registry/model-registry.js";
import type { Store } from "../store/store.js";
import { ConfigError } from "../util/errors.js";
import { EXIT_CODES } from "./exit-codes.js";
import { printDiagnostics, writeLine, type CliIo } from "./io.js";
import { createRunEnvironment, type RunEnvironmentFlags } from "./run-environment.js";
import { exitCodeOf, runOnce, type OutputOptions } from "./run-once.js";

export interface Continuation {
  command: string;
  store: Store;
  /** The run as the journal has it. */
  run: { id: string; input: unknown; conversationId?: string };
  flags?: RunEnvironmentFlags;
  /** Merged over the environment's options (resume, approvals, concurrency ...). */
  options: Partial<RunOptions>;
  out: OutputOptions;
  /** The sources of the pipeline's diagnostics, for a ConfigError's. */
  sources?: SourceMap;
}

/** Runs the rest of a stored run; its exit code (2 for a ConfigError, printed as diagnostics). */
export async function continueRun(pipeline: CompiledPipeline, c: Continuation, io: CliIo): Promise<number> {
  const environment = await createRunEnvironment(
    pipeline,
    { ...c.flags, ...(c.run.conversationId !== undefined ? { conversation: c.run.conversationId } : {}) },
    { store: c.store, env: io.env, command: c.command },
  );
  const orchestrator = new TaskOrchestrator(new ModelRegistry(), { env: io.env });
  try {
    for (const w of environment.warnings) writeLine(io.stderr, `warning: ${w}`);
    const report = await runOnce(orchestrator, pipeline, c.run.input, { ...environment.options, runId: c.run.id, ...c.options }, io, c.out);
    return exitCodeOf(report);
  } catch (e) {
    if (e instanceof ConfigError) {
      printDiagnostics(io, "stderr", e.diagnostics, e.sources ?? c.sources ?? new SourceMap());
      return EXIT_CODES.invalid;
    }
    throw e;
  } finally {
    await environment.close();
    await orchestrator.close();
  }
}
