/** MCP3xx: the step graph. */
import { describe, expect, it } from "vitest";
import { headlines, load, MOCK_MODELS, only, rendered } from "../helpers/diagnostics.js";

const pipeline = (steps: string) => `${MOCK_MODELS}steps:\n${steps}`;

describe("MCP301 dependency cycle", () => {
  it("names the whole cycle, with one note per edge at the place the edge comes from", () => {
    const r = load(
      pipeline(`  a:
    model: writer
    needs: [c]
  b:
    model: writer
    needs: [a]
  c:
    model: writer
    input: { text: "\${{ $steps.b.output.text }}" }
`),
    );
    expect(rendered(r)).toBe(
      [
        "p.yaml:9:3: error MCP301: dependency cycle: a -> c -> b -> a",
        "    9 |   a:",
        "          ~",
        "  hint: each arrow reads 'needs'; remove one of these dependencies",
        "  p.yaml:11:13: note: 'a' needs 'c'",
        "  p.yaml:17:32: note: 'c' needs 'b' (it reads $steps.b)",
        "  p.yaml:14:13: note: 'b' needs 'a'",
      ].join("\n"),
    );
  });

  it("reports one diagnostic per cycle, and no other error for the same steps", () => {
    const r = load(
      pipeline(`  a: { model: writer, needs: b }
  b: { model: writer, needs: a }
  c: { model: writer }
  d: { model: writer, needs: [c, e] }
  e: { model: writer, needs: d }
`),
    );
    expect(headlines(r)).toEqual(["p.yaml:9:3: error MCP301: dependency cycle: a -> b -> a", "p.yaml:12:3: error MCP301: dependency cycle: d -> e -> d"]);
    expect(r.diagnostics.map((d) => d.related?.length)).toEqual([2, 2]);
  });

  it("names the shortest cycle through the first step of a tangle", () => {
    const r = load(
      pipeline(`  a: { model: writer, needs: [b, c] }
  b: { model: writer, needs: [c] }
  c: { model: writer, needs: [a] }
`),
    );
    expect(only(r, "MCP301").message).toBe("dependency cycle: a -> c -> a");
  });
});

describe("MCP302 invalid step id", () => {
  it("refuses ids that $steps.<id> could not name, and suggests one that it could", () => {
    const r = load(pipeline(`  draft-reply: { model: writer }\n`));
    expect(headlines(r)).toEqual(["p.yaml:9:3: error MCP302: step id 'draft-reply' is not an identifier"]);
    expect(r.diagnostics[0]!.hint).toBe("use letters, digits and _ and do not start with a digit (e.g. 'draft_reply'), so $steps.draft_reply needs no quoting");
  });
});

describe("MCP303 step has no model", () => {
  it("asks for model, capabilities or task and lists the models", () => {
    const r = load(pipeline(`  a:\n    input: { text: hi }\n`));
    expect(headlines(r)).toEqual(["p.yaml:9:3: error MCP303: step 'a' has no model: give it 'model', 'capabilities' or 'task'"]);
    expect(r.diagnostics[0]!.hint).toBe("models: writer, tagger");
  });

  it("leaves a step that is not a mapping to the schema check", () => {
    const r = load(pipeline(`  a:\n`));
    expect(r.diagnostics.map((d) => d.code)).toEqual(["MCP102"]);
  });
});

describe("MCP304 step depends on itself", () => {
  it("refuses a step that needs itself", () => {
    const r = load(pipeline(`  a:\n    model: writer\n    needs: [a]\n`));
    expect(headlines(r)).toEqual(["p.yaml:11:13: error MCP304: step 'a' needs itself"]);
  });

  it("refuses a step that reads its own output", () => {
    const r = load(pipeline(`  a:\n    model: writer\n    input: "\${{ $steps.a.output }}"\n`));
    expect(headlines(r)).toEqual(["p.yaml:11:24: error MCP304: step 'a' reads its own output ($steps.a)"]);
  });
});
