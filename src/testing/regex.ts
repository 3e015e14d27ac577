/**
 * Regular expressions written in test files (`matches:`), compiled under the runner's
 * regex safety: a length limit, and no construct whose matching time can grow
 * exponentially with the input (nested quantifiers such as `(a+)+`, back-references).
 * Returns a reason instead of throwing, for a diagnostic (MCP604).
 */

/** Longest pattern accepted. */
export const MAX_PATTERN_LENGTH = 1000;
/** Longest text a pattern is matched against; longer text is cut (and the result says so). */
export const MAX_SUBJECT_LENGTH = 1_000_000;

/** `/pattern/flags`, or a bare pattern. */
export function splitPattern(written: string): { source: string; flags: string } {
  const m = /^\/(.*)\/([a-z]*)$/s.exec(written);
  return m ? { source: m[1]!, flags: m[2]! } : { source: written, flags: "" };
}

/** The compiled expression, or why it is refused. */
export function compileSafeRegex(written: string): { regex: RegExp } | { problem: string } {
  if (written.length > MAX_PATTERN_LENGTH) return { problem: `the pattern is ${written.length} characters; the limit is ${MAX_PATTERN_LENGTH}` };
  const { source, flags } = splitPattern(written);
  if (/[^dgimsuvy]/.test(flags)) return { problem: `unknown flag in '${flags}' (use d, i, m, s, u, v, y)` };
  const unsafe = unsafeConstruct(source);
  if (unsafe) return { problem: unsafe };
  try {
    return { regex: new RegExp(source, flags.replace("g", "").replace("y", "")) };
  } catch (e) {
    return { problem: (e as Error).message.replace(/^Invalid regular expression: /, "") };
  }
}

/**
 * Finds a construct with exponential worst cases: a back-reference, or a quantified group
 * that itself holds a quantifier (`(a+)+`, `(a|b*)*`, `(?:x{2,})+`). Why this test: those
 * are the shapes of catastrophic backtracking; a pattern without them backtracks at most
 * polynomially, and the subject length is bounded.
 */
function unsafeConstruct(source: string): string | undefined {
  if (/\\[1-9]|\\k</.test(source)) return "back-references can take exponential time; rewrite without them";
  // Walk the groups: for each group, whether it contains a quantifier, then whether the
  // group itself is quantified.
  const stack: boolean[] = [];
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === "\\") {
      i++;
      continue;
    }
    if (inClass) {
      if (c === "]") inClass = false;
      continue;
    }
    if (c === "[") inClass = true;
    else if (c === "(") stack.push(false);
    else if (c === ")") {
      const inner = stack.pop() ?? false;
      const next = source[i + 1];
      const quantified = next === "*" || next === "+" || next === "{";
      if (inner && quantified) return `nested quantifiers ('${source.slice(0, i + 2)}...') can take exponential time; rewrite without a quantified group that holds a quantifier`;
      if (inner && stack.length) stack[stack.length - 1] = true;
      if (quantified && stack.length) stack[stack.length - 1] = true;
    } else if ((c === "*" || c === "+" || c === "{") && stack.length) stack[stack.length - 1] = true;
  }
  return undefined;
}

/** Tests `text` against a safe regex (the subject cut to MAX_SUBJECT_LENGTH). */
export function safeTest(regex: RegExp, text: string): boolean {
  return regex.test(text.length > MAX_SUBJECT_LENGTH ? text.slice(0, MAX_SUBJECT_LENGTH) : text);
}
