/**
 * JSONata expressions: compiled once at load time, evaluated with a time and depth bound.
 * Simple paths such as `$steps.a.output.text` are evaluated by a direct property walk (the
 * same result JSONata gives for a path through plain objects), which keeps per-step
 * orchestration overhead in microseconds; anything else goes through JSONata. What an
 * expression refers to is in references.ts, simple paths read without a parser in
 * simple-path.ts, and locations made on demand in text-location.ts.
 */
import { createRequire } from "node:module";
import type jsonata from "jsonata";
import type { Location } from "../diagnostics/diagnostic.js";
import { McpError } from "../util/errors.js";
import { safeRegExp } from "../util/safe-regex.js";
import { collectRefs, type AstNode, type ExprRefs } from "./references.js";
import { simplePath, simplePathAst, simplePathRefs } from "./simple-path.js";
import { locateInText, locationOf, type TextPlace } from "./text-location.js";

const require = createRequire(import.meta.url);
let jsonataLib: typeof jsonata | undefined;
/**
 * JSONata, loaded on first need: loading a pipeline whose expressions are all simple paths
 * needs no JSONata until one that is not is parsed or evaluated.
 */
const loadJsonata = (): typeof jsonata => (jsonataLib ??= require("jsonata") as typeof jsonata);

/** Limits on evaluating one expression. docs/limits.md. */
export const EVAL_LIMITS = {
  /** Milliseconds one evaluation may take. */
  timeoutMs: 1000,
  /** Deepest recursion of the evaluator. */
  maxDepth: 500,
} as const;

export type Bindings = Record<string, unknown>;

/** An error raised while evaluating an expression at run time. */
export class ExpressionError extends McpError {
  constructor(
    message: string,
    readonly location: Location | undefined,
    readonly jsonataCode: string | undefined,
  ) {
    super("MCP210", message);
    this.name = "ExpressionError";
  }
}

/** A JSONata syntax error, with its offset inside the expression text. */
export interface ExprSyntaxError {
  message: string;
  offset: number;
  length: number;
}

/**
 * What is kept of one expression text: what it refers to and its AST. Shared by every use
 * of the same text, since identical expressions (`$input.text`, `$steps.a.output`) recur
 * across the steps of a pipeline. A simple path's AST and fast evaluator are made on first
 * need (a 5,000-step pipeline has thousands of them, and loading it only needs their
 * references). JSONata evaluators live on the CompiledExpression (see evaluate()).
 */
class ParsedExpression {
  #ast: unknown;
  #fast: ((b: Bindings) => unknown) | null | undefined;
  constructor(
    readonly source: string,
    readonly refs: ExprRefs,
    /** JSONata's AST when JSONata parsed the text; else made again on demand. */
    ast: unknown,
    fast: ((b: Bindings) => unknown) | null | undefined,
    /** `$head.names...` when the text is a simple path. */
    readonly head?: string,
    readonly names?: readonly string[],
  ) {
    this.#ast = ast;
    this.#fast = fast;
  }

  get ast(): unknown {
    return (this.#ast ??= simplePathAst(this.source) ?? loadJsonata()(this.source, JSONATA_OPTIONS as never).ast());
  }

  get fast(): ((b: Bindings) => unknown) | undefined {
    if (this.#fast === undefined) this.#fast = this.head !== undefined ? pathWalker(this.head, this.names!) : (fastPath(this.ast) ?? null);
    return this.#fast ?? undefined;
  }
}

/** Parsed expressions by source text; bounded (TextCache below). */
const PARSED_CACHE_SIZE = 10_000;

/**
 * Values by text, at most `size` of them, in two generations: when the newer is full, the
 * older is dropped whole and the newer takes its place; a hit in the older moves up. (Dropping
 * the oldest entry of one Map, as this cache once did, walks over every entry deleted before
 * it: microseconds per miss, and a large pipeline misses once per new expression text.)
 */
export class TextCache<V> {
  #young = new Map<string, V>();
  #old = new Map<string, V>();
  readonly #half: number;

  constructor(size: number) {
    this.#half = Math.max(1, size >> 1);
  }

  get(text: string): V | undefined {
    const v = this.#young.get(text);
    if (v !== undefined) return v;
    const older = this.#old.get(text);
    if (older !== undefined) this.set(text, older);
    return older;
  }

  set(text: string, value: V): void {
    if (this.#young.size >= this.#half) {
      this.#old = this.#young;
      this.#young = new Map();
    }
    this.#young.set(text, value);
  }

  /** How many texts are kept (some may be counted twice, once per generation). */
  get size(): number {
    return this.#young.size + this.#old.size;
  }
}

const parsedCache = new TextCache<ParsedExpression>(PARSED_CACHE_SIZE);

/** Regex literals run through safeRegExp: linear time, or stopped (docs/limits.md). */
const JSONATA_OPTIONS = { timeout: EVAL_LIMITS.timeoutMs, stack: EVAL_LIMITS.maxDepth, RegexEngine: safeRegExp };

/**
 * Parses an expression once per distinct text: a simple path to the AST JSONata would build,
 * anything else by JSONata's own parser (which throws on a syntax error). The references are
 * found by collectRefs in both cases; a simple path's AST is dropped once they are known
 * (thousands of them in a large pipeline) and made again on demand.
 */
function parse(source: string): ParsedExpression {
  const cached = parsedCache.get(source);
  if (cached) return cached;
  let parsed: ParsedExpression;
  const path = simplePath(source);
  if (path) {
    parsed = new ParsedExpression(source, simplePathRefs(path), undefined, undefined, path.head, path.names);
  } else {
    const ast = loadJsonata()(source, JSONATA_OPTIONS as never).ast();
    parsed = new ParsedExpression(source, collectRefs(ast), ast, undefined);
  }
  parsedCache.set(source, parsed);
  return parsed;
}

export class CompiledExpression {
  readonly #parsed: ParsedExpression;
  #evaluator: jsonata.Expression | undefined;
  /** Where the text is, its Location made on demand (text-location.ts). */
  readonly #where: TextPlace;
  readonly #at: number;

  private constructor(parsed: ParsedExpression, where: TextPlace, at: number) {
    this.#parsed = parsed;
    this.#where = where;
    this.#at = at;
  }

  /** The expression text, as written (without the `${{ }}` around it). */
  get source(): string {
    return this.#parsed.source;
  }

  /** What the expression refers to (shared by every use of the same text). */
  get refs(): ExprRefs {
    return this.#parsed.refs;
  }

  /** Where the expression is written: its text without surrounding spaces. */
  get location(): Location | undefined {
    return locationOf(this.#where, this.#at, this.#parsed.source);
  }

  /** Compiles an expression; returns a syntax error instead of throwing. */
  static compile(source: string, location?: Location): CompiledExpression | ExprSyntaxError {
    try {
      return new CompiledExpression(parse(source), location, 0);
    } catch (e) {
      return syntaxError(source, e);
    }
  }

  /**
   * compile() of a text that is a verbatim copy of file `file` from offset `at` (a plain or
   * quoted YAML scalar without escapes): its locations are made from the offset on demand.
   */
  static compileAt(source: string, file: string, at: number): CompiledExpression | ExprSyntaxError {
    try {
      return new CompiledExpression(parse(source), file, at);
    } catch (e) {
      return syntaxError(source, e);
    }
  }

  /**
   * The file location of `length` characters at `offset` in the text, when the expression
   * was compiled with compileAt; undefined otherwise.
   */
  locateInText(offset: number, length: number): Location | undefined {
    return locateInText(this.#where, this.#at, offset, length);
  }

  /** The JSONata AST (as `jsonata(source).ast()` returns it). */
  get ast(): unknown {
    return this.#parsed.ast;
  }

  /**
   * The value by the direct property walk when the expression is a simple path through
   * plain objects; NOT_FAST otherwise (then call evaluate()). Lets hot paths skip a promise.
   */
  tryFast(bindings: Bindings): unknown {
    const fast = this.#parsed.fast;
    return fast ? fast(bindings) : NOT_FAST;
  }

  /** Evaluates with the given bindings ($input, $steps, ...); `input` is the context value `$`. */
  async evaluate(bindings: Bindings, input?: unknown): Promise<unknown> {
    const fast = this.#parsed.fast;
    if (fast) {
      const v = fast(bindings);
      if (v !== BAIL) return v;
    }
    try {
      // The evaluator belongs to this compiled expression, not to the shared parse cache:
      // a used evaluator holds tens of KB, and the cache outlives pipeline versions (hot
      // reload), so keeping evaluators there grew memory with every edit.
      this.#evaluator ??= loadJsonata()(this.source, JSONATA_OPTIONS as never);
      return unwrapSequence(await this.#evaluator.evaluate(input ?? bindings.input ?? {}, bindings));
    } catch (e) {
      if (e instanceof McpError) throw e;
      const err = e as { message?: string; code?: string };
      throw new ExpressionError(`${describeJsonataError(err)} in \`${abbreviate(this.source)}\``, this.location, err.code);
    }
  }
}

/**
 * A JSONata syntax error placed in the expression text. JSONata's `position` is the offset
 * just after the offending token; at the end of the text the token is "(end)", and the
 * useful place to point at is the last thing written.
 */
function syntaxError(source: string, e: unknown): ExprSyntaxError {
  const err = e as { message?: string; position?: number; token?: unknown; code?: string };
  const message = describeJsonataError(err);
  const pos = typeof err.position === "number" ? err.position : 0;
  if (err.token === "(end)" || pos >= source.trimEnd().length) {
    const end = source.trimEnd().length;
    const start = Math.max(0, ...[" ", "\t", "\n"].map((w) => source.lastIndexOf(w, end - 1) + 1));
    return { message, offset: Math.min(start, Math.max(0, end - 1)), length: Math.max(1, end - start) };
  }
  const token = err.token === undefined || err.token === null ? "" : String(err.token);
  const offset = Math.max(0, Math.min(source.length - 1, pos - token.length));
  return { message, offset, length: Math.max(1, Math.min(token.length, source.length - offset)) };
}

export function isSyntaxError(x: CompiledExpression | ExprSyntaxError): x is ExprSyntaxError {
  return !(x instanceof CompiledExpression);
}

function abbreviate(s: string): string {
  const one = s.replace(/\s+/g, " ").trim();
  return one.length > 80 ? one.slice(0, 77) + "..." : one;
}

function describeJsonataError(err: { message?: string; code?: string }): string {
  const msg = (err.message ?? "invalid expression").replace(/\.$/, "");
  return err.code ? `${msg} (JSONata ${err.code})` : msg;
}

/** JSONata results may be internal "sequence" arrays; give callers plain arrays. */
function unwrapSequence(v: unknown): unknown {
  if (Array.isArray(v) && (v as { sequence?: boolean }).sequence) return Array.from(v);
  return v;
}

const BAIL = Symbol("bail");
/** Returned by tryFast() when the expression needs JSONata. */
export const NOT_FAST: unknown = BAIL;

/** `$var.a.b` with plain names only: walk the properties directly. */
function fastPath(ast: unknown): ((b: Bindings) => unknown) | undefined {
  const node = ast as AstNode;
  const plain = (n: AstNode) => !n.predicate && !n.stages && !n.group && !n.focus && !n.index && !n.tuple && !n.keepArray && !n.ancestor;
  let varName: string;
  let names: string[];
  if (node.type === "variable" && typeof node.value === "string" && node.value !== "" && plain(node)) {
    varName = node.value;
    names = [];
  } else if (node.type === "path" && Array.isArray(node.steps) && !node.keepSingletonArray) {
    const [first, ...rest] = node.steps;
    if (!first || first.type !== "variable" || typeof first.value !== "string" || first.value === "" || !plain(first)) return undefined;
    if (!rest.every((s) => s.type === "name" && typeof s.value === "string" && plain(s))) return undefined;
    varName = first.value;
    names = rest.map((s) => s.value as string);
  } else {
    return undefined;
  }
  return pathWalker(varName, names);
}

/** The direct property walk of `$varName.names...`; BAIL where JSONata must decide. */
function pathWalker(varName: string, names: readonly string[]): (b: Bindings) => unknown {
  return (b) => {
    let cur: unknown = b[varName];
    if (typeof cur === "function") return BAIL;
    for (const name of names) {
      if (cur === undefined || cur === null) return undefined;
      if (typeof cur !== "object" || Array.isArray(cur)) return BAIL;
      cur = Object.hasOwn(cur, name) ? (cur as Record<string, unknown>)[name] : undefined;
    }
    // JSONata flattens arrays reached through paths only when mapping over them; a value
    // reached through plain objects is returned as is, except that an empty array is
    // "no value" in a path of two or more steps.
    if (Array.isArray(cur)) return names.length > 0 ? BAIL : cur;
    return cur;
  };
}
