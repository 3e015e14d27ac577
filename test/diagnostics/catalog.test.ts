/** The code catalog and its documentation stay in step. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CODES } from "../../src/diagnostics/codes.js";

const doc = readFileSync(join(import.meta.dirname, "..", "..", "docs", "diagnostics.md"), "utf8");

describe("the diagnostic catalog", () => {
  it("has a section in docs/diagnostics.md for every code, titled with its catalog name", () => {
    const missing = Object.entries(CODES).filter(([code, title]) => !doc.includes(`### ${code} ${title}\n`));
    expect(missing).toEqual([]);
  });

  it("documents no code that is not in the catalog", () => {
    const documented = [...doc.matchAll(/^### (MCP\d{3}) /gm)].map((m) => m[1]);
    expect(documented.filter((c) => !(c! in CODES))).toEqual([]);
  });
});
