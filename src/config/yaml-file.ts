/**
 * Parses one YAML file into plain JSON values while keeping the source ranges of every node,
 * so later phases can point diagnostics at a line and column.
 *
 * Why a walk of our own instead of `doc.toJS()`: it enforces the depth, alias and node-count
 * limits as it goes (a billion-laughs file is stopped after maxNodes values, not after
 * exhausting memory), it drops `__proto__`-style keys with a diagnostic, and it records the
 * node behind every path.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, Scalar } from "yaml";
import type { Document, Node as YamlNode, Pair, ParsedNode } from "yaml";
import { error, type Diagnostic, type Location } from "../diagnostics/diagnostic.js";
import { DEFAULT_LIMITS, FORBIDDEN_KEYS, type LoadLimits } from "./limits.js";

export type JsonPath = readonly (string | number)[];

export interface YamlFile {
  readonly path: string;
  readonly text: string;
  /** The document as plain JSON values (undefined when it could not be parsed). */
  readonly value: unknown;
  readonly diagnostics: Diagnostic[];
  /** Location of the value at a path, or of the closest existing ancestor. */
  locate(path: JsonPath): Location;
  /** Location of the key at a path (the value's if there is no key). */
  locateKey(path: JsonPath): Location;
  /** The YAML node at a path, when it exists. */
  node(path: JsonPath): YamlNode | undefined;
}

class LimitExceeded extends Error {}

export function parseYaml(path: string, text: string, limits: LoadLimits = DEFAULT_LIMITS): YamlFile {
  const diagnostics: Diagnostic[] = [];
  const at = (offset: number, length = 0): Location => ({ file: path, offset, length });

  if (text.length > limits.maxFileBytes) {
    diagnostics.push(
      error("MCP002", `file is ${text.length} bytes; the limit is ${limits.maxFileBytes}`, at(0), {
        hint: "split the pipeline into smaller files",
      }),
    );
    return makeFile(path, text, undefined, undefined, diagnostics);
  }

  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
    strict: true,
    keepSourceTokens: false,
  }) as Document.Parsed;

  const exprLinesReported = new Set<number>();
  for (const e of doc.errors) {
    const [start, end] = e.pos;
    const lineText = lineOf(text, start);
    const aboutExpr = lineText.includes("${{");
    const dup = e.code === "DUPLICATE_KEY";
    if (aboutExpr && !dup) {
      // One unquoted expression makes YAML report several errors on its line; one is enough.
      const lineStart = text.lastIndexOf("\n", start - 1) + 1;
      if (exprLinesReported.has(lineStart)) continue;
      exprLinesReported.add(lineStart);
    }
    diagnostics.push(
      error(
        aboutExpr && !dup ? "MCP203" : dup ? "MCP007" : "MCP001",
        aboutExpr && !dup ? `YAML cannot read this unquoted expression (${lowerFirst(cleanYamlMessage(e.message))})` : cleanYamlMessage(e.message), at(start, Math.max(0, end - start)), {
        ...(aboutExpr && !dup
          ? { hint: "quote this value: YAML reads '{', '}', ': ' and '#' in a plain value as syntax, e.g. key: \"${{ expr }}\"" }
          : {}),
      }),
    );
  }
  if (doc.errors.length > 0) return makeFile(path, text, doc, undefined, diagnostics);

  let nodes = 0;
  let aliases = 0;
  const toJs = (node: unknown, depth: number): unknown => {
    if (++nodes > limits.maxNodes) {
      throw new LimitExceeded(`the file expands to more than ${limits.maxNodes} values`);
    }
    if (depth > limits.maxDepth) {
      const r = (node as YamlNode).range;
      diagnostics.push(error("MCP003", `nesting is deeper than ${limits.maxDepth} levels`, at(r?.[0] ?? 0)));
      throw new LimitExceeded("");
    }
    if (isAlias(node)) {
      if (++aliases > limits.maxAliases) {
        throw new LimitExceeded(`the file uses more than ${limits.maxAliases} aliases`);
      }
      const target = node.resolve(doc);
      return target === undefined ? null : toJs(target, depth);
    }
    if (isScalar(node)) return normaliseScalar(node.value);
    if (isSeq(node)) return node.items.map((item) => toJs(item, depth + 1));
    if (isMap(node)) {
      const obj: Record<string, unknown> = {};
      for (const pair of node.items) {
        const key = keyString(pair.key);
        if (key === "<<") {
          mergeInto(obj, toJs(pair.value, depth + 1));
          continue;
        }
        if (FORBIDDEN_KEYS.has(key)) {
          const r = (pair.key as YamlNode | null)?.range;
          diagnostics.push(
            error("MCP005", `the key '${key}' is not allowed`, at(r?.[0] ?? 0, (r?.[1] ?? 0) - (r?.[0] ?? 0)), {
              hint: "rename it; keys that reach JavaScript prototypes are refused",
            }),
          );
          continue;
        }
        obj[key] = pair.value === null ? null : toJs(pair.value, depth + 1);
      }
      return obj;
    }
    return node === null || node === undefined ? null : node;
  };

  let value: unknown;
  try {
    value = doc.contents === null ? null : toJs(doc.contents, 0);
  } catch (e) {
    if (!(e instanceof LimitExceeded)) throw e;
    if (e.message) {
      diagnostics.push(error("MCP004", e.message, at(0), { hint: "reduce the use of anchors and aliases (*name)" }));
    }
    value = undefined;
  }
  return makeFile(path, text, doc, value, diagnostics);
}

function mergeInto(target: Record<string, unknown>, source: unknown): void {
  const sources = Array.isArray(source) ? source : [source];
  for (const s of sources) {
    if (s && typeof s === "object" && !Array.isArray(s)) {
      for (const [k, v] of Object.entries(s)) if (!(k in target)) target[k] = v;
    }
  }
}

function normaliseScalar(v: unknown): unknown {
  if (typeof v === "bigint") return Number(v);
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString("base64");
  return v;
}

function keyString(key: unknown): string {
  if (isScalar(key)) return String(key.value);
  if (key === null || key === undefined) return "";
  if (isMap(key) || isSeq(key)) return JSON.stringify(key.toJSON());
  return String(key);
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

function lineOf(text: string, offset: number): string {
  const start = text.lastIndexOf("\n", offset - 1) + 1;
  const end = text.indexOf("\n", offset);
  return text.slice(start, end === -1 ? undefined : end);
}

/** yaml's messages end with "at line X, column Y" in some versions; our prefix says that already. */
function cleanYamlMessage(msg: string): string {
  return msg.replace(/ at line \d+, column \d+:?[\s\S]*$/, "").trim();
}

function makeFile(
  path: string,
  text: string,
  doc: Document.Parsed | undefined,
  value: unknown,
  diagnostics: Diagnostic[],
): YamlFile {
  const rangeLoc = (n: { range?: [number, number, number] | null } | null | undefined): Location | undefined => {
    const r = n?.range;
    return r ? { file: path, offset: r[0], length: Math.max(0, r[1] - r[0]) } : undefined;
  };

  // Follows a JSON path through the YAML tree, resolving aliases; returns the deepest
  // pair and node reached.
  const walk = (p: JsonPath): { node: unknown; pair?: Pair; complete: boolean } => {
    let node: unknown = doc?.contents ?? null;
    let pair: Pair | undefined;
    for (const seg of p) {
      if (isAlias(node) && doc) node = node.resolve(doc);
      if (isMap(node)) {
        const found = node.items.find((it) => isPair(it) && keyString(it.key) === String(seg));
        if (!found) return { node, ...(pair ? { pair } : {}), complete: false };
        pair = found as Pair;
        node = found.value;
      } else if (isSeq(node) && typeof seg === "number") {
        const item = node.items[seg];
        if (item === undefined) return { node, ...(pair ? { pair } : {}), complete: false };
        pair = undefined;
        node = item;
      } else {
        return { node, ...(pair ? { pair } : {}), complete: false };
      }
    }
    return { node, ...(pair ? { pair } : {}), complete: true };
  };

  const fallback: Location = { file: path, offset: 0, length: 0 };
  return {
    path,
    text,
    value,
    diagnostics,
    locate(p) {
      const { node, pair, complete } = walk(p);
      if (complete && (node === null || node === undefined) && pair) return rangeLoc(pair.key as ParsedNode) ?? fallback;
      if (!complete && pair) return rangeLoc(pair.key as ParsedNode) ?? fallback;
      return rangeLoc(node as ParsedNode) ?? fallback;
    },
    locateKey(p) {
      const { node, pair, complete } = walk(p);
      if (complete && pair) return rangeLoc(pair.key as ParsedNode) ?? rangeLoc(node as ParsedNode) ?? fallback;
      return rangeLoc(node as ParsedNode) ?? fallback;
    },
    node(p) {
      const { node, complete } = walk(p);
      return complete && node && typeof node === "object" ? (node as YamlNode) : undefined;
    },
  };
}

export { Scalar };
