#!/usr/bin/env node
// Measures the sentiment engines on labelled sentences the shipped weights never saw and prints
// a markdown table (the one in docs/providers.md): the share of sentences whose score has the
// right sign (a score of 0 counts as wrong).
//
//   npm run build && node scripts/eval-sentiment.mjs
//   npm i --no-save vader-sentiment sentiment && node scripts/eval-sentiment.mjs   # adds VADER, AFINN
//
// Engines: wink-nlp's lexicon score (the nlp provider before the classifier), VADER
// (`vader-sentiment`, compound) and AFINN (`sentiment`, comparative) when installed, and the
// classifier as shipped (src/models/providers/nlp/sentiment-weights.json). For the "unseen site"
// rows the classifier is retrained here without that UCI site (same recipe as the shipped one),
// so each of those rows measures a review site it never saw.
import { createRequire } from "node:module";
import { dataset, UCI_SITES } from "./sentiment-data.mjs";
import { balanced, featurize, train } from "./train-sentiment.mjs";

const require = createRequire(import.meta.url);
const { classifySentiment } = await import("../dist/models/providers/nlp/sentiment-classifier.js");
const { lexiconScore } = await import("../dist/models/providers/nlp/sentiment-lexicon.js");

function optional(name) {
  try {
    return require(name);
  } catch {
    return undefined;
  }
}
const vader = optional("vader-sentiment");
const Afinn = optional("sentiment");
const afinn = Afinn ? new Afinn() : undefined;

const right = (label, score) => (label === 1 ? score > 0 : score < 0);
const pct = (rows, f) => `${((100 * rows.filter((r) => right(r.label, f(r.text))).length) / rows.length).toFixed(1)}%`;

/** The classifier's score from a model object, for the retrained (unseen-site) models. */
function scoreWith(model, row) {
  let z = model.bias + (model.weights.__wink ?? 0) * row.num[0] + (model.weights.__vader ?? 0) * row.num[1];
  for (const f of row.feats) z += model.weights[f] ?? 0;
  return z;
}

const engines = [
  ["wink-nlp lexicon (before)", (t) => lexiconScore(t)],
  ...(vader ? [["VADER (vader-sentiment)", (t) => vader.SentimentIntensityAnalyzer.polarity_scores(t).compound]] : []),
  ...(afinn ? [["AFINN (sentiment)", (t) => afinn.analyze(t).comparative]] : []),
  ["nlp classifier (now)", (t) => classifySentiment(t).score],
];

const sets = [
  ["UCI held-out 20% (Amazon, IMDb, Yelp)", dataset("uci-test")],
  ["GoEmotions test (Reddit)", dataset("goemotions-test")],
  ["XED held-out 20% (film subtitles)", dataset("xed-test")],
  ["EmoBank, clear valence (news, fiction, letters, blogs): never trained on", dataset("emobank")],
];

const header = ["data set", "sentences", ...engines.map(([n]) => n)];
const lines = [`| ${header.join(" | ")} |`, `| ${header.map((_, i) => (i < 2 ? "---" : "---:")).join(" | ")} |`];
for (const [name, rows] of sets) lines.push(`| ${name} | ${rows.length} | ${engines.map(([, f]) => pct(rows, f)).join(" | ")} |`);

// Unseen site: retrain without it, then measure on all 1,000 of its sentences.
const others = [...balanced(featurize(dataset("goemotions-train"), 1)), ...balanced(featurize(dataset("xed-train"), 1)), ...featurize(dataset("goemotions-neutral-train"), 0.5)];
for (const site of UCI_SITES) {
  const sites = UCI_SITES.filter((s) => s !== site).flatMap((s) => featurize(dataset(`uci-site:${s}`), 3));
  const model = train([...sites, ...others]);
  const rows = dataset(`uci-site:${site}`);
  const feats = featurize(rows);
  const ours = `${((100 * feats.filter((r) => right(r.label, scoreWith(model, r))).length) / rows.length).toFixed(1)}%`;
  const cells = engines.map(([n, f]) => (n.startsWith("nlp classifier") ? `${ours} (retrained without it)` : pct(rows, f)));
  lines.push(`| UCI ${site.replace("_cells", "")}, a site never trained on | ${rows.length} | ${cells.join(" | ")} |`);
}
console.log(lines.join("\n"));
