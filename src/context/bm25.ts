/**
 * BM25 (Okapi) relevance of short documents to a query: how the Context Manager picks the
 * older turns worth showing besides the recent ones. Small on purpose: conversations have
 * tens or hundreds of turns, so the index is built per query in memory.
 */

/** Common English words that carry no topic. */
const STOP_WORDS = new Set(
  "a an and are as at be but by do does did for from has have had he her his i if in into is it its me my no not of on or our she so that the their them then there these they this to was we were what when where which who why will with you your".split(
    " ",
  ),
);

/** Lower-cased words and numbers, stop words removed, a plural `s` stripped. */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  for (const m of text.toLowerCase().matchAll(/[\p{L}\p{N}]+/gu)) {
    let w = m[0];
    if (STOP_WORDS.has(w)) continue;
    if (w.length > 3 && w.endsWith("s") && !w.endsWith("ss")) w = w.slice(0, -1);
    out.push(w);
  }
  return out;
}

export interface Bm25Options {
  /** Term frequency saturation. @default 1.2 */
  k1?: number;
  /** Length normalisation. @default 0.75 */
  b?: number;
}

/** BM25 score of each document for the query, in document order (0 when nothing matches). */
export function bm25Scores(documents: readonly string[], query: string, options: Bm25Options = {}): number[] {
  const k1 = options.k1 ?? 1.2;
  const b = options.b ?? 0.75;
  const docs = documents.map(tokenize);
  const terms = [...new Set(tokenize(query))];
  if (docs.length === 0 || terms.length === 0) return docs.map(() => 0);
  const avgLen = docs.reduce((s, d) => s + d.length, 0) / docs.length || 1;
  const df = new Map<string, number>();
  for (const d of docs) for (const t of new Set(d)) df.set(t, (df.get(t) ?? 0) + 1);
  return docs.map((d) => {
    const tf = new Map<string, number>();
    for (const t of d) tf.set(t, (tf.get(t) ?? 0) + 1);
    let score = 0;
    for (const t of terms) {
      const f = tf.get(t);
      if (!f) continue;
      const n = df.get(t) ?? 0;
      // The "+1" form of IDF stays positive for terms in most documents.
      const idf = Math.log(1 + (docs.length - n + 0.5) / (n + 0.5));
      score += (idf * f * (k1 + 1)) / (f + k1 * (1 - b + (b * d.length) / avgLen));
    }
    return score;
  });
}

/** Indexes of the top `k` documents by score (only those scoring above 0), best first. */
export function topK(scores: readonly number[], k: number): number[] {
  return scores
    .map((s, i) => ({ s, i }))
    .filter((x) => x.s > 0)
    .sort((a, b) => b.s - a.s || b.i - a.i)
    .slice(0, k)
    .map((x) => x.i);
}
