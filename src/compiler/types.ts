/** The compiled form of a pipeline: what the orchestrator runs. */
import type { Location } from "../diagnostics/diagnostic.js";
import type { SourceMap } from "../diagnostics/source.js";
import type { CompiledExpression } from "../expr/expression.js";
import type { Template } from "../expr/template.js";
import type { ModelConfig } from "../models/types.js";
import type { SelectPolicy } from "../registry/model-registry.js";
import type { ContextPolicy } from "../events/ports.js";
import type { CacheSettings } from "../cache/response-cache.js";
import type { StoreSettings } from "../store/open-store.js";

export interface RetryPolicy {
  /** Attempts on one model, the first included. */
  attempts: number;
  backoff: "fixed" | "linear" | "exponential";
  initialDelayMs: number;
  maxDelayMs: number;
  jitter: boolean;
}

export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 3,
  backoff: "exponential",
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  jitter: true,
};

export interface CachePolicy {
  enabled: boolean;
  ttlMs?: number;
}

/**
 * A human approval step (`approval:`): the run waits until a person answers through
 * `mcp approve` / `mcp reject` (or the Protocol Handler's `runs.approve` / `runs.reject`).
 */
export interface ApprovalSpec {
  /** What the person is asked: a template over $input and $steps. */
  readonly prompt: Template;
  /** How long the answer may take; an answer after it fails the step (reason `timeout`). */
  readonly timeoutMs?: number;
  /** JSON Schema of the answer (`--input`). */
  readonly schema?: Record<string, unknown> | boolean;
}

/** What a failed step does to the run: `fail` aborts it; `continue` records the error. */
export type FailureMode = "fail" | "continue";

export interface CompiledStep {
  readonly id: string;
  readonly description?: string;
  /** Model named by the step (or its task). */
  readonly model?: string;
  /** Capabilities required (step's and task's). */
  readonly capabilities: readonly string[];
  readonly task?: string;
  readonly select: SelectPolicy;
  /**
   * Models the step may run on, in order: the chosen one first, then the fallback chain.
   * Models too small for the actual input are skipped at run time.
   */
  readonly chain: readonly string[];
  readonly input: Template;
  readonly when?: CompiledExpression;
  readonly forEach?: CompiledExpression;
  readonly concurrency?: number;
  readonly retry: RetryPolicy;
  readonly timeoutMs?: number;
  readonly cache?: CachePolicy;
  readonly onError: FailureMode;
  readonly output?: Template;
  readonly appendToContext?: Template;
  /** `pipeline:`: the step runs this sub-pipeline (compiled with the parent) instead of a model. */
  readonly pipeline?: SubPipeline;
  /** `repeat:`: the step runs again until `until` holds, at most `max` times. */
  readonly repeat?: RepeatPolicy;
  /** A human approval step: no model; the run waits for an answer. */
  readonly approval?: ApprovalSpec;
  /** JSON Schema of the step's output, as declared on the step (a model's is on the ModelConfig). */
  readonly outputSchema?: Record<string, unknown> | boolean;
  /** Steps this one waits for (explicit `needs` plus `$steps` references), sorted. */
  readonly dependencies: readonly string[];
  /** Where the step is defined (its key). */
  readonly location: Location;
}

/** A step's `pipeline:`: the child pipeline file it runs as a nested run. docs/sub-pipelines.md. */
export interface SubPipeline {
  /** The reference as written (`./summarise.yaml`). */
  readonly ref: string;
  /** The child, compiled (its own steps, models and mcp.yaml). */
  readonly compiled: CompiledPipeline;
}

/**
 * What happens when a loop's `max` is reached and `until` still does not hold: `fail` fails
 * the step (reason `repeat-exhausted`); `last` takes the last iteration's output.
 */
export type RepeatExhausted = "fail" | "last";

/** A step's `repeat:`. docs/loops.md. */
export interface RepeatPolicy {
  /** Over $last (this iteration's output) and $iteration (1, 2 ...); absent: run `max` times. */
  readonly until?: CompiledExpression;
  readonly max: number;
  readonly onMax: RepeatExhausted;
}

/** A pipeline's `context:` settings: the manager's policy plus the conversation id. */
export interface ContextSettings extends ContextPolicy {
  conversation?: Template;
}

export interface ProjectSettings extends StoreSettings {
  /** mcp.yaml path, when one was found. */
  configFile?: string;
  env: string[];
  cache?: CacheSettings;
  server?: Record<string, unknown>;
  /** mcp.yaml `telemetry:`. */
  telemetry?: { captureContent?: boolean };
  /** mcp.yaml `alerts:` (the alert webhook). */
  alerts?: { webhook?: string; on?: ("breaker-open" | "budget")[]; budgetThreshold?: number };
}

export interface CompiledPipeline {
  readonly version: 1;
  readonly name: string;
  readonly description?: string;
  /** Path of the pipeline file as given. */
  readonly file: string;
  /** sha256 of the pipeline file and the mcp.yaml it merged, hex. */
  readonly hash: string;
  /** JSON Schema of the run input. */
  readonly inputs?: Record<string, unknown>;
  /** JSON Schema of the run's result (the pipeline's `outputSchema`), for MCP clients. */
  readonly outputSchema?: Record<string, unknown>;
  /** The merged registry (mcp.yaml models, then the pipeline's). */
  readonly models: readonly ModelConfig[];
  readonly concurrency?: number;
  readonly context?: ContextSettings;
  readonly budget?: { maxCost?: number; maxTokens?: number };
  readonly steps: ReadonlyMap<string, CompiledStep>;
  /** Topological order. */
  readonly order: readonly string[];
  /** Parallel levels: levels[k] can run together once levels[0..k-1] are done. */
  readonly levels: readonly (readonly string[])[];
  readonly dependants: ReadonlyMap<string, readonly string[]>;
  readonly output?: Template;
  readonly settings: ProjectSettings;
  /** Absolute paths of the sub-pipeline files this pipeline uses, at any depth (watchers reload it when one changes). */
  readonly files?: readonly string[];
  /** Every source text read, for printing diagnostics. */
  readonly sources: SourceMap;
}
