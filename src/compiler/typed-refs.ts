/**
 * Typed references: every `$steps.<id>.output.<path>` is checked against the output schema of
 * step <id> when one is known: the step's own `outputSchema`, an approval step's answer
 * `schema`, else (for a step without `output:` mapping) its model's `outputSchema` or the one
 * its built-in provider declares (models/output-schemas.ts). A field that cannot be there is a
 * warning with "did you mean" (MCP207); a `when:` that compares a field with a literal of
 * another type is an error (MCP208), since it can never be true (or, for <, fails at run time).
 *
 * Only plain field names are followed (`output.a.b`, through arrays as JSONata maps over
 * them, and through filters like `[0]`); where a schema says nothing definite (`$ref`, no
 * `properties`, open `additionalProperties`, a mix in anyOf) checking stops quietly.
 */
import { warning } from "../diagnostics/diagnostic.js";
import type { CompiledExpression } from "../expr/expression.js";
import { walkAst, type AstNode } from "../expr/references.js";
import { collectExpressions } from "../expr/template.js";
import { builtinOutputSchema } from "../models/output-schemas.js";
import type { ModelConfig } from "../models/types.js";
import { closest } from "../util/suggest.js";
import type { Compilation } from "./compilation.js";
import type { CompiledStep } from "./types.js";
import type { Template } from "../expr/template.js";

type Schema = Record<string, unknown>;

/** Where a step's output schema comes from, for messages. */
interface Typed {
  schema: Schema;
  from: string;
}

/** What following one field name through a schema gives. */
type Step = { kind: "ok"; schema: Schema } | { kind: "unknown" } | { kind: "missing"; fields: string[]; scalar?: string };

const COMPARISONS = new Set(["=", "!=", "<", "<=", ">", ">="]);

/** The output schema of each step, when known. */
export function stepOutputSchemas(steps: ReadonlyMap<string, CompiledStep>, models: ReadonlyMap<string, ModelConfig>): Map<string, Typed> {
  const out = new Map<string, Typed>();
  for (const [id, s] of steps) {
    const t = outputSchemaOf(s, models);
    if (t) out.set(id, t);
  }
  return out;
}

function isSchema(v: unknown): v is Schema {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function outputSchemaOf(s: CompiledStep, models: ReadonlyMap<string, ModelConfig>): Typed | undefined {
  if (isSchema(s.outputSchema)) return { schema: s.outputSchema, from: `step '${s.id}'s outputSchema` };
  if (s.approval) return isSchema(s.approval.schema) ? { schema: s.approval.schema, from: `the approval schema of step '${s.id}'` } : undefined;
  if (s.output) return undefined;
  // Every model of the chain may answer (fallbacks): the output is any of their shapes, and
  // unknown as soon as one of them is.
  const schemas: Schema[] = [];
  const froms: string[] = [];
  for (const name of s.chain) {
    const m = models.get(name);
    if (!m) return undefined;
    const own = isSchema(m.outputSchema) ? m.outputSchema : undefined;
    const sch = own ?? builtinOutputSchema(m.provider, s.capabilities, m.capabilities);
    if (!sch) return undefined;
    if (!schemas.includes(sch) && !schemas.some((x) => JSON.stringify(x) === JSON.stringify(sch))) schemas.push(sch);
    froms.push(own ? `model '${m.name}'s outputSchema` : `the ${m.provider} provider's output (model '${m.name}')`);
  }
  if (schemas.length === 0) return undefined;
  const schema: Schema = schemas.length === 1 ? schemas[0]! : { anyOf: schemas };
  const from = froms.length === 1 ? froms[0]! : `the outputs of its models (${froms.join("; ")})`;
  return s.forEach ? { schema: { type: "array", items: schema }, from: `${from}, one per forEach item` } : { schema, from };
}

/** Checks the `$steps.<id>.output` paths of every step's expressions and of the pipeline's templates. */
export function checkTypedRefs(c: Compilation, steps: ReadonlyMap<string, CompiledStep>, typed: ReadonlyMap<string, Typed>, extra: readonly (Template | undefined)[]): void {
  if (typed.size === 0) return;
  // The texts found to have nothing to report, `when:` or not: the same text elsewhere has
  // nothing either (the check reads only the text and the schemas), so it is not walked
  // again: a wide DAG repeats each `$steps.<id>.output.text` in every step that reads it.
  const clean = [new Set<string>(), new Set<string>()];
  const check = (e: CompiledExpression, isWhen: boolean) => {
    // Most expressions read no typed step: decided from the references, without the AST.
    let any = false;
    for (const id of e.refs.steps.keys()) if (typed.has(id)) any = true;
    if (!any) return;
    const seen = clean[isWhen ? 1 : 0]!;
    if (seen.has(e.source)) return;
    const before = c.diagnostics.length;
    walk(c, e, e.ast as AstNode, typed, isWhen);
    if (c.diagnostics.length === before) seen.add(e.source);
  };
  for (const s of steps.values()) {
    const list: CompiledExpression[] = [];
    collectExpressions(s.input, list);
    if (s.output) collectExpressions(s.output, list);
    if (s.appendToContext) collectExpressions(s.appendToContext, list);
    if (s.approval) collectExpressions(s.approval.prompt, list);
    if (s.forEach) list.push(s.forEach);
    for (const e of list) check(e, false);
    if (s.when) check(s.when, true);
  }
  for (const t of extra) {
    if (!t) continue;
    const list: CompiledExpression[] = [];
    collectExpressions(t, list);
    for (const e of list) check(e, false);
  }
}

/** A `$steps.<id>.output.a.b` path: the step, its field names and their end offsets. */
interface OutputPath {
  id: string;
  names: { name: string; end: number }[];
  start: number;
  end: number;
}

function outputPath(node: AstNode): OutputPath | undefined {
  if (node.type !== "path" || !Array.isArray(node.steps)) return undefined;
  const [head, idNode, outNode, ...rest] = node.steps;
  if (head?.type !== "variable" || head.value !== "steps" || idNode?.type !== "name" || outNode?.type !== "name" || outNode.value !== "output") return undefined;
  if (idNode.predicate || idNode.stages) return undefined;
  const names: { name: string; end: number }[] = [];
  for (const n of rest) {
    if (n.type !== "name" || typeof n.value !== "string") break;
    names.push({ name: n.value, end: n.position ?? 0 });
    // A filter or predicate after the name ([0], [type = 'x']) keeps the item's shape: go on.
  }
  if (names.length === 0) return undefined;
  return { id: String(idNode.value), names, start: Math.max(0, (head.position ?? 0) - 6), end: names[names.length - 1]!.end };
}

function walk(c: Compilation, e: CompiledExpression, ast: AstNode, typed: ReadonlyMap<string, Typed>, isWhen: boolean): void {
  walkAst(ast, (node) => {
    const p = outputPath(node);
    if (p) checkPath(c, e, p, typed);
    if (isWhen && node.type === "binary" && COMPARISONS.has(String(node.value))) checkComparison(c, e, node, typed);
  });
}

/** The schema at the end of a path, or undefined where it is not known; reports a field that cannot exist. */
function checkPath(c: Compilation, e: CompiledExpression, p: OutputPath, typed: ReadonlyMap<string, Typed>): Schema | undefined {
  const t = typed.get(p.id);
  if (!t) return undefined;
  let schema: Schema = t.schema;
  let where = `$steps.${p.id}.output`;
  for (const { name, end } of p.names) {
    const r = field(schema, name);
    if (r.kind === "unknown") return undefined;
    if (r.kind === "missing") {
      const loc = c.locateInExpr(e, end - name.length, name.length);
      const near = closest(name, r.fields);
      const msg = r.scalar
        ? `${where} is ${r.scalar === "integer" ? "an integer" : `a ${r.scalar}`}; it has no field '${name}'`
        : `'${name}' is not a field of ${where}${near ? ` (did you mean '${near}'?)` : ""}`;
      c.diagnostics.push(warning("MCP207", msg, loc, { hint: `the output is described by ${t.from}${r.fields.length && !r.scalar ? `; its fields: ${r.fields.join(", ")}` : ""}` }));
      return undefined;
    }
    schema = r.schema;
    where += `.${name}`;
  }
  return schema;
}

/** Follows one field name: through arrays (JSONata maps over them) and anyOf/oneOf/allOf. */
function field(schema: Schema, name: string, depth = 0): Step {
  if (depth > 20 || schema.$ref !== undefined) return { kind: "unknown" };
  for (const k of ["anyOf", "oneOf"] as const) {
    const branches = schema[k];
    if (Array.isArray(branches)) {
      const rs = branches.filter(isSchema).map((b) => field(b, name, depth + 1));
      const ok = rs.filter((r) => r.kind === "ok");
      if (ok.length === 1 && rs.every((r) => r.kind !== "unknown")) return ok[0]!;
      if (rs.length && rs.every((r) => r.kind === "missing")) return { kind: "missing", fields: [...new Set(rs.flatMap((r) => (r.kind === "missing" ? r.fields : [])))] };
      return { kind: "unknown" };
    }
  }
  if (Array.isArray(schema.allOf)) return { kind: "unknown" };
  const types = typesOf(schema);
  if (types && types.every((x) => x === "array")) return isSchema(schema.items) ? field(schema.items, name, depth + 1) : { kind: "unknown" };
  if (types && types.length === 1 && types[0] !== "object") return { kind: "missing", fields: [], scalar: types[0]! };
  const props = schema.properties;
  if (!isSchema(props)) return { kind: "unknown" };
  const sub = props[name];
  if (sub !== undefined) return isSchema(sub) ? { kind: "ok", schema: sub } : { kind: "unknown" };
  if (schema.patternProperties !== undefined || (schema.additionalProperties !== undefined && schema.additionalProperties !== false)) return { kind: "unknown" };
  return { kind: "missing", fields: Object.keys(props) };
}

/** The JSON types a schema allows, from `type`, `const` or `enum`; undefined: any. */
function typesOf(schema: Schema): string[] | undefined {
  if (typeof schema.type === "string") return [schema.type];
  if (Array.isArray(schema.type)) return schema.type.filter((x): x is string => typeof x === "string");
  if ("const" in schema) return [jsonType(schema.const)];
  if (Array.isArray(schema.enum)) return [...new Set(schema.enum.map(jsonType))];
  return undefined;
}

function jsonType(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

/** `when:` comparing a typed field with a literal of another type. */
function checkComparison(c: Compilation, e: CompiledExpression, node: AstNode, typed: ReadonlyMap<string, Typed>): void {
  const sides = [node.lhs as AstNode | undefined, node.rhs as AstNode | undefined];
  for (let i = 0; i < 2; i++) {
    const pathNode = sides[i];
    const lit = sides[1 - i];
    if (!pathNode || !lit) continue;
    const p = outputPath(pathNode);
    const value = literal(lit);
    if (!p || value === NOT_LITERAL) continue;
    const t = typed.get(p.id);
    if (!t) continue;
    const schema = schemaAt(t.schema, p.names);
    const allowed = schema && typesOf(schema);
    if (!allowed) continue;
    const vt = jsonType(value);
    const fits = allowed.includes(vt) || (vt === "integer" && allowed.includes("number")) || (vt === "number" && allowed.includes("integer"));
    if (fits) continue;
    const path = `$steps.${p.id}.output.${p.names.map((n) => n.name).join(".")}`;
    const what = allowed.length === 1 ? article(allowed[0]!) : `one of ${allowed.join(", ")}`;
    c.report("MCP208", `${path} is ${what}, compared (${String(node.value)}) with ${article(vt)} ${JSON.stringify(value)}: the condition can never hold`, c.locateInExpr(e, p.start, p.end - p.start), {
      hint: `the output is described by ${t.from}`,
    });
  }
}

function article(type: string): string {
  return type === "integer" || type === "array" || type === "object" ? `an ${type}` : `a ${type}`;
}

const NOT_LITERAL = Symbol("not a literal");

function literal(n: AstNode): unknown {
  if (n.type === "string" || n.type === "number") return n.value;
  if (n.type === "value") return n.value;
  if (n.type === "unary" && n.value === "-" && (n.expression as AstNode | undefined)?.type === "number") return -((n.expression as AstNode).value as number);
  return NOT_LITERAL;
}

function schemaAt(schema: Schema, names: readonly { name: string }[]): Schema | undefined {
  let s = schema;
  for (const { name } of names) {
    const r = field(s, name);
    if (r.kind !== "ok") return undefined;
    s = r.schema;
  }
  // A comparison with an array field compares its items (JSONata `=` on a sequence).
  const types = typesOf(s);
  if (types?.length === 1 && types[0] === "array" && isSchema(s.items)) return s.items;
  return s;
}
