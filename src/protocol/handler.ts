/**
 * The Protocol Handler: one method table and one envelope between clients and the
 * components. A transport calls `dispatch(method, params, ctx)` and gets `{ ok: true, result }`
 * or `{ ok: false, error }` (a ProtocolError with a stable code and an HTTP status); it never
 * sees a thrown error. Params are checked against the method's JSON Schema first.
 *
 * @example
 * const handler = new ProtocolHandler(services);
 * const reply = await handler.dispatch("pipelines.run", { pipeline: "triage", input, wait: true }, { signal });
 */
import { createRequire } from "node:module";
import type { ValidateFunction } from "ajv";
import type { Ajv2020 } from "ajv/dist/2020.js";
import { ProtocolError, toProtocolError } from "./errors.js";
import { METHODS, type MethodSpec } from "./methods.js";
import type { MethodContext, ProtocolServices } from "./services.js";

/** The envelope of a method's outcome. */
export type Envelope<T = unknown> = { ok: true; result: T } | { ok: false; error: ProtocolError };

const require = createRequire(import.meta.url);

export interface ProtocolHandlerOptions {
  /** Called with every internal error (a bug), for the server's log; clients only see `internal error`. */
  onInternalError?: (method: string, error: unknown) => void;
}

export class ProtocolHandler {
  readonly services: ProtocolServices;
  readonly #methods = new Map<string, { spec: MethodSpec; validate: ValidateFunction }>();
  readonly #opts: ProtocolHandlerOptions;

  constructor(services: ProtocolServices, options: ProtocolHandlerOptions = {}) {
    this.services = services;
    this.#opts = options;
    const ajv: Ajv2020 = new (require("ajv/dist/2020.js") as typeof import("ajv/dist/2020.js")).Ajv2020({ allErrors: false, strict: false });
    for (const spec of METHODS) this.#methods.set(spec.name, { spec, validate: ajv.compile(spec.params) });
  }

  /** The methods, for discovery (`rpc.discover`-like listings, MCP). */
  methods(): readonly MethodSpec[] {
    return METHODS;
  }

  has(method: string): boolean {
    return this.#methods.has(method);
  }

  /** Calls a method; never throws. */
  async dispatch<T = unknown>(method: string, params: unknown, ctx: MethodContext): Promise<Envelope<T>> {
    const m = this.#methods.get(method);
    if (!m) return { ok: false, error: new ProtocolError("method_not_found", `no method '${method}' (known: ${[...this.#methods.keys()].join(", ")})`) };
    const p = params === undefined || params === null ? {} : params;
    if (typeof p !== "object" || Array.isArray(p)) return { ok: false, error: new ProtocolError("bad_request", `params of '${method}' must be an object`) };
    if (!m.validate(p)) {
      const e = m.validate.errors?.[0];
      const where = e?.instancePath ? `params${e.instancePath.replace(/\//g, ".")}` : "params";
      const extra = e?.keyword === "additionalProperties" ? ` '${(e.params as { additionalProperty: string }).additionalProperty}'` : "";
      return { ok: false, error: new ProtocolError("bad_request", `${where} ${e?.message ?? "are invalid"}${extra} (method '${method}')`) };
    }
    try {
      return { ok: true, result: (await m.spec.call(p as Record<string, unknown>, ctx, this.services)) as T };
    } catch (e) {
      const err = toProtocolError(e);
      if (err.code === "internal") this.#opts.onInternalError?.(method, e);
      return { ok: false, error: err };
    }
  }

  /** Calls `listener` after the live set changed (MCP `tools/list_changed`). */
  onPipelinesChanged(listener: () => void): () => void {
    return this.services.pipelines.onChange(listener);
  }
}
