/**
 * A cheap pre-scan of YAML text for nesting depth, run before the yaml package parses it:
 * the parser recurses once per nesting level, so thousands of `[` would overflow the stack.
 */

/**
 * The offset where a cheap, conservative estimate of the nesting depth first passes `max`,
 * or -1. It counts flow brackets outside quoted strings and comments, plus block
 * indentation levels and compact `- ` / `? ` indicators, skipping block scalar bodies.
 * It may overestimate a little (the real check is in toJs), never by `max` on real files.
 */
export function nestingBeyond(text: string, max: number): number {
  const indents: number[] = [];
  const n = text.length;
  let flow = 0; // open flow brackets
  let blockDepth = 0; // block nesting of the line where the current flow collection began
  let blockScalarParent = -1; // indent of the line that opened a block scalar, or -1
  let i = 0;
  while (i < n) {
    let indent = 0;
    while (i + indent < n && text.charCodeAt(i + indent) === 32) indent++;
    const first = text[i + indent];
    const blank = first === undefined || first === "\n" || first === "\r" || first === "#";
    if (blockScalarParent !== -1 && (blank || indent > blockScalarParent)) {
      const nl = text.indexOf("\n", i);
      if (nl === -1) return -1;
      i = nl + 1;
      continue;
    }
    blockScalarParent = -1;
    let j = i + indent;
    if (flow === 0 && !blank) {
      while (indents.length && indents[indents.length - 1]! >= indent) indents.pop();
      indents.push(indent);
      blockDepth = indents.length;
      // Compact nested sequences and complex keys on one line: `- - - x`, `? ? x`.
      while ((text[j] === "-" || text[j] === "?") && (text[j + 1] === " " || text[j + 1] === "\n")) {
        blockDepth++;
        j += 2;
        while (text[j] === " ") j++;
      }
      if (blockDepth > max) return j;
    }
    const contentStart = j;
    let prev = " ";
    let contentEnd = -1;
    for (; j < n; j++) {
      // Straight to the next character that matters (the others only set `prev`, which is
      // the character before, or " " at the start of the content).
      // (test, not exec: no match object per character found)
      INTERESTING.lastIndex = j;
      if (!INTERESTING.test(text)) {
        j = n;
        break;
      }
      j = INTERESTING.lastIndex - 1;
      if (j > contentStart) prev = text[j - 1]!;
      const c = text[j]!;
      if (c === "\n") break;
      if (c === "#" && (prev === " " || prev === "\t")) {
        contentEnd = j;
        const nl = text.indexOf("\n", j);
        j = nl === -1 ? n : nl;
        break;
      }
      const tokenStart = prev === " " || prev === "\t" || prev === "[" || prev === "{" || prev === "," || prev === ":";
      if ((c === '"' || c === "'") && tokenStart) {
        // A quoted scalar: skip to its end, across lines if need be (a search for the next
        // quote or backslash, not a look at every character: prompts are long).
        j = c === '"' ? doubleQuotedEnd(text, j + 1) : singleQuotedEnd(text, j + 1);
        prev = c;
        continue;
      }
      if (c === "[" || c === "{") {
        if (++flow + blockDepth > max) return j;
      } else if ((c === "]" || c === "}") && flow > 0) flow--;
      prev = c;
    }
    if (flow === 0 && mayEndWithBlockScalarHeader(text, i, contentEnd === -1 ? j : contentEnd) && BLOCK_SCALAR_HEADER.test(text.slice(i, contentEnd === -1 ? j : contentEnd))) {
      blockScalarParent = indent;
    }
    i = j + 1;
  }
  return -1;
}

const INTERESTING = /[\n#"'[\]{}]/g;
const DOUBLE_QUOTED_STOP = /["\\]/g;

/** The offset of the `"` that ends a double-quoted scalar whose text starts at `from` (a backslash escapes the next character); past the end if none. */
function doubleQuotedEnd(text: string, from: number): number {
  let at = from;
  for (;;) {
    DOUBLE_QUOTED_STOP.lastIndex = at;
    if (at >= text.length || !DOUBLE_QUOTED_STOP.test(text)) return Math.max(text.length, at);
    const k = DOUBLE_QUOTED_STOP.lastIndex - 1;
    if (text.charCodeAt(k) === 34) return k;
    at = k + 2;
  }
}

/** The offset of the `'` that ends a single-quoted scalar whose text starts at `from` (`''` is a quote inside); the end of the text if none. */
function singleQuotedEnd(text: string, from: number): number {
  let at = from;
  for (;;) {
    const k = text.indexOf("'", at);
    if (k === -1) return Math.max(text.length, at);
    if (text.charCodeAt(k + 1) !== 39) return k;
    at = k + 2;
  }
}
const BLOCK_SCALAR_HEADER = /(?:^|\s)[|>](?:[+-]?[1-9]?|[1-9][+-])\s*$/;

/**
 * False when text[from, to) cannot end with a block scalar header (BLOCK_SCALAR_HEADER's
 * last non-space character is one of | > + - 1-9): most lines, tested without a slice.
 */
function mayEndWithBlockScalarHeader(text: string, from: number, to: number): boolean {
  let k = to - 1;
  while (k >= from && text.charCodeAt(k) === 32) k--;
  if (k < from) return false;
  const c = text.charCodeAt(k);
  // Other whitespace (\t, \r, non-ASCII spaces): let the regex decide.
  if (c <= 32 || c >= 127) return true;
  return c === 124 || c === 62 || c === 43 || c === 45 || (c >= 49 && c <= 57);
}
