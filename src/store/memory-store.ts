/**
 * MemoryStore: the Store in plain Maps, for tests, the library default and `--store memory`.
 * Values are copied in and out (structuredClone), so callers see the same isolation a
 * database gives them. Nothing survives the process.
 */
import type { ContextTurn } from "../events/ports.js";
import type { StepRecord } from "../events/report.js";
import type { CacheEntry, ConversationState, ListRunsOptions, RunEnd, RunStart, Store, StoredEvent, StoredRun, StoredTurn } from "./store.js";

const clone = <T>(v: T): T => (v === undefined ? v : structuredClone(v));

export class MemoryStore implements Store {
  readonly kind = "memory";
  readonly location = ":memory:";
  readonly #runs = new Map<string, StoredRun>();
  readonly #steps = new Map<string, Map<string, StepRecord>>();
  readonly #turns = new Map<string, StoredTurn[]>();
  readonly #conversations = new Map<string, ConversationState>();
  readonly #cache = new Map<string, CacheEntry>();
  readonly #events = new Map<string, StoredEvent[]>();
  #seq = 0;

  async runStarted(run: RunStart): Promise<void> {
    const now = Date.now();
    const prev = this.#runs.get(run.id);
    if (prev) {
      // Like the SQLite store: the end of the previous attempt is cleared.
      const { finishedAt: _f, durationMs: _d, error: _e, output: _o, report: _r, ...kept } = prev;
      this.#runs.set(run.id, {
        ...kept,
        hash: run.hash,
        file: run.file,
        status: "running",
        updatedAt: now,
        attempts: prev.attempts + 1,
        ...(run.resumedFrom !== undefined ? { resumedFrom: run.resumedFrom } : {}),
        ...(run.pid !== undefined ? { pid: run.pid } : {}),
        ...(run.host !== undefined ? { host: run.host } : {}),
      });
      return;
    }
    this.#runs.set(run.id, { ...clone(run), status: run.status ?? "running", attempts: 1, updatedAt: now });
  }

  async runFinished(id: string, end: RunEnd): Promise<void> {
    const prev = this.#runs.get(id);
    if (!prev) return;
    const { output, error, ...rest } = clone(end);
    const next: StoredRun = { ...prev, ...rest, updatedAt: Date.now() };
    delete next.output;
    delete next.error;
    if (output !== undefined) next.output = output;
    if (error !== undefined) next.error = error;
    this.#runs.set(id, next);
  }

  async getRun(id: string): Promise<StoredRun | undefined> {
    return clone(this.#runs.get(id));
  }

  async listRuns(opts: ListRunsOptions = {}): Promise<StoredRun[]> {
    return [...this.#runs.values()]
      .filter((r) => opts.pipeline === undefined || r.pipeline === opts.pipeline)
      .sort((a, b) => b.startedAt - a.startedAt || (a.id < b.id ? 1 : -1))
      .slice(0, opts.limit ?? 20)
      .map(clone);
  }

  async putStep(runId: string, stepId: string, record: StepRecord): Promise<void> {
    let m = this.#steps.get(runId);
    if (!m) this.#steps.set(runId, (m = new Map()));
    m.set(stepId, clone(record));
  }

  async getSteps(runId: string): Promise<Record<string, StepRecord>> {
    return Object.fromEntries([...(this.#steps.get(runId) ?? new Map<string, StepRecord>())].map(([k, v]) => [k, clone(v)]));
  }

  async appendEvents(runId: string, events: readonly StoredEvent[]): Promise<void> {
    let list = this.#events.get(runId);
    if (!list) this.#events.set(runId, (list = []));
    for (const e of events) if (list.length === 0 || e.seq > list[list.length - 1]!.seq) list.push(clone(e));
  }

  async listEvents(runId: string, afterSeq = 0): Promise<StoredEvent[]> {
    return (this.#events.get(runId) ?? []).filter((e) => e.seq > afterSeq).map((e) => clone(e));
  }

  async appendTurns(conversationId: string, turns: ContextTurn[], opts: { maxTurns?: number } = {}): Promise<StoredTurn[]> {
    let list = this.#turns.get(conversationId);
    if (!list) this.#turns.set(conversationId, (list = []));
    const added = turns.map((t) => ({ ...clone(t), seq: ++this.#seq, ts: t.ts ?? Date.now() }));
    list.push(...added);
    if (opts.maxTurns !== undefined && list.length > opts.maxTurns) list.splice(0, list.length - opts.maxTurns);
    if (!this.#conversations.has(conversationId)) this.#conversations.set(conversationId, { version: 0 });
    return clone(added);
  }

  async listTurns(conversationId: string): Promise<StoredTurn[]> {
    return clone(this.#turns.get(conversationId) ?? []);
  }

  async getConversation(conversationId: string): Promise<ConversationState> {
    return clone(this.#conversations.get(conversationId) ?? { version: 0 });
  }

  async compactTurns(conversationId: string, opts: { summary: string; throughSeq: number; expectedVersion: number }): Promise<boolean> {
    const state = this.#conversations.get(conversationId) ?? { version: 0 };
    if (state.version !== opts.expectedVersion) return false;
    this.#conversations.set(conversationId, { summary: opts.summary, version: state.version + 1 });
    this.#turns.set(
      conversationId,
      (this.#turns.get(conversationId) ?? []).filter((t) => t.seq > opts.throughSeq),
    );
    return true;
  }

  async clearConversation(conversationId: string): Promise<void> {
    this.#turns.delete(conversationId);
    this.#conversations.delete(conversationId);
  }

  async cacheGet(key: string, now = Date.now()): Promise<CacheEntry | undefined> {
    const e = this.#cache.get(key);
    if (!e) return undefined;
    if (e.expiresAt !== undefined && e.expiresAt <= now) return undefined;
    return clone(e);
  }

  async cacheSet(key: string, entry: CacheEntry): Promise<void> {
    this.#cache.set(key, clone(entry));
  }

  async cacheDeleteExpired(now = Date.now()): Promise<number> {
    let n = 0;
    for (const [k, e] of this.#cache) {
      if (e.expiresAt !== undefined && e.expiresAt <= now) {
        this.#cache.delete(k);
        n++;
      }
    }
    return n;
  }

  async close(): Promise<void> {}
}
