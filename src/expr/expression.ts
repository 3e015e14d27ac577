/**
 * JSONata expressions: compiled once at load time, evaluated with a time and depth bound.
 * Simple paths such as `$steps.a.output.text` are evaluated by a direct property walk (the
 * same result JSONata gives for a path through plain objects), which keeps per-step
 * orchestration overhead in microseconds; anything else goes through JSONata.
 */
import jsonata from "jsonata";
import type { Location } from "../diagnostics/diagnostic.js";
import { McpError } from "../util/errors.js";

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
  steps: Map<string, number>;
  /** `$steps` used without a step id right after it. */
  bareSteps: number | undefined;
  /** `$env.NAME` reads, with offsets. */
  env: Map<string, number>;
  /** Every variable name read ($input, $item, $join ...). */
  variables: Set<string>;
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

export class CompiledExpression {
  readonly #expr: jsonata.Expression;
  readonly #fast: ((b: Bindings) => unknown) | undefined;
  readonly refs: ExprRefs;

  private constructor(
    readonly source: string,
    readonly location: Location | undefined,
    expr: jsonata.Expression,
  ) {
    this.#expr = expr;
    const ast = expr.ast();
    this.refs = collectRefs(ast);
    this.#fast = fastPath(ast);
  }

  /** Compiles an expression; returns a syntax error instead of throwing. */
  static compile(source: string, location?: Location): CompiledExpression | ExprSyntaxError {
    try {
      const expr = jsonata(source, { timeout: EVAL_LIMITS.timeoutMs, stack: EVAL_LIMITS.maxDepth } as never);
      return new CompiledExpression(source, location, expr);
    } catch (e) {
      const err = e as { message?: string; position?: number; token?: string; code?: string };
      const token = typeof err.token === "string" ? err.token : "";
      const pos = typeof err.position === "number" ? err.position : 0;
      const offset = Math.max(0, Math.min(source.length, pos - token.length));
      return { message: describeJsonataError(err), offset, length: Math.max(1, token.length) };
    }
  }

  /** Evaluates with the given bindings ($input, $steps, ...); `input` is the context value `$`. */
  async evaluate(bindings: Bindings, input?: unknown): Promise<unknown> {
    const fast = this.#fast;
    if (fast) {
      const v = fast(bindings);
      if (v !== BAIL) return v;
    }
    try {
      return unwrapSequence(await this.#expr.evaluate(input ?? bindings.input ?? {}, bindings));
    } catch (e) {
      if (e instanceof McpError) throw e;
      const err = e as { message?: string; code?: string };
      throw new ExpressionError(`${describeJsonataError(err)} in \`${abbreviate(this.source)}\``, this.location, err.code);
    }
  }
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

interface AstNode {
  type: string;
  value?: unknown;
  position?: number;
  steps?: AstNode[];
  [k: string]: unknown;
}

/** `$var.a.b` with plain names only: walk the properties directly. */
function fastPath(ast: unknown): ((b: Bindings) => unknown) | undefined {
  const node = ast as AstNode;
  const plain = (n: AstNode) =>
    !n.predicate && !n.stages && !n.group && !n.focus && !n.index && !n.tuple && !n.keepArray && !n.ancestor;
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

function collectRefs(ast: unknown): ExprRefs {
  const refs: ExprRefs = { steps: new Map(), bareSteps: undefined, env: new Map(), variables: new Set() };
  const seen = new Set<unknown>();
  const visit = (n: unknown): void => {
    if (!n || typeof n !== "object" || seen.has(n)) return;
    seen.add(n);
    if (Array.isArray(n)) {
      for (const x of n) visit(x);
      return;
    }
    const node = n as AstNode;
    if (node.type === "variable" && typeof node.value === "string") refs.variables.add(node.value);
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
            refs.variables.add(String(s.value));
            for (const kk of Object.keys(s)) if (kk !== "type" && kk !== "value") visit(s[kk]);
          } else visit(s);
        }
      } else if (k !== "type" && k !== "value" && k !== "position") visit(node[k]);
    }
  };
  visit(ast);
  return refs;
}
