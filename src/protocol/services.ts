/**
 * What the Protocol Handler's methods work on: the live pipeline set, the run service, the
 * project's models, the orchestrator (ad-hoc calls), the store (conversations). The
 * runtime (runtime.ts) builds them; tests may build their own.
 */
import type { CompiledPipeline, ProjectSettings } from "../compiler/types.js";
import type { CallHook } from "../events/ports.js";
import type { TaskOrchestrator } from "../orchestrator/orchestrator.js";
import type { RunService, SequencedEvent } from "../orchestrator/run-service.js";
import type { ModelConfig } from "../models/types.js";
import type { Store } from "../store/store.js";
import type { LivePipelineInfo } from "../watch/live-pipeline-set.js";
import type { InputLimits } from "./input-limits.js";
import type { ChatService } from "./chat.js";

/** The pipelines clients may run: the live set, or any fixed list (tests). */
export interface PipelineCatalog {
  list(): readonly LivePipelineInfo[];
  /** The live (last good) version of a pipeline, by name. */
  get(name: string): CompiledPipeline | undefined;
  /** Calls `listener` after pipelines were added, changed, broken or removed. */
  onChange(listener: () => void): () => void;
}

/** Who is calling: the API key's name, or `anonymous` on a loopback server without keys. */
export interface Principal {
  name: string;
}

/** What a transport hands a method besides its params. */
export interface MethodContext {
  /** Aborted when the client goes away (or the transport cancels the request). */
  signal: AbortSignal;
  principal?: Principal;
  /** Receives run events while a method waits on a run (MCP progress notifications). */
  progress?: (event: SequencedEvent) => void;
  /**
   * When `signal` aborts while waiting on a run, cancel the run too (MCP cancellation).
   * Over HTTP a run outlives its client, so the default is no.
   * @default false
   */
  cancelRunOnAbort?: boolean;
}

export interface ProtocolServices {
  pipelines: PipelineCatalog;
  runs: RunService;
  orchestrator: TaskOrchestrator;
  store: Store;
  /** The project's models (mcp.yaml), current after a reload. */
  models(): readonly ModelConfig[];
  /** The project's settings (for ad-hoc calls: cache, env, projectDir). */
  settings(): ProjectSettings;
  /** Call hooks of ad-hoc calls (the response cache). */
  hooks?(): CallHook[];
  limits: InputLimits;
  /** Chat completions through the registry (set by the runtime). */
  chat?: ChatService;
}
