/**
 * The `nlp` provider: in-process English NLP with wink-nlp and its wink-eng-lite-web-model
 * (npm packages; nothing is downloaded at run time). No network, no key: the embedded
 * default. Capabilities and their outputs:
 *
 *   sentiment-analysis  { sentiment: { label: positive|negative|neutral, score: -1..1 } }
 *                       (a trained classifier plus wink's lexicon: nlp/sentiment-classifier.ts)
 *   entity-extraction   { entities: [{ value, type }] }     (DATE, MONEY, EMAIL, URL, CARDINAL ...)
 *   sentence-split      { sentences: [string] }
 *   keyword-extraction  { keywords: [{ value, score }] }    (nouns and proper nouns by frequency)
 *   summarization       { summary: string }                 (extractive: the best sentences, in order)
 *
 * A step gets the parts for the capabilities it asked for (all of them when it named the
 * model without capabilities), merged into one object. For sentiment-analysis the
 * top-level `label` and `score` are set too, so `$steps.x.output.score` reads naturally.
 * Input: a string, or `{ text }` (also `{ prompt }`); options: `maxKeywords` (10),
 * `summarySentences` (2).
 */
import { createRequire } from "node:module";
import { BaseModel, type ModelCallContext } from "../base-model.js";
import { ModelError } from "../errors.js";
import type { ModelConfig } from "../types.js";
import { classifySentiment } from "./nlp/sentiment-classifier.js";

export const NLP_CAPABILITIES = ["sentiment-analysis", "entity-extraction", "sentence-split", "keyword-extraction", "summarization"] as const;

/** Largest input text, in characters; longer inputs are refused (not truncated silently). */
export const NLP_MAX_CHARS = 200_000;

// wink's types are loose; the few calls used here are typed locally.
interface WinkItem {
  out(f?: unknown): unknown;
}
interface WinkCollection {
  out(f?: unknown, as?: unknown): unknown;
  each(cb: (item: WinkItem, index: number) => void): void;
  filter(cb: (item: WinkItem) => boolean): WinkCollection;
  length(): number;
}
interface WinkDoc {
  out(f?: unknown): unknown;
  sentences(): WinkCollection;
  entities(): WinkCollection;
  tokens(): WinkCollection;
}
interface Wink {
  readDoc(text: string): WinkDoc;
  its: Record<string, unknown>;
  as: Record<string, unknown>;
}

let wink: Wink | undefined;
function engine(): Wink {
  if (!wink) {
    const require = createRequire(import.meta.url);
    const winkNLP = require("wink-nlp") as (model: unknown) => Wink;
    wink = winkNLP(require("wink-eng-lite-web-model"));
  }
  return wink;
}

export interface NlpOptions {
  maxKeywords?: number;
  summarySentences?: number;
}

export class NlpModel extends BaseModel {
  readonly #options: NlpOptions;
  readonly #config: ModelConfig;

  constructor(config: ModelConfig) {
    super();
    this.#config = config;
    this.capabilities = config.capabilities.length ? [...config.capabilities] : [...NLP_CAPABILITIES];
    this.#options = (config.options ?? {}) as NlpOptions;
  }

  override async process(input: unknown, ctx: ModelCallContext): Promise<unknown> {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    const text = textOf(input);
    if (text === undefined) {
      throw new ModelError(`nlp model '${this.#config.name}' needs a text: give input { text: ... }, got ${JSON.stringify(input)?.slice(0, 80)}`, {
        kind: "fatal",
        provider: "nlp",
        model: this.#config.name,
      });
    }
    if (text.length > NLP_MAX_CHARS) {
      throw new ModelError(`nlp input is ${text.length} characters; the limit is ${NLP_MAX_CHARS}`, { kind: "fatal", provider: "nlp", model: this.#config.name });
    }
    const wanted = (ctx.capabilities ?? []).filter((c) => (NLP_CAPABILITIES as readonly string[]).includes(c));
    const tasks = new Set(wanted.length ? wanted : this.capabilities);
    return analyse(text, tasks, this.#options);
  }
}

function textOf(input: unknown): string | undefined {
  if (typeof input === "string") return input;
  if (input && typeof input === "object") {
    const o = input as { text?: unknown; prompt?: unknown };
    if (typeof o.text === "string") return o.text;
    if (typeof o.prompt === "string") return o.prompt;
  }
  return undefined;
}

/** Runs the requested analyses on one text. Exported for tests and benchmarks. */
export function analyse(text: string, tasks: ReadonlySet<string>, options: NlpOptions = {}): Record<string, unknown> {
  const nlp = engine();
  const { its } = nlp;
  const doc = nlp.readDoc(text);
  const out: Record<string, unknown> = {};

  if (tasks.has("sentiment-analysis")) {
    const { label, score } = classifySentiment(text, Number(doc.out(its.sentiment)) || 0);
    out.sentiment = { label, score };
    out.label = label;
    out.score = score;
  }
  if (tasks.has("entity-extraction")) {
    const detail = (doc.entities().out(its.detail) as { value: string; type: string }[]) ?? [];
    out.entities = detail.map((e) => ({ value: e.value, type: e.type }));
  }
  // Not an LLM: "tokens" are the words and punctuation the analyser read; nothing is generated.
  out.usage = { inputTokens: doc.tokens().length(), outputTokens: 0 };
  const sentences = (doc.sentences().out() as string[]) ?? [];
  if (tasks.has("sentence-split")) out.sentences = sentences;

  if (tasks.has("keyword-extraction") || tasks.has("summarization")) {
    const freq = keywordFrequencies(doc, nlp);
    if (tasks.has("keyword-extraction")) {
      const max = options.maxKeywords ?? 10;
      const top = [...freq.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, max);
      const best = top[0]?.[1] ?? 1;
      out.keywords = top.map(([value, n]) => ({ value, score: round(n / best) }));
    }
    if (tasks.has("summarization")) {
      const k = options.summarySentences ?? 2;
      out.summary = summarise(doc, nlp, freq, k);
    }
  }
  return out;
}

function keywordFrequencies(doc: WinkDoc, nlp: Wink): Map<string, number> {
  const { its } = nlp;
  const freq = new Map<string, number>();
  doc.tokens().each((t) => {
    const pos = t.out(its.pos);
    if ((pos !== "NOUN" && pos !== "PROPN") || t.out(its.stopWordFlag) === true) return;
    const lemma = String(t.out(its.lemma) ?? t.out(its.normal)).toLowerCase();
    if (lemma.length < 3 || !/[a-z]/.test(lemma)) return;
    freq.set(lemma, (freq.get(lemma) ?? 0) + 1);
  });
  return freq;
}

/** Extractive summary: sentences scored by the keyword frequencies they contain, kept in order. */
function summarise(doc: WinkDoc, nlp: Wink, freq: Map<string, number>, k: number): string {
  const { its } = nlp;
  const scored: { i: number; text: string; score: number }[] = [];
  doc.sentences().each((s, i) => {
    const sent = s as unknown as { out(f?: unknown): unknown; tokens(): WinkCollection };
    let score = 0;
    let words = 0;
    sent.tokens().each((t) => {
      if (t.out(its.type) !== "word") return;
      words++;
      score += freq.get(String(t.out(its.lemma) ?? "").toLowerCase()) ?? 0;
    });
    scored.push({ i, text: String(sent.out()), score: words ? score / Math.sqrt(words) : 0 });
  });
  return scored
    .sort((a, b) => b.score - a.score || a.i - b.i)
    .slice(0, k)
    .sort((a, b) => a.i - b.i)
    .map((s) => s.text)
    .join(" ");
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

export function createNlpModel(config: ModelConfig): BaseModel {
  return new NlpModel(config);
}
