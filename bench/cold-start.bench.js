// Benchmark: cold start of the `mcp` command as whole processes, next to `node -e 0` in the
// same run (the floor every Node CLI pays): `mcp --help`, `mcp validate` on one small file,
// `mcp run` on a one-step mock pipeline (memory store, as a pre-commit hook would). Each is
// started RUNS times, interleaved so load on the machine hits them alike; the median wall
// time and the median over node -e 0 are printed, with the targets of issue 9.
//
//   node bench/cold-start.bench.js [--runs 15]
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

const { values } = parseArgs({ options: { runs: { type: "string", default: "15" } } });
const RUNS = Number(values.runs);
const BIN = fileURLToPath(new URL("../bin/mcp.js", import.meta.url));

const dir = mkdtempSync(join(tmpdir(), "mcp-cold-"));
writeFileSync(
  join(dir, "one.yaml"),
  ["version: 1", "name: one", "models:", "  m:", "    provider: mock", "    capabilities: [text-generation]", '    options: { reply: { text: "ok" } }', "steps:", "  a: { model: m, input: { prompt: hi } }", ""].join("\n"),
);

const cases = [
  { name: "node -e 0", args: ["-e", "0"] },
  { name: "mcp --help", args: [BIN, "--help"], target: 100 },
  { name: "mcp validate one.yaml", args: [BIN, "validate", "one.yaml"], target: 250 },
  { name: "mcp run one.yaml (mock)", args: [BIN, "run", "one.yaml", "--store", "memory", "--quiet"], target: 300 },
];

const times = new Map(cases.map((c) => [c.name, []]));
for (let i = 0; i < RUNS + 1; i++) {
  for (const c of cases) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, c.args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
    const ms = performance.now() - t0;
    if (r.status !== 0) {
      console.error(`${c.name} exited ${r.status}: ${r.stderr}`);
      process.exit(1);
    }
    if (i > 0) times.get(c.name).push(ms); // the first round warms the disk cache
  }
}
rmSync(dir, { recursive: true, force: true });

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const base = median(times.get("node -e 0"));
console.log(`cold start, median of ${RUNS} whole processes each (wall time; over = minus node -e 0 in the same run)`);
console.log(`${"command".padEnd(26)} ${"median".padStart(8)} ${"over".padStart(8)} ${"target".padStart(8)}  ratio vs node -e 0`);
for (const c of cases) {
  const m = median(times.get(c.name));
  const over = m - base;
  const verdict = c.target === undefined ? "" : over <= c.target ? "met" : "NOT met";
  console.log(
    `${c.name.padEnd(26)} ${`${m.toFixed(0)} ms`.padStart(8)} ${c.target === undefined ? "".padStart(8) : `${over.toFixed(0)} ms`.padStart(8)} ${c.target === undefined ? "".padStart(8) : `${c.target} ms`.padStart(8)}  ${(m / base).toFixed(2)}x ${verdict}`,
  );
}
