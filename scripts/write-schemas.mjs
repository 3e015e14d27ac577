// Writes schemas/pipeline.schema.json, schemas/config.schema.json and schemas/test.schema.json from the built
// src/schema/definitions.ts (run through `npm run schemas`, which builds first).
// test/schema/schema-files.test.ts fails when the committed files differ from these.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { configSchema, pipelineSchema } from "../dist/schema/definitions.js";
import { testSchema } from "../dist/schema/test-schema.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The text a schema file must hold: pretty JSON and a trailing newline. */
export function schemaText(schema) {
  return JSON.stringify(schema, null, 2) + "\n";
}

const files = {
  "schemas/pipeline.schema.json": pipelineSchema,
  "schemas/config.schema.json": configSchema,
  "schemas/test.schema.json": testSchema,
};

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  mkdirSync(join(root, "schemas"), { recursive: true });
  for (const [path, schema] of Object.entries(files)) {
    writeFileSync(join(root, path), schemaText(schema));
    console.log(`wrote ${path}`);
  }
}
