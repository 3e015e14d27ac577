/**
 * A worker thread that runs elkjs layouts, so a server laying out a large graph (seconds
 * for hundreds of steps) keeps answering other requests meanwhile. Messages: `{ id, graph }`
 * in, `{ id, result }` or `{ id, error }` out.
 */
import { createRequire } from "node:module";
import { parentPort } from "node:worker_threads";
import type { ELK, ElkNode } from "elkjs/lib/elk-api.js";

const Elk = createRequire(import.meta.url)("elkjs/lib/elk.bundled.js") as new () => ELK;
const elk = new Elk();

parentPort?.on("message", (m: { id: number; graph: ElkNode }) => {
  elk.layout(m.graph).then(
    (result) => parentPort!.postMessage({ id: m.id, result }),
    (e: unknown) => parentPort!.postMessage({ id: m.id, error: e instanceof Error ? e.message : String(e) }),
  );
});
