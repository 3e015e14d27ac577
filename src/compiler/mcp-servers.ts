/**
 * External Model Context Protocol servers in a pipeline: reads `mcpServers:` (mcp.yaml's,
 * then the pipeline's), attaches each `provider: mcp` model's server, and, when a listing
 * of a server's tools is known (cached in the store by `mcp validate`), checks that a step's
 * input can match the tool's input schema. Only what is certain is reported: a literal value
 * that fails its property's schema, a required argument that is missing, an argument the
 * tool does not take; values computed by expressions are checked at run time by the server.
 */
import { createHash } from "node:crypto";
import { dirname, isAbsolute, resolve } from "node:path";
import type { Ajv2020 } from "ajv/dist/2020.js";
import { createRequire } from "node:module";
import { safeRegExp } from "../util/safe-regex.js";
import type { DiagnosticCode } from "../diagnostics/codes.js";
import type { Location } from "../diagnostics/diagnostic.js";
import type { JsonPath, YamlFile } from "../config/yaml-file.js";
import { collectExpressions, type Template } from "../expr/template.js";
import type { CompiledExpression } from "../expr/expression.js";
import type { ToolListing } from "../models/mcp-connection.js";
import type { McpServerConfig, ModelConfig } from "../models/types.js";
import { parseDuration } from "../util/duration.js";
import { didYouMean } from "../util/suggest.js";

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {});

/** Tool listings by McpServerConfig.id. */
export type ToolListings = ReadonlyMap<string, ToolListing>;

interface Hooks {
  report(code: DiagnosticCode, message: string, location: Location | undefined, extra?: { hint?: string }): void;
  template(file: YamlFile, path: JsonPath, value: unknown): Template;
  locateInExpr(e: CompiledExpression, offset: number, length: number): Location | undefined;
}

/**
 * The identity of a server: its name and how it is reached, as written (not the absolute
 * folder), so recordings and cached listings made on one machine serve on another.
 */
export function mcpServerId(name: string, raw: Obj): string {
  const how = JSON.stringify([raw.command ?? null, raw.args ?? null, raw.cwd ?? null, raw.url ?? null]);
  return `${name}:${createHash("sha256").update(how).digest("hex").slice(0, 12)}`;
}

/** The servers of mcp.yaml and the pipeline (the pipeline's win), by name. */
export function compileMcpServers(files: (YamlFile | undefined)[], env: string[], h: Hooks): Map<string, McpServerConfig> {
  const out = new Map<string, McpServerConfig>();
  for (const f of files) {
    if (!f) continue;
    for (const [name, v] of Object.entries(obj(obj(f.value).mcpServers))) {
      const raw = obj(v);
      const base = dirname(f.path);
      const s: McpServerConfig = { name, id: mcpServerId(name, raw) };
      if (typeof raw.command === "string") {
        s.command = raw.command;
        if (Array.isArray(raw.args)) s.args = raw.args.map(String);
        if (Array.isArray(raw.env)) s.env = raw.env.filter((x): x is string => typeof x === "string");
        s.cwd = typeof raw.cwd === "string" ? (isAbsolute(raw.cwd) ? raw.cwd : resolve(base, raw.cwd)) : base;
      }
      if (typeof raw.url === "string") s.url = raw.url;
      if (raw.headers !== undefined) {
        s.headers = h.template(f, ["mcpServers", name, "headers"], raw.headers);
        s.envAllow = env;
        checkHeaderEnv(s.headers, env, h);
      }
      const t = parseDuration(raw.timeout as string | number | undefined);
      if (t !== undefined) s.timeoutMs = t;
      out.set(name, s);
    }
  }
  return out;
}

/** A header reads only allow-listed $env names (as step expressions do); others would be sent empty. */
function checkHeaderEnv(headers: Template, env: readonly string[], h: Hooks): void {
  const exprs: CompiledExpression[] = [];
  collectExpressions(headers, exprs);
  for (const e of exprs) {
    for (const [name, offset] of e.refs.env) {
      if (env.includes(name)) continue;
      h.report("MCP204", `$env.${name} is not allowed`, h.locateInExpr(e, offset, name.length), {
        hint: `add '${name}' to the env: list in mcp.yaml; headers see only allow-listed variables`,
      });
    }
  }
}

/** Gives each `provider: mcp` model its server; reports missing or unknown servers (MCP420). */
export function attachMcpServers(models: Map<string, ModelConfig>, sources: Map<string, { file: YamlFile; path: JsonPath }>, servers: Map<string, McpServerConfig>, h: Hooks): void {
  for (const [name, m] of models) {
    if (m.provider !== "mcp") continue;
    const src = sources.get(name);
    if (typeof m.server !== "string" || typeof m.tool !== "string") {
      const missing = [typeof m.server !== "string" ? "server" : "", typeof m.tool !== "string" ? "tool" : ""].filter(Boolean).join(" and ");
      h.report("MCP420", `model '${name}' (provider mcp) needs ${missing}`, src?.file.locateKey(src.path), {
        hint: "e.g. { provider: mcp, server: everything, tool: echo }, with the server under mcpServers:",
      });
      continue;
    }
    const s = servers.get(m.server);
    if (!s) {
      h.report("MCP420", `unknown MCP server '${m.server}' in model '${name}'${didYouMean(m.server, servers.keys())}`, src?.file.locate([...src.path, "server"]), {
        hint: servers.size ? `mcpServers: ${[...servers.keys()].join(", ")}` : "define it under mcpServers: in mcp.yaml or the pipeline",
      });
      continue;
    }
    m.mcpServer = s;
  }
}

// ajv is loaded on the first tool schema to check (a run with no MCP tool step never pays for
// it); a tool's patterns come from another server, so they run through safeRegExp as users' do.
let ajvInstance: Ajv2020 | undefined;
function ajv(): Ajv2020 {
  if (!ajvInstance) {
    const { Ajv2020: Ctor } = createRequire(import.meta.url)("ajv/dist/2020.js") as typeof import("ajv/dist/2020.js");
    ajvInstance = new Ctor({ strict: false, allErrors: false, validateSchema: false, code: { regExp: safeRegExp as never } });
  }
  return ajvInstance;
}
const validators = new Map<string, ((v: unknown) => boolean) | null>();

function validatorOf(schema: unknown): ((v: unknown) => boolean) | null {
  const key = JSON.stringify(schema);
  let v = validators.get(key);
  if (v === undefined) {
    try {
      // Tool schemas often say draft-07; the keywords used by tools mean the same in 2020-12.
      const { $schema: _s, $id: _i, ...rest } = obj(schema);
      const fn = ajv().compile(rest);
      v = (x: unknown) => {
        const ok = fn(x) as boolean;
        lastErrors = fn.errors ?? null;
        return ok;
      };
    } catch {
      v = null; // a schema ajv cannot compile is not ours to report
    }
    validators.set(key, v);
  }
  return v;
}

const isLiteral = (v: unknown): boolean => (typeof v === "string" ? !v.includes("${{") : Array.isArray(v) ? v.every(isLiteral) : v && typeof v === "object" ? Object.values(v).every(isLiteral) : true);

/** One step to check: its id, path, raw input and the models of its chain. */
export interface ToolStepCheck {
  id: string;
  path: JsonPath;
  input: unknown;
  chain: readonly string[];
}

/** Checks steps' inputs against the listed tools' input schemas (MCP421) and that the tools exist (MCP422). */
export function checkToolInputs(file: YamlFile, steps: ToolStepCheck[], models: Map<string, ModelConfig>, listings: ToolListings, h: Hooks): void {
  for (const step of steps) {
    for (const modelName of step.chain) {
      const m = models.get(modelName);
      const listing = m?.mcpServer ? listings.get(m.mcpServer.id) : undefined;
      if (!m || !listing || !m.tool) continue;
      const tool = listing.tools.find((t) => t.name === m.tool);
      const inputLoc = file.locate(step.input !== undefined ? [...step.path, "input"] : step.path);
      if (!tool) {
        h.report(
          "MCP422",
          `server '${m.mcpServer!.name}' (${listing.serverName} ${listing.serverVersion}) has no tool '${m.tool}' (model '${modelName}', step '${step.id}')${didYouMean(
            m.tool,
            listing.tools.map((t) => t.name),
          )}`,
          inputLoc,
          {
            hint: `its tools: ${listing.tools.map((t) => t.name).join(", ")}`,
          },
        );
        continue;
      }
      checkInput(file, step, modelName, tool.name, tool.inputSchema, h);
    }
  }
}

function checkInput(file: YamlFile, step: ToolStepCheck, modelName: string, toolName: string, schema: Obj, h: Hooks): void {
  const what = `step '${step.id}' input for tool '${toolName}' (model '${modelName}')`;
  const input = step.input ?? {};
  const isObject = typeof input === "object" && input !== null && !Array.isArray(input);
  if (!isObject && isLiteral(input)) {
    const v = validatorOf(schema);
    if (v && !v(input))
      h.report(
        "MCP421",
        `${what} does not match the tool's input schema: ${ajv().errorsText(ajvErrors(), { dataVar: "input" })}`,
        file.locate(step.input !== undefined ? [...step.path, "input"] : step.path),
      );
    return;
  }
  if (!isObject) return; // one expression: known at run time
  const props = obj(schema.properties);
  const given = input as Obj;
  for (const req of Array.isArray(schema.required) ? schema.required : []) {
    if (typeof req === "string" && !(req in given)) h.report("MCP421", `${what} lacks the required argument '${req}'`, file.locate([...step.path, "input"]));
  }
  for (const [k, val] of Object.entries(given)) {
    const p = props[k];
    if (p === undefined) {
      if (schema.additionalProperties === false) {
        h.report("MCP421", `${what}: the tool takes no argument '${k}'${didYouMean(k, Object.keys(props))}`, file.locateKey([...step.path, "input", k]));
      }
      continue;
    }
    if (!isLiteral(val)) continue;
    const v = validatorOf(p);
    if (v && !v(val))
      h.report(
        "MCP421",
        `${what}: argument '${k}' ${ajv()
          .errorsText(ajvErrors(), { dataVar: k })
          .replace(new RegExp(`^${k} `), "")}`,
        file.locate([...step.path, "input", k]),
      );
  }
}

/** The errors of the last validation run by a validatorOf() function. */
function ajvErrors() {
  return lastErrors;
}
let lastErrors: Parameters<Ajv2020["errorsText"]>[0] = null;
