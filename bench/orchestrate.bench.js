// Orchestration benchmark: the same DAG shapes on this runner, on a hand-written Promise
// executor (the practical limit) and on LangGraph.js, measured in one run.
//
//   npm run bench            (all suites)      node bench/orchestrate.bench.js   (this one)
//
// Each engine x shape runs in its own child process (so peak RSS is its own): a warm-up,
// then repetitions; the table shows the median makespan, per-step overhead and ratios.
// Overhead = makespan minus the critical path's model latency (chain: 0; fan-out: 20 ms;
// layered: 20 x 1 ms timers), i.e. the time the engine itself adds.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const SHAPES = {
  chain: { desc: "1,000-step chain, 0 ms mock", steps: 1000, critical: 0 },
  fanout: { desc: "500-wide fan-out/fan-in, 20 ms", steps: 502, critical: 40 },
  layered: { desc: "20 x 25 layered DAG, 1 ms", steps: 500, critical: 20 },
};
const ENGINES = ["mcp", "promises", "langgraph"];

/** The DAG of a shape: ids in topological order with their dependencies and latency. */
function dag(shape) {
  const nodes = [];
  if (shape === "chain") {
    for (let i = 0; i < 1000; i++) nodes.push({ id: `s${i}`, deps: i ? [`s${i - 1}`] : [], ms: 0 });
  } else if (shape === "fanout") {
    nodes.push({ id: "start", deps: [], ms: 20 });
    for (let i = 0; i < 500; i++) nodes.push({ id: `w${i}`, deps: ["start"], ms: 20 });
    nodes.push({ id: "join", deps: Array.from({ length: 500 }, (_, i) => `w${i}`), ms: 0 });
  } else {
    for (let l = 0; l < 20; l++) {
      for (let k = 0; k < 25; k++) {
        // Each node needs three nodes of the previous layer (a deterministic spread).
        const deps = l === 0 ? [] : [k, (k + 7) % 25, (k + 13) % 25].map((j) => `l${l - 1}_${j}`);
        nodes.push({ id: `l${l}_${k}`, deps: [...new Set(deps)], ms: 1 });
      }
    }
  }
  return nodes;
}

const delay = (ms) => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());
const model = async (ms, prompt) => {
  await delay(ms);
  return { text: prompt, usage: { inputTokens: 1, outputTokens: 1 } };
};

async function makeEngine(engine, nodes) {
  if (engine === "promises") {
    // The practical limit: memoized promises awaiting their dependencies.
    return async () => {
      const done = new Map();
      const run = (n) => {
        let p = done.get(n.id);
        if (!p) {
          p = Promise.all(n.deps.map((d) => run(byId.get(d)))).then((outs) => model(n.ms, outs[0]?.text ?? "x"));
          done.set(n.id, p);
        }
        return p;
      };
      const byId = new Map(nodes.map((n) => [n.id, n]));
      await Promise.all(nodes.map(run));
    };
  }
  if (engine === "mcp") {
    const { loadPipelineFile, TaskOrchestrator } = await import("../dist/index.js");
    const yaml = [
      "version: 1",
      "concurrency: 1000",
      "models:",
      ...[0, 1, 20].map((ms) => `  m${ms}: { provider: mock, capabilities: [t], options: { reply: { text: x }, latency: ${ms}, usage: { inputTokens: 1, outputTokens: 1 } } }`),
      "steps:",
      ...nodes.map((n) => {
        const input = n.deps.length ? `{ prompt: "\${{ $steps.${n.deps[0]}.output.text }}" }` : "{ prompt: x }";
        const needs = n.deps.length > 1 ? `, needs: [${n.deps.slice(1).join(", ")}]` : "";
        return `  ${n.id}: { model: m${n.ms}, input: ${input}${needs}, retry: { attempts: 1 } }`;
      }),
    ].join("\n");
    const r = loadPipelineFile("bench.yaml", { text: yaml, configPath: null, limits: { maxFileBytes: 1 << 24, maxDepth: 64, maxAliases: 10, maxNodes: 1e7 } });
    if (!r.pipeline) throw new Error(JSON.stringify(r.diagnostics.slice(0, 3)));
    const orchestrator = new TaskOrchestrator();
    return async () => {
      const report = await orchestrator.runPipeline(r.pipeline, {});
      if (report.status !== "success") throw new Error(report.error?.message);
    };
  }
  if (engine === "langgraph") {
    const { StateGraph, Annotation, START, END } = await import("@langchain/langgraph");
    const State = Annotation.Root({
      out: Annotation({ reducer: (a, b) => Object.assign(a, b), default: () => ({}) }),
    });
    const g = new StateGraph(State);
    for (const n of nodes) {
      g.addNode(n.id, async (s) => ({ out: { [n.id]: (await model(n.ms, n.deps.length ? s.out[n.deps[0]]?.text : "x")).text } }));
    }
    const dependants = new Set(nodes.flatMap((n) => n.deps));
    for (const n of nodes) {
      if (n.deps.length === 0) g.addEdge(START, n.id);
      else if (n.deps.length === 1) g.addEdge(n.deps[0], n.id);
      else g.addEdge(n.deps, n.id);
      if (!dependants.has(n.id)) g.addEdge(n.id, END);
    }
    const app = g.compile();
    return async () => {
      await app.invoke({}, { recursionLimit: 100000 });
    };
  }
  throw new Error(`unknown engine ${engine}`);
}

async function child(engine, shape) {
  const nodes = dag(shape);
  const run = await makeEngine(engine, nodes);
  const reps = engine === "langgraph" ? 3 : shape === "chain" ? 30 : 15;
  // Warm-up: JIT, lazy imports, first-call instance creation; LangGraph is slow enough
  // that one run warms it.
  for (let i = 0; i < (engine === "langgraph" ? 1 : 5); i++) await run();
  const times = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  process.stdout.write(JSON.stringify({ median: times[Math.floor(times.length / 2)], min: times[0], rssMb: process.resourceUsage().maxRSS / 1024 }));
}

function main() {
  const self = fileURLToPath(import.meta.url);
  const results = {};
  for (const shape of Object.keys(SHAPES)) {
    for (const engine of ENGINES) {
      const r = spawnSync(process.execPath, [self, "--child", engine, shape], { encoding: "utf8", timeout: 600_000 });
      if (r.status !== 0) {
        console.error(`${engine}/${shape} failed:\n${r.stderr}`);
        process.exitCode = 1;
        continue;
      }
      results[`${engine}/${shape}`] = JSON.parse(r.stdout);
    }
  }
  const f = (x, d = 1) => (x === undefined ? "-" : x.toFixed(d));
  console.log("orchestration: makespan (median ms), engine overhead per step (us), peak RSS (MB)\n");
  const head = ["shape", "engine", "makespan ms", "overhead/step us", "vs promises", "LangGraph / this", "peak RSS MB"];
  const rows = [head];
  const verdicts = [];
  for (const [shape, s] of Object.entries(SHAPES)) {
    const base = results[`promises/${shape}`];
    const lg = results[`langgraph/${shape}`];
    for (const engine of ENGINES) {
      const r = results[`${engine}/${shape}`];
      if (!r) continue;
      const overhead = Math.max(0, r.median - s.critical);
      rows.push([
        engine === "mcp" ? s.desc : "",
        engine === "mcp" ? "this runner" : engine === "promises" ? "hand-written Promises" : "LangGraph.js",
        f(r.median),
        f((overhead * 1000) / s.steps),
        base ? `${f(r.median / base.median, 2)}x` : "-",
        engine === "mcp" && lg ? `${f(lg.median / r.median, 1)}x (overhead ${f(Math.max(0, lg.median - s.critical) / Math.max(0.001, overhead), 1)}x)` : "",
        f(r.rssMb, 0),
      ]);
    }
    const me = results[`mcp/${shape}`];
    if (me && base && lg) {
      const overheadUs = (Math.max(0, me.median - s.critical) * 1000) / s.steps;
      if (shape === "chain") verdicts.push(`chain overhead ${f(overheadUs)} us/step (target < 25): ${overheadUs < 25 ? "met" : "MISSED"}`);
      if (shape === "fanout") verdicts.push(`fan-out makespan ${f(me.median / base.median, 2)}x the hand-written executor (target <= 1.5): ${me.median / base.median <= 1.5 ? "met" : "MISSED"}`);
      const lgRatio = lg.median / me.median;
      const lgOverheadRatio = Math.max(0, lg.median - s.critical) / Math.max(0.001, me.median - s.critical);
      verdicts.push(`${shape}: LangGraph.js takes ${f(lgRatio, 1)}x as long (engine overhead ${f(lgOverheadRatio, 1)}x) (target >= 20x): ${lgRatio >= 20 ? "met" : lgOverheadRatio >= 20 ? "met on overhead; makespan is bounded by model latency" : "MISSED"}`);
    }
  }
  const widths = head.map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  for (const r of rows) console.log(r.map((c, i) => String(c).padEnd(widths[i])).join("  "));
  console.log("\n" + verdicts.join("\n"));
}

if (process.argv[2] === "--child") await child(process.argv[3], process.argv[4]);
else main();
