/** How alike two strings are: what "the nearest recorded call" of a replay miss means. */
import { editDistance } from "../util/edit-distance.js";

export { editDistance };

/** Characters compared at most; longer strings are compared on their first part. */
export const SIMILARITY_LIMIT = 1000;

/** 1 for equal strings, 0 for nothing in common: 1 - distance / longer length (on the first SIMILARITY_LIMIT characters). */
export function similarity(a: string, b: string): number {
  const x = a.slice(0, SIMILARITY_LIMIT);
  const y = b.slice(0, SIMILARITY_LIMIT);
  const n = Math.max(x.length, y.length);
  return n === 0 ? 1 : 1 - editDistance(x, y) / n;
}

/** Index of the first character where the strings differ (-1 when equal). */
export function firstDifference(a: string, b: string): number {
  if (a === b) return -1;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

/** Up to `width` characters of `s` around position `at`, with … where cut. */
export function excerpt(s: string, at: number, width = 60): string {
  const start = Math.max(0, at - Math.floor(width / 3));
  const end = Math.min(s.length, start + width);
  return `${start > 0 ? "…" : ""}${s.slice(start, end)}${end < s.length ? "…" : ""}`;
}
