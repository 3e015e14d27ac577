// Orchestration benchmark: the same DAG shapes on this runner, on a hand-written Promise
// executor (the practical limit), on LangGraph.js and on Mastra's workflow engine, measured
// in one run, and the targets of issue 11 checked against what was measured.
//
//   npm run bench            (all suites)      node bench/orchestrate.bench.js   (this one)
//   node bench/orchestrate.bench.js --shapes chain,layered --engines mcp,promises
//
// Each engine x shape runs in a child process of its own (so peak RSS is its own): warm-ups,
// then repetitions; medians are reported.
//
// - build: what an engine does before it can run the shape, from its input made beforehand
//   (untimed). This runner: loadPipelineFile on the YAML text (parse, schema, compile), each
//   repetition on new expression text (step ids get a new prefix) so the expression cache is
//   not what is timed; the YAML parse alone is timed in the same loop on other new text, and
//   so is the yaml package's own `YAML.parse()` of it (none of our code: the floor of any load).
//   LangGraph.js: StateGraph + compile(). Mastra: createStep/createWorkflow + commit(), both
//   from the DAG's node list. The executor: nothing.
// - run: one run of the built shape, to its end (with the journal: committed to SQLite).
// - overhead/step: run minus the critical path's model latency (chain: 0; fan-out: 2 x 20 ms;
//   layered: 20 x 1 ms timers), per step: the time the engine itself adds.
//
// Shapes:
//   chain    1,000 steps, each reading the previous step's output; 0 ms model
//   fanout   one step, 500 steps reading it (20 ms model each), one step joining the 500
//   layered  20 layers of 25 steps (1 ms model); every step reads the 25 outputs of the layer
//            before (layer 0: 25 input fields): 12,500 references
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const SHAPES = {
  chain: { desc: "1,000-step chain, 0 ms mock", steps: 1000, critical: 0 },
  fanout: { desc: "500-wide fan-out/fan-in, 20 ms", steps: 502, critical: 40 },
  layered: { desc: "20 x 25 layered DAG, 25 refs/step, 1 ms", steps: 500, critical: 20 },
};
const ENGINES = {
  mcp: "this runner",
  "mcp-journal": "this runner + SQLite journal",
  promises: "hand-written Promises",
  langgraph: "LangGraph.js",
  mastra: "Mastra workflows",
};
/** The journal variant runs the chain only (the row); the others every shape. */
const runsShape = (engine, shape) => engine !== "mcp-journal" || shape === "chain";

/** The DAG of a shape: ids in topological order with their dependencies and latency. */
function dag(shape, prefix = "") {
  const nodes = [];
  if (shape === "chain") {
    for (let i = 0; i < 1000; i++) nodes.push({ id: `${prefix}s${i}`, deps: i ? [`${prefix}s${i - 1}`] : [], ms: 0 });
  } else if (shape === "fanout") {
    nodes.push({ id: `${prefix}start`, deps: [], ms: 20 });
    for (let i = 0; i < 500; i++) nodes.push({ id: `${prefix}w${i}`, deps: [`${prefix}start`], ms: 20 });
    nodes.push({ id: `${prefix}join`, deps: Array.from({ length: 500 }, (_, i) => `${prefix}w${i}`), ms: 0 });
  } else {
    for (let l = 0; l < 20; l++) {
      for (let k = 0; k < 25; k++) {
        nodes.push({ id: `${prefix}l${l}_${k}`, deps: l === 0 ? [] : Array.from({ length: 25 }, (_, j) => `${prefix}l${l - 1}_${j}`), ms: 1, layer: l });
      }
    }
  }
  return nodes;
}

/** What a step reads: the text of each dependency (layer 0 of `layered`: 25 input fields). */
const LAYER0_FIELDS = Array.from({ length: 25 }, (_, k) => `t${k}`);
const INPUT = Object.fromEntries(LAYER0_FIELDS.map((f) => [f, "x"]));

const delay = (ms) => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());
/** The executors' model: waits, then answers a short text (the prompt is built, not echoed, so texts do not grow). */
const model = async (ms, prompt) => {
  await delay(ms);
  return { text: prompt.length > 0 ? "x" : "", usage: { inputTokens: 1, outputTokens: 1 } };
};
/** The prompt of a node from its dependencies' texts, as the runner's template builds it. */
const promptOf = (n, texts) => (n.layer === 0 ? LAYER0_FIELDS.map((f) => INPUT[f]).join(",") : texts.length ? texts.join(",") : "x");

/** This runner's YAML for a shape. */
function pipelineYaml(shape, prefix) {
  const nodes = dag(shape, prefix);
  return [
    "version: 1",
    `name: bench-${shape}`,
    "concurrency: 1000",
    "models:",
    ...[0, 1, 20].map((ms) => `  m${ms}: { provider: mock, capabilities: [t], options: { reply: { text: x }, latency: ${ms}, usage: { inputTokens: 1, outputTokens: 1 } } }`),
    "steps:",
    ...nodes.map((n) => {
      const refs = n.layer === 0 ? LAYER0_FIELDS.map((f) => `$input.${f}`) : n.deps.map((d) => `$steps.${d}.output.text`);
      const prompt = refs.length ? refs.map((r) => `\${{ ${r} }}`).join(",") : "x";
      return `  ${n.id}: { model: m${n.ms}, input: { prompt: "${prompt}" }, retry: { attempts: 1 } }`;
    }),
  ].join("\n");
}

const LIMITS = { maxFileBytes: 1 << 24, maxDepth: 64, maxAliases: 10, maxNodes: 1e7 };

/** Returns { build(prefix) -> run function }. */
async function makeEngine(engine, shape) {
  if (engine === "promises") {
    return {
      build: (prefix) => {
        const nodes = dag(shape, prefix);
        const byId = new Map(nodes.map((n) => [n.id, n]));
        // The practical limit: memoized promises awaiting their dependencies.
        return async () => {
          const done = new Map();
          const run = (n) => {
            let p = done.get(n.id);
            if (!p) {
              p = Promise.all(n.deps.map((d) => run(byId.get(d)))).then((outs) =>
                model(
                  n.ms,
                  promptOf(
                    n,
                    outs.map((o) => o.text),
                  ),
                ),
              );
              done.set(n.id, p);
            }
            return p;
          };
          await Promise.all(nodes.map(run));
        };
      },
    };
  }
  if (engine === "mcp" || engine === "mcp-journal") {
    const { loadPipelineFile, TaskOrchestrator, SqliteStore, StoreJournal } = await import("../dist/index.js");
    const { parseYaml } = await import("../dist/config/yaml-file.js");
    const YAML = await import("yaml");
    const orchestrator = new TaskOrchestrator();
    let options = {};
    let cleanup = () => {};
    if (engine === "mcp-journal") {
      // As `mcp run` does: the run, each finished step and the report journalled in SQLite.
      const dir = mkdtempSync(join(tmpdir(), "mcp-orchestrate-bench-"));
      const store = new SqliteStore(join(dir, "state.db"));
      options = { journal: new StoreJournal(store) };
      cleanup = () => {
        void store.close();
        rmSync(dir, { recursive: true, force: true });
      };
    }
    return {
      // The YAML parse alone, on other text of the same shape: the part of the build that is
      // the yaml package's (and our source ranges), not the compiler's.
      // The YAML text of a build, made before the build is timed (it is the bench's, not the runner's).
      source: (prefix) => pipelineYaml(shape, prefix),
      yaml: (text) => parseYaml("bench.yaml", text, LIMITS),
      // The yaml package's plainest call, none of our code: the floor of any load of this text.
      library: (text) => YAML.parse(text, { maxAliasCount: LIMITS.maxAliases }),
      build: (prefix, text = pipelineYaml(shape, prefix)) => {
        const r = loadPipelineFile("bench.yaml", { text, configPath: null, limits: LIMITS });
        if (!r.pipeline) throw new Error(JSON.stringify(r.diagnostics.slice(0, 3)));
        return async () => {
          const report = await orchestrator.runPipeline(r.pipeline, INPUT, options);
          if (report.status !== "success") throw new Error(report.error?.message);
        };
      },
      cleanup,
    };
  }
  if (engine === "langgraph") {
    const { StateGraph, Annotation, START, END } = await import("@langchain/langgraph");
    return {
      // The DAG of a build, made before the build is timed (the bench's input, not the engine's work).
      source: (prefix) => dag(shape, prefix),
      build: (prefix, nodes = dag(shape, prefix)) => {
        const State = Annotation.Root({
          out: Annotation({ reducer: (a, b) => Object.assign(a, b), default: () => ({}) }),
        });
        const g = new StateGraph(State);
        for (const n of nodes) {
          g.addNode(n.id, async (s) => ({
            out: {
              [n.id]: (
                await model(
                  n.ms,
                  promptOf(
                    n,
                    n.deps.map((d) => s.out[d]?.text),
                  ),
                )
              ).text,
            },
          }));
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
      },
    };
  }
  if (engine === "mastra") {
    const { createWorkflow, createStep } = await import("@mastra/core/workflows");
    const { z } = await import("zod");
    const Text = z.object({ text: z.string() });
    const Any = z.record(z.string(), z.any());
    return {
      source: (prefix) => dag(shape, prefix),
      build: (prefix, nodes = dag(shape, prefix)) => {
        const step = (n, inputSchema, texts) =>
          createStep({ id: n.id, inputSchema, outputSchema: Text, execute: async ({ inputData }) => ({ text: (await model(n.ms, promptOf(n, texts(inputData)))).text }) });
        let w;
        if (shape === "chain") {
          w = createWorkflow({ id: `chain${prefix}`, inputSchema: Text, outputSchema: Text });
          for (const n of nodes) w = w.then(step(n, Text, (i) => [i.text]));
        } else if (shape === "fanout") {
          const [start, ...rest] = nodes;
          const join = rest.pop();
          w = createWorkflow({ id: `fanout${prefix}`, inputSchema: Text, outputSchema: Text })
            .then(step(start, Text, (i) => [i.text]))
            .parallel(rest.map((n) => step(n, Text, (i) => [i.text])))
            .then(step(join, Any, (i) => join.deps.map((d) => i[d].text)));
        } else {
          // Each layer is a parallel block: its steps see the whole previous block's output.
          w = createWorkflow({ id: `layered${prefix}`, inputSchema: Any, outputSchema: Any });
          for (let l = 0; l < 20; l++) {
            const layer = nodes.filter((n) => n.layer === l);
            w = w.parallel(layer.map((n) => step(n, Any, (i) => n.deps.map((d) => i[d].text))));
          }
        }
        w.commit();
        return async () => {
          const run = await w.createRun();
          const r = await run.start({ inputData: shape === "layered" ? INPUT : { text: "x" } });
          if (r.status !== "success") throw new Error(`mastra: ${r.status} ${r.error?.message ?? ""}`);
        };
      },
    };
  }
  throw new Error(`unknown engine ${engine}`);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function child(engine, shape) {
  const e = await makeEngine(engine, shape);
  const slow = engine === "langgraph" || engine === "mastra";
  const reps = slow ? 3 : shape === "chain" ? 30 : 15;
  const buildReps = slow ? 3 : 10;
  let p = 0;
  const builds = [];
  const yamls = [];
  const libs = [];
  // Build: warm-ups, then repetitions, each on new step ids (new expression text). The YAML
  // parse alone (on other new text) is timed in the same loop, one after each build, so that
  // both see the same machine: the split of a build is the difference of the two medians.
  for (let i = 0; i < (slow ? 1 : 3) + buildReps; i++) {
    const prefix = `b${p++}_`;
    const text = e.source?.(prefix);
    const t0 = performance.now();
    e.build(prefix, text);
    if (i >= (slow ? 1 : 3)) builds.push(performance.now() - t0);
    if (e.yaml) {
      const other = e.source(`y${p++}_`);
      const t1 = performance.now();
      e.yaml(other);
      if (i >= (slow ? 1 : 3)) yamls.push(performance.now() - t1);
    }
  }
  // The yaml package's own parse, in a loop of its own: interleaved with the builds, its
  // garbage would be collected inside them and slow them down.
  if (e.library) {
    for (let i = 0; i < 3 + buildReps; i++) {
      const text = e.source(`z${p++}_`);
      const t0 = performance.now();
      e.library(text);
      if (i >= 3) libs.push(performance.now() - t0);
    }
  }
  const run = e.build("");
  // Warm-up: JIT, lazy imports, first-call instance creation.
  for (let i = 0; i < (slow ? 1 : 5); i++) await run();
  const times = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  e.cleanup?.();
  process.stdout.write(
    JSON.stringify({
      build: median(builds),
      ...(yamls.length ? { yaml: median(yamls), library: median(libs) } : {}),
      run: median(times),
      min: Math.min(...times),
      rssMb: process.resourceUsage().maxRSS / 1024,
    }),
  );
}

async function main() {
  const { values } = parseArgs({ options: { shapes: { type: "string" }, engines: { type: "string" } } });
  const shapes = values.shapes ? values.shapes.split(",") : Object.keys(SHAPES);
  const engines = values.engines ? values.engines.split(",") : Object.keys(ENGINES);
  const self = fileURLToPath(import.meta.url);
  const results = {};
  const { loadavg } = await import("node:os");
  const load0 = loadavg();
  for (const shape of shapes) {
    for (const engine of engines) {
      if (!runsShape(engine, shape)) continue;
      const r = spawnSync(process.execPath, [self, "--child", engine, shape], { encoding: "utf8", timeout: 900_000 });
      if (r.status !== 0) {
        const why = (r.stderr || r.error?.message || "").trim().split("\n").slice(0, 6).join("\n  ");
        console.error(`${engine}/${shape} failed:\n  ${why}`);
        results[`${engine}/${shape}`] = { failed: why.split("\n")[0] };
        process.exitCode = 1;
        continue;
      }
      results[`${engine}/${shape}`] = JSON.parse(r.stdout);
    }
  }
  const load1 = loadavg();
  const f = (x, d = 1) => (x === undefined || Number.isNaN(x) ? "-" : x.toFixed(d));
  console.log(`orchestration: medians; load average ${load0.map((x) => x.toFixed(2)).join(" ")} at start, ${load1.map((x) => x.toFixed(2)).join(" ")} at end (2 cores)\n`);
  const head = ["shape", "engine", "build ms", "run ms", "build+run ms", "overhead/step us", "run / executor", "peak RSS MB"];
  const rows = [head];
  for (const shape of shapes) {
    const s = SHAPES[shape];
    const base = results[`promises/${shape}`];
    for (const engine of engines) {
      const r = results[`${engine}/${shape}`];
      if (!r) continue;
      if (r.failed) {
        rows.push([engine === engines[0] ? s.desc : "", ENGINES[engine], `failed: ${r.failed}`, "", "", "", "", ""]);
        continue;
      }
      rows.push([
        engine === engines.find((x) => results[`${x}/${shape}`]) ? s.desc : "",
        ENGINES[engine],
        engine === "promises" ? "-" : f(r.build),
        f(r.run),
        f((engine === "promises" ? 0 : r.build) + r.run),
        f((Math.max(0, r.run - s.critical) * 1000) / s.steps, 2),
        base?.run ? `${f(r.run / base.run, 2)}x` : "-",
        f(r.rssMb, 0),
      ]);
    }
  }
  const widths = head.map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  for (const r of rows) console.log(r.map((c, i) => String(c).padEnd(widths[i])).join("  "));

  // The targets of issue 11, now against target.
  const get = (k) => (results[k] && !results[k].failed ? results[k] : undefined);
  const targets = [];
  const target = (measure, value, text, goal, ok) => targets.push([measure, value === undefined ? "-" : text, goal, value === undefined ? "not measured" : ok ? "PASS" : "UNMET"]);
  const perStep = (r, shape) => (r ? (Math.max(0, r.run - SHAPES[shape].critical) * 1000) / SHAPES[shape].steps : undefined);
  {
    const v = perStep(get("mcp/chain"), "chain");
    target("chain of 1,000, library default, us/step", v, `${f(v, 2)} (executor ${f(perStep(get("promises/chain"), "chain"), 2)})`, "<= 5", v <= 5);
  }
  {
    const v = perStep(get("mcp-journal/chain"), "chain");
    target("the same with the SQLite journal (as `mcp run` does), us/step", v, f(v, 2), "<= 15", v <= 15);
  }
  {
    const me = get("mcp/fanout");
    const base = get("promises/fanout");
    const v = me && base ? me.run / base.run : undefined;
    target("fan-out 500 x 20 ms, makespan / executor", v, `${f(v, 2)}x`, "<= 1.15", v <= 1.15);
  }
  {
    const me = get("mcp/layered");
    const base = get("promises/layered");
    const v = me && base ? (me.build + me.run) / base.run : undefined;
    target("layered 20 x 25 x 1 ms, compile + run / executor", v, `${f(v, 2)}x`, "<= 2", v <= 2);
    const c = me?.build;
    target("compile of that layered pipeline (12,500 references), ms: whole load", c, `${f(c)} (YAML parse ${f(me?.yaml)}; yaml.parse() alone ${f(me?.library)})`, "<= 25", c <= 25);
    const cc = me && me.yaml !== undefined ? Math.max(0, me.build - me.yaml) : undefined;
    target("  the same without the YAML parse (schema + compile)", cc, f(cc), "<= 25", cc <= 25);
  }
  {
    const me = get("mcp/chain");
    const lg = get("langgraph/chain");
    const v = me && lg ? lg.run / me.run : undefined;
    target("LangGraph.js / this runner, chain of 1,000, run wall", v, `${f(v, 0)}x`, ">= 150", v >= 150);
  }
  for (const [engine, name] of [
    ["langgraph", "LangGraph.js"],
    ["mastra", "Mastra"],
  ]) {
    for (const shape of shapes) {
      const me = get(`mcp/${shape}`);
      const other = get(`${engine}/${shape}`);
      const v = me && other ? (other.build + other.run) / (me.build + me.run) : undefined;
      target(`${name} / this runner, ${shape}, build + run`, v, `${f(v, 1)}x`, "> 1 (ahead)", v > 1);
    }
  }
  console.log("\ntargets (issue 11); hot reload rows: reload.bench.js");
  const tw = [0, 1, 2, 3].map((i) => Math.max(...targets.map((t) => t[i].length), 6));
  for (const t of targets) console.log("  " + t.map((c, i) => c.padEnd(tw[i])).join("  "));
}

if (process.argv[2] === "--child") await child(process.argv[3], process.argv[4]);
else await main();
