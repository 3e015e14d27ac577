/**
 * The one edit distance of the project (did-you-mean suggestions, the nearest recording of
 * a replay miss): optimal string alignment, where an insertion, a deletion, a substitution
 * or a swap of two neighbours costs 1.
 */

/**
 * The distance between `a` and `b` when it is at most `max`, else some number above `max`:
 * rows are cut short once two rows in a row are entirely past `max` (the distance never
 * comes back down; a swap reaches back two rows). Three rolling rows, O(a*b) time.
 */
export function editDistance(a: string, b: string, max = Infinity): number {
  if (a === b) return 0;
  if (Math.abs(a.length - b.length) > max) return max + 1;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  const n = b.length;
  let prev2 = new Uint32Array(n + 1);
  let prev = new Uint32Array(n + 1);
  let row = new Uint32Array(n + 1);
  for (let j = 0; j <= n; j++) prev[j] = j;
  let prevLeast = 0;
  for (let i = 1; i <= a.length; i++) {
    row[0] = i;
    let least = i;
    const ca = a.charCodeAt(i - 1);
    for (let j = 1; j <= n; j++) {
      const cb = b.charCodeAt(j - 1);
      let v = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (ca === cb ? 0 : 1));
      if (i > 1 && j > 1 && ca === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === cb) v = Math.min(v, prev2[j - 2]! + 1);
      row[j] = v;
      if (v < least) least = v;
    }
    if (least > max && prevLeast > max) return max + 1;
    prevLeast = least;
    [prev2, prev, row] = [prev, row, prev2];
  }
  return prev[n]!;
}
