/**
 * `store: { redact: true }` (DESIGN section 6): prompts and answers stay out of the journal.
 * Run inputs and outputs, step outputs, the model inputs of `step.started` events, the
 * outputs of `step.finished` and `run.finished` events, and the same inside the final report
 * are replaced, before they are written, by a digest: `{ redacted: "sha256:<hex>", bytes }`
 * (the SHA-256 of the value's JSON, and its length). Token counts, costs, timings, models,
 * attempts, statuses and error reasons are kept, so `mcp runs`, the web UI and /metrics still
 * tell what happened and what it cost.
 *
 * What this does not cover (docs/state.md): conversation history (`appendToContext` keeps
 * turns: the next run reads them) and the response cache (it keeps answers to replay them)
 * are stored as before; leave them off where no user text may be kept. A redacted step
 * cannot be resumed from (its output is gone): `mcp resume` and a worker taking a run over
 * run such steps again.
 */
import { createHash } from "node:crypto";
import type { RunEvent } from "../events/event.js";
import type { RunReport, StepRecord } from "../events/report.js";
import type { CacheEntry, ConversationState, ListRunsOptions, RunEnd, RunStart, Store, StoredEvent, StoredRun, StoredTurn } from "./store.js";
import type { ContextTurn } from "../events/ports.js";
import { unreachable } from "../util/unreachable.js";

/** What a redacted value is replaced by. */
export interface RedactedValue {
  redacted: string;
  bytes: number;
}

/** The digest of a value: SHA-256 of its JSON. `undefined` stays undefined. */
export function redactValue(v: unknown): RedactedValue | undefined {
  if (v === undefined) return undefined;
  if (isRedacted(v)) return v;
  const json = JSON.stringify(v) ?? "null";
  return { redacted: `sha256:${createHash("sha256").update(json).digest("hex")}`, bytes: Buffer.byteLength(json) };
}

/** Whether a value is a digest left by redaction (its content is gone). */
export function isRedacted(v: unknown): v is RedactedValue {
  return typeof v === "object" && v !== null && typeof (v as { redacted?: unknown }).redacted === "string" && (v as { redacted: string }).redacted.startsWith("sha256:");
}

/** A step record without its output. */
export function redactStep(r: StepRecord): StepRecord {
  if (r.output === undefined && r.approval === undefined) return r;
  return { ...r, ...(r.output !== undefined ? { output: redactValue(r.output) } : {}), ...(r.approval ? { approval: { ...r.approval, prompt: "[redacted]" } } : {}) };
}

/** A report without the run's input, output and step outputs. */
export function redactReport(r: RunReport): RunReport {
  const steps: Record<string, StepRecord> = {};
  for (const [id, s] of Object.entries(r.steps)) steps[id] = redactStep(s);
  const output = redactValue(r.output);
  return { ...r, input: redactValue(r.input), ...(output !== undefined ? { output } : {}), steps };
}

/** An event without the prompt or answer it carries. */
export function redactEvent(e: RunEvent): RunEvent {
  switch (e.type) {
    case "step.started":
      return e.input === undefined ? e : { ...e, input: redactValue(e.input) };
    case "step.finished":
      return { ...e, output: redactValue(e.output) };
    case "run.finished":
      return e.output === undefined ? e : { ...e, output: redactValue(e.output) };
    case "step.progress":
      // A tool's progress message may quote its input.
      if (e.message === undefined) return e;
      {
        const { message: _message, ...rest } = e;
        return rest;
      }
    case "step.waiting":
      // The rendered prompt quotes the run's data.
      return { ...e, prompt: "[redacted]" };
    case "step.delta":
      return { ...e, text: "[redacted]" };
    // Events that carry no prompt or answer. A new event type must be placed here or above.
    case "run.started":
    case "step.queued":
    case "step.attempt_failed":
    case "step.fell_back":
    case "step.cache":
    case "step.skipped":
    case "step.failed":
    case "step.aborted":
    case "model.throttled":
    case "model.limit_wait":
    case "model.breaker":
      return e;
    default:
      return unreachable(e);
  }
}

/** A Store that redacts what the journal writes (runs, steps, events), and nothing else. */
export class RedactingStore implements Store {
  readonly #inner: Store;

  constructor(inner: Store) {
    this.#inner = inner;
  }

  get kind(): string {
    return this.#inner.kind;
  }

  get location(): string {
    return this.#inner.location;
  }

  /** Always true: what this store writes to the journal is redacted. */
  get redacts(): boolean {
    return true;
  }

  runStarted(run: RunStart): Promise<void> {
    return this.#inner.runStarted({ ...run, input: redactValue(run.input) ?? null });
  }

  runFinished(id: string, end: RunEnd): Promise<void> {
    const { output, ...rest } = end;
    const out = redactValue(output);
    return this.#inner.runFinished(id, { ...rest, ...(out !== undefined ? { output: out } : {}), report: redactReport(end.report) });
  }

  getRun(id: string): Promise<StoredRun | undefined> {
    return this.#inner.getRun(id);
  }

  listRuns(opts?: ListRunsOptions): Promise<StoredRun[]> {
    return this.#inner.listRuns(opts);
  }

  putStep(runId: string, stepId: string, record: StepRecord): Promise<void> {
    return this.#inner.putStep(runId, stepId, redactStep(record));
  }

  getSteps(runId: string): Promise<Record<string, StepRecord>> {
    return this.#inner.getSteps(runId);
  }

  appendEvents(runId: string, events: readonly StoredEvent[]): Promise<void> {
    return this.#inner.appendEvents(
      runId,
      events.map((e) => ({ seq: e.seq, event: redactEvent(e.event) })),
    );
  }

  listEvents(runId: string, afterSeq?: number): Promise<StoredEvent[]> {
    return this.#inner.listEvents(runId, afterSeq);
  }

  appendTurns(conversationId: string, turns: ContextTurn[], opts?: { maxTurns?: number }): Promise<StoredTurn[]> {
    return this.#inner.appendTurns(conversationId, turns, opts);
  }

  listTurns(conversationId: string): Promise<StoredTurn[]> {
    return this.#inner.listTurns(conversationId);
  }

  getConversation(conversationId: string): Promise<ConversationState> {
    return this.#inner.getConversation(conversationId);
  }

  compactTurns(conversationId: string, opts: { summary: string; throughSeq: number; expectedVersion: number }): Promise<boolean> {
    return this.#inner.compactTurns(conversationId, opts);
  }

  clearConversation(conversationId: string): Promise<void> {
    return this.#inner.clearConversation(conversationId);
  }

  cacheGet(key: string, now?: number): Promise<CacheEntry | undefined> {
    return this.#inner.cacheGet(key, now);
  }

  cacheSet(key: string, entry: CacheEntry): Promise<void> {
    return this.#inner.cacheSet(key, entry);
  }

  cacheDeleteExpired(now?: number): Promise<number> {
    return this.#inner.cacheDeleteExpired(now);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}

/** The finished steps of a journal that a resume may take as they are (success, output kept). */
export function reusableSteps(steps: Record<string, StepRecord>): Record<string, StepRecord> {
  const out: Record<string, StepRecord> = {};
  for (const [id, r] of Object.entries(steps)) if (r.status === "success" && !isRedacted(r.output)) out[id] = r;
  return out;
}
