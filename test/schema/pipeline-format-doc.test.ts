/**
 * docs/pipeline-format.md is "the reference of every key": each key the pipeline and
 * mcp.yaml schemas accept is named there (as `key`), so a new key cannot go undocumented.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { configSchema, defs, pipelineSchema } from "../../src/schema/definitions.js";

const doc = readFileSync(join(import.meta.dirname, "..", "..", "docs", "pipeline-format.md"), "utf8");

type Props = { properties?: Record<string, unknown> };
const keysOf = (s: unknown): string[] => Object.keys((s as Props).properties ?? {});

describe("docs/pipeline-format.md", () => {
  it("names every key of a pipeline file, its steps, models, tasks, defaults, retry, context and budget", () => {
    const missing: string[] = [];
    const check = (where: string, keys: string[]) => {
      for (const k of keys) if (!doc.includes(`\`${k}\``)) missing.push(`${where}.${k}`);
    };
    check("pipeline", keysOf(pipelineSchema));
    for (const d of ["step", "model", "task", "defaults", "retry", "context", "budget"]) check(d, keysOf(defs[d]));
    expect(missing).toEqual([]);
  });

  it("names every key of mcp.yaml and its server settings", () => {
    const props = (configSchema as Props).properties!;
    const missing = [...keysOf(configSchema), ...keysOf(props.server)].filter((k) => !doc.includes(`\`${k}\``));
    expect(missing).toEqual([]);
  });
});
