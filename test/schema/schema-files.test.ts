/**
 * The committed schemas/*.schema.json files are what editors load; they must be exactly
 * what src/schema/definitions.ts builds (regenerate with `npm run schemas`), and every
 * property must carry a description for editors to show.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Ajv2020 } from "ajv/dist/2020.js";
import { configSchema, pipelineSchema } from "../../src/schema/definitions.js";
import { testSchema } from "../../src/schema/test-schema.js";

const ROOT = join(import.meta.dirname, "..", "..");
const SCHEMAS = {
  "schemas/pipeline.schema.json": pipelineSchema,
  "schemas/config.schema.json": configSchema,
  "schemas/test.schema.json": testSchema,
};

type Schema = Record<string, unknown>;

/** Paths of every property schema (and shared definition) that has no description. */
function undescribed(schema: Schema): string[] {
  const missing: string[] = [];
  const walk = (s: unknown, path: string): void => {
    if (!s || typeof s !== "object") return;
    const node = s as Schema;
    for (const [k, v] of Object.entries((node.properties ?? {}) as Record<string, Schema>)) {
      if (typeof v.description !== "string" || v.description.trim() === "") missing.push(`${path}.${k}`);
      walk(v, `${path}.${k}`);
    }
    for (const k of ["items", "additionalProperties"]) walk(node[k], `${path}[${k}]`);
    for (const k of ["anyOf", "oneOf", "allOf"]) ((node[k] ?? []) as unknown[]).forEach((x, i) => walk(x, `${path}.${k}[${i}]`));
    for (const [k, v] of Object.entries((node.$defs ?? {}) as Record<string, Schema>)) {
      if (typeof v.description !== "string") missing.push(`$defs.${k}`);
      walk(v, `$defs.${k}`);
    }
  };
  walk(schema, "");
  return missing;
}

describe("the schema files", () => {
  for (const [file, schema] of Object.entries(SCHEMAS)) {
    it(`${file} is what src/schema/definitions.ts builds (run npm run schemas if not)`, () => {
      const committed = readFileSync(join(ROOT, file), "utf8");
      expect(committed).toBe(JSON.stringify(schema, null, 2) + "\n");
    });

    it(`${file} describes every property`, () => {
      expect(undescribed(schema)).toEqual([]);
    });

    it(`${file} is a valid draft 2020-12 schema with a stable $id`, () => {
      const ajv = new Ajv2020({ strict: false, allowUnionTypes: true });
      expect(ajv.validateSchema(schema)).toBe(true);
      expect(schema.$id).toBe(`https://mcp-runner.dev/${file}`);
      expect(schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    });

    it(`${file} refuses unknown keys at the top level`, () => {
      expect(schema.additionalProperties).toBe(false);
    });
  }

  it("the check of descriptions finds a property without one", () => {
    expect(undescribed({ properties: { a: { type: "string" }, b: { description: "B", properties: { c: {} } } } })).toEqual([".a", ".b.c"]);
  });
});
