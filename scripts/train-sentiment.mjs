#!/usr/bin/env node
// Trains the embedded sentiment classifier of the `nlp` provider and writes its weights to
// src/models/providers/nlp/sentiment-weights.json (shipped in the package, copied to dist/ by tsc).
//
//   npm run build && node scripts/train-sentiment.mjs
//
// Model: logistic regression over negation-marked word unigrams and bigrams (the features of
// src/models/providers/nlp/sentiment-features.ts, imported from dist/ so that training and run
// time share one tokenizer), plus one feature for the lexicon score of wink-nlp, fitted with
// AdaGrad and L2, deterministic (seeded shuffle). Data: data/sentiment/README.md.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dataset } from "./sentiment-data.mjs";

const features = await import("../dist/models/providers/nlp/sentiment-features.js");
const lexicon = await import("../dist/models/providers/nlp/sentiment-lexicon.js");

/** Numeric features (multiplied by their value, not 0/1 indicators): wink-nlp's lexicon score, the VADER valence. */
export const WINK_FEATURE = "__wink";
export const VADER_FEATURE = "__vader";

/** VADER's human-rated word valences (-4..4), single words only; data/sentiment/vader/. */
export function vaderTable() {
  const table = new Map();
  const file = fileURLToPath(new URL("../data/sentiment/vader/vader_lexicon.txt", import.meta.url));
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const [word, valence] = line.split("\t");
    if (word && /^[a-z][a-z']*$/.test(word)) table.set(word, Number(valence));
  }
  return table;
}

/** A 32-bit seeded PRNG (mulberry32), so that every run trains the same weights. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let vader;
/** Rows with their features computed once: { feats, num: [wink, vader], label, weight }. */
export function featurize(rows, weight = 1) {
  vader ??= vaderTable();
  return rows.map((r) => {
    const marked = features.markNegation(features.tokenize(r.text));
    return {
      feats: features.sentimentFeatures(r.text),
      num: [lexicon.lexiconScore(r.text), features.lexiconValence(marked, (word) => vader.get(word))],
      label: r.label,
      weight,
    };
  });
}

/**
 * Fits the model. Returns { bias, weights: { feature: weight } } with small weights dropped.
 * `numeric` says which numeric features to use (by position in `num`).
 * @param {ReturnType<typeof featurize>} rows
 */
export function train(rows, { epochs = 4, rate = 0.05, l2 = 2e-5, minCount = 5, prune = 0.1, seed = 7, numeric = [WINK_FEATURE, VADER_FEATURE] } = {}) {
  const NUMERIC = [WINK_FEATURE, VADER_FEATURE];
  const use = NUMERIC.map((n) => numeric.includes(n));
  const counts = new Map();
  for (const r of rows) for (const f of r.feats) counts.set(f, (counts.get(f) ?? 0) + 1);
  const index = new Map();
  for (const [f, n] of counts) if (n >= minCount) index.set(f, index.size);
  const numAt = index.size;
  const w = new Float64Array(index.size + NUMERIC.length);
  const g2 = new Float64Array(index.size + NUMERIC.length).fill(1e-8);
  let bias = 0;
  let biasG2 = 1e-8;
  const encoded = rows.map((r) => ({ ids: r.feats.map((f) => index.get(f)).filter((i) => i !== undefined), num: r.num.map((v, k) => (use[k] ? v : 0)), label: r.label, weight: r.weight }));
  const order = encoded.map((_, i) => i);
  const rand = prng(seed);
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (const k of order) {
      const r = encoded[k];
      let z = bias;
      for (const i of r.ids) z += w[i];
      for (let n = 0; n < r.num.length; n++) z += w[numAt + n] * r.num[n];
      const p = 1 / (1 + Math.exp(-z));
      const g = (p - r.label) * r.weight;
      biasG2 += g * g;
      bias -= (rate * g) / Math.sqrt(biasG2);
      for (const i of r.ids) {
        const gi = g + l2 * w[i];
        g2[i] += gi * gi;
        w[i] -= (rate * gi) / Math.sqrt(g2[i]);
      }
      for (let n = 0; n < r.num.length; n++) {
        if (r.num[n] === 0) continue;
        const gn = g * r.num[n];
        g2[numAt + n] += gn * gn;
        w[numAt + n] -= (rate * gn) / Math.sqrt(g2[numAt + n]);
      }
    }
  }
  const round = (x) => Math.round(x * 1000) / 1000;
  const weights = {};
  for (const [f, i] of index) if (Math.abs(w[i]) >= prune) weights[f] = round(w[i]);
  NUMERIC.forEach((name, n) => {
    if (use[n]) weights[name] = round(w[numAt + n]);
  });
  return { bias: round(bias), weights };
}

/**
 * Weights a set's positive and negative rows so that both classes weigh the same (GoEmotions
 * is 64% positive, XED 66% negative): the bias then says nothing about a source's mood.
 */
export function balanced(rows) {
  const pos = rows.filter((r) => r.label === 1).length;
  const neg = rows.filter((r) => r.label === 0).length;
  return rows.map((r) => ({ ...r, weight: r.weight * (r.label === 1 ? (pos + neg) / (2 * pos) : (pos + neg) / (2 * neg)) }));
}

/** The training mix of the shipped weights: UCI reviews (80%, weighted up: they are few), GoEmotions (Reddit), XED (80%, film subtitles). */
export function trainingRows() {
  return [
    ...featurize(dataset("uci-train"), 3),
    ...balanced(featurize(dataset("goemotions-train"), 1)),
    ...balanced(featurize(dataset("xed-train"), 1)),
    // Neutral comments with the target 0.5 (logistic regression takes soft labels): they pull
    // plain statements and questions toward a score of 0 instead of either side.
    ...featurize(dataset("goemotions-neutral-train"), 0.5),
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  const model = train(trainingRows());
  const out = {
    about:
      "Sentiment weights of the nlp provider: logistic regression over negation-marked unigrams and bigrams plus two lexicon scores (wink-nlp's, VADER's). " +
      "Trained by scripts/train-sentiment.mjs on data/sentiment (UCI Sentiment Labelled Sentences, CC BY 4.0; GoEmotions, Apache-2.0; XED, CC BY 4.0); " +
      "`lexicon` is the VADER lexicon (MIT, C.J. Hutto; via vader-sentiment, Apache-2.0).",
    version: 1,
    bias: model.bias,
    weights: model.weights,
    lexicon: Object.fromEntries(vaderTable()),
  };
  const file = fileURLToPath(new URL("../src/models/providers/nlp/sentiment-weights.json", import.meta.url));
  writeFileSync(file, JSON.stringify(out) + "\n");
  const size = Buffer.byteLength(JSON.stringify(out));
  console.log(
    `${Object.keys(model.weights).length} weights (wink ${model.weights[WINK_FEATURE]}, vader ${model.weights[VADER_FEATURE]}), bias ${model.bias}, ${size} bytes, ${Date.now() - started} ms -> ${file}`,
  );
}
