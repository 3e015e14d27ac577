/**
 * nestingBeyond (the depth estimate made before the yaml package sees a text) jumps from one
 * character that matters to the next; it must give what the character-by-character version
 * below (its earlier form) gives, on any text.
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nestingBeyond } from "../../src/config/nesting.js";

/** FUZZ_RUNS=20 npx vitest run test/config/nesting.test.ts searches 20 times as long. */
const scale = Number(process.env.FUZZ_RUNS ?? 1);

/** The earlier, character-by-character nestingBeyond. */
function reference(text: string, max: number): number {
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
    let prev = " ";
    let contentEnd = -1;
    for (; j < n; j++) {
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
        // A quoted scalar: skip to its end, across lines if need be.
        let k = j + 1;
        for (; k < n; k++) {
          const q = text[k];
          if (c === '"' && q === "\\") k++;
          else if (q === c) {
            if (c === "'" && text[k + 1] === "'") k++;
            else break;
          }
        }
        j = k;
        prev = c;
        continue;
      }
      if (c === "[" || c === "{") {
        if (++flow + blockDepth > max) return j;
      } else if ((c === "]" || c === "}") && flow > 0) flow--;
      prev = c;
    }
    if (flow === 0 && /(?:^|\s)[|>](?:[+-]?[1-9]?|[1-9][+-])\s*$/.test(text.slice(i, contentEnd === -1 ? j : contentEnd))) {
      blockScalarParent = indent;
    }
    i = j + 1;
  }
  return -1;
}

describe("nestingBeyond", () => {
  const piece = fc.constantFrom(
    "a",
    "b: ",
    "- ",
    "? ",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    "#",
    " #",
    '"',
    "'",
    "''",
    '\\"',
    "\\",
    "\n",
    "\n",
    "  ",
    "    ",
    "\t",
    "\r",
    "|",
    ">",
    "|-",
    ">+2",
    "|1",
    " |",
    " >-",
    "\u00a0",
    "${{ ",
    " }}",
    "x",
  );
  it("gives what the character-by-character version gives", () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 60 }), fc.integer({ min: 0, max: 12 }), (pieces, max) => {
        const text = pieces.join("");
        expect(nestingBeyond(text, max)).toBe(reference(text, max));
      }),
      { numRuns: Math.round(5000 * scale) },
    );
    // Quoted scalars with escapes and quotes inside, then brackets: where the scalar ends decides the depth.
    const quoted = ['a: "x\\"{{" [[', "a: 'x''{{' [[", 'a: "\\\\" [[', 'a: "x\\', "a: 'x''", 'a: [ "\\"[" , "]" ]', "a: [ 'it''s [' , [ ] ]", 'k: "' + "long ".repeat(400) + '\\"" [['];
    for (const text of quoted) for (const max of [0, 1, 2, 3]) expect(nestingBeyond(text, max)).toBe(reference(text, max));
    for (const f of ["pipelines/ticket-triage.yaml", "pipelines/conversation.yaml", "test/fixtures/pipelines/diamond.yaml"]) {
      const text = readFileSync(f, "utf8");
      for (const max of [0, 1, 2, 3, 5, 8, 136]) expect(nestingBeyond(text, max)).toBe(reference(text, max));
    }
  });
});
