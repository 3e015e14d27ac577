/**
 * Text to sentiment features: the one tokenizer shared by the classifier at run time and by
 * `scripts/train-sentiment.mjs` (which imports the compiled copy from dist/), so that training
 * and scoring can never disagree on what a feature is. Pure functions; no I/O, no state.
 *
 * Features of "The app isn't good, I want a refund!":
 *   tokens     the  app  is  not  NOT_good  ,  i  want  a  refund  !
 *   unigrams   every token but punctuation
 *   bigrams    the|app  app|is  is|not  not|NOT_good  NOT_good|,  ,|i  ...  a|refund  refund|!
 */

/** Words that flip the polarity of what follows them, up to the next clause boundary. */
const NEGATORS = new Set([
  "not",
  "no",
  "never",
  "nothing",
  "nobody",
  "none",
  "nowhere",
  "neither",
  "nor",
  "without",
  "cannot",
  "cant",
  "hardly",
  "barely",
  "scarcely",
  "dont",
  "doesnt",
  "didnt",
  "isnt",
  "wasnt",
  "arent",
  "werent",
  "wont",
  "wouldnt",
  "shouldnt",
  "couldnt",
  "havent",
  "hasnt",
  "hadnt",
  "aint",
]);

/** Tokens that end a negation's scope: clause punctuation and contrast words. */
const SCOPE_END = new Set([".", ",", ";", ":", "!", "?", "but", "however", "although", "though", "yet"]);

/** A punctuation token. */
const PUNCTUATION = /^[!?.,;:]$/;

/** How many words a negation reaches at most. */
const NEGATION_REACH = 4;

/**
 * Lower-cased tokens: words (letters, digits, inner apostrophes), `!`, `?` and clause
 * punctuation. "n't" endings become a separate "not" ("isn't" -> "is", "not"); "can't" and
 * "won't" become "can"/"will" + "not".
 */
export function tokenize(text: string): string[] {
  const norm = text
    .toLowerCase()
    .replace(/[\u2018\u2019\u02bc`\u00b4]/g, "'")
    .replace(/\bcan't\b|\bcannot\b/g, "can not")
    .replace(/\bwon't\b/g, "will not")
    .replace(/\bain't\b/g, "is not")
    .replace(/n't\b/g, " not");
  const out: string[] = [];
  for (const m of norm.matchAll(/[a-z0-9]+(?:'[a-z]+)?|[!?.,;:]/g)) {
    let tok = m[0];
    // "don't" without an apostrophe ("dont") is common in informal text; normalise it as well.
    if (NEGATORS.has(tok) && tok.endsWith("nt") && tok.length > 3) {
      out.push(tok.slice(0, -2));
      tok = "not";
    }
    out.push(tok.replace(/'s$/, ""));
  }
  return out;
}

/**
 * Tokens with negation marked: a word after a negator (up to NEGATION_REACH words, and not
 * across a clause boundary) gets the prefix `NOT_`. The negator itself is kept as a token.
 */
export function markNegation(tokens: readonly string[]): string[] {
  const out: string[] = [];
  let reach = 0;
  for (const tok of tokens) {
    if (SCOPE_END.has(tok)) {
      reach = 0;
      out.push(tok);
    } else if (NEGATORS.has(tok)) {
      reach = NEGATION_REACH;
      out.push(tok);
    } else if (reach > 0) {
      reach--;
      out.push(`NOT_${tok}`);
    } else {
      out.push(tok);
    }
  }
  return out;
}

/** The feature names of one text: negation-marked unigrams and bigrams, each once. */
export function sentimentFeatures(text: string): string[] {
  return featuresOf(markNegation(tokenize(text)));
}

/** The unigram and bigram features of already negation-marked tokens, each once. */
export function featuresOf(toks: readonly string[]): string[] {
  // Punctuation counts only inside bigrams ("refund|!"): alone, "!" is intensity, not polarity
  // (it is excited on Reddit and angry in a complaint).
  const feats = new Set<string>(toks.filter((t) => !PUNCTUATION.test(t)));
  for (let i = 1; i < toks.length; i++) feats.add(`${toks[i - 1]}|${toks[i]}`);
  return [...feats];
}

/** VADER's factor for a negated lexicon word (its N_SCALAR). */
const NEGATED_VALENCE = -0.74;

/**
 * The lexicon valence of negation-marked tokens: the sum of each word's `valence` (a lookup)
 * (a `NOT_` word counts with the sign flipped and damped), squashed into -1..1 as VADER does
 * (s / sqrt(s² + 15)). A word missing from the table is looked up without a plural or verb
 * ending ("crashes" -> "crash").
 */
export function lexiconValence(marked: readonly string[], valence: (word: string) => number | undefined): number {
  let sum = 0;
  for (const tok of marked) {
    const negated = tok.startsWith("NOT_");
    const word = negated ? tok.slice(4) : tok;
    const v = valence(word) ?? valence(word.replace(/(?:es|s|ed|ing)$/, "")) ?? valence(word.replace(/(?:s|d)$/, ""));
    if (v !== undefined) sum += negated ? v * NEGATED_VALENCE : v;
  }
  return sum / Math.sqrt(sum * sum + 15);
}
