/**
 * The web UI on `mcp serve`: the built pages (dist/ui/app, made by `npm install`) at `/`,
 * public so the login prompt can load, and two API routes of its own behind the same keys
 * as the rest: a pipeline's laid-out graph (elkjs runs here, not in the browser) and, when
 * the server can, resuming a run. Everything else the UI reads is the API of DESIGN section 6.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance, FastifyPluginAsync, FastifyReply } from "fastify";
import type { CompiledPipeline } from "../compiler/types.js";
import { closeLayoutWorker, layoutGraph, type LaidOutGraph } from "../report/graph-layout.js";
import { graphModel } from "../report/graph-model.js";

export interface UiSource {
  /** The live version of a pipeline of the set. */
  pipeline(name: string): CompiledPipeline | undefined;
  /** Continues a failed, cancelled or interrupted run; absent: the UI's Resume answers 501. */
  resume?(runId: string): Promise<{ runId: string }>;
}

/** Where the built UI is: dist/ui/app under the package. */
export function uiRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "package.json"))) return join(dir, "dist", "ui", "app");
    const up = dirname(dir);
    if (up === dir) return join(process.cwd(), "dist", "ui", "app");
    dir = up;
  }
}

/** Routes of the UI that need no key: the page and its assets (they hold no data). */
const PUBLIC = { public: true, rateLimit: false } as Record<string, unknown>;

function httpError(status: number, code: string, message: string): Error {
  return Object.assign(new Error(message), { statusCode: status, code });
}

export function uiRoutes(source: UiSource, opts: { root?: string } = {}): FastifyPluginAsync {
  const root = opts.root ?? uiRoot();
  // One layout per compiled version: a reload makes a new CompiledPipeline object.
  const graphs = new WeakMap<CompiledPipeline, Promise<LaidOutGraph>>();
  return async (app: FastifyInstance) => {
    await app.register(fastifyStatic, { root, serve: false });
    const built = existsSync(join(root, "index.html"));
    const page = async (_req: unknown, reply: FastifyReply) => {
      if (!built)
        return reply
          .code(503)
          .type("text/plain")
          .send(`the web UI is not built (${join(root, "index.html")} is missing): run 'npm run build'`);
      return reply.header("cache-control", "no-cache").sendFile("index.html");
    };
    app.get("/", { config: PUBLIC }, page);
    app.get("/index.html", { config: PUBLIC }, page);
    app.get<{ Params: { "*": string } }>("/assets/*", { config: PUBLIC }, (req, reply) =>
      reply.header("cache-control", "public, max-age=31536000, immutable").sendFile(join("assets", req.params["*"])),
    );

    app.get<{ Params: { name: string } }>("/ui/api/pipelines/:name/graph", async (req) => {
      const p = source.pipeline(req.params.name);
      if (!p) throw httpError(404, "not_found", `no valid pipeline named '${req.params.name}'`);
      let g = graphs.get(p);
      if (!g) {
        g = layoutGraph(graphModel(p), { inWorker: true });
        graphs.set(p, g);
        // A failed layout is not kept: the next request tries again.
        g.catch(() => graphs.delete(p));
      }
      return g;
    });

    app.addHook("onClose", async () => closeLayoutWorker());

    app.post<{ Params: { id: string } }>("/ui/api/runs/:id/resume", async (req) => {
      if (!source.resume) throw httpError(501, "not_implemented", `this server cannot resume runs; run: mcp resume ${req.params.id}`);
      return source.resume(req.params.id);
    });
  };
}
