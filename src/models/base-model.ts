/**
 * BaseModel: the one interface every provider implements. Custom models subclass it.
 *
 * @example
 * class Shouter extends BaseModel {
 *   capabilities = ["text-generation"];
 *   async process(input: { prompt: string }) { return { text: input.prompt.toUpperCase() }; }
 * }
 */
import type { Usage } from "./types.js";

/** What a model call gets besides its input. */
export interface ModelCallContext {
  /** Aborted when the run is cancelled or the step times out; pass it to fetch and friends. */
  readonly signal: AbortSignal;
  readonly runId?: string;
  readonly stepId?: string;
  /** 1 for the first attempt on this model. */
  readonly attempt?: number;
  /** Capabilities the step asked for, so a multi-skill model (nlp) does only that work. */
  readonly capabilities?: readonly string[];
  /** Reports progress of a long call (an MCP tool's progress notifications) as a step.progress event. */
  readonly onProgress?: (progress: { progress: number; total?: number; message?: string }) => void;
  /**
   * Hears what a model with deployments or limits does besides answering: a wait for a rate
   * limit, a circuit breaker changing state. Set only for such models (the run turns these
   * into model.limit_wait and model.breaker events).
   */
  readonly onNotice?: (notice: ModelNotice) => void;
}

/** Something a gateway model reports during a call (ModelCallContext.onNotice). */
export type ModelNotice =
  /** The call waits for a rate limit of the model or of one deployment. */
  | { type: "limit_wait"; deployment?: string; limit: "rpm" | "tpm" | "inputTpm" | "outputTpm"; waitMs: number }
  /** A deployment's circuit breaker changed state (seen by the call that made it change). */
  | { type: "breaker"; deployment: string; state: "closed" | "open" | "half-open"; previous: "closed" | "open" | "half-open"; failures?: number };

export abstract class BaseModel {
  /** Registry name; set from the config for configured models. */
  name = "";
  /** Capabilities this model has. */
  capabilities: string[] = [];
  /** Context window in tokens, if limited. */
  maxTokens?: number;
  /** USD per 1M tokens. */
  cost?: { input?: number; output?: number };
  /** Most calls in flight at once. */
  concurrency?: number;

  /** Runs one call. Throw ModelError for failures the orchestrator should act on. */
  abstract process(input: unknown, ctx: ModelCallContext): Promise<unknown>;

  /** Releases connections and other resources. */
  async close(): Promise<void> {}
}

/** Reads `usage` from a model result when it has the standard shape. */
export function usageOf(result: unknown): Usage | undefined {
  const u = (result as { usage?: Partial<Usage> } | null)?.usage;
  if (!u || typeof u !== "object") return undefined;
  const i = Number(u.inputTokens);
  const o = Number(u.outputTokens);
  if (!Number.isFinite(i) && !Number.isFinite(o)) return undefined;
  return { inputTokens: Number.isFinite(i) ? i : 0, outputTokens: Number.isFinite(o) ? o : 0 };
}

/** The text of a model's answer: the answer itself when it is a string, else its string `text`; undefined for data (an analysis, a tool's JSON). */
export function answerTextOf(result: unknown): string | undefined {
  if (typeof result === "string") return result;
  const t = (result as { text?: unknown } | null)?.text;
  return typeof t === "string" ? t : undefined;
}
