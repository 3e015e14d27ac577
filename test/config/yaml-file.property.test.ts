/**
 * parseYaml against the yaml package's own toJS on generated documents: the same values with
 * the same key order at every level. Compared as JSON text, because `toEqual` ignores key
 * order and a reader that sorted or reversed keys would pass it.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import YAML from "yaml";
import { parseYaml } from "../../src/config/yaml-file.js";

const key = fc.oneof(fc.constantFrom("a", "b", "name", "steps", "zeta", "10", "2"), fc.string({ minLength: 1, maxLength: 6 }));
const scalar = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.boolean(), fc.constant(null), fc.double({ noNaN: true, noDefaultInfinity: true }));
const { value } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: "small", withCrossShrink: true }, scalar, tie("list"), tie("map")),
  list: fc.array(tie("value"), { maxLength: 4 }),
  map: fc.dictionary(key, tie("value"), { maxKeys: 5 }),
}));

describe("parseYaml", () => {
  it("reads what the yaml package reads, keys in the same order", () => {
    fc.assert(
      fc.property(fc.dictionary(key, value, { minKeys: 1, maxKeys: 6 }), fc.boolean(), (doc, flow) => {
        const text = YAML.stringify(doc, flow ? { collectionStyle: "flow" } : {});
        const file = parseYaml("t.yaml", text);
        expect(file.diagnostics).toEqual([]);
        expect(JSON.stringify(file.value)).toBe(JSON.stringify(YAML.parse(text)));
      }),
      { numRuns: 200 },
    );
  });

  it("the comparison sees key order (a reader that reversed keys would fail it)", () => {
    const text = "b: 1\na: { d: 2, c: 3 }\n";
    const reversed = JSON.stringify({ a: { c: 3, d: 2 }, b: 1 });
    expect(JSON.stringify(parseYaml("t.yaml", text).value)).not.toBe(reversed);
    expect(JSON.stringify(parseYaml("t.yaml", text).value)).toBe(JSON.stringify(YAML.parse(text)));
  });
});
