/**
 * Lays a GraphModel out with elkjs (the layered algorithm: dependencies above dependants,
 * few crossings, orthogonal edges). Run in Node, so the HTML report and the web UI receive
 * positions ready to draw and neither ships the layout engine to the browser.
 */
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
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

/** Layouts off the main thread: one worker, started on first use, not keeping the process alive. */
class LayoutWorker {
  #worker: Worker | undefined;
  #next = 1;
  readonly #waiting = new Map<number, { resolve: (g: ElkNode) => void; reject: (e: Error) => void }>();

  layout(graph: ElkNode): Promise<ElkNode> {
    const w = this.#start();
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      if (this.#waiting.size === 1) w.ref();
      w.postMessage({ id, graph });
    });
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const w = new Worker(new URL("./layout-worker.js", import.meta.url));
    w.unref();
    w.on("message", (m: { id: number; result?: ElkNode; error?: string }) => {
      const p = this.#waiting.get(m.id);
      if (!p) return;
      this.#waiting.delete(m.id);
      if (this.#waiting.size === 0) w.unref();
      if (m.result) p.resolve(m.result);
      else p.reject(new Error(`graph layout failed: ${m.error ?? "unknown error"}`));
    });
    const fail = (e: Error) => {
      for (const p of this.#waiting.values()) p.reject(e);
      this.#waiting.clear();
      this.#worker = undefined;
    };
    w.on("error", fail);
    w.on("exit", (code) => fail(new Error(`the graph layout worker exited (${code})`)));
    this.#worker = w;
    return w;
  }

  async close(): Promise<void> {
    const w = this.#worker;
    this.#worker = undefined;
    await w?.terminate();
  }
}

let worker: LayoutWorker | undefined;

/** Stops the layout worker, if one was started (server shutdown). */
export async function closeLayoutWorker(): Promise<void> {
  await worker?.close();
  worker = undefined;
}

/**
 * Lays the graph out. `inWorker`: on a worker thread (servers: the event loop stays free);
 * otherwise in this thread (the CLI writing a report).
 */
export async function layoutGraph(model: GraphModel, opts: { inWorker?: boolean } = {}): Promise<LaidOutGraph> {
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
      // One layered drawing for all steps: independent steps sit side by side in the first
      // layer, rather than each being packed as a component of its own.
      "elk.separateConnectedComponents": "false",
    },
    children: model.nodes.map((n) => ({ id: n.id, width: NODE_WIDTH, height: NODE_HEIGHT })),
    edges: model.edges.map((e, i): ElkExtendedEdge => ({ id: `e${i}`, sources: [e.from], targets: [e.to] })),
  };
  const out = opts.inWorker ? await (worker ??= new LayoutWorker()).layout(graph) : await engine().layout(graph);
  const nodes: LaidOutNode[] = (out.children ?? []).map((c) => ({ id: c.id, x: c.x ?? 0, y: c.y ?? 0, width: c.width ?? NODE_WIDTH, height: c.height ?? NODE_HEIGHT }));
  const edges: LaidOutEdge[] = (out.edges ?? []).map((e) => {
    const src = model.edges[Number(e.id.slice(1))]!;
    const sec = (e as ElkExtendedEdge).sections?.[0];
    const points = sec ? [sec.startPoint, ...(sec.bendPoints ?? []), sec.endPoint].map((p) => ({ x: p.x, y: p.y })) : [];
    return { from: src.from, to: src.to, points };
  });
  return { ...model, layout: { width: out.width ?? 0, height: out.height ?? 0, nodes, edges } };
}
