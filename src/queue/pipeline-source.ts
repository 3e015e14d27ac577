/**
 * Where a worker finds the pipeline of a queued run: the job names the file relative to the
 * project folder and the content hash it had when it was enqueued; the worker loads that
 * file under its own project folder (`mcp worker DIR`) and checks the hash, so every worker
 * runs exactly the version that was enqueued, or refuses with a message that says why.
 * Compiled pipelines are kept by file and reused while the file's hash matches.
 */
import { existsSync, statSync } from "node:fs";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { loadPipelineChecked } from "../compiler/load.js";
import type { CompiledPipeline } from "../compiler/types.js";
import { McpError } from "../util/errors.js";
import type { RunJobData } from "./names.js";

/** A job's pipeline file relative to the project folder, with `/`. */
export function projectRelative(pipeline: CompiledPipeline): string {
  return relative(pipeline.settings.projectDir, resolve(pipeline.file)).split(sep).join("/");
}

export class PipelineSource {
  readonly dir: string;
  readonly #cache = new Map<string, { mtimeMs: number; pipeline: CompiledPipeline }>();

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  /** The compiled pipeline of a job; McpError PIPELINE_MISMATCH or PIPELINE_INVALID when it cannot be the enqueued one. */
  async get(job: Pick<RunJobData, "pipeline" | "hash" | "file">): Promise<CompiledPipeline> {
    const path = isAbsolute(job.file) ? job.file : resolve(this.dir, job.file);
    if (!existsSync(path)) {
      throw new McpError("PIPELINE_MISMATCH", `this worker has no ${job.file} under ${this.dir} (pipeline '${job.pipeline}'); start workers in the project folder (mcp worker DIR)`);
    }
    const mtimeMs = statSync(path).mtimeMs;
    const hit = this.#cache.get(path);
    if (hit && hit.mtimeMs === mtimeMs && hit.pipeline.hash === job.hash) return hit.pipeline;
    const loaded = await loadPipelineChecked(path);
    if (!loaded.pipeline) {
      const first = loaded.diagnostics.find((d) => d.severity === "error");
      throw new McpError("PIPELINE_INVALID", `the worker's copy of ${job.file} is invalid${first ? `: ${first.code} ${first.message}` : ""}`);
    }
    if (loaded.pipeline.hash !== job.hash) {
      throw new McpError(
        "PIPELINE_MISMATCH",
        `the worker's copy of ${job.file} (or its mcp.yaml) differs from the one the run was enqueued with (hash ${loaded.pipeline.hash.slice(0, 12)} here, ${job.hash.slice(0, 12)} enqueued); deploy the same files to every worker`,
      );
    }
    this.#cache.set(path, { mtimeMs, pipeline: loaded.pipeline });
    return loaded.pipeline;
  }
}
