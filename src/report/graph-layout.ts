/**
 * Lays a GraphModel out with elkjs (the layered algorithm: dependencies above dependants,
 * few crossings, orthogonal edges). Run in Node, so the HTML report and the web UI receive
 * positions ready to draw and neither ships the layout engine to the browser.
 */
import { createRequire } from "node:module";
import type { ELK, ElkExtendedEdge, ElkNode } from "elkjs/lib/elk-api.js";
import type { GraphModel } from "./graph-model.js";

/** Node size in the drawing's units (px at zoom 1). */
export const NODE_WIDTH = 184;
export const NODE_HEIGHT = 52;

export interface LaidOutNode {
  id: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface LaidOutEdge {
  from: string;
  to: string;
  /** Polyline points: start, bends, end. */
  points: { x: number; y: number }[];
}

export interface GraphLayout {
  width: number;
  height: number;
  nodes: LaidOutNode[];
  edges: LaidOutEdge[];
}

/** A GraphModel with its layout: what the views draw. */
export interface LaidOutGraph extends GraphModel {
  layout: GraphLayout;
}

let elk: ELK | undefined;

function engine(): ELK {
  if (!elk) {
    // elk.bundled.js is CommonJS and runs the layout in-process (no worker).
    const Elk = createRequire(import.meta.url)("elkjs/lib/elk.bundled.js") as new () => ELK;
    elk = new Elk();
  }
  return elk;
}

export async function layoutGraph(model: GraphModel): Promise<LaidOutGraph> {
  const graph: ElkNode = {
    id: "root",
    layoutOptions: {
      "elk.algorithm": "layered",
      "elk.direction": "DOWN",
      "elk.edgeRouting": "ORTHOGONAL",
      "elk.layered.spacing.nodeNodeBetweenLayers": "48",
      "elk.spacing.nodeNode": "28",
      "elk.spacing.edgeNode": "16",
      "elk.layered.nodePlacement.strategy": "BRANDES_KOEPF",
      "elk.layered.considerModelOrder.strategy": "NODES_AND_EDGES",
      "elk.padding": "[top=16,left=16,bottom=16,right=16]",
    },
    children: model.nodes.map((n) => ({ id: n.id, width: NODE_WIDTH, height: NODE_HEIGHT })),
    edges: model.edges.map((e, i): ElkExtendedEdge => ({ id: `e${i}`, sources: [e.from], targets: [e.to] })),
  };
  const out = await engine().layout(graph);
  const nodes: LaidOutNode[] = (out.children ?? []).map((c) => ({ id: c.id, x: c.x ?? 0, y: c.y ?? 0, width: c.width ?? NODE_WIDTH, height: c.height ?? NODE_HEIGHT }));
  const edges: LaidOutEdge[] = (out.edges ?? []).map((e) => {
    const src = model.edges[Number(e.id.slice(1))]!;
    const sec = (e as ElkExtendedEdge).sections?.[0];
    const points = sec ? [sec.startPoint, ...(sec.bendPoints ?? []), sec.endPoint].map((p) => ({ x: p.x, y: p.y })) : [];
    return { from: src.from, to: src.to, points };
  });
  return { ...model, layout: { width: out.width ?? 0, height: out.height ?? 0, nodes, edges } };
}
