// Benchmark: validation (YAML parse + schema check + compile) of a 5,000-step pipeline.
//
// The pipeline is generated: chains of steps that read the previous step's output, and
// fan-outs where many steps read one step and a join step reads them all, every step on a
// mock model, so the compiler sees realistic `$steps` references, interpolated strings,
// `when` conditions and explicit `needs`. Uses the built dist/ (npm run bench builds it).
//
//   node bench/validate.bench.js [--steps 5000] [--runs 7]
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { loadPipelineFile } from "../dist/compiler/load.js";

const { values } = parseArgs({
  options: { steps: { type: "string", default: "5000" }, runs: { type: "string", default: "7" } },
});
const STEPS = Number(values.steps);
const RUNS = Number(values.runs);

/**
 * A pipeline of `n` steps: blocks of a chain of 5 then a fan-out of 8 joined by one step.
 * Step ids start with `prefix`, so each run's expressions are new text: parsed expressions
 * are cached by text, and a benchmark reusing one file would time the cache.
 */
export function generatePipeline(n, prefix = "s") {
  const lines = [
    "version: 1",
    "name: bench",
    "models:",
    "  writer:",
    "    provider: mock",
    "    capabilities: [text-generation]",
    "    options:",
    '      reply: { text: "echo: ${{ $request.prompt }}" }',
    "  tagger:",
    "    provider: mock",
    "    capabilities: [text-generation, entity-extraction]",
    "    fallback: [writer2]",
    "  writer2:",
    "    provider: mock",
    "    capabilities: [text-generation, entity-extraction]",
    "steps:",
  ];
  let prev;
  let i = 0;
  const id = (k) => `${prefix}${k}`;
  while (i < n) {
    // A chain of up to five steps, each reading the one before.
    for (let k = 0; k < 5 && i < n; k++, i++) {
      lines.push(`  ${id(i)}:`, "    model: writer");
      if (prev) lines.push("    input:", `      prompt: "Continue: \${{ $steps.${prev}.output.text }} (step ${i})"`);
      else lines.push("    input:", '      prompt: "${{ $input.text }}"');
      prev = id(i);
    }
    if (i >= n) break;
    // A fan-out of up to eight steps reading the chain's last step, then a join.
    const root = prev;
    const fan = [];
    for (let k = 0; k < 8 && i < n; k++, i++) {
      lines.push(
        `  ${id(i)}:`,
        "    capabilities: [entity-extraction]",
        `    when: $steps.${root}.status = "success"`,
        "    input:",
        `      text: \${{ $steps.${root}.output.text }}`,
        `      index: ${k}`,
      );
      fan.push(id(i));
    }
    if (i >= n) break;
    lines.push(
      `  ${id(i)}:`,
      "    model: writer",
      `    needs: [${root}]`,
      "    input:",
      `      prompt: "\${{ $join([${fan.map((f) => `$steps.${f}.output.text`).join(", ")}], '; ') }}"`,
      "    retry: { attempts: 2, backoff: fixed, initialDelay: 10ms }",
      "    timeout: 5s",
    );
    prev = id(i);
    i++;
  }
  lines.push("output:", `  last: \${{ $steps.${prev}.output.text }}`);
  return lines.join("\n") + "\n";
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const file = `bench/generated-${STEPS}.yaml`;
const times = [];
let cold = 0;
let size = 0;
let peakRss = process.memoryUsage().rss;
for (let r = 0; r < RUNS + 1; r++) {
  const text = generatePipeline(STEPS, `r${r}s`);
  size = Buffer.byteLength(text);
  const t0 = performance.now();
  const res = loadPipelineFile(file, { text, configPath: null });
  const ms = performance.now() - t0;
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  if (!res.pipeline) {
    console.error(res.diagnostics.slice(0, 5).map((d) => `${d.code}: ${d.message}`).join("\n"));
    throw new Error("the generated pipeline does not validate");
  }
  if (res.pipeline.steps.size !== STEPS) throw new Error(`expected ${STEPS} steps, got ${res.pipeline.steps.size}`);
  // The first run is what one `mcp validate` process pays: it also loads the prebuilt
  // schema validators and runs every path before the JIT has optimised it. The others are
  // what a long-running server pays on a reload.
  if (r === 0) cold = ms;
  else times.push(ms);
}

const med = median(times);
const rows = [
  ["steps", String(STEPS)],
  ["file size", `${(size / 1024).toFixed(0)} KiB`],
  ["first run", `${cold.toFixed(1)} ms (cold: first use of every code path, JIT warm-up)`],
  ["runs", `${RUNS} after the first`],
  ["median", `${med.toFixed(1)} ms`],
  ["min", `${Math.min(...times).toFixed(1)} ms`],
  ["max", `${Math.max(...times).toFixed(1)} ms`],
  ["per 1,000 steps", `${((med / STEPS) * 1000).toFixed(1)} ms`],
  ["peak RSS", `${(peakRss / 1024 / 1024).toFixed(0)} MiB`],
];
const w = Math.max(...rows.map(([k]) => k.length));
console.log(`validate: parse + schema + compile of a ${STEPS}-step pipeline`);
for (const [k, v] of rows) console.log(`  ${k.padEnd(w)}  ${v}`);
