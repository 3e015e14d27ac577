/**
 * GraphModel: a compiled pipeline's DAG as plain JSON for drawing (the web UI and the HTML
 * report): steps with their kind, model or capabilities and markers, and edges told apart
 * by where they come from (an explicit `needs`, or a `$steps.<id>` reference).
 */
import type { CompiledPipeline, CompiledStep } from "../compiler/types.js";
import type { CompiledExpression } from "../expr/expression.js";
import { collectExpressions } from "../expr/template.js";

/**
 * What colours a step: the provider of the model it runs on first (`nlp`, `openai`,
 * `anthropic`, `http`, `mock`, `module`), or `none` when no registered model fits.
 */
export type StepKind = string;

export interface GraphNode {
  id: string;
  kind: StepKind;
  /** The model the step runs on first, or its capabilities when it picks by capability. */
  label: string;
  model?: string;
  /** Fallback models after the first. */
  fallback: string[];
  capabilities: string[];
  description?: string;
  /** The `when` expression: the step may be skipped. */
  when?: string;
  /** The `forEach` expression: the step fans out. */
  forEach?: string;
  /** Parallel level (0 = no dependencies). */
  level: number;
}

/** `ref`: the step reads `$steps.<from>`; `needs`: listed in `needs` only. */
export type EdgeKind = "ref" | "needs";

export interface GraphEdge {
  from: string;
  to: string;
  kind: EdgeKind;
}

export interface GraphModel {
  name: string;
  description?: string;
  nodes: GraphNode[];
  edges: GraphEdge[];
}

function expressions(s: CompiledStep): CompiledExpression[] {
  const out: CompiledExpression[] = [];
  collectExpressions(s.input, out);
  if (s.output) collectExpressions(s.output, out);
  if (s.appendToContext) collectExpressions(s.appendToContext, out);
  if (s.when) out.push(s.when);
  if (s.forEach) out.push(s.forEach);
  return out;
}

export function graphModel(p: CompiledPipeline): GraphModel {
  const provider = new Map(p.models.map((m) => [m.name, m.provider]));
  const level = new Map<string, number>();
  p.levels.forEach((l, i) => l.forEach((id) => level.set(id, i)));
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  for (const id of p.order) {
    const s = p.steps.get(id)!;
    const model = s.chain[0];
    nodes.push({
      id,
      kind: model !== undefined ? String(provider.get(model) ?? "none") : "none",
      label: model ?? (s.capabilities.length ? s.capabilities.join(", ") : "no model"),
      ...(model !== undefined ? { model } : {}),
      fallback: s.chain.slice(1),
      capabilities: [...s.capabilities],
      ...(s.description !== undefined ? { description: s.description } : {}),
      ...(s.when ? { when: s.when.source.trim() } : {}),
      ...(s.forEach ? { forEach: s.forEach.source.trim() } : {}),
      level: level.get(id) ?? 0,
    });
    const refs = new Set<string>();
    for (const e of expressions(s)) for (const r of e.refs.steps.keys()) refs.add(r);
    for (const d of s.dependencies) edges.push({ from: d, to: id, kind: refs.has(d) ? "ref" : "needs" });
  }
  return { name: p.name, ...(p.description !== undefined ? { description: p.description } : {}), nodes, edges };
}
