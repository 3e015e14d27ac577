/** Renders a compiled pipeline's DAG as Mermaid, Graphviz dot, or JSON. */
import type { CompiledPipeline, CompiledStep } from "./types.js";
import { unreachable } from "../util/unreachable.js";

export type GraphFormat = "mermaid" | "dot" | "json";

function modelLabel(s: CompiledStep): string {
  if (s.pipeline) return `pipeline ${s.pipeline.ref}`;
  if (s.chain.length === 0) return s.capabilities.join(", ");
  return s.chain.length > 1 ? `${s.chain[0]} (+${s.chain.length - 1} fallback)` : s.chain[0]!;
}

/** Words Mermaid reads as syntax where a node id is expected (a step named `end` breaks a flowchart). */
const MERMAID_WORDS = new Set(["end", "graph", "flowchart", "subgraph", "style", "class", "classdef", "click", "linkstyle", "direction", "default", "call", "href"]);

/** The node id of a step in Mermaid: the step id, suffixed when Mermaid would misread it. */
function mermaidId(id: string): string {
  return MERMAID_WORDS.has(id.toLowerCase()) ? `${id}_` : id;
}

export function graphJson(p: CompiledPipeline) {
  const level = new Map<string, number>();
  p.levels.forEach((l, i) => l.forEach((id) => level.set(id, i)));
  return {
    name: p.name,
    file: p.file,
    steps: p.order.map((id) => {
      const s = p.steps.get(id)!;
      return {
        id,
        level: level.get(id),
        model: s.chain[0] ?? null,
        chain: s.chain,
        capabilities: s.capabilities,
        dependencies: s.dependencies,
        ...(s.when ? { when: s.when.source } : {}),
        ...(s.forEach ? { forEach: s.forEach.source } : {}),
      };
    }),
    edges: p.order.flatMap((id) => p.steps.get(id)!.dependencies.map((d) => ({ from: d, to: id }))),
    order: p.order,
    levels: p.levels,
  };
}

export function renderGraph(p: CompiledPipeline, format: GraphFormat): string {
  switch (format) {
    case "json":
      return JSON.stringify(graphJson(p), null, 2);
    case "mermaid": {
      const esc = (s: string) => s.replace(/"/g, "#quot;");
      const lines = ["flowchart TD"];
      for (const id of p.order) {
        const s = p.steps.get(id)!;
        const label = esc(`${id}<br/><small>${modelLabel(s)}</small>${s.forEach ? "<br/>for each" : ""}${s.repeat ? `<br/>repeat ≤ ${s.repeat.max}` : ""}${s.when ? "<br/>when …" : ""}`);
        const n = mermaidId(id);
        lines.push(s.when ? `  ${n}{{"${label}"}}` : s.forEach ? `  ${n}[["${label}"]]` : `  ${n}["${label}"]`);
      }
      for (const id of p.order) for (const d of p.steps.get(id)!.dependencies) lines.push(`  ${mermaidId(d)} --> ${mermaidId(id)}`);
      return lines.join("\n");
    }
    case "dot": {
      const q = (s: string) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
      const lines = [`digraph ${q(p.name)} {`, "  rankdir=TB;", '  node [shape=box, fontname="Helvetica"];'];
      for (const id of p.order) {
        const s = p.steps.get(id)!;
        const attrs = [`label=${q(`${id}\n${modelLabel(s)}`)}`];
        if (s.when) attrs.push("style=dashed");
        if (s.forEach) attrs.push("peripheries=2");
        lines.push(`  ${q(id)} [${attrs.join(", ")}];`);
      }
      for (const id of p.order) for (const d of p.steps.get(id)!.dependencies) lines.push(`  ${q(d)} -> ${q(id)};`);
      lines.push("}");
      return lines.join("\n");
    }
    default:
      return unreachable(format);
  }
}
