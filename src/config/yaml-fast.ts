/**
 * A fast reader for the plain shape most pipeline files have: block mappings and sequences,
 * single-line plain and quoted scalars, one-line flow collections, literal and folded block
 * scalars, comments. It builds the same JSON values as the `yaml` package plus our walk in
 * yaml-file.ts, and records the source range of every key and scalar (the same ranges the
 * `yaml` package gives them), without building a node per value.
 *
 * Why: the `yaml` package lexes, builds a concrete syntax tree and then a document of node
 * objects; for a 5,000-step file that is hundreds of milliseconds and tens of megabytes, most
 * of it never looked at when the file is valid.
 *
 * It gives up (returns undefined) on anything else: anchors, aliases, tags, directives, more
 * than one document, multi-line plain or quoted scalars, block scalars with an indentation
 * indicator or leading blank lines, explicit or quoted keys, merge keys, duplicate or
 * forbidden keys, tabs, CR, control characters, any doubt about indentation, and on every
 * YAML error. The caller then parses the text with the
 * `yaml` package, which reports the errors; so this path never has diagnostics to give.
 * test/config/yaml-fast.test.ts checks it against the `yaml` package on generated files.
 */
import { FORBIDDEN_KEYS, type LoadLimits } from "./limits.js";

/** What a recorded entry holds. */
export enum Kind {
  Map = 0,
  Seq = 1,
  Null = 2,
  Plain = 3,
  Double = 4,
  Single = 5,
  Literal = 6,
  Folded = 7,
}

/** The `yaml` package's Scalar.type of each scalar kind. */
export const SCALAR_TYPE: readonly (string | undefined)[] = [undefined, undefined, undefined, "PLAIN", "QUOTE_DOUBLE", "QUOTE_SINGLE", "BLOCK_LITERAL", "BLOCK_FOLDED"];

/** Set in an entry's kind when its key's string is not its source text (`1.0:`, `0x10:`, `null:`). */
const KEY_RESOLVED = 16;
/**
 * Ints per entry: key start, key end (-1 in sequences), value start, value end (for a
 * collection: its first entry, -1 when empty), kind, next entry of the collection (-1 at
 * the end).
 */
const STRIDE = 6;
/** Collections with more entries than this get an index on first lookup. */
const INDEX_OVER = 12;

/**
 * The document a fast read gives: the value, and the source ranges of every entry of every
 * mapping and sequence, kept in one typed array (no object per entry, nothing for the
 * garbage collector to trace).
 */
export class FastDocument {
  readonly #indexes = new Map<number, Map<string, number> | number[]>();
  constructor(
    readonly text: string,
    readonly value: unknown,
    /** First entry of the top-level mapping. */
    readonly rootHead: number,
    /** The entries; a collection's entry holds the first entry of the collection as its value end. */
    readonly entries: Int32Array,
  ) {}

  /**
   * The entry for a path segment (matched as yaml-file.ts's walk matches segments) in
   * `collection`, whose first entry is `head`; or -1.
   */
  entry(head: number, collection: object, seg: string | number): number {
    if (head === -1) return -1;
    const e = this.entries;
    if (Array.isArray(collection)) {
      if (typeof seg !== "number" || !Number.isInteger(seg) || seg < 0 || seg >= collection.length) return -1;
      if (collection.length > INDEX_OVER) return (this.#index(head, true) as number[])[seg]!;
      let at = head;
      for (let i = 0; i < seg; i++) at = e[at * STRIDE + 5]!;
      return at;
    }
    const k = String(seg);
    if (!Object.hasOwn(collection, k)) return -1;
    const index = this.#indexes.get(head);
    if (index) return (index as Map<string, number>).get(k) ?? -1;
    let n = 0;
    for (let at = head; at !== -1; at = e[at * STRIDE + 5]!, n++) {
      if (n === INDEX_OVER) return (this.#index(head, false) as Map<string, number>).get(k) ?? -1;
      const ks = e[at * STRIDE]!;
      if (e[at * STRIDE + 4]! & KEY_RESOLVED ? this.#keyOf(at) === k : e[at * STRIDE + 1]! - ks === k.length && this.text.startsWith(k, ks)) return at;
    }
    return -1;
  }

  /** The first entry of the collection an entry holds; -1 for an empty one or a scalar. */
  childHead(entry: number): number {
    const kind = this.kind(entry);
    return kind === Kind.Map || kind === Kind.Seq ? this.entries[entry * STRIDE + 3]! : -1;
  }

  #keyOf(at: number): string {
    const e = this.entries;
    const raw = this.text.slice(e[at * STRIDE]!, e[at * STRIDE + 1]!);
    return e[at * STRIDE + 4]! & KEY_RESOLVED ? keyOf(raw) : raw;
  }

  #index(head: number, sequence: boolean): Map<string, number> | number[] {
    let index = this.#indexes.get(head);
    if (!index) {
      const e = this.entries;
      if (sequence) {
        const list: number[] = [];
        for (let at = head; at !== -1; at = e[at * STRIDE + 5]!) list.push(at);
        index = list;
      } else {
        const map = new Map<string, number>();
        for (let at = head; at !== -1; at = e[at * STRIDE + 5]!) map.set(this.#keyOf(at), at);
        index = map;
      }
      this.#indexes.set(head, index);
    }
    return index;
  }

  keyStart(entry: number): number {
    return this.entries[entry * STRIDE]!;
  }
  keyEnd(entry: number): number {
    return this.entries[entry * STRIDE + 1]!;
  }
  valueStart(entry: number): number {
    return this.entries[entry * STRIDE + 2]!;
  }
  valueEnd(entry: number): number {
    return this.entries[entry * STRIDE + 3]!;
  }
  kind(entry: number): Kind {
    return this.entries[entry * STRIDE + 4]! & ~KEY_RESOLVED;
  }
  /** Whether the entry is in a mapping (has a key). */
  hasKey(entry: number): boolean {
    return this.entries[entry * STRIDE]! !== -1;
  }
}

/** A collection being read: its first and last entries so far. */
interface Open {
  head: number;
  tail: number;
}

/** Thrown to give up; caught in fastParse. */
const GIVE_UP = new Error("not handled by the fast reader");

const SPACE = 32;
const NL = 10;
const HASH = 35;
const COLON = 58;
const DASH = 45;

/**
 * The tags of the `yaml` package's core schema (YAML 1.2) that a plain scalar is tested
 * against, in its order, with their tests and values (yaml 2.x, schema/core/*.js). Kept
 * here so that reading a file does not load the package; test/config/yaml-fast.test.ts
 * checks them against it.
 */
const CORE_TAGS: readonly (readonly [RegExp, (s: string) => unknown])[] = [
  [/^(?:~|[Nn]ull|NULL)?$/, () => null],
  [/^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/, (s) => s[0] === "t" || s[0] === "T"],
  [/^0o[0-7]+$/, (s) => parseInt(s.substring(2), 8)],
  [/^[-+]?[0-9]+$/, (s) => parseInt(s, 10)],
  [/^0x[0-9a-fA-F]+$/, (s) => parseInt(s.substring(2), 16)],
  [/^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/, (s) => (s.slice(-3).toLowerCase() === "nan" ? NaN : s[0] === "-" ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY)],
  [/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/, (s) => parseFloat(s)],
  [/^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/, (s) => parseFloat(s)],
];

/**
 * The value of a plain scalar under the core schema, as the `yaml` package resolves it.
 * Every core tag's test is anchored and starts with one of `~nNtTfF.+-0-9`, so other text is
 * a string without trying them. (The core schema has no tag for keys only.)
 */
export function resolvePlain(s: string): unknown {
  const c = s.charCodeAt(0);
  const maybeTagged =
    s.length === 0 ||
    (c >= 48 && c <= 57) ||
    c === 43 /* + */ ||
    c === DASH ||
    c === 46 /* . */ ||
    c === 126 /* ~ */ ||
    c === 110 /* n */ ||
    c === 78 /* N */ ||
    c === 116 /* t */ ||
    c === 84 /* T */ ||
    c === 102 /* f */ ||
    c === 70; /* F */
  if (!maybeTagged) return s;
  for (const [test, resolve] of CORE_TAGS) if (test.test(s)) return resolve(s);
  return s;
}

/** Characters that may not start a plain scalar here (YAML c-indicators), besides `-`. */
function isIndicator(c: number): boolean {
  // ? : , [ ] { } # & * ! | > ' " % @ `
  return (
    c === 63 || c === 58 || c === 44 || c === 91 || c === 93 || c === 123 || c === 125 || c === 35 || c === 38 || c === 42 || c === 33 || c === 124 || c === 62 || c === 39 || c === 34 || c === 37 || c === 64 || c === 96
  );
}

/** A conservative charset for plain keys: letters, digits and _ $ . / + - (not first). */
function isKeyChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 36 || c === 46 || c === 47 || c === 43 || c === DASH;
}

// Control characters, NEL, line and paragraph separators, byte order marks, noncharacters:
// the fast reader leaves texts with any of them, and tabs and CRs, to the `yaml` package.
const UNUSUAL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]/;
const JSON_ESCAPES = /\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})/g;

/** Reads `text`; undefined when it is not of the handled shape (the caller uses the `yaml` package). */
export function fastParse(text: string, limits: LoadLimits): FastDocument | undefined {
  if (UNUSUAL.test(text)) return undefined;
  try {
    return new Reader(text, limits).document();
  } catch (e) {
    if (e === GIVE_UP) return undefined;
    throw e;
  }
}

class Reader {
  /** The first entry of the collection read last (-1 when empty). */
  #lastHead = -1;
  #entries = new Int32Array(1024);
  #used = 0;
  readonly #n: number;
  #nodes = 0;
  /** The current content line: its start, indentation, where its content starts, its end. */
  #ls = 0;
  #ind = 0;
  #cs = 0;
  #le = 0;
  #eof = false;

  constructor(
    readonly text: string,
    readonly limits: LoadLimits,
  ) {
    this.#n = text.length;
  }

  document(): FastDocument {
    this.#seekContent(0);
    if (this.#eof || this.#ind !== 0) throw GIVE_UP;
    // Directives, document markers: not handled.
    const t = this.text;
    if (t.charCodeAt(0) === 37 /* % */ || t.startsWith("---", this.#cs) || t.startsWith("...", this.#cs)) throw GIVE_UP;
    const value = this.#blockMap(0, 0);
    if (!this.#eof) throw GIVE_UP;
    return new FastDocument(t, value, this.#lastHead, this.#entries.subarray(0, this.#used * STRIDE));
  }

  /** Records an entry of the collection `c`. */
  #entry(c: Open, ks: number, ke: number, vs: number, ve: number, kind: number): void {
    let e = this.#entries;
    const at = this.#used++;
    if ((at + 1) * STRIDE > e.length) {
      const bigger = new Int32Array(e.length * 2);
      bigger.set(e);
      this.#entries = e = bigger;
    }
    const o = at * STRIDE;
    e[o] = ks;
    e[o + 1] = ke;
    e[o + 2] = vs;
    e[o + 3] = ve;
    e[o + 4] = kind;
    e[o + 5] = -1;
    if (c.tail === -1) c.head = at;
    else e[c.tail * STRIDE + 5] = at;
    c.tail = at;
  }

  /** Ends a collection; a sequence is returned copied to its exact size (push leaves room to grow). */
  #close<T extends object>(c: Open, collection: T): T {
    this.#lastHead = c.head;
    return Array.isArray(collection) ? (collection.slice() as T) : collection;
  }

  #count(depth: number): void {
    // The same accounting as toJs in yaml-file.ts: past a limit, the slow path reports it.
    if (++this.#nodes > this.limits.maxNodes || depth > this.limits.maxDepth) throw GIVE_UP;
  }

  /** Moves to the first line at or after `from` that holds content (not blank, not only a comment). */
  #seekContent(from: number): void {
    const t = this.text;
    const n = this.#n;
    let i = from;
    while (i < n) {
      let j = i;
      while (j < n && t.charCodeAt(j) === SPACE) j++;
      let le = t.indexOf("\n", j);
      if (le === -1) le = n;
      const c = j < n ? t.charCodeAt(j) : NL;
      if (c === NL || c === HASH || j === le) {
        i = le + 1;
        continue;
      }
      // A line that starts a document or closes one is not a plain content line.
      if (j === i && (c === DASH || c === 46) && (t.startsWith("---", i) || t.startsWith("...", i))) {
        const after = i + 3 < n ? t.charCodeAt(i + 3) : NL;
        if (after === NL || after === SPACE) throw GIVE_UP;
      }
      this.#ls = i;
      this.#ind = j - i;
      this.#cs = j;
      this.#le = le;
      this.#eof = false;
      return;
    }
    this.#ls = this.#cs = this.#le = n;
    this.#ind = -1;
    this.#eof = true;
  }

  /** Whether the current content starts a sequence entry (`- ` or a lone `-`). */
  #atDash(): boolean {
    const t = this.text;
    const cs = this.#cs;
    return t.charCodeAt(cs) === DASH && (cs + 1 === this.#le || t.charCodeAt(cs + 1) === SPACE);
  }

  /**
   * A block mapping whose keys are at column `indent`. The current content (#cs, which may
   * follow a `- ` on the same line) is its first key.
   */
  #blockMap(indent: number, depth: number): Record<string, unknown> {
    this.#count(depth);
    const t = this.text;
    const obj: Record<string, unknown> = {};
    const r: Open = { head: -1, tail: -1 };
    for (;;) {
      if (this.#atDash()) throw GIVE_UP;
      // The key: a plain scalar of a conservative charset, then ':' and a space or the end.
      const ks = this.#cs;
      const le = this.#le;
      const c0 = t.charCodeAt(ks);
      if (!isKeyChar(c0) || c0 === DASH) throw GIVE_UP;
      let j = ks + 1;
      while (j < le && isKeyChar(t.charCodeAt(j))) j++;
      if (j >= le || t.charCodeAt(j) !== COLON) throw GIVE_UP;
      const ke = j;
      if (ke - ks > 1000) throw GIVE_UP;
      j++;
      if (j < le && t.charCodeAt(j) !== SPACE) throw GIVE_UP;
      const raw = t.slice(ks, ke);
      const key = keyOf(raw);
      // (Every earlier key has its value set by now.)
      if (FORBIDDEN_KEYS.has(key) || key === "<<" || Object.hasOwn(obj, key)) throw GIVE_UP;
      const flag = key === raw ? 0 : KEY_RESOLVED;
      while (j < le && t.charCodeAt(j) === SPACE) j++;
      if (j === le || t.charCodeAt(j) === HASH) {
        // Nothing after the colon: the value is on the lines below, or empty.
        this.#seekContent(le + 1);
        if (!this.#eof && this.#ind > indent) {
          const start = this.#cs;
          const v = this.#atDash() ? this.#blockSeq(this.#ind, depth + 1) : this.#blockMap(this.#ind, depth + 1);
          obj[key] = v;
          this.#entry(r, ks, ke, start, this.#lastHead, (Array.isArray(v) ? Kind.Seq : Kind.Map) | flag);
        } else if (!this.#eof && this.#ind === indent && this.#atDash()) {
          const start = this.#cs;
          obj[key] = this.#blockSeq(indent, depth + 1);
          this.#entry(r, ks, ke, start, this.#lastHead, Kind.Seq | flag);
        } else {
          this.#count(depth + 1);
          obj[key] = null;
          this.#entry(r, ks, ke, -1, -1, Kind.Null | flag);
        }
      } else {
        obj[key] = this.#inline(j, le, depth + 1, r, ks, ke, indent, flag);
      }
      if (this.#eof || this.#ind < indent) return this.#close(r, obj);
      if (this.#ind > indent) throw GIVE_UP;
    }
  }

  /** A block sequence whose dashes are at column `indent`; the current line is its first entry. */
  #blockSeq(indent: number, depth: number): unknown[] {
    this.#count(depth);
    const t = this.text;
    const arr: unknown[] = [];
    const r: Open = { head: -1, tail: -1 };
    for (;;) {
      const le = this.#le;
      let j = this.#cs + 1;
      while (j < le && t.charCodeAt(j) === SPACE) j++;
      if (j === le || t.charCodeAt(j) === HASH) {
        if (t.charCodeAt(j) === HASH && t.charCodeAt(j - 1) !== SPACE) throw GIVE_UP;
        this.#seekContent(le + 1);
        if (!this.#eof && this.#ind > indent) {
          const start = this.#cs;
          const v = this.#atDash() ? this.#blockSeq(this.#ind, depth + 1) : this.#blockMap(this.#ind, depth + 1);
          arr.push(v);
          this.#entry(r, -1, -1, start, this.#lastHead, Array.isArray(v) ? Kind.Seq : Kind.Map);
        } else {
          this.#count(depth + 1);
          arr.push(null);
          this.#entry(r, -1, -1, -1, -1, Kind.Null);
        }
      } else if (t.charCodeAt(j) === DASH && (j + 1 === le || t.charCodeAt(j + 1) === SPACE)) {
        throw GIVE_UP; // - - nested
      } else if (isKeyChar(t.charCodeAt(j)) && t.charCodeAt(j) !== DASH && startsImplicitKey(t, j, le)) {
        // `- key: value`: a mapping whose keys are at this column.
        const col = j - this.#ls;
        this.#cs = j;
        this.#ind = col;
        const v = this.#blockMap(col, depth + 1);
        arr.push(v);
        this.#entry(r, -1, -1, j, this.#lastHead, Kind.Map);
      } else {
        arr.push(this.#inline(j, le, depth + 1, r, -1, -1, indent, 0));
      }
      if (this.#eof || this.#ind < indent || (this.#ind === indent && !this.#atDash())) {
        // (at the same column: back to the mapping this sequence is a value of)
        return this.#close(r, arr);
      }
      if (this.#ind > indent) throw GIVE_UP;
    }
  }

  /**
   * A value that starts on the current line at `j` (after `key: ` or `- `); moves to the
   * next content line, which must not be more indented than `indent` (that would continue
   * a multi-line scalar, or be an error).
   */
  #inline(j: number, le: number, depth: number, r: Open, ks: number, ke: number, indent: number, flag: number): unknown {
    const t = this.text;
    const c = t.charCodeAt(j);
    let value: unknown;
    let end: number;
    let kind: Kind;
    if (c === 34 /* " */ || c === 39 /* ' */) {
      this.#count(depth);
      [value, end] = quoted(t, j, le);
      kind = c === 34 ? Kind.Double : Kind.Single;
      trailer(t, end, le);
    } else if (c === 91 /* [ */ || c === 123 /* { */) {
      const [v, after] = this.#flow(j, le, depth);
      trailer(t, after, le);
      this.#entry(r, ks, ke, j, this.#lastHead, (c === 91 ? Kind.Seq : Kind.Map) | flag);
      this.#seekContent(le + 1);
      if (!this.#eof && this.#ind > indent) throw GIVE_UP;
      return v;
    } else if (c === 124 /* | */ || c === 62 /* > */) {
      this.#count(depth);
      return this.#blockScalar(j, le, r, ks, ke, indent, flag);
    } else {
      this.#count(depth);
      if (isIndicator(c)) throw GIVE_UP;
      if (c === DASH && (j + 1 === le || t.charCodeAt(j + 1) === SPACE)) throw GIVE_UP;
      // A plain scalar: up to ' #' or the end of the line; ': ' or a final ':' would be
      // a mapping the yaml package refuses here.
      end = j;
      let k = j;
      for (; k < le; k++) {
        const ch = t.charCodeAt(k);
        if (ch === SPACE) {
          if (k + 1 < le && t.charCodeAt(k + 1) === HASH) break;
        } else {
          if (ch === COLON && (k + 1 === le || t.charCodeAt(k + 1) === SPACE)) throw GIVE_UP;
          end = k + 1;
        }
      }
      value = resolvePlain(t.slice(j, end));
      kind = Kind.Plain;
    }
    this.#entry(r, ks, ke, j, end, kind | flag);
    this.#seekContent(le + 1);
    if (!this.#eof && this.#ind > indent) throw GIVE_UP;
    return value;
  }

  /** A flow sequence or mapping starting at `j` and closed on the same line; returns it and the offset after it. */
  #flow(j: number, le: number, depth: number): [unknown, number] {
    this.#count(depth);
    const t = this.text;
    const open = t.charCodeAt(j);
    const close = open === 91 ? 93 : 125;
    const isMap = open === 123;
    const obj: Record<string, unknown> = {};
    const arr: unknown[] = [];
    const r: Open = { head: -1, tail: -1 };
    let i = skipSpaces(t, j + 1, le);
    if (t.charCodeAt(i) === close) {
      this.#lastHead = -1;
      return [isMap ? obj : arr, i + 1];
    }
    for (;;) {
      let ks = -1;
      let ke = -1;
      let key = "";
      let flag = 0;
      if (isMap) {
        ks = i;
        const c0 = t.charCodeAt(i);
        if (!isKeyChar(c0) || c0 === DASH) throw GIVE_UP;
        while (i < le && isKeyChar(t.charCodeAt(i))) i++;
        ke = i;
        if (t.charCodeAt(i) !== COLON || t.charCodeAt(i + 1) !== SPACE) throw GIVE_UP;
        const raw = t.slice(ks, ke);
        key = keyOf(raw);
        if (FORBIDDEN_KEYS.has(key) || key === "<<" || Object.hasOwn(obj, key)) throw GIVE_UP;
        if (key !== raw) flag = KEY_RESOLVED;
        i = skipSpaces(t, i + 1, le);
      }
      const c = t.charCodeAt(i);
      let v: unknown;
      if (c === 91 || c === 123) {
        const vs = i;
        [v, i] = this.#flow(i, le, depth + 1);
        this.#entry(r, ks, ke, vs, this.#lastHead, (c === 91 ? Kind.Seq : Kind.Map) | flag);
      } else if (c === 34 || c === 39) {
        this.#count(depth + 1);
        const vs = i;
        [v, i] = quoted(t, i, le);
        this.#entry(r, ks, ke, vs, i, (c === 34 ? Kind.Double : Kind.Single) | flag);
      } else {
        this.#count(depth + 1);
        if (isIndicator(c) || c === DASH || i >= le) throw GIVE_UP;
        const vs = i;
        let end = i;
        for (; i < le; i++) {
          const ch = t.charCodeAt(i);
          if (ch === 44 /* , */ || ch === 93 || ch === 125) break;
          if (ch === 91 || ch === 123 || ch === COLON || ch === HASH) throw GIVE_UP;
          if (ch !== SPACE) end = i + 1;
        }
        v = resolvePlain(t.slice(vs, end));
        this.#entry(r, ks, ke, vs, end, Kind.Plain | flag);
      }
      if (isMap) obj[key] = v;
      else arr.push(v);
      i = skipSpaces(t, i, le);
      const sep = t.charCodeAt(i);
      if (sep === close) return [this.#close(r, isMap ? obj : arr), i + 1];
      if (sep !== 44 /* , */) throw GIVE_UP;
      i = skipSpaces(t, i + 1, le);
      // No trailing comma, no empty entry.
      const next = t.charCodeAt(i);
      if (i >= le || next === close || next === 44) throw GIVE_UP;
    }
  }

  /**
   * A block scalar (`|` or `>`, then `-`, `+` or nothing) whose header is at `j`. Handled:
   * content lines indented more than `indent`, the first of them the least indented; blank
   * lines no deeper than the content, none before it.
   */
  #blockScalar(j: number, le: number, r: Open, ks: number, ke: number, indent: number, flag: number): string {
    const t = this.text;
    const n = this.#n;
    let h = j + 1;
    const chomp = t.charCodeAt(h);
    if (chomp === DASH || chomp === 43 /* + */) h++;
    // The header ends the line (an indentation indicator or anything else: not handled).
    if (h < le && t.charCodeAt(h) !== SPACE) throw GIVE_UP;
    trailer(t, h, le);
    // The body: lines until one that has content and is indented at most `indent`.
    let contentIndent = -1;
    const lines: string[] = [];
    let i = le + 1;
    let lastContentEnd = -1; // end (after the newline) of the last line with content
    let blanks = 0; // blank lines after the last content line
    while (i < n) {
      let k = i;
      while (k < n && t.charCodeAt(k) === SPACE) k++;
      let e = t.indexOf("\n", k);
      if (e === -1) e = n;
      if (k === e) {
        // A blank line: more spaces than the content's indentation would be content.
        if (contentIndent === -1 || k - i > contentIndent) throw GIVE_UP;
        blanks++;
        lines.push("");
        i = e + 1;
        continue;
      }
      const ind = k - i;
      if (contentIndent === -1) {
        if (ind <= indent) break;
        contentIndent = ind;
      } else if (ind < contentIndent) {
        if (ind > indent) throw GIVE_UP; // less indented than the first line, but still inside
        break;
      }
      lines.push(t.slice(i + contentIndent, e));
      blanks = 0;
      lastContentEnd = e + 1;
      i = e + 1;
    }
    if (contentIndent === -1 || lastContentEnd > n + 1) throw GIVE_UP;
    // The last content line must end with a newline (text ending inside it: not handled).
    if (lastContentEnd > n) throw GIVE_UP;
    lines.length -= blanks;
    const folded = t.charCodeAt(j) === 62;
    let value = folded ? fold(lines) : lines.join("\n");
    if (chomp === DASH) {
      /* strip */
    } else if (chomp === 43) {
      value += "\n".repeat(1 + blanks);
      if (blanks > 0) throw GIVE_UP; // keep with trailing blank lines: range not mirrored here
    } else value += "\n";
    this.#entry(r, ks, ke, j, lastContentEnd, (folded ? Kind.Folded : Kind.Literal) | flag);
    this.#seekContent(lastContentEnd);
    if (!this.#eof && this.#ind > indent) throw GIVE_UP;
    return value;
  }
}

/**
 * The value of a folded block scalar from its lines (indentation removed): lines are joined
 * by a space, except around empty and more-indented lines (the yaml package's algorithm).
 */
function fold(lines: readonly string[]): string {
  let value = "";
  let sep = "";
  let prevMoreIndented = false;
  for (const line of lines) {
    if (line.charCodeAt(0) === SPACE) {
      if (sep === " ") sep = "\n";
      else if (!prevMoreIndented && sep === "\n") sep = "\n\n";
      value += sep + line;
      sep = "\n";
      prevMoreIndented = true;
    } else if (line === "") {
      if (sep === "\n") value += "\n";
      else sep = "\n";
    } else {
      value += sep + line;
      sep = " ";
      prevMoreIndented = false;
    }
  }
  return value;
}

function skipSpaces(t: string, i: number, le: number): number {
  while (i < le && t.charCodeAt(i) === SPACE) i++;
  return i;
}

/** After a scalar or flow collection that ends at `i`: only spaces, then the end of the line or a comment. */
function trailer(t: string, i: number, le: number): void {
  if (i === le) return;
  if (t.charCodeAt(i) !== SPACE) throw GIVE_UP;
  const k = skipSpaces(t, i, le);
  if (k !== le && t.charCodeAt(k) !== HASH) throw GIVE_UP;
}

/** A plain key's string, as keyString in yaml-file.ts makes it from the resolved scalar. */
function keyOf(s: string): string {
  return String(resolvePlain(s));
}

/** Whether a plain scalar starting at `j` is an implicit key (`key:` then a space or the end). */
function startsImplicitKey(t: string, j: number, le: number): boolean {
  let k = j;
  while (k < le && isKeyChar(t.charCodeAt(k))) k++;
  if (k < le && t.charCodeAt(k) === COLON && (k + 1 === le || t.charCodeAt(k + 1) === SPACE)) return true;
  // Anything else that would still read as a key is left to the yaml package.
  for (; k < le; k++) {
    const ch = t.charCodeAt(k);
    if (ch === SPACE && t.charCodeAt(k + 1) === HASH) return false;
    if (ch === COLON && (k + 1 === le || t.charCodeAt(k + 1) === SPACE)) throw GIVE_UP;
  }
  return false;
}

/** A quoted scalar on one line starting at `j`: its value and the offset after its closing quote. */
function quoted(t: string, j: number, le: number): [string, number] {
  const q = t.charCodeAt(j);
  let k = j + 1;
  let escapes = false;
  for (;;) {
    if (k >= le) throw GIVE_UP; // not closed on this line
    const ch = t.charCodeAt(k);
    if (ch === q) {
      if (q === 39 && t.charCodeAt(k + 1) === 39) {
        escapes = true;
        k += 2;
        continue;
      }
      break;
    }
    if (ch === 92 /* \ */ && q === 34) {
      escapes = true;
      k += 2;
      continue;
    }
    k++;
  }
  const raw = t.slice(j + 1, k);
  if (!escapes) return [raw, k + 1];
  if (q === 39) return [raw.replaceAll("''", "'"), k + 1];
  // Double-quoted escapes that JSON also has mean the same in YAML; others: not handled.
  if (raw.replace(JSON_ESCAPES, "").includes("\\")) throw GIVE_UP;
  return [JSON.parse(`"${raw}"`) as string, k + 1];
}
