/**
 * Property-based: random graphs, written as real pipeline YAML and compiled through the
 * loader, give an order that respects every edge and levels consistent with the edges;
 * a graph with a cycle gives MCP301 and nothing else.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { load } from "../helpers/diagnostics.js";

interface GraphSpec {
  /** Step ids in the order they are written in the file. */
  ids: string[];
  /** [from, to]: step `to` depends on step `from`. */
  edges: [string, string][];
  /** How each edge is written: a needs entry, or a $steps reference in input, when or output. */
  kinds: ("needs" | "input" | "when" | "output")[];
}

/** An acyclic graph: edges go from lower to higher rank; the file order is shuffled. */
const acyclicGraph: fc.Arbitrary<GraphSpec> = fc
  .integer({ min: 1, max: 25 })
  .chain((n) =>
    fc.record({
      n: fc.constant(n),
      // Pairs are drawn freely and normalised afterwards: a filter that no pair can pass
      // (n = 1) would make fast-check search forever.
      pairs: fc.uniqueArray(fc.tuple(fc.nat(n - 1), fc.nat(n - 1)), { maxLength: n * 3, selector: ([a, b]) => `${a}-${b}` }),
      order: fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }),
      kinds: fc.array(fc.constantFrom("needs" as const, "input" as const, "when" as const, "output" as const), { minLength: n * 3, maxLength: n * 3 }),
    }),
  )
  .map(({ pairs, order, kinds }) => {
    const forward = [...new Map(pairs.filter(([a, b]) => a !== b).map(([a, b]) => [`${Math.min(a, b)}-${Math.max(a, b)}`, [Math.min(a, b), Math.max(a, b)]])).values()];
    return {
      ids: order.map((i) => `s${i}`),
      edges: forward.map(([a, b]) => [`s${a}`, `s${b}`] as [string, string]),
      kinds: kinds.slice(0, forward.length),
    };
  });

/** Any graph, cycles allowed (self-loops are MCP304, tested on their own). */
const anyGraph: fc.Arbitrary<GraphSpec> = fc
  .integer({ min: 1, max: 12 })
  .chain((n) =>
    fc.record({
      n: fc.constant(n),
      pairs: fc.uniqueArray(fc.tuple(fc.nat(n - 1), fc.nat(n - 1)), { maxLength: n * 2, selector: ([a, b]) => `${a}-${b}` }),
      kinds: fc.array(fc.constantFrom("needs" as const, "input" as const), { minLength: n * 2, maxLength: n * 2 }),
    }),
  )
  .map(({ n, pairs, kinds }) => {
    const distinct = pairs.filter(([a, b]) => a !== b);
    return {
      ids: [...Array(n).keys()].map((i) => `s${i}`),
      edges: distinct.map(([a, b]) => [`s${a}`, `s${b}`] as [string, string]),
      kinds: kinds.slice(0, distinct.length),
    };
  });

/** The pipeline YAML of a graph, every step on a mock model. */
function toYaml(g: GraphSpec): string {
  const lines = ["version: 1", "models:", "  m:", "    provider: mock", "    capabilities: [text-generation]", "steps:"];
  for (const id of g.ids) {
    const incoming = g.edges.map((e, i) => ({ from: e[0], to: e[1], kind: g.kinds[i]! })).filter((e) => e.to === id);
    const by = (k: string) => incoming.filter((e) => e.kind === k).map((e) => e.from);
    lines.push(`  ${id}:`, "    model: m");
    const needs = by("needs");
    if (needs.length) lines.push(`    needs: [${needs.join(", ")}]`);
    const inputs = by("input");
    lines.push("    input:", `      prompt: "step ${id}${inputs.map((f) => ` \${{ $steps.${f}.output.text }}`).join("")}"`);
    const whens = by("when");
    if (whens.length) lines.push(`    when: ${whens.map((f) => `$steps.${f}.status = "success"`).join(" and ")}`);
    const outputs = by("output");
    if (outputs.length) lines.push("    output:", ...outputs.map((f) => `      ${f}: \${{ $steps.${f}.output }}`));
  }
  return lines.join("\n") + "\n";
}

function hasCycle(g: GraphSpec): boolean {
  const deps = new Map(g.ids.map((id) => [id, g.edges.filter((e) => e[1] === id).map((e) => e[0])]));
  const state = new Map<string, 1 | 2>();
  const visit = (v: string): boolean => {
    if (state.get(v) === 1) return true;
    if (state.get(v) === 2) return false;
    state.set(v, 1);
    if ((deps.get(v) ?? []).some(visit)) return true;
    state.set(v, 2);
    return false;
  };
  return g.ids.some(visit);
}

describe("random acyclic pipelines", () => {
  it("compile to an order that respects every edge, with levels consistent with the edges", () => {
    fc.assert(
      fc.property(acyclicGraph, (g) => {
        const r = load(toYaml(g));
        expect(r.diagnostics).toEqual([]);
        const p = r.pipeline!;
        // The order is a permutation of the steps in which every edge points forward.
        expect([...p.order].sort()).toEqual([...g.ids].sort());
        const pos = new Map(p.order.map((id, i) => [id, i]));
        for (const [from, to] of g.edges) expect(pos.get(from)!).toBeLessThan(pos.get(to)!);
        // The compiled dependencies are exactly the edges, whichever way they were written.
        for (const id of g.ids) {
          expect(p.steps.get(id)!.dependencies).toEqual([...new Set(g.edges.filter((e) => e[1] === id).map((e) => e[0]))].sort());
        }
        // Levels: every step is one past its deepest dependency, so each level can run at once.
        const level = new Map<string, number>();
        p.levels.forEach((l, k) => l.forEach((id) => level.set(id, k)));
        expect(level.size).toBe(g.ids.length);
        for (const id of g.ids) {
          const deps = p.steps.get(id)!.dependencies;
          expect(level.get(id)).toBe(deps.length === 0 ? 0 : Math.max(...deps.map((d) => level.get(d)!)) + 1);
        }
        // Steps of one level keep the file's order.
        for (const l of p.levels) expect(l).toEqual(g.ids.filter((id) => l.includes(id)));
      }),
      { numRuns: 150 },
    );
  });
});

describe("random pipelines with cycles", () => {
  it("report MCP301 exactly when the graph has a cycle, naming a real cycle", () => {
    fc.assert(
      fc.property(anyGraph, (g) => {
        const r = load(toYaml(g));
        const cycles = r.diagnostics.filter((d) => d.code === "MCP301");
        expect(r.diagnostics.filter((d) => d.code !== "MCP301")).toEqual([]);
        expect(cycles.length > 0).toBe(hasCycle(g));
        expect(r.pipeline === undefined).toBe(hasCycle(g));
        const edges = new Set(g.edges.map(([from, to]) => `${to}->${from}`)); // "to needs from"
        for (const d of cycles) {
          const names = d.message.replace("dependency cycle: ", "").split(" -> ");
          expect(names[0]).toBe(names.at(-1));
          for (let i = 0; i + 1 < names.length; i++) expect(edges.has(`${names[i]}->${names[i + 1]}`)).toBe(true);
          expect(d.related).toHaveLength(names.length - 1);
        }
      }),
      { numRuns: 150 },
    );
  });
});
