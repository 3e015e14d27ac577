/**
 * JSONata expressions: compiled once at load time, evaluated with a time and depth bound.
 * Simple paths such as `$steps.a.output.text` are evaluated by a direct property walk (the
 * same result JSONata gives for a path through plain objects), which keeps per-step
 * orchestration overhead in microseconds; anything else goes through JSONata.
 */
import { createRequire } from "node:module";
import type jsonata from "jsonata";
import type { Location } from "../diagnostics/diagnostic.js";
import { McpError } from "../util/errors.js";
import { safeRegExp } from "../util/safe-regex.js";

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

/** What an expression refers to, found by walking its AST. */
export interface ExprRefs {
  /** Step ids read through `$steps.<id>`, with the offset of each id in the expression. */
  steps: ReadonlyMap<string, number>;
  /** The same as a list (iterated by the compiler for every use of the expression, without an iterator). */
  stepList: readonly (readonly [string, number])[];
  /** `$steps` used without a step id right after it. */
  bareSteps: number | undefined;
  /** `$env.NAME` reads, with offsets. */
  env: ReadonlyMap<string, number>;
  /** Every variable read ($input, $item, $join ...), with the offset of its first `$`. */
  variables: ReadonlyMap<string, number>;
}

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
 * `$var.name.name`, the commonest expression by far. Its AST is built here, node for node
 * what JSONata builds (test/expr/expression.test.ts checks that), because JSONata's parser
 * rebuilds its whole symbol table on every call: parsing thousands of such paths was most
 * of the time it took to load a large pipeline. Literal names (true, false, null) are
 * left to JSONata, which rejects them as path steps.
 */
const SIMPLE_PATH = /^(\s*)\$([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*$/;
const LITERAL_NAMES = new Set(["true", "false", "null"]);

/** The parts of a simple path: leading whitespace, the variable, the names after it. */
function simplePath(source: string): { lead: number; head: string; names: string[] } | undefined {
  const m = SIMPLE_PATH.exec(source);
  if (!m) return undefined;
  const names = m[3] ? m[3].slice(1).split(".") : [];
  if (names.some((n) => LITERAL_NAMES.has(n))) return undefined;
  return { lead: m[1]!.length, head: m[2]!, names };
}

export function simplePathAst(source: string): AstNode | undefined {
  const p = simplePath(source);
  if (!p) return undefined;
  let pos = p.lead + 1 + p.head.length;
  const head: AstNode = { value: p.head, type: "variable", position: pos };
  if (p.names.length === 0) return head;
  const steps: AstNode[] = [head];
  for (const name of p.names) {
    pos += 1 + name.length;
    steps.push({ value: name, type: "name", position: pos });
  }
  return { type: "path", steps };
}

/**
 * What collectRefs finds in a simple path's AST, read off the path itself: the head
 * variable at the `$`, and `$steps.<id>` / `$env.<name>` at the name after the head
 * (a bare `$steps`: at its `$`).
 */
function simplePathRefs({ lead, head, names }: { lead: number; head: string; names: readonly string[] }): ExprRefs {
  const variables = one(head, lead).map;
  let steps = NONE;
  let env = NONE;
  let bareSteps: number | undefined;
  if (head === "steps") {
    if (names.length > 0) steps = one(names[0]!, lead + 7).map;
    else bareSteps = lead;
  } else if (head === "env" && names.length > 0) env = one(names[0]!, lead + 5).map;
  return { steps, stepList: listOf(steps), bareSteps, env, variables };
}

/** One empty map for every expression that refers to no step, no $env, ... */
const NONE: ReadonlyMap<string, number> = new Map();

/**
 * One-entry reference maps, shared: thousands of expressions read `$steps` at offset 0, or
 * `$steps.x` at offset 7; a Map costs a few hundred bytes. Bounded like the parse cache.
 */
type Entries = readonly (readonly [string, number])[];
const NO_ENTRIES: Entries = [];
const oneEntryMaps = new Map<string, { map: ReadonlyMap<string, number>; list: Entries }>();
function one(key: string, offset: number): { map: ReadonlyMap<string, number>; list: Entries } {
  const k = `${offset}:${key}`;
  let m = oneEntryMaps.get(k);
  if (!m) {
    if (oneEntryMaps.size >= PARSED_CACHE_SIZE) oneEntryMaps.clear();
    const entry = [key, offset] as const;
    oneEntryMaps.set(k, (m = { map: new Map([entry]), list: [entry] }));
  }
  return m;
}

/** A reference map as kept: the shared empty or one-entry map when it is one of those. */
function kept(m: Map<string, number>): ReadonlyMap<string, number> {
  if (m.size === 0) return NONE;
  if (m.size === 1) {
    const [key, offset] = m.entries().next().value!;
    return one(key, offset).map;
  }
  return m;
}

/** The entries of a kept map as a list (shared like the map when it has one entry). */
function listOf(m: ReadonlyMap<string, number>): Entries {
  if (m.size === 0) return NO_ENTRIES;
  if (m.size === 1) {
    const [key, offset] = m.entries().next().value!;
    return one(key, offset).list;
  }
  return [...m.entries()];
}

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
  /**
   * Where the text is: the Location it was compiled with, or (compileAt) the file whose
   * text at #at is a verbatim copy of it. A pipeline holds thousands of expressions whose
   * locations are only needed for a diagnostic: those are made then, from two fields.
   */
  readonly #where: Location | string | undefined;
  readonly #at: number;

  private constructor(parsed: ParsedExpression, where: Location | string | undefined, at: number) {
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
    const where = this.#where;
    if (typeof where !== "string") return where;
    const source = this.#parsed.source;
    const lead = source.length - source.trimStart().length;
    return { file: where, offset: this.#at + lead, length: source.trim().length };
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
    return typeof this.#where === "string" ? { file: this.#where, offset: this.#at + offset, length } : undefined;
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

export interface AstNode {
  type: string;
  value?: unknown;
  position?: number;
  steps?: AstNode[];
  [k: string]: unknown;
}

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

/** Calls `fn` once on every node of a JSONata AST (a subtree shared by two parents once). */
export function walkAst(ast: unknown, fn: (node: AstNode) => void): void {
  const seen = new Set<unknown>();
  const visit = (n: unknown): void => {
    if (!n || typeof n !== "object" || seen.has(n)) return;
    seen.add(n);
    if (Array.isArray(n)) {
      for (const x of n) visit(x);
      return;
    }
    const node = n as AstNode;
    fn(node);
    for (const k of Object.keys(node)) if (k !== "type" && k !== "value" && k !== "position") visit(node[k]);
  };
  visit(ast);
}

/** What an AST refers to (exported for tests: a simple path's references are found without its AST). */
export function collectRefs(ast: unknown): ExprRefs {
  const refs = { steps: new Map<string, number>(), bareSteps: undefined as number | undefined, env: new Map<string, number>(), variables: new Map<string, number>() };
  const variable = (n: AstNode) => {
    const name = String(n.value);
    if (!refs.variables.has(name)) refs.variables.set(name, Math.max(0, (n.position ?? 0) - name.length - 1));
  };
  const seen = new Set<unknown>();
  const visit = (n: unknown): void => {
    if (!n || typeof n !== "object" || seen.has(n)) return;
    seen.add(n);
    if (Array.isArray(n)) {
      for (const x of n) visit(x);
      return;
    }
    const node = n as AstNode;
    if (node.type === "variable" && typeof node.value === "string") variable(node);
    if (node.type === "path" && Array.isArray(node.steps)) {
      const [first, second] = node.steps;
      if (first?.type === "variable" && (first.value === "steps" || first.value === "env")) {
        const target = first.value === "steps" ? refs.steps : refs.env;
        if (second?.type === "name" && typeof second.value === "string") {
          if (!target.has(second.value)) target.set(second.value, (second.position ?? 0) - second.value.length);
        } else if (first.value === "steps") {
          refs.bareSteps ??= (first.position ?? 0) - 6;
        }
      }
    } else if (node.type === "variable" && node.value === "steps") {
      // A bare `$steps` that is not the head of a path (e.g. `$keys($steps)`).
      refs.bareSteps ??= (node.position ?? 0) - 6;
    }
    for (const k of Object.keys(node)) {
      if (k === "steps" && node.type === "path") {
        for (const s of node.steps ?? []) {
          // The head variable is counted above; visit its children, not it as a bare use.
          if (s.type === "variable") {
            variable(s);
            for (const kk of Object.keys(s)) if (kk !== "type" && kk !== "value") visit(s[kk]);
          } else visit(s);
        }
      } else if (k !== "type" && k !== "value" && k !== "position") visit(node[k]);
    }
  };
  visit(ast);
  const steps = kept(refs.steps);
  return { steps, stepList: listOf(steps), bareSteps: refs.bareSteps, env: kept(refs.env), variables: kept(refs.variables) };
}
