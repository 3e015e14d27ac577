/**
 * The Context Manager: conversation history per conversation id, kept in the Store so it
 * survives across runs and processes.
 *
 * - Pruning: at most `maxHistory` turns are kept; `$context.history` also fits in
 *   `maxTokens` (counted with the gpt-tokenizer BPE).
 * - Compression: with `compress`, when the history passes `threshold` turns (or
 *   `maxHistory`), the oldest turns (all but `keep`) are summarised into `summary`, by the
 *   nlp extractive summary or by an LLM (the `summarize` callback), so nothing is dropped
 *   silently.
 * - Relevance: with `recent`/`relevant`, `$context.history` is the last `recent` turns plus
 *   the `relevant` older turns that score best by BM25 against the run input.
 *
 * @example
 * const cm = new ContextManager();
 * await cm.addContext({ conversationId: "conv_123", context: { userInput: "Previous message" }, maxHistory: 10 });
 * await cm.getHistory("conv_123"); // [{ role: "user", content: { userInput: "Previous message" }, ... }]
 */
import type { ContextPolicy, ContextProvider, ContextTurn, ContextView } from "../events/ports.js";
import { MemoryStore } from "../store/memory-store.js";
import type { Store, StoredTurn } from "../store/store.js";
import { countTokens, promptText } from "../util/tokens.js";
import { bm25Scores, topK } from "./bm25.js";

/** Context settings without the conversation id template: what the manager acts on. */
export type { ContextPolicy };

/** A pipeline's `context:` settings, with the conversation id template the manager ignores. */
type ContextSettings = ContextPolicy & { conversation?: unknown };

/**
 * Summarises old turns with an LLM (`compress.model`). Gets the text to summarise (the
 * previous summary, then the turns, one per line as `role: content`) and returns the summary.
 */
export type Summarizer = (text: string, request: { conversationId: string; model: string; turns: readonly ContextTurn[]; previousSummary?: string }) => Promise<string>;

export interface ContextManagerOptions {
  /** Summariser used when `compress.model` names a model; without it the nlp summary is used. */
  summarize?: Summarizer;
  /** Sentences in an nlp (extractive) summary. @default 4 */
  summarySentences?: number;
  /** Told when compression failed; the turns are then kept as they are (never dropped). */
  onError?: (error: unknown, conversationId: string) => void;
}

/** Turns `recent` defaults to when only `relevant` is set. */
export const DEFAULT_RECENT = 4;

/** What `addContext` takes (the tutorial's API). */
export interface AddContextRequest {
  conversationId: string;
  /** The turn: any value; `{ role, content }` is taken as a turn as it is. */
  context: unknown;
  /** Most turns kept; older ones are deleted (or compressed, with `compress`). */
  maxHistory?: number;
  /** Role of the turn when `context` has none. @default "user" */
  role?: string;
  compress?: ContextPolicy["compress"];
}

export class ContextManager implements ContextProvider {
  readonly store: Store;
  readonly #opts: ContextManagerOptions;

  constructor(store: Store = new MemoryStore(), options: ContextManagerOptions = {}) {
    this.store = store;
    this.#opts = options;
  }

  /** Appends a turn to the conversation, then prunes or compresses it. Returns the turn stored. */
  async addContext(req: AddContextRequest): Promise<ContextTurn> {
    if (typeof req.conversationId !== "string" || req.conversationId === "") {
      throw new TypeError(`addContext: \`conversationId\` must be a non-empty string, received ${JSON.stringify(req.conversationId)}`);
    }
    if (req.maxHistory !== undefined && (!Number.isInteger(req.maxHistory) || req.maxHistory < 1)) {
      throw new TypeError(`addContext: \`maxHistory\` must be a positive integer, received ${String(req.maxHistory)}`);
    }
    const c = req.context as { role?: unknown; content?: unknown } | null | undefined;
    const turn: ContextTurn =
      c && typeof c === "object" && !Array.isArray(c) && "content" in c
        ? { role: typeof c.role === "string" ? c.role : (req.role ?? "user"), content: c.content }
        : { role: req.role ?? "user", content: c };
    return this.#append(req.conversationId, turn, {
      ...(req.maxHistory !== undefined ? { maxHistory: req.maxHistory } : {}),
      ...(req.compress ? { compress: req.compress } : {}),
    });
  }

  /** Every stored turn of the conversation, oldest first (compressed turns are in the summary). */
  async getHistory(conversationId: string): Promise<StoredTurn[]> {
    return this.store.listTurns(conversationId);
  }

  /** The summary of compressed turns, if any. */
  async getSummary(conversationId: string): Promise<string | undefined> {
    return (await this.store.getConversation(conversationId)).summary;
  }

  /** Forgets the conversation: turns and summary. */
  async clear(conversationId: string): Promise<void> {
    await this.store.clearConversation(conversationId);
  }

  /** The conversation as a run sees it in `$context`: pruned to the budget, relevant turns chosen for `query`. */
  async getContext(conversationId: string, policy: ContextPolicy & { query?: string } = {}): Promise<ContextView> {
    const [turns, state] = await Promise.all([this.store.listTurns(conversationId), this.store.getConversation(conversationId)]);
    const history = await selectTurns(turns, policy, state.summary);
    return { conversationId, history, ...(state.summary !== undefined ? { summary: state.summary } : {}) };
  }

  // ContextProvider (what the orchestrator calls).

  async load(conversationId: string, opts: { query?: string; settings: ContextSettings }): Promise<ContextView> {
    return this.getContext(conversationId, { ...policyOf(opts.settings), ...(opts.query !== undefined ? { query: opts.query } : {}) });
  }

  async append(conversationId: string, turn: ContextTurn, opts: { settings: ContextSettings }): Promise<void> {
    await this.#append(conversationId, turn, policyOf(opts.settings));
  }

  async #append(conversationId: string, turn: ContextTurn, policy: ContextPolicy): Promise<ContextTurn> {
    const full = { ...turn, ts: turn.ts ?? Date.now() };
    if (!policy.compress) {
      const [stored] = await this.store.appendTurns(conversationId, [full], policy.maxHistory !== undefined ? { maxTurns: policy.maxHistory } : {});
      return stored ?? full;
    }
    const [stored] = await this.store.appendTurns(conversationId, [full]);
    await this.#compress(conversationId, policy);
    return stored ?? full;
  }

  /**
   * Why a loop: the store's compaction is conditional on the conversation's version, so when
   * another process compressed the same conversation meanwhile, we re-read and try again
   * rather than overwrite its summary.
   */
  async #compress(conversationId: string, policy: ContextPolicy): Promise<void> {
    const compress = policy.compress!;
    const limit = Math.min(compress.threshold, policy.maxHistory ?? Infinity);
    for (let attempt = 0; attempt < 5; attempt++) {
      const [turns, state] = await Promise.all([this.store.listTurns(conversationId), this.store.getConversation(conversationId)]);
      if (turns.length <= limit) return;
      const keep = Math.min(compress.keep ?? Math.floor(compress.threshold / 2), limit);
      const old = turns.slice(0, turns.length - keep);
      let summary: string;
      try {
        summary = await this.#summarise(conversationId, state.summary, old, compress.model);
      } catch (e) {
        this.#opts.onError?.(e, conversationId);
        return;
      }
      const ok = await this.store.compactTurns(conversationId, { summary, throughSeq: old[old.length - 1]!.seq, expectedVersion: state.version });
      if (ok) return;
    }
  }

  async #summarise(conversationId: string, previous: string | undefined, turns: readonly StoredTurn[], model: string | undefined): Promise<string> {
    const text = [previous, ...turns.map(turnLine)].filter((s): s is string => !!s).join("\n");
    if (model !== undefined && this.#opts.summarize) {
      const s = await this.#opts.summarize(text, { conversationId, model, turns, ...(previous !== undefined ? { previousSummary: previous } : {}) });
      if (typeof s !== "string" || s.trim() === "") throw new Error(`the summary of model '${model}' is empty`);
      return s.trim();
    }
    const { analyse } = await import("../models/providers/nlp.js");
    const out = analyse(text, new Set(["summarization"]), { summarySentences: this.#opts.summarySentences ?? 4 });
    const s = typeof out.summary === "string" ? out.summary.trim() : "";
    // A text the analyser finds no sentence in is kept whole rather than lost.
    return s || text;
  }
}

function policyOf(settings: ContextSettings): ContextPolicy {
  const { conversation: _c, ...rest } = settings;
  return rest;
}

/** One line of a turn for summaries: `role: content.` */
export function turnLine(t: ContextTurn): string {
  const text = promptText(t.content).trim().replace(/\s+/g, " ");
  return `${t.role}: ${/[.!?]$/.test(text) ? text : `${text}.`}`;
}

/**
 * The turns `$context.history` shows, oldest first: the last `maxHistory`, narrowed to the
 * `recent` plus top-`relevant` by BM25 when set, then fitted in `maxTokens` by dropping the
 * least relevant, then the oldest.
 */
export async function selectTurns(all: readonly StoredTurn[], policy: ContextPolicy & { query?: string }, summary?: string): Promise<StoredTurn[]> {
  let turns = policy.maxHistory !== undefined ? all.slice(-policy.maxHistory) : [...all];
  // Lowest priority first: what the token budget drops first.
  let priority: StoredTurn[];
  if (policy.recent !== undefined || policy.relevant !== undefined) {
    const recentN = policy.recent ?? DEFAULT_RECENT;
    const recent = recentN > 0 ? turns.slice(-recentN) : [];
    const older = turns.slice(0, turns.length - recent.length);
    let relevant: StoredTurn[] = [];
    if (policy.relevant && older.length && policy.query) {
      const scores = bm25Scores(
        older.map((t) => promptText(t.content)),
        policy.query,
      );
      relevant = topK(scores, policy.relevant).map((i) => older[i]!);
    }
    priority = [...[...relevant].reverse(), ...recent];
    turns = [...relevant, ...recent].sort((a, b) => a.seq - b.seq);
  } else {
    priority = [...turns];
  }
  if (policy.maxTokens !== undefined) {
    const cost = new Map<StoredTurn, number>();
    for (const t of turns) cost.set(t, await countTokens(t.content));
    let total = [...cost.values()].reduce((a, b) => a + b, 0) + (summary ? await countTokens(summary) : 0);
    const dropped = new Set<StoredTurn>();
    for (const t of priority) {
      if (total <= policy.maxTokens) break;
      dropped.add(t);
      total -= cost.get(t)!;
    }
    turns = turns.filter((t) => !dropped.has(t));
  }
  return turns;
}
