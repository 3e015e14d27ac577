/** Compiling pipelines from inline YAML for tests (no files, no mcp.yaml search). */
import { loadPipelineFile } from "../../src/compiler/load.js";
import type { CompiledPipeline } from "../../src/compiler/types.js";
import { formatText } from "../../src/diagnostics/printer.js";
import type { ModelRegistry } from "../../src/registry/model-registry.js";

/** Compiles YAML text; throws with the rendered diagnostics if it is invalid. */
export function compileYaml(text: string, opts: { file?: string; registry?: ModelRegistry } = {}): CompiledPipeline {
  const r = loadPipelineFile(opts.file ?? "test.yaml", { text, configPath: null, ...(opts.registry ? { models: opts.registry.list() } : {}) });
  if (!r.pipeline) throw new Error(`pipeline did not compile:\n${formatText(r.diagnostics, r.sources)}`);
  return r.pipeline;
}

/** Collects run events of the given types. */
export function eventLog() {
  const events: import("../../src/events/event.js").RunEvent[] = [];
  return {
    events,
    observer: { onEvent: (e: import("../../src/events/event.js").RunEvent) => void events.push(e) },
    of<T extends import("../../src/events/event.js").RunEvent["type"]>(type: T) {
      return events.filter((e): e is Extract<import("../../src/events/event.js").RunEvent, { type: T }> => e.type === type);
    },
  };
}
