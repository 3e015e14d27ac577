/**
 * The DAG: topological order, parallel levels and cycles. Knows nothing about YAML or
 * models; it sees node ids and edges only.
 */

export interface GraphInput {
  /** Node ids in declaration order; ties in the order keep this order. */
  nodes: readonly string[];
  /** dependencies.get(a) = the nodes `a` waits for. Unknown ids must be filtered out first. */
  dependencies: ReadonlyMap<string, readonly string[]>;
}

export interface Dag {
  /** A topological order: every node after all of its dependencies. */
  order: string[];
  /** levels[k] = the nodes whose longest dependency chain has k edges; each level can run in parallel. */
  levels: string[][];
  dependants: Map<string, string[]>;
}

/** A cycle, as the node sequence a -> b -> ... -> a (first node repeated at the end). */
export type Cycle = string[];

export function buildDag(input: GraphInput): { dag: Dag; cycles: Cycle[] } {
  const { nodes, dependencies } = input;
  const count = nodes.length;
  // Positions stand in for ids below: typed arrays instead of maps of thousands of entries.
  const index = new Map<string, number>();
  for (let i = 0; i < count; i++) index.set(nodes[i]!, i);
  const indegree = new Int32Array(count);
  const depsAt: (readonly string[])[] = new Array(count);
  // Dependants of each node, in declaration order: counted first, so each list (kept in
  // the DAG) is allocated at its exact size.
  const outdegree = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const deps = dependencies.get(nodes[i]!) ?? [];
    depsAt[i] = deps;
    indegree[i] = deps.length;
    for (let k = 0; k < deps.length; k++) {
      const d = index.get(deps[k]!);
      if (d !== undefined) outdegree[d]!++;
    }
  }
  // The dependants of node d are out[first[d] .. first[d + 1]).
  const first = new Int32Array(count + 1);
  for (let i = 0; i < count; i++) first[i + 1] = first[i]! + outdegree[i]!;
  const out = new Int32Array(first[count]!);
  const names: string[][] = new Array(count);
  for (let i = 0; i < count; i++) names[i] = outdegree[i] === 0 ? [] : new Array<string>(outdegree[i]!);
  const filled = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const deps = depsAt[i]!;
    for (let k = 0; k < deps.length; k++) {
      const d = index.get(deps[k]!);
      if (d === undefined) continue;
      out[first[d]! + filled[d]!] = i;
      names[d]![filled[d]!++] = nodes[i]!;
    }
  }
  const dependants = new Map<string, string[]>();
  for (let i = 0; i < count; i++) dependants.set(nodes[i]!, names[index.get(nodes[i]!)!]!);

  // Kahn's algorithm with a queue kept in declaration order, so the order is stable and
  // reads like the file.
  const ready: number[] = [];
  for (let i = 0; i < count; i++) if (indegree[i] === 0) ready.push(i);
  const level = new Int32Array(count).fill(-1);
  const byIndex = (a: number, b: number) => a - b;
  let head = 0;
  while (head < ready.length) {
    const n = ready[head++]!;
    let lv = 0;
    const deps = depsAt[n]!;
    for (let k = 0; k < deps.length; k++) {
      const d = index.get(deps[k]!);
      lv = Math.max(lv, (d === undefined ? -1 : level[d]!) + 1);
    }
    level[n] = lv;
    const from = ready.length;
    for (let k = first[n]!; k < first[n + 1]!; k++) {
      const m = out[k]!;
      if (--indegree[m]! === 0) ready.push(m);
    }
    // The nodes made ready by `n`, in declaration order.
    if (ready.length - from > 1) {
      const next = ready.splice(from).sort(byIndex);
      for (const m of next) ready.push(m);
    }
  }

  const order: string[] = new Array(ready.length);
  const levelsAt: number[][] = [];
  for (let k = 0; k < ready.length; k++) {
    const n = ready[k]!;
    order[k] = nodes[n]!;
    (levelsAt[level[n]!] ??= []).push(n);
  }
  // Within a level, the file's order (Kahn's order interleaves levels differently).
  const levels = levelsAt.map((l) => l.sort(byIndex).map((n) => nodes[n]!));
  const cycles = order.length === nodes.length ? [] : findCycles(nodes, dependencies, new Set(order));
  return { dag: { order, levels, dependants }, cycles };
}

/**
 * One cycle per strongly connected component among the nodes Kahn's algorithm could not
 * order (Tarjan's algorithm, iterative so deep graphs do not overflow the stack).
 */
function findCycles(nodes: readonly string[], deps: ReadonlyMap<string, readonly string[]>, ordered: Set<string>): Cycle[] {
  const rest = nodes.filter((n) => !ordered.has(n));
  const restSet = new Set(rest);
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const sccs: string[][] = [];
  let counter = 0;

  for (const root of rest) {
    if (idx.has(root)) continue;
    const work: [string, number][] = [[root, 0]];
    idx.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (work.length) {
      const top = work[work.length - 1]!;
      const [v, i] = top;
      const succ = (deps.get(v) ?? []).filter((d) => restSet.has(d));
      if (i < succ.length) {
        top[1]++;
        const w = succ[i]!;
        if (!idx.has(w)) {
          idx.set(w, counter);
          low.set(w, counter++);
          stack.push(w);
          onStack.add(w);
          work.push([w, 0]);
        } else if (onStack.has(w)) {
          low.set(v, Math.min(low.get(v)!, idx.get(w)!));
        }
      } else {
        work.pop();
        if (work.length) {
          const parent = work[work.length - 1]![0];
          low.set(parent, Math.min(low.get(parent)!, low.get(v)!));
        }
        if (low.get(v) === idx.get(v)) {
          const comp: string[] = [];
          let w: string;
          do {
            w = stack.pop()!;
            onStack.delete(w);
            comp.push(w);
          } while (w !== v);
          const selfLoop = (deps.get(v) ?? []).includes(v);
          if (comp.length > 1 || selfLoop) sccs.push(comp);
        }
      }
    }
  }

  // Within each component, walk from its first-declared node to find one concrete cycle.
  const pos = new Map(nodes.map((n, i) => [n, i]));
  return sccs
    .map((comp) => {
      const members = new Set(comp);
      const start = [...comp].sort((a, b) => pos.get(a)! - pos.get(b)!)[0]!;
      // BFS for the shortest path from start back to start inside the component.
      const prev = new Map<string, string>();
      const queue = [start];
      let found = false;
      for (let h = 0; h < queue.length && !found; h++) {
        const v = queue[h]!;
        for (const w of deps.get(v) ?? []) {
          if (!members.has(w)) continue;
          if (w === start) {
            prev.set(start + "\u0000end", v);
            found = true;
            break;
          }
          if (!prev.has(w)) {
            prev.set(w, v);
            queue.push(w);
          }
        }
      }
      const path: string[] = [start];
      let cur = prev.get(start + "\u0000end");
      const back: string[] = [];
      while (cur !== undefined && cur !== start) {
        back.push(cur);
        cur = prev.get(cur);
      }
      path.push(...back.reverse(), start);
      return path;
    })
    .sort((a, b) => pos.get(a[0]!)! - pos.get(b[0]!)!);
}
