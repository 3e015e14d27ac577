/**
 * Property-based: whatever text it is given (random strings, truncated or mangled copies of
 * a valid pipeline), the loader returns, never throws, and returns either a pipeline or
 * errors, with every location inside the text and printable.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hasErrors } from "../../src/diagnostics/diagnostic.js";
import { formatDiagnostics } from "../../src/diagnostics/printer.js";
import type { LoadResult } from "../../src/compiler/load.js";
import { load } from "../helpers/diagnostics.js";

const VALID = `# yaml-language-server: $schema=../schemas/pipeline.schema.json
version: 1
name: fuzz
inputs:
  type: object
  required: [text]
  properties: { text: { type: string } }
models:
  writer: &m
    provider: mock
    capabilities: [text-generation, entity-extraction]
    options:
      reply: { text: "echo: \${{ $request.prompt }}" }
  backup:
    <<: *m
    fallback: [writer]
tasks:
  tag: { capabilities: [entity-extraction], retry: { attempts: 2 } }
context:
  conversation: \${{ $input.id }}
  maxHistory: 5
steps:
  first:
    model: writer
    input: { prompt: "\${{ $input.text }}" }
  tags:
    task: tag
    when: $steps.first.status = "success"
    input:
      text: |
        Tags for:
        \${{ $steps.first.output.text }}
  each:
    model: writer
    forEach: $steps.tags.output.entities
    concurrency: 2
    needs: [first]
    input: { prompt: "item \${{ $index }}: \${{ $item.value }}" }
    retry: { attempts: 3, backoff: exponential, initialDelay: 10ms }
    timeout: 2s
output:
  text: \${{ $steps.first.output.text }}
  all: "\${{ $count($steps.each.output) }} items"
`;

/** FUZZ_RUNS=20 npx vitest run test/compiler/loader.property.test.ts searches 20 times as long. */
const scale = Number(process.env.FUZZ_RUNS ?? 1);
const runs = (n: number) => ({ numRuns: Math.round(n * scale) });

/** Characters that mean something to YAML or to templates, to flip into the text. */
const SIGNIFICANT = [..."{}[]:,#&*!|>'\"%@`-?$ \n\t\\<=.()"];

function checkResult(r: LoadResult, text: string): void {
  if (r.pipeline) {
    expect(hasErrors(r.diagnostics)).toBe(false);
  } else {
    expect(hasErrors(r.diagnostics)).toBe(true);
  }
  for (const d of r.diagnostics) {
    if (d.location?.file === "p.yaml") {
      expect(d.location.offset).toBeGreaterThanOrEqual(0);
      expect(d.location.offset).toBeLessThanOrEqual(text.length);
    }
  }
  // Every format prints without throwing.
  for (const f of ["text", "json", "github"] as const) formatDiagnostics(r.diagnostics, r.sources, f);
}

describe("the loader", () => {
  it("accepts the valid pipeline the mangled ones come from", () => {
    const r = load(VALID);
    expect(r.diagnostics).toEqual([]);
    expect(r.pipeline?.order).toEqual(["first", "tags", "each"]);
  });

  it("never throws on random text", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 300 }), (text) => {
        checkResult(load(text), text);
      }),
      runs(200),
    );
  });

  it("never throws on random text made of YAML's own characters", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom(...SIGNIFICANT), fc.constantFrom("steps:", "${{", "}}", "model: m", "  ", "\n  ", "*a", "&a", "<<: ")), { maxLength: 80 }), (parts) => {
        const text = parts.join("");
        checkResult(load(text), text);
      }),
      runs(200),
    );
  });

  it("never throws on a truncated pipeline", () => {
    fc.assert(
      fc.property(fc.nat(VALID.length), (cut) => {
        const text = VALID.slice(0, cut);
        checkResult(load(text), text);
      }),
      runs(150),
    );
  });

  it("never throws on a pipeline with characters flipped", () => {
    const flips = fc.array(fc.tuple(fc.nat(VALID.length - 1), fc.constantFrom(...SIGNIFICANT)), { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(flips, (changes) => {
        const chars = [...VALID];
        for (const [at, c] of changes) chars[at] = c;
        const text = chars.join("");
        checkResult(load(text), text);
      }),
      runs(200),
    );
  });

  it("never throws on a pipeline with random bytes flipped", () => {
    const bytes = Buffer.from(VALID, "utf8");
    const flips = fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(flips, (changes) => {
        const b = Buffer.from(bytes);
        for (const [at, v] of changes) b[at] = v;
        const text = b.toString("utf8");
        checkResult(load(text), text);
      }),
      runs(150),
    );
  });

  it("never throws when lines are duplicated, dropped or re-indented", () => {
    const lines = VALID.split("\n");
    const edit = fc.tuple(fc.nat(lines.length - 1), fc.constantFrom("dup", "drop", "indent", "dedent"));
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 5 }), (edits) => {
        const ls = [...lines];
        for (const [i, kind] of edits) {
          if (i >= ls.length) continue;
          if (kind === "dup") ls.splice(i, 0, ls[i]!);
          else if (kind === "drop") ls.splice(i, 1);
          else if (kind === "indent") ls[i] = "  " + ls[i];
          else ls[i] = ls[i]!.replace(/^ {1,2}/, "");
        }
        const text = ls.join("\n");
        checkResult(load(text), text);
      }),
      runs(150),
    );
  });
});
