/**
 * The state of one compilation: the diagnostics recorded so far, and the compiling of YAML
 * values into templates and expressions that remembers where each expression came from, so
 * that a problem found later (an unknown step, a cycle) points into the file.
 */
import { error, type Diagnostic, type Location } from "../diagnostics/diagnostic.js";
import type { DiagnosticCode } from "../diagnostics/codes.js";
import { scalarOffsetMapper, verbatimStart } from "../config/scalar-offsets.js";
import type { JsonPath, YamlFile } from "../config/yaml-file.js";
import { CompiledExpression, isSyntaxError } from "../expr/expression.js";
import { compileString, scanTemplate, type Template } from "../expr/template.js";

/** A YAML mapping as plain values. */
export type Obj = Record<string, unknown>;
/** The value when it is a mapping, else an empty one (the schema check reports the rest). */
export const obj = (v: unknown): Obj => (v && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {});
/** The strings of a list; the schema check reports anything else. */
export const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);
export const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

export class Compilation {
  /** The diagnostics recorded so far; a caller may pass its own list to append to. */
  constructor(readonly diagnostics: Diagnostic[] = []) {}

  // A Map, not a WeakMap: the compilation is short-lived, and thousands of WeakMap entries
  // (ephemerons) make every garbage collection slower.
  // Where each expression's text starts: the string's file and path, and the offset in the
  // string. Offsets in the expression are mapped to the file only to report a problem.
  readonly #origins = new Map<CompiledExpression, { file: YamlFile; path: JsonPath; base: number }>();

  report(code: DiagnosticCode, message: string, location: Location | undefined, extra: { hint?: string; related?: { message: string; location?: Location }[] } = {}) {
    this.diagnostics.push(error(code, message, location, extra));
  }

  /** Compiles any YAML value at `path` of `file` into a template. */
  template(file: YamlFile, path: JsonPath, value: unknown): Template {
    if (typeof value === "string") {
      if (!value.includes("${{")) return { kind: "literal", value };
      // Where the value is a verbatim copy of the file (the commonest case), the expressions
      // know their own offsets; else each is mapped through the scalar's source.
      const start = verbatimStart(file, path);
      const problems: Parameters<typeof compileString>[2] = [];
      const t =
        start !== undefined
          ? compileString(value, { file: file.path, start }, problems)
          : compileString(value, scalarOffsetMapper(file, path), problems, (e, exprStart) => this.#origins.set(e, { file, path, base: exprStart }));
      if (problems.length === 0) return t;
      const map = scalarOffsetMapper(file, path);
      for (const p of problems) {
        const loc = map(p.offset, p.length);
        if (p.kind === "unclosed") {
          this.report("MCP206", p.message, loc, { hint: unclosedHint(file.text, loc?.offset) });
        } else {
          this.report("MCP201", `expression syntax error: ${p.message}`, loc);
        }
      }
      return t;
    }
    if (Array.isArray(value)) {
      const items = value.map((v, i) => this.#child(file, path, i, v));
      return items.every((i) => i.kind === "literal") ? { kind: "literal", value } : { kind: "array", items };
    }
    if (value && typeof value === "object") {
      const keys = Object.keys(value);
      const entries = new Array<readonly [string, Template]>(keys.length);
      let literal = true;
      for (let i = 0; i < keys.length; i++) {
        const t = this.#child(file, path, keys[i]!, (value as Obj)[keys[i]!]);
        if (t.kind !== "literal") literal = false;
        entries[i] = [keys[i]!, t];
      }
      return literal ? { kind: "literal", value } : { kind: "object", entries };
    }
    return { kind: "literal", value };
  }

  /** template() of an element or entry; its path is made only when something needs it. */
  #child(file: YamlFile, path: JsonPath, key: string | number, value: unknown): Template {
    if (typeof value === "string" && !value.includes("${{")) return { kind: "literal", value };
    if (value === null || (typeof value !== "object" && typeof value !== "string")) return { kind: "literal", value };
    return this.template(file, [...path, key], value);
  }

  /** Compiles a bare JSONata expression (`when`, `forEach`); `${{ }}` around it is accepted. */
  expression(file: YamlFile, path: JsonPath, value: string): CompiledExpression | undefined {
    const map = scalarOffsetMapper(file, path);
    let source = value;
    let base = 0;
    const { spans } = scanTemplate(value);
    const only = spans[0];
    if (spans.length === 1 && only && value.slice(0, only.start).trim() === "" && value.slice(only.end).trim() === "") {
      source = value.slice(only.exprStart, only.exprEnd);
      base = only.exprStart;
    }
    if (source.trim() === "") {
      this.report("MCP201", "expression syntax error: the expression is empty", map(0, value.length));
      return undefined;
    }
    const r = CompiledExpression.compile(source, map(base, source.length));
    if (isSyntaxError(r)) {
      this.report("MCP201", `expression syntax error: ${r.message}`, map(base + r.offset, r.length));
      return undefined;
    }
    this.#origins.set(r, { file, path, base });
    return r;
  }

  locateInExpr(e: CompiledExpression, offset: number, length: number): Location | undefined {
    const inText = e.locateInText(offset, length);
    if (inText) return inText;
    const o = this.#origins.get(e);
    return o ? scalarOffsetMapper(o.file, o.path)(o.base + offset, length) : e.location;
  }
}

/**
 * The hint of MCP206: an unquoted value whose `}}` is still on its line after ' #' was cut
 * there by YAML (the rest is a comment); otherwise the expression was not closed.
 */
function unclosedHint(text: string, offset: number | undefined): string {
  if (offset !== undefined) {
    const end = text.indexOf("\n", offset);
    const line = text.slice(offset, end === -1 ? text.length : end);
    const hash = line.indexOf(" #");
    if (hash !== -1 && line.indexOf("}}", hash) !== -1) return `YAML read '${line.slice(hash + 1).trim()}' as a comment and cut the value before it: quote the value, key: "\${{ expr }}"`;
  }
  return 'close it with }}; inside flow mappings { } quote the value: key: "${{ expr }}"';
}
