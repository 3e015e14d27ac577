/**
 * The sentiment model of the `nlp` provider: a logistic regression over negation-marked word
 * unigrams and bigrams (sentiment-features.ts) plus two lexicon scores as numeric features
 * (wink-nlp's own, and the VADER word valences shipped in the weights file), trained by `scripts/train-sentiment.mjs` on human-labelled English sentences
 * (data/sentiment/README.md: sources, licences, accuracy in docs/providers.md).
 *
 * Why a classifier and the lexicon together: the lexicon alone misses plain complaints whose
 * words are not emotional ("my order never arrived", "I want a refund") and scores them
 * neutral or positive; the classifier learnt those from data, while the lexicon still carries
 * the many rare sentiment words the training data never showed it.
 *
 * The weights (a JSON file next to this module, copied to dist/ by tsc) are read once, on the
 * first call, so importing this module costs nothing until a sentiment step runs.
 */
import { readFileSync } from "node:fs";
import { featuresOf, lexiconValence, markNegation, tokenize } from "./sentiment-features.js";
import { lexiconScore } from "./sentiment-lexicon.js";

/** The weights file's shape (written by scripts/train-sentiment.mjs). */
interface SentimentWeights {
  version: number;
  bias: number;
  /** Feature name -> weight; `__wink` and `__vader` are the weights of the two lexicon scores. */
  weights: Record<string, number>;
  /** Word -> valence (-4..4): the VADER lexicon. */
  lexicon: Record<string, number>;
}

/** Scores within this distance of 0 are labelled `neutral` (the sign is still the score's). */
export const NEUTRAL_BAND = 0.1;

/** One text's sentiment: `score` in -1..1, its sign the polarity; `label` from the score. */
export interface SentimentResult {
  label: "positive" | "negative" | "neutral";
  score: number;
}

interface Model {
  bias: number;
  /** Null-prototype objects straight from JSON.parse: no copy into a Map, no inherited keys. */
  weights: Record<string, number | undefined>;
  lexicon: Record<string, number | undefined>;
  wink: number;
  vader: number;
}

let model: Model | undefined;
let loads = 0;

function weights(): Model {
  if (!model) {
    const raw = JSON.parse(readFileSync(new URL("./sentiment-weights.json", import.meta.url), "utf8")) as SentimentWeights;
    if (raw.version !== 1 || typeof raw.bias !== "number" || typeof raw.weights !== "object" || typeof raw.lexicon !== "object") {
      throw new Error("Internal error: sentiment-weights.json has an unknown shape; run scripts/train-sentiment.mjs");
    }
    const w = Object.setPrototypeOf(raw.weights, null) as Record<string, number | undefined>;
    model = { bias: raw.bias, weights: w, lexicon: Object.setPrototypeOf(raw.lexicon, null) as Record<string, number | undefined>, wink: w.__wink ?? 0, vader: w.__vader ?? 0 };
    loads++;
  }
  return model;
}

/** How many times the weights file was read in this process (1 after any number of calls). */
export function sentimentWeightLoads(): number {
  return loads;
}

/**
 * The sentiment of `text`. `lexicon` is wink-nlp's sentiment score of the same text when the
 * caller already has it (the nlp provider does); without it, it is computed here.
 */
export function classifySentiment(text: string, lexicon?: number): SentimentResult {
  const marked = markNegation(tokenize(text));
  if (marked.length === 0) return { label: "neutral", score: 0 };
  const m = weights();
  let z = m.bias + m.wink * (lexicon ?? lexiconScore(text)) + m.vader * lexiconValence(marked, (word) => m.lexicon[word]);
  for (const f of featuresOf(marked)) z += m.weights[f] ?? 0;
  // tanh(z/2) = 2·sigmoid(z) - 1: the classifier's probability mapped onto -1..1.
  // Rounded to 3 decimals, never to 0 when z is not: the sign is the answer.
  const score = Math.round(Math.tanh(z / 2) * 1000) / 1000 || (z > 0 ? 0.001 : z < 0 ? -0.001 : 0);
  const label = score > NEUTRAL_BAND ? "positive" : score < -NEUTRAL_BAND ? "negative" : "neutral";
  return { label, score };
}
