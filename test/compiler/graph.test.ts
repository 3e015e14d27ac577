/**
 * The DAG: topological order and parallel levels. Each test draws its graph; edges point
 * from a dependency to its dependant (a --> b: b needs a).
 */
import { describe, expect, it } from "vitest";
import { buildDag } from "../../src/compiler/graph.js";
import { load, MOCK_MODELS } from "../helpers/diagnostics.js";

/** The order and the levels on two lines: `order: a b c` and `levels: a | b c | d`. */
function show(d: { order: readonly string[]; levels: readonly (readonly string[])[] }): string {
  return `order: ${d.order.join(" ")}\nlevels: ${d.levels.map((l) => l.join(" ")).join(" | ")}`;
}

/** buildDag from `dependant: [dependencies]`, nodes in the order written. */
function dag(spec: Record<string, string[]>) {
  return buildDag({ nodes: Object.keys(spec), dependencies: new Map(Object.entries(spec)) });
}

describe("buildDag", () => {
  it("orders a chain", () => {
    //  a --> b --> c
    const { dag: d, cycles } = dag({ c: ["b"], b: ["a"], a: [] });
    expect(cycles).toEqual([]);
    expect(show(d)).toMatchInlineSnapshot(`
      "order: a b c
      levels: a | b | c"
    `);
  });

  it("puts a fan-out in one level and keeps the file's order inside it", () => {
    //        +--> b --+
    //        |        |
    //   a ---+--> c --+--> e
    //        |        |
    //        +--> d --+
    const { dag: d } = dag({ a: [], d: ["a"], b: ["a"], c: ["a"], e: ["b", "c", "d"] });
    expect(show(d)).toMatchInlineSnapshot(`
      "order: a d b c e
      levels: a | d b c | e"
    `);
    expect([...d.dependants].map(([k, v]) => `${k} -> ${v.join(" ") || "(none)"}`).join("\n")).toMatchInlineSnapshot(`
      "a -> d b c
      d -> e
      b -> e
      c -> e
      e -> (none)"
    `);
  });

  it("levels a step by its longest chain of dependencies, not its shortest", () => {
    //   a --> b --> c
    //   |           |
    //   +---------> d
    const { dag: d } = dag({ a: [], b: ["a"], c: ["b"], d: ["a", "c"] });
    expect(show(d)).toMatchInlineSnapshot(`
      "order: a b c d
      levels: a | b | c | d"
    `);
  });

  it("orders independent components side by side", () => {
    //   a --> b      x --> y      z
    const { dag: d } = dag({ x: [], a: [], y: ["x"], b: ["a"], z: [] });
    expect(show(d)).toMatchInlineSnapshot(`
      "order: x a z y b
      levels: x a z | y b"
    `);
  });

  it("finds a cycle and still orders the steps outside it", () => {
    //   s --> a --> b --> c
    //         ^           |
    //         +-----------+
    const { dag: d, cycles } = dag({ s: [], a: ["s", "c"], b: ["a"], c: ["b"] });
    expect(cycles).toEqual([["a", "c", "b", "a"]]);
    expect(d.order).toEqual(["s"]);
  });

  it("finds a step that depends on itself", () => {
    const { cycles } = dag({ a: ["a"] });
    expect(cycles).toEqual([["a", "a"]]);
  });

  it("handles a 10,000-step chain without deep recursion", () => {
    const spec: Record<string, string[]> = { s0: [] };
    for (let i = 1; i < 10_000; i++) spec[`s${i}`] = [`s${i - 1}`];
    spec.s0 = ["s9999"];
    const { cycles } = dag(spec);
    expect(cycles).toHaveLength(1);
    expect(cycles[0]).toHaveLength(10_001);
  });
});

describe("a compiled pipeline's DAG", () => {
  it("joins edges from needs and from $steps references", () => {
    //   fetch --> summary --+
    //     |                 +--> reply
    //     +-----> tags -----+
    //              (needs)
    const r = load(`${MOCK_MODELS}steps:
  reply:
    model: writer
    needs: [tags]
    input: { prompt: "\${{ $steps.summary.output.text }}" }
  summary:
    model: writer
    input: { prompt: "\${{ $steps.fetch.output.text }}" }
  tags:
    capabilities: [entity-extraction]
    when: $steps.fetch.status = "success"
  fetch:
    model: writer
`);
    const p = r.pipeline!;
    expect(show(p)).toMatchInlineSnapshot(`
      "order: fetch summary tags reply
      levels: fetch | summary tags | reply"
    `);
    expect([...p.steps].map(([id, s]) => `${id} needs ${s.dependencies.join(" ") || "nothing"}`).join("\n")).toMatchInlineSnapshot(`
      "reply needs summary tags
      summary needs fetch
      tags needs fetch
      fetch needs nothing"
    `);
  });
});
