/**
 * Parses one YAML file into plain JSON values while keeping the source ranges of every node,
 * so later phases can point diagnostics at a line and column.
 *
 * Why a walk of our own instead of `doc.toJS()`: it enforces the depth, alias and node-count
 * limits as it goes (a billion-laughs file is stopped after maxNodes values, not after
 * exhausting memory), it drops `__proto__`-style keys with a diagnostic, and it records the
 * node behind every path.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, parseDocument, type Document, type Node as YamlNode, type Pair, type ParsedNode } from "yaml";
import { error, type Diagnostic, type Location } from "../diagnostics/diagnostic.js";
import { DEFAULT_LIMITS, FORBIDDEN_KEYS, type LoadLimits } from "./limits.js";
import { nestingBeyond } from "./nesting.js";
import { DEPTH_HINT, syntaxDiagnostics } from "./yaml-errors.js";

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
  /** The string scalar at a path: its source range (start, end of the value) and style; undefined for anything else. */
  scalar(path: JsonPath): ScalarInfo | undefined;
}

export interface ScalarInfo {
  readonly start: number;
  readonly end: number;
  readonly value: string;
  /** The yaml package's Scalar.type: PLAIN, QUOTE_DOUBLE, QUOTE_SINGLE, BLOCK_LITERAL, BLOCK_FOLDED. */
  readonly type: string | undefined;
}

/** How the yaml package is asked to parse. */
const PARSE_OPTIONS = {
  prettyErrors: false,
  // Duplicate keys are found in toJs below: yaml's own check scans every earlier key of
  // the mapping for each key, which is quadratic in the size of `steps:`.
  uniqueKeys: false,
  strict: true,
  keepSourceTokens: false,
} as const;

class LimitExceeded extends Error {
  constructor(
    message: string,
    readonly offset = 0,
  ) {
    super(message);
  }
}

export function parseYaml(path: string, text: string, limits: LoadLimits = DEFAULT_LIMITS): YamlFile {
  const diagnostics: Diagnostic[] = [];
  const at = (offset: number, length = 0): Location => ({ file: path, offset, length });
  // A node reached through several aliases would report the same problem once per alias.
  const reported = new Set<string>();
  const report = (d: Diagnostic): void => {
    const key = `${d.code}:${d.location?.offset ?? -1}`;
    if (reported.has(key)) return;
    reported.add(key);
    diagnostics.push(d);
  };

  const bytes = text.length > limits.maxFileBytes / 4 ? Buffer.byteLength(text, "utf8") : text.length;
  if (bytes > limits.maxFileBytes) {
    report(
      error("MCP002", `file is ${bytes} bytes; the limit is ${limits.maxFileBytes}`, at(0), {
        hint: "split the pipeline into smaller files",
      }),
    );
    return makeFile(path, text, undefined, undefined, diagnostics);
  }

  // The yaml parser recurses once per nesting level: thousands of `[` overflow the stack,
  // and a megabyte of them exhausts memory. Refuse such text before parsing it.
  const tooDeep = nestingBeyond(text, 2 * limits.maxDepth + 8);
  if (tooDeep !== -1) {
    report(error("MCP003", `nesting is deeper than ${limits.maxDepth} levels`, at(tooDeep, 1), { hint: DEPTH_HINT }));
    return makeFile(path, text, undefined, undefined, diagnostics);
  }

  // Offsets only: line and column are computed when printing (diagnostics/source.ts).
  const doc = parseDocument(text, PARSE_OPTIONS) as Document.Parsed;

  for (const d of syntaxDiagnostics(path, text, doc.errors, limits.maxDepth)) report(d);
  if (doc.errors.length > 0) return makeFile(path, text, doc, undefined, diagnostics);

  let nodes = 0;
  let aliases = 0;
  const toJs = (node: unknown, depth: number): unknown => {
    if (++nodes > limits.maxNodes) {
      throw new LimitExceeded(`the file expands to more than ${limits.maxNodes} values`, (node as YamlNode).range?.[0] ?? 0);
    }
    if (depth > limits.maxDepth) {
      const r = (node as YamlNode).range;
      report(error("MCP003", `nesting is deeper than ${limits.maxDepth} levels`, at(r?.[0] ?? 0, 1), { hint: DEPTH_HINT }));
      throw new LimitExceeded("");
    }
    if (isAlias(node)) {
      if (++aliases > limits.maxAliases) {
        throw new LimitExceeded(`the file uses more than ${limits.maxAliases} aliases`, node.range?.[0] ?? 0);
      }
      const target = node.resolve(doc);
      return target === undefined ? null : toJs(target, depth);
    }
    if (isScalar(node)) return typeof node.value === "string" ? flatString(node, text) : normaliseScalar(node.value);
    if (isSeq(node)) return node.items.map((item) => toJs(item, depth + 1));
    if (isMap(node)) {
      const obj: Record<string, unknown> = {};
      // The keys written in this mapping: those of `obj` until a merge (`<<`) adds others,
      // then a Set of them (a Set per mapping cost more than all the rest of a small one).
      let written: Set<string> | undefined;
      const keyLoc = (pair: Pair): Location => {
        const r = (pair.key as YamlNode | null)?.range;
        return at(r?.[0] ?? 0, Math.max(0, (r?.[1] ?? 0) - (r?.[0] ?? 0)));
      };
      for (const pair of node.items) {
        const key = keyString(pair.key, doc);
        if (key === "<<") {
          written ??= new Set(Object.keys(obj));
          mergeInto(obj, toJs(pair.value, depth + 1));
          continue;
        }
        if (FORBIDDEN_KEYS.has(key)) {
          report(
            error("MCP005", `the key '${key}' is not allowed`, keyLoc(pair), {
              hint: "rename it; keys that reach JavaScript prototypes are refused",
            }),
          );
          continue;
        }
        if (written ? written.has(key) : Object.hasOwn(obj, key)) {
          report(error("MCP007", `duplicate key '${key}'`, keyLoc(pair), { hint: "a mapping may name each key once; remove or rename one" }));
          continue;
        }
        written?.add(key);
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
      report(error("MCP004", e.message, at(e.offset, 1), { hint: "reduce the use of anchors and aliases (*name)" }));
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

/**
 * A string scalar's value. A double-quoted scalar on one line without escapes is, by the
 * YAML spec, the text between its quotes: that slice of the file is returned, equal to the
 * value the yaml package built, but as one flat string. The package builds a double-quoted
 * value a character at a time, a rope that every later search (`${{` in a template) has to
 * flatten first: for a pipeline of long quoted prompts, that cost more than compiling it.
 */
function flatString(node: { value: unknown; source?: unknown; type?: string; range?: readonly number[] | null }, text: string): string {
  const v = node.value as string;
  const r = node.range;
  if (node.type !== "QUOTE_DOUBLE" || !r || v.length < 16) return v;
  const start = r[0]! + 1;
  const end = r[1]! - 1;
  if (end - start !== v.length || text.charCodeAt(start - 1) !== 34 || text.charCodeAt(end) !== 34) return v;
  const raw = text.slice(start, end);
  if (raw.includes("\\") || raw.includes("\n") || raw.includes("\r")) return v;
  // The node keeps the flat string too: diagnostics compare it with the file (scalar()).
  // Its `source` (the same string, kept by the package) too, else the node keeps the rope
  // alive as long as the file: a thousand small strings per long prompt.
  node.value = raw;
  if (node.source === v) node.source = raw;
  return raw;
}

function normaliseScalar(v: unknown): unknown {
  if (typeof v === "bigint") return Number(v);
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString("base64");
  return v;
}

/**
 * The string a mapping key becomes in the JSON value. An alias used as a key is its anchored
 * value's string (`*name: x`), not the text `*name`; an empty key (`: x`, `? `) is "",
 * which is not the key "null" (`null: x`, `~: x`) that the core schema also reads as null.
 */
function keyString(key: unknown, doc: Document.Parsed | undefined, depth = 0): string {
  if (isAlias(key)) {
    const target = doc && depth < 8 ? key.resolve(doc) : undefined;
    return target === undefined ? "" : keyString(target, doc, depth + 1);
  }
  if (isScalar(key)) {
    if (key.value === null && (key.source === "" || key.source === undefined)) return "";
    return String(key.value);
  }
  if (key === null || key === undefined) return "";
  if (isMap(key) || isSeq(key)) return JSON.stringify(key.toJSON());
  return String(key);
}

/** Mappings of at most this many entries are searched, not indexed (makeFile). */
const SMALL_MAP = 8;

function makeFile(path: string, text: string, doc: Document.Parsed | undefined, value: unknown, diagnostics: Diagnostic[]): YamlFile {
  const rangeLoc = (n: { range?: [number, number, number] | null } | null | undefined): Location | undefined => {
    const r = n?.range;
    return r ? { file: path, offset: r[0], length: Math.max(0, r[1] - r[0]) } : undefined;
  };

  // Key -> pair of each large mapping, built on first use: the compiler locates every step
  // of a 5,000-step file, and a linear search of `steps:` per lookup made that quadratic.
  // A small mapping (a step's own keys) is searched: an index per step cost more than it saved.
  const index = new WeakMap<object, Map<string, Pair>>();
  const pairsOf = (map: { items: unknown[] }): Map<string, Pair> => {
    let m = index.get(map);
    if (!m) {
      m = new Map();
      for (const it of map.items) {
        if (!isPair(it)) continue;
        const k = keyString(it.key, doc);
        if (!m.has(k)) m.set(k, it as Pair);
      }
      index.set(map, m);
    }
    return m;
  };

  const pairIn = (items: readonly unknown[], key: string): Pair | undefined => {
    for (let i = 0; i < items.length; i++) {
      const it = items[i];
      if (isPair(it) && keyString(it.key, doc) === key) return it as Pair;
    }
    return undefined;
  };

  // Follows a JSON path through the YAML tree, resolving aliases; returns the deepest
  // pair and node reached.
  const walk = (p: JsonPath): { node: unknown; pair?: Pair; complete: boolean } => {
    let node: unknown = doc?.contents ?? null;
    let pair: Pair | undefined;
    for (const seg of p) {
      if (isAlias(node) && doc) node = node.resolve(doc);
      if (isMap(node)) {
        const found = node.items.length <= SMALL_MAP ? pairIn(node.items, String(seg)) : pairsOf(node).get(String(seg));
        if (!found) return { node, ...(pair ? { pair } : {}), complete: false };
        pair = found;
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
    scalar(p) {
      const { node, complete } = walk(p);
      if (!complete || !isScalar(node) || !node.range || typeof node.value !== "string") return undefined;
      return { start: node.range[0], end: node.range[1], value: node.value, type: node.type };
    },
  };
}
