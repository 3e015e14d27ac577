/**
 * What a step's expressions refer to: the steps it reads (its dependencies), the variables
 * it may read, and the $env names it may see. Each expression's references are found once,
 * by collectRefs (expr/references.ts); this checks them against the pipeline.
 */
import { warning, type Location } from "../diagnostics/diagnostic.js";
import type { YamlFile } from "../config/yaml-file.js";
import type { CompiledExpression } from "../expr/expression.js";
import { collectExpressions, type Template } from "../expr/template.js";
import { didYouMean } from "../util/suggest.js";
import { obj, type Compilation } from "./compilation.js";
import type { CompiledStep } from "./types.js";

const ITEM_VARIABLES = ["item", "index"] as const;

export /** The expressions of a step, in the order the compiler checks them. */
function expressionsOf(
  input: Template,
  output: Template | undefined,
  append: Template | undefined,
  when: CompiledExpression | undefined,
  forEach: CompiledExpression | undefined,
  prompt?: Template,
): CompiledExpression[] {
  const out: CompiledExpression[] = [];
  if (prompt) collectExpressions(prompt, out);
  collectExpressions(input, out);
  if (output) collectExpressions(output, out);
  if (append) collectExpressions(append, out);
  if (when) out.push(when);
  if (forEach) out.push(forEach);
  return out;
}

function stepExpressions(s: CompiledStep): CompiledExpression[] {
  return expressionsOf(s.input, s.output, s.appendToContext, s.when, s.forEach, s.approval?.prompt);
}

/** Where step `from` first reads $steps.`to` (found again when a cycle needs explaining). */
function firstRefLocation(c: Compilation, from: CompiledStep | undefined, to: string): Location | undefined {
  for (const e of from ? stepExpressions(from) : []) {
    const offset = e.refs.steps.get(to);
    if (offset !== undefined) return c.locateInExpr(e, offset, to.length);
  }
  return undefined;
}

export function checkRefs(
  c: Compilation,
  e: CompiledExpression,
  stepId: string | undefined,
  validIds: ReadonlySet<string>,
  allIds: ReadonlySet<string>,
  env: readonly string[],
  into: { add(id: string): unknown },
) {
  const list = e.refs.stepList;
  for (let k = 0; k < list.length; k++) {
    const [ref, offset] = list[k]!;
    if (allIds.has(ref)) {
      if (ref === stepId) c.report("MCP304", `step '${stepId}' reads its own output ($steps.${ref})`, c.locateInExpr(e, offset, ref.length));
      else into.add(ref);
    } else {
      c.report("MCP202", `unknown step '${ref}' in expression${didYouMean(ref, validIds)}`, c.locateInExpr(e, offset, ref.length));
    }
  }
  if (e.refs.bareSteps !== undefined) {
    c.report("MCP205", "'$steps' must be followed by a step id, as in $steps.<id>.output", c.locateInExpr(e, Math.max(0, e.refs.bareSteps), 6), {
      hint: "dependencies are inferred from $steps.<id>; list others in `needs`",
    });
  }
  if (e.refs.env.size === 0) return;
  for (const [name, offset] of e.refs.env) {
    if (!env.includes(name)) {
      c.report("MCP204", `$env.${name} is not allowed`, c.locateInExpr(e, offset, name.length), {
        hint: `add '${name}' to the env: list in mcp.yaml; expressions see only allow-listed variables`,
      });
    }
  }
}

function needsIndex(rawStep: unknown, to: string): number | undefined {
  const needs = obj(rawStep).needs;
  if (needs === to) return -1;
  if (Array.isArray(needs)) {
    const i = needs.indexOf(to);
    return i === -1 ? undefined : i;
  }
  return undefined;
}

/** $item and $index outside a forEach step: a warning, they are empty there. */
export function checkItemVariables(c: Compilation, exprs: readonly CompiledExpression[]): void {
  for (let k = 0; k < exprs.length; k++) {
    const e = exprs[k]!;
    for (let vi = 0; vi < ITEM_VARIABLES.length; vi++) {
      const v = ITEM_VARIABLES[vi]!;
      const at = e.refs.variables.get(v);
      if (at !== undefined) c.diagnostics.push(warning("MCP205", `$${v} is only set in a step with forEach; here it is empty`, c.locateInExpr(e, at, v.length + 1)));
    }
  }
}

/** One diagnostic per cycle, with one related entry per edge: the `needs` entry, else the $steps reference. */
export function reportCycles(c: Compilation, file: YamlFile, cycles: readonly string[][], stepsRaw: Record<string, unknown>, steps: ReadonlyMap<string, CompiledStep>): void {
  for (const cyc of cycles) {
    const related = cyc.slice(0, -1).map((from, i) => {
      const to = cyc[i + 1]!;
      const needsIdx = needsIndex(stepsRaw[from], to);
      const refLoc = firstRefLocation(c, steps.get(from), to);
      return {
        message: `'${from}' needs '${to}'${needsIdx === undefined ? ` (it reads $steps.${to})` : ""}`,
        location: needsIdx !== undefined ? file.locate(needsIdx === -1 ? ["steps", from, "needs"] : ["steps", from, "needs", needsIdx]) : (refLoc ?? file.locateKey(["steps", from])),
      };
    });
    c.report("MCP301", `dependency cycle: ${cyc.join(" -> ")}`, file.locateKey(["steps", cyc[0]!]), {
      hint: "each arrow reads 'needs'; remove one of these dependencies",
      related,
    });
  }
}
