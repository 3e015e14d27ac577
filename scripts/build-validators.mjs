// Writes dist/schema/validators.cjs: the validators of the built-in schemas (pipeline,
// mcp.yaml) as ajv standalone code, so a process checking a file neither compiles the
// schemas (~100 ms cold) nor loads ajv. Runs after tsc in the build, prepare, pretest and
// bench scripts. src/schema/validate.ts uses the module only when its fingerprint matches
// the schemas it was built from, and compiles them at run time otherwise.
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { standaloneValidatorsSource } from "../dist/schema/standalone.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
writeFileSync(join(root, "dist", "schema", "validators.cjs"), standaloneValidatorsSource());
