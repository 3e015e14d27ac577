/**
 * The library API of the MCP runner. The four components of the original tutorial:
 * ModelRegistry, TaskOrchestrator, ContextManager, and the protocol types; plus BaseModel
 * for custom models and loadPipeline for pipeline files.
 *
 * @example
 * const registry = new ModelRegistry();
 * registry.registerModel({ name: "gpt-4", provider: "openai", capabilities: ["text-generation"], maxTokens: 8192 });
 * const orchestrator = new TaskOrchestrator(registry);
 * const run = await orchestrator.runPipeline(await loadPipeline("pipelines/ticket-triage.yaml"), { text: "..." });
 */
export { ModelRegistry } from "./registry/model-registry.js";
export type { SelectPolicy, SelectRequest, ModelRegistration } from "./registry/model-registry.js";
export { TaskOrchestrator } from "./orchestrator/orchestrator.js";
export type { OrchestratorOptions, TaskRequest, TaskResult } from "./orchestrator/orchestrator.js";
export { PipelineRun, StepError, newRunId } from "./orchestrator/run.js";
export type { RunOptions } from "./orchestrator/run.js";
export type { RunReport, StepRecord, AttemptRecord, RunTotals } from "./events/report.js";
export type { CallHook, CallRequest, CallHit, RunJournal, ContextProvider, ContextTurn, ContextView } from "./events/ports.js";
export { ContextManager } from "./context/context-manager.js";
export type { AddContextRequest, ContextManagerOptions, ContextPolicy, Summarizer } from "./context/context-manager.js";
export { MemoryStore } from "./store/memory-store.js";
export { SqliteStore } from "./store/sqlite-store.js";
export { openStore, storePath } from "./store/open-store.js";
export type { Store, StoredRun, StoredTurn, CacheEntry } from "./store/store.js";
export { StoreJournal } from "./store/run-journal.js";
export { ResponseCache } from "./cache/response-cache.js";
export { Recorder, Replayer, readRecording } from "./cache/recording.js";
export type { Recording, Interaction } from "./cache/recording.js";
export { BaseModel } from "./models/base-model.js";
export type { ModelCallContext } from "./models/base-model.js";
export { ModelError, parseRetryAfter } from "./models/errors.js";
export type { ModelErrorKind } from "./models/errors.js";
export type { ModelConfig, LlmOutput, Usage, ProviderKind } from "./models/types.js";
export { registerProvider, createModel } from "./models/providers/index.js";
export { isStreamingModel } from "./models/streaming.js";
export type { ModelStreamEvent, StreamingModel } from "./models/streaming.js";
export { closeConnections } from "./models/http-client.js";
export { closeMcpConnections } from "./models/mcp-pool.js";
export { loadPipeline, loadPipelineFile, loadPipelineChecked, findProjectConfig } from "./compiler/load.js";
export type { LoadOptions, LoadResult } from "./compiler/load.js";
export type { CompiledPipeline, CompiledStep } from "./compiler/types.js";
export { renderGraph } from "./compiler/render.js";
export type { RunEvent, RunObserver, StepStatus, RunStatus, ErrorInfo, FailureReason } from "./events/event.js";
export { formatDiagnostics } from "./diagnostics/printer.js";
export type { Diagnostic } from "./diagnostics/diagnostic.js";
export { McpError, ConfigError } from "./util/errors.js";
export { LivePipelineSet } from "./watch/live-pipeline-set.js";
export type { LivePipelineSetOptions, LivePipelineInfo, LiveSetEvent, PipelineStatus } from "./watch/live-pipeline-set.js";
