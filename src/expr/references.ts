/**
 * What an expression refers to ($steps.<id>, $env.<name>, every variable), found by walking
 * JSONata's AST, and the AST's node type and walk. The reference maps are shared where they
 * are empty or have one entry: a large pipeline has thousands of expressions that read one
 * step. Simple paths get the same references without an AST (simple-path.ts).
 */

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

/** A node of JSONata's AST (as `jsonata(source).ast()` returns it). */
export interface AstNode {
  type: string;
  value?: unknown;
  position?: number;
  steps?: AstNode[];
  [k: string]: unknown;
}

/** One empty map for every expression that refers to no step, no $env, ... */
export const NONE: ReadonlyMap<string, number> = new Map();

/**
 * One-entry reference maps, shared: thousands of expressions read `$steps` at offset 0, or
 * `$steps.x` at offset 7; a Map costs a few hundred bytes. Bounded like the parse cache.
 */
type Entries = readonly (readonly [string, number])[];
const NO_ENTRIES: Entries = [];
/** As many as the parse cache keeps texts (PARSED_CACHE_SIZE in expression.ts). */
const MAX_ONE_ENTRY_MAPS = 10_000;
const oneEntryMaps = new Map<string, { map: ReadonlyMap<string, number>; list: Entries }>();
export function one(key: string, offset: number): { map: ReadonlyMap<string, number>; list: Entries } {
  const k = `${offset}:${key}`;
  let m = oneEntryMaps.get(k);
  if (!m) {
    if (oneEntryMaps.size >= MAX_ONE_ENTRY_MAPS) oneEntryMaps.clear();
    const entry = [key, offset] as const;
    oneEntryMaps.set(k, (m = { map: new Map([entry]), list: [entry] }));
  }
  return m;
}

/** A reference map as kept: the shared empty or one-entry map when it is one of those. */
function keep(m: Map<string, number>): ReadonlyMap<string, number> {
  if (m.size === 0) return NONE;
  if (m.size === 1) {
    const [key, offset] = m.entries().next().value!;
    return one(key, offset).map;
  }
  return m;
}

/** The entries of a kept map as a list (shared like the map when it has one entry). */
export function listOf(m: ReadonlyMap<string, number>): Entries {
  if (m.size === 0) return NO_ENTRIES;
  if (m.size === 1) {
    const [key, offset] = m.entries().next().value!;
    return one(key, offset).list;
  }
  return [...m.entries()];
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

/** What an AST refers to (a simple path's references are read off its text instead: simple-path.ts). */
export function collectRefs(ast: unknown): ExprRefs {
  const steps = new Map<string, number>();
  const env = new Map<string, number>();
  const variables = new Map<string, number>();
  let bareSteps: number | undefined;
  // The variables among a path's steps (walked after their path): `$steps` heading a path is
  // judged with it (followed by a step id, or bare), and elsewhere in a path it is no read.
  const pathSteps = new Set<AstNode>();
  walkAst(ast, (node) => {
    if (node.type === "path" && Array.isArray(node.steps)) {
      for (const s of node.steps) if (s.type === "variable") pathSteps.add(s);
      const [first, second] = node.steps;
      if (first?.type === "variable" && (first.value === "steps" || first.value === "env")) {
        const target = first.value === "steps" ? steps : env;
        if (second?.type === "name" && typeof second.value === "string") {
          if (!target.has(second.value)) target.set(second.value, (second.position ?? 0) - second.value.length);
        } else if (first.value === "steps") {
          bareSteps ??= (first.position ?? 0) - 6;
        }
      }
    } else if (node.type === "variable" && typeof node.value === "string") {
      const name = node.value;
      if (!variables.has(name)) variables.set(name, Math.max(0, (node.position ?? 0) - name.length - 1));
      // A bare `$steps` that is not the head of a path (e.g. `$keys($steps)`).
      if (name === "steps" && !pathSteps.has(node)) bareSteps ??= (node.position ?? 0) - 6;
    }
  });
  const kept = keep(steps);
  return { steps: kept, stepList: listOf(kept), bareSteps, env: keep(env), variables: keep(variables) };
}
