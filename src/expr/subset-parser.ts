/**
 * A parser for the everyday subset of JSONata that builds, node for node, the AST
 * JSONata's own parser builds (after its processAST step): `$var.name.name` paths, string,
 * number and true/false/null literals, function calls `$f(a, b)`, array constructors
 * `[a, b]`, and the binary operators `or and = != < <= > >= & + - * / %` with JSONata's
 * binding powers (left-associative, as there).
 *
 * Why: JSONata's parser rebuilds its symbol table on every call and costs ~80 µs per
 * expression even warm; a 5,000-step pipeline has thousands of `when:` conditions and
 * `$join([...])` calls, and at load time only the AST is needed (for `$steps` references and
 * positions). The evaluator is still JSONata's, created from the text on first evaluation.
 *
 * Anything outside the subset, or any doubt about how JSONata would split the text into
 * tokens, returns undefined and the caller asks JSONata. A text this parser accepts is
 * always one JSONata accepts: test/expr/subset-parser.test.ts compares the two on generated
 * expressions, near misses included.
 */
import type { AstNode } from "./expression.js";

const BINDING_POWER: Readonly<Record<string, number>> = {
  or: 25,
  and: 30,
  "=": 40,
  "!=": 40,
  "<": 40,
  "<=": 40,
  ">": 40,
  ">=": 40,
  "&": 50,
  "+": 50,
  "-": 50,
  "*": 60,
  "/": 60,
  "%": 60,
};

/** Characters that end a JSONata name token: its whitespace and single-character operators. */
const NAME_STOP = new Set([..." \t\n\r\v", ...".[]{}(),@#;:?+-*/%|=<>^!~&"]);
const WORD_TOKENS = new Set(["and", "or", "in", "true", "false", "null"]);

class NotInSubset extends Error {}
const OUT = new NotInSubset();

/** The AST JSONata would build for `source`, when `source` is in the subset; else undefined. */
export function subsetAst(source: string): AstNode | undefined {
  try {
    const p = new SubsetParser(source);
    const ast = p.expression(0);
    p.skipSpace();
    if (p.pos !== source.length) return undefined;
    return ast;
  } catch (e) {
    // Not in the subset, or nested deeply enough to exhaust the stack: JSONata decides.
    if (e === OUT || e instanceof RangeError) return undefined;
    throw e;
  }
}

function isIdentStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}
function isIdentChar(c: number): boolean {
  return isIdentStart(c) || (c >= 48 && c <= 57);
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

class SubsetParser {
  pos = 0;
  constructor(readonly src: string) {}

  skipSpace(): void {
    const s = this.src;
    while (this.pos < s.length) {
      const c = s.charCodeAt(this.pos);
      if (c === 32 || c === 9 || c === 10 || c === 13 || c === 11) this.pos++;
      else break;
    }
  }

  /** An identifier at the current position that JSONata would also end here. */
  #ident(): string {
    const s = this.src;
    const start = this.pos;
    if (!isIdentStart(s.charCodeAt(start))) throw OUT;
    let i = start + 1;
    while (i < s.length && isIdentChar(s.charCodeAt(i))) i++;
    if (i < s.length && !NAME_STOP.has(s[i]!)) throw OUT;
    this.pos = i;
    return s.slice(start, i);
  }

  /**
   * Pratt's loop, as JSONata's `expression(rbp)`. Whatever follows an operand (a path
   * step after a call, a predicate, a call on a path, ...) is not a subset operator, so
   * #peekOperator turns it away.
   */
  expression(rbp: number): AstNode {
    let left = this.#operand();
    for (;;) {
      this.skipSpace();
      const op = this.#peekOperator();
      if (op === undefined) return left;
      const bp = BINDING_POWER[op]!;
      if (rbp >= bp) return left;
      this.pos += op.length;
      const position = this.pos;
      const rhs = this.expression(bp);
      left = { type: "binary", value: op, position, lhs: left, rhs };
    }
  }

  /** The binary operator at the current position, if one of the subset's; throws on other operator-like text. */
  #peekOperator(): string | undefined {
    const s = this.src;
    const c = s[this.pos];
    if (c === undefined || c === ")" || c === "]" || c === ",") return undefined;
    const two = s.slice(this.pos, this.pos + 2);
    if (two === "!=" || two === "<=" || two === ">=") return two;
    // Two-character operators JSONata reads first, and comments: not in the subset.
    if (two === "**" || two === "/*" || two === ".." || two === ":=" || two === "~>" || two === "?:" || two === "??") throw OUT;
    if (c === "=" || c === "<" || c === ">" || c === "&" || c === "+" || c === "-" || c === "*" || c === "/" || c === "%") return c;
    if (c === "a" || c === "o") {
      for (const word of ["and", "or"]) {
        if (s.startsWith(word, this.pos)) {
          const after = s[this.pos + word.length];
          // Followed by whitespace: then JSONata reads the same word token.
          if (after === " " || after === "\t" || after === "\n" || after === "\r" || after === "\v") return word;
        }
      }
    }
    throw OUT;
  }

  #operand(): AstNode {
    this.skipSpace();
    const s = this.src;
    const c = s.charCodeAt(this.pos);
    if (c === 36 /* $ */) {
      this.pos++;
      const name = this.#ident();
      const variable: AstNode = { value: name, type: "variable", position: this.pos };
      const next = s[this.pos];
      if (next === "(") {
        this.pos++;
        const position = this.pos;
        const args = this.#list(")");
        return { type: "function", name: undefined, value: "(", position, arguments: args, procedure: variable };
      }
      if (next !== ".") return variable;
      const steps: AstNode[] = [variable];
      while (s[this.pos] === ".") {
        this.pos++;
        const name = this.#ident();
        if (WORD_TOKENS.has(name)) throw OUT;
        steps.push({ value: name, type: "name", position: this.pos });
      }
      return { type: "path", steps };
    }
    if (c === 34 /* " */ || c === 39 /* ' */) {
      const end = s.indexOf(s[this.pos]!, this.pos + 1);
      if (end === -1) throw OUT;
      const value = s.slice(this.pos + 1, end);
      if (value.includes("\\")) throw OUT;
      this.pos = end + 1;
      return { value, type: "string", position: this.pos };
    }
    if (isDigit(c)) {
      const start = this.pos;
      let i = start + 1;
      if (c !== 48 /* 0 */) while (i < s.length && isDigit(s.charCodeAt(i))) i++;
      if (s[i] === "." && isDigit(s.charCodeAt(i + 1))) {
        i += 2;
        while (i < s.length && isDigit(s.charCodeAt(i))) i++;
      }
      this.pos = i;
      const after = s.charCodeAt(i);
      // An exponent, more digits after a 0, a following path step: JSONata's business.
      if (isIdentChar(after) || after === 46 /* . */ || after === 36) throw OUT;
      return { value: parseFloat(s.slice(start, i)), type: "number", position: i };
    }
    if (c === 91 /* [ */) {
      this.pos++;
      const position = this.pos;
      const expressions = this.#list("]");
      return { type: "unary", value: "[", position, expressions };
    }
    if (isIdentStart(c)) {
      const word = this.#ident();
      if (word === "true" || word === "false" || word === "null") {
        return { value: word === "null" ? null : word === "true", type: "value", position: this.pos };
      }
    }
    throw OUT;
  }

  /** Comma-separated expressions up to `close` (the opening bracket already read). */
  #list(close: string): AstNode[] {
    const out: AstNode[] = [];
    this.skipSpace();
    if (this.src[this.pos] === close) {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.expression(0));
      this.skipSpace();
      const c = this.src[this.pos];
      this.pos++;
      if (c === close) return out;
      if (c !== ",") throw OUT;
    }
  }
}
