/**
 * The validators built into dist/schema/validators.cjs (ajv standalone code) report exactly
 * what the schemas compiled at run time report, error for error, on valid files and on
 * files mangled at random.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import fc from "fast-check";
import type { ValidateFunction } from "ajv";
import { describe, expect, it } from "vitest";
import { parseYaml } from "../../src/config/yaml-file.js";
import { configSchema, pipelineSchema } from "../../src/schema/definitions.js";
import { standaloneValidatorsSource } from "../../src/schema/standalone.js";
import { getAjv, schemaFingerprint } from "../../src/schema/validate.js";

const require = createRequire(import.meta.url);

/** Loads the generated module text as build-validators.mjs writes it. */
function loadModule(source: string): { pipeline: ValidateFunction; config: ValidateFunction; fingerprint: string } {
  const module = { exports: {} as Record<string, unknown> };
  new Function("module", "exports", "require", source)(module, module.exports, (id: string) => {
    if (!id.startsWith("ajv/dist/runtime/")) throw new Error(`unexpected require(${id})`);
    return require(id);
  });
  return module.exports as never;
}

const built = loadModule(standaloneValidatorsSource());
const compiled = {
  pipeline: getAjv().getSchema(pipelineSchema.$id as string) ?? getAjv().compile(pipelineSchema),
  config: getAjv().getSchema(configSchema.$id as string) ?? getAjv().compile(configSchema),
};

function errorsOf(v: ValidateFunction, data: unknown): unknown {
  v(data);
  return JSON.parse(JSON.stringify(v.errors ?? null));
}

const samples = ["pipelines/ticket-triage.yaml", "pipelines/conversation.yaml", "pipelines/openai-chat.yaml", "pipelines/ollama-local.yaml", "test/fixtures/pipelines/diamond.yaml"].map(
  (f) => parseYaml(f, readFileSync(f, "utf8")).value,
);

/** Replaces the value at a random path of `v` with `replacement` (or adds a key). */
function mangle(v: unknown, at: number[], replacement: unknown, extraKey: string): unknown {
  if (at.length === 0 || v === null || typeof v !== "object") return replacement;
  const [k, ...rest] = at;
  if (Array.isArray(v)) {
    if (v.length === 0) return [replacement];
    const i = k! % v.length;
    return v.map((x, j) => (j === i ? mangle(x, rest, replacement, extraKey) : x));
  }
  const keys = Object.keys(v);
  if (keys.length === 0 || k! % 7 === 0) return { ...v, [extraKey]: replacement };
  const key = keys[k! % keys.length]!;
  return { ...v, [key]: mangle((v as Record<string, unknown>)[key], rest, replacement, extraKey) };
}

describe("the prebuilt schema validators", () => {
  it("carry the fingerprint of the schemas they were built from", () => {
    expect(built.fingerprint).toBe(schemaFingerprint());
  });

  it("report what the run-time compiled schemas report", () => {
    for (const s of samples) {
      expect(errorsOf(built.pipeline, s)).toEqual(errorsOf(compiled.pipeline, s));
      expect(errorsOf(built.config, s)).toEqual(errorsOf(compiled.config, s));
    }
    const replacement = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom("", "soon", "10ms", -1, 0, 1.5, "exponential", "contineu", "text-generation", ["a", "a"], {}, null, { ttl: "x" }));
    fc.assert(
      fc.property(fc.nat(samples.length - 1), fc.array(fc.nat(), { maxLength: 5 }), replacement, fc.constantFrom("extra", "provder", "step", "$schema"), (k, at, r, extra) => {
        const data = mangle(samples[k], at, r, extra);
        expect(errorsOf(built.pipeline, data)).toEqual(errorsOf(compiled.pipeline, data));
        expect(errorsOf(built.config, data)).toEqual(errorsOf(compiled.config, data));
      }),
      { numRuns: 500 },
    );
  });
});
