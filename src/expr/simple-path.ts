/**
 * Simple paths (`$steps.x.output.text`, `$input.f`) read off the text, without JSONata's
 * parser: their parts, the AST JSONata would build for them, and their references.
 */
import { listOf, NONE, one, type AstNode, type ExprRefs } from "./references.js";

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
export function simplePath(source: string): { lead: number; head: string; names: string[] } | undefined {
  const m = SIMPLE_PATH.exec(source);
  if (!m) return undefined;
  const names = m[3] ? m[3].slice(1).split(".") : [];
  if (names.some((n) => LITERAL_NAMES.has(n))) return undefined;
  return { lead: m[1]!.length, head: m[2]!, names };
}

/** The AST JSONata builds for `source` when it is a simple path; undefined when it is not one. */
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
export function simplePathRefs({ lead, head, names }: { lead: number; head: string; names: readonly string[] }): ExprRefs {
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
