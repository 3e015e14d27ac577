/**
 * The lexicon half of the sentiment model: wink-nlp's own sentiment score of a text (its
 * English lexicon with negation and emphasis rules), a number in -1..1. The `nlp` provider
 * already reads each text with wink and passes that score to the classifier; this function
 * is for callers without a wink document (the training and evaluation scripts, tests).
 */
import { createRequire } from "node:module";

interface WinkLite {
  readDoc(text: string): { out(f?: unknown): unknown };
  its: Record<string, unknown>;
}

let wink: WinkLite | undefined;

/** wink-nlp's sentiment score of `text`, in -1..1 (0 when no lexicon word occurs). */
export function lexiconScore(text: string): number {
  if (!wink) {
    const require = createRequire(import.meta.url);
    const winkNLP = require("wink-nlp") as (model: unknown) => WinkLite;
    wink = winkNLP(require("wink-eng-lite-web-model"));
  }
  return Number(wink.readDoc(text).out(wink.its.sentiment)) || 0;
}
