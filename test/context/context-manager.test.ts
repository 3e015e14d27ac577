import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bm25Scores, tokenize, topK } from "../../src/context/bm25.js";
import { ContextManager, selectTurns } from "../../src/context/context-manager.js";
import { ContextManager as PublicContextManager } from "../../src/index.js";
import { MemoryStore } from "../../src/store/memory-store.js";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import type { StoredTurn } from "../../src/store/store.js";
import { countTokens } from "../../src/util/tokens.js";

const dirs: string[] = [];
function dbPath(): string {
  const d = mkdtempSync(join(tmpdir(), "mcp-context-"));
  dirs.push(d);
  return join(d, "state.db");
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Distinct sentences, each with a word of its own, so a summary can be checked for them. */
const SENTENCES = [
  "Ada adopted a cat named Pixel.",
  "The invoice for March is overdue by ten days.",
  "Grace prefers tea over coffee in the morning.",
  "The server in Frankfurt crashed twice on Monday.",
  "Linus plans a hiking trip to the Alps.",
  "The quarterly budget meeting moved to Thursday.",
  "Margaret wrote the guidance software for the lander.",
  "The printer on floor three needs new toner.",
];

describe("ContextManager, the tutorial API", () => {
  it("is exported from the library and keeps history per conversation", async () => {
    const cm = new PublicContextManager();
    await cm.addContext({ conversationId: "conv_123", context: { userInput: "Previous message" }, maxHistory: 10 });
    await cm.addContext({ conversationId: "conv_123", context: { role: "assistant", content: "Reply" } });
    await cm.addContext({ conversationId: "conv_456", context: "elsewhere" });
    const h = await cm.getHistory("conv_123");
    expect(h.map((t) => [t.role, t.content])).toEqual([
      ["user", { userInput: "Previous message" }],
      ["assistant", "Reply"],
    ]);
    await cm.clear("conv_123");
    expect(await cm.getHistory("conv_123")).toEqual([]);
    expect((await cm.getHistory("conv_456")).length).toBe(1);
  });

  it("prunes to maxHistory, keeping the newest turns", async () => {
    const cm = new ContextManager();
    for (let i = 1; i <= 7; i++) await cm.addContext({ conversationId: "c", context: `turn ${i}`, maxHistory: 3 });
    expect((await cm.getHistory("c")).map((t) => t.content)).toEqual(["turn 5", "turn 6", "turn 7"]);
  });

  it("rejects bad arguments with a TypeError naming them", async () => {
    const cm = new ContextManager();
    await expect(cm.addContext({ conversationId: "", context: "x" })).rejects.toThrow(/conversationId/);
    await expect(cm.addContext({ conversationId: "c", context: "x", maxHistory: 0 })).rejects.toThrow(/maxHistory.*received 0/);
  });

  it("keeps history across store instances on the same file (it survives the process)", async () => {
    const path = dbPath();
    const a = new ContextManager(new SqliteStore(path));
    await a.addContext({ conversationId: "c", context: "I live in Lisbon." });
    await a.store.close();
    const b = new ContextManager(new SqliteStore(path));
    expect((await b.getHistory("c")).map((t) => t.content)).toEqual(["I live in Lisbon."]);
    const view = await b.load("c", { settings: {} });
    expect(view).toMatchObject({ conversationId: "c", history: [{ role: "user", content: "I live in Lisbon." }] });
    await b.store.close();
  });
});

describe("compression", () => {
  it("summarises the oldest turns past the threshold and keeps the promised turns verbatim", async () => {
    const cm = new ContextManager(new SqliteStore(dbPath()), { summarySentences: 10 });
    const settings = { compress: { threshold: 6, keep: 3 } };
    for (const s of SENTENCES.slice(0, 6)) await cm.append("c", { role: "user", content: s }, { settings });
    // At the threshold: nothing compressed yet.
    expect((await cm.getHistory("c")).length).toBe(6);
    expect(await cm.getSummary("c")).toBeUndefined();
    await cm.append("c", { role: "user", content: SENTENCES[6]! }, { settings });
    const kept = await cm.getHistory("c");
    expect(kept.map((t) => t.content)).toEqual(SENTENCES.slice(4, 7));
    const summary = (await cm.getSummary("c"))!;
    // Nothing dropped silently: every compressed turn is in the summary.
    for (const s of SENTENCES.slice(0, 4)) expect(summary).toContain(s);
    const view = await cm.load("c", { settings });
    expect(view.summary).toBe(summary);
    expect(view.history.length).toBe(3);
    await cm.store.close();
  });

  it("folds an earlier summary into the next one", async () => {
    const cm = new ContextManager(new MemoryStore(), { summarySentences: 20 });
    const settings = { compress: { threshold: 3, keep: 1 } };
    for (const s of SENTENCES) await cm.append("c", { role: "user", content: s }, { settings });
    // Turns 1-4: 1-3 compressed; turns 4-7: 4-6 compressed into the summary with 1-3; 7 and 8 kept.
    const summary = (await cm.getSummary("c"))!;
    for (const s of SENTENCES.slice(0, 6)) expect(summary).toContain(s);
    expect((await cm.getHistory("c")).map((t) => t.content)).toEqual(SENTENCES.slice(6));
  });

  it("the nlp summary keeps only the best sentences when asked for fewer", async () => {
    const cm = new ContextManager(new MemoryStore(), { summarySentences: 2 });
    const settings = { compress: { threshold: 4, keep: 2 } };
    for (const s of SENTENCES.slice(0, 5)) await cm.append("c", { role: "user", content: s }, { settings });
    const summary = (await cm.getSummary("c"))!;
    const present = SENTENCES.slice(0, 3).filter((s) => summary.includes(s));
    expect(present.length).toBe(2);
    expect((await cm.getHistory("c")).map((t) => t.content)).toEqual(SENTENCES.slice(3, 5));
  });

  it("compresses past maxHistory too, instead of dropping turns", async () => {
    const cm = new ContextManager(new MemoryStore(), { summarySentences: 10 });
    const settings = { maxHistory: 3, compress: { threshold: 10, keep: 2 } };
    for (const s of SENTENCES.slice(0, 4)) await cm.append("c", { role: "user", content: s }, { settings });
    expect((await cm.getHistory("c")).map((t) => t.content)).toEqual(SENTENCES.slice(2, 4));
    const summary = (await cm.getSummary("c"))!;
    expect(summary).toContain(SENTENCES[0]);
    expect(summary).toContain(SENTENCES[1]);
  });

  it("uses the LLM summariser when compress names a model", async () => {
    const calls: { text: string; model: string }[] = [];
    const cm = new ContextManager(new MemoryStore(), {
      summarize: async (text, req) => {
        calls.push({ text, model: req.model });
        return `LLM summary of ${req.turns.length} turns`;
      },
    });
    const settings = { compress: { threshold: 2, keep: 1, model: "writer" } };
    for (const s of SENTENCES.slice(0, 3)) await cm.append("c", { role: "user", content: s }, { settings });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.model).toBe("writer");
    expect(calls[0]!.text).toBe(`user: ${SENTENCES[0]}\nuser: ${SENTENCES[1]}`);
    expect(await cm.getSummary("c")).toBe("LLM summary of 2 turns");
    expect((await cm.getHistory("c")).map((t) => t.content)).toEqual([SENTENCES[2]]);
  });

  it("keeps every turn when the summariser fails, and says so", async () => {
    const errors: unknown[] = [];
    const cm = new ContextManager(new MemoryStore(), {
      summarize: async () => {
        throw new Error("model down");
      },
      onError: (e) => errors.push(e),
    });
    const settings = { compress: { threshold: 2, keep: 1, model: "writer" } };
    for (const s of SENTENCES.slice(0, 4)) await cm.append("c", { role: "user", content: s }, { settings });
    expect((await cm.getHistory("c")).length).toBe(4);
    expect(await cm.getSummary("c")).toBeUndefined();
    expect(String(errors[0])).toMatch(/model down/);
  });
});

describe("what $context.history shows", () => {
  const turns = (texts: string[]): StoredTurn[] => texts.map((content, i) => ({ role: i % 2 ? "assistant" : "user", content, seq: i + 1, ts: i }));

  it("fits the token budget by dropping the oldest turns, counting the summary", async () => {
    const all = turns(SENTENCES);
    const last3 = await Promise.all(SENTENCES.slice(-3).map((s) => countTokens(s)));
    const budget = last3.reduce((a, b) => a + b, 0);
    expect((await selectTurns(all, { maxTokens: budget })).map((t) => t.content)).toEqual(SENTENCES.slice(-3));
    expect((await selectTurns(all, { maxTokens: budget + 1 })).map((t) => t.content)).toEqual(SENTENCES.slice(-3));
    const summary = "A summary of earlier turns.";
    const withSummary = await selectTurns(all, { maxTokens: budget }, summary);
    expect(withSummary.map((t) => t.content)).toEqual(SENTENCES.slice(-2));
  });

  it("shows the recent turns plus the older turns most relevant to the input (BM25)", async () => {
    const all = turns(SENTENCES);
    const view = await selectTurns(all, { recent: 2, relevant: 1, query: "Is the Frankfurt server up again?" });
    expect(view.map((t) => t.content)).toEqual([SENTENCES[3], SENTENCES[6], SENTENCES[7]]);
    const two = await selectTurns(all, { recent: 1, relevant: 2, query: "What did Ada name her cat? And the invoice?" });
    expect(two.map((t) => t.content)).toEqual([SENTENCES[0], SENTENCES[1], SENTENCES[7]]);
    // No query, or nothing relevant: only the recent turns.
    expect((await selectTurns(all, { recent: 2, relevant: 3 })).length).toBe(2);
    expect((await selectTurns(all, { recent: 2, relevant: 3, query: "zebra" })).length).toBe(2);
  });

  it("drops the least relevant turns before recent ones when over the token budget", async () => {
    const all = turns(SENTENCES);
    const recentCost = (await countTokens(SENTENCES[6])) + (await countTokens(SENTENCES[7]));
    const view = await selectTurns(all, { recent: 2, relevant: 2, maxTokens: recentCost + (await countTokens(SENTENCES[3])), query: "Frankfurt server crashed, invoice overdue" });
    expect(view.map((t) => t.content)).toContain(SENTENCES[6]);
    expect(view.map((t) => t.content)).toContain(SENTENCES[7]);
    expect(view.length).toBe(3);
  });

  it("the pipeline settings apply through load()", async () => {
    const cm = new ContextManager();
    for (const s of SENTENCES) await cm.addContext({ conversationId: "c", context: s });
    const view = await cm.load("c", { query: "tea or coffee?", settings: { recent: 1, relevant: 1, maxHistory: 6 } });
    expect(view.history.map((t) => t.content)).toEqual([SENTENCES[2], SENTENCES[7]]);
  });
});

describe("BM25", () => {
  it("ranks documents by the query's rare words", () => {
    const docs = ["the cat sat on the mat", "dogs and cats", "stock prices fell", "the cat and the hat and the cat"];
    const scores = bm25Scores(docs, "cat");
    expect(scores[2]).toBe(0);
    // "cats" counts as "cat"; the shorter document ranks higher at equal counts.
    expect(topK(scores, 2)).toEqual([3, 1]);
    expect(topK(bm25Scores(docs, "stock"), 3)).toEqual([2]);
    expect(tokenize("The Cats, and THE dogs!")).toEqual(["cat", "dog"]);
    expect(bm25Scores([], "x")).toEqual([]);
  });
});
