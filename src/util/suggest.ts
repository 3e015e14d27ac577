/** "Did you mean" suggestions by edit distance. */
import { editDistance } from "./edit-distance.js";

export { editDistance };

/** The closest candidate within a distance proportional to the word's length, if any. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const lower = word.toLowerCase();
  // Only a candidate within the limit can be the answer, and only one closer than the best
  // so far can replace it: distances past both need not be computed exactly (thousands of
  // unknown step ids, each against thousands of steps, made this quadratic and slow).
  const limit = Math.max(1, Math.floor(word.length / 3));
  for (const c of candidates) {
    const bound = Math.min(limit, bestD - 1);
    const d = editDistance(lower, c.toLowerCase(), bound);
    if (d <= bound && d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= limit ? best : undefined;
}

export function didYouMean(word: string, candidates: Iterable<string>): string {
  const c = closest(word, candidates);
  return c ? ` (did you mean '${c}'?)` : "";
}
