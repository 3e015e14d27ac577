// Benchmark: `mcp validate` as users run it, a whole CLI process, next to `node -e 0`
// measured in the same run (the floor every Node CLI pays). Three figures, with targets:
//
//   a typical 30-step pipeline      within 250 ms of `node -e 0`
//   a repository of 100 of them     under 2 s (one `mcp validate DIR`)
//   a 5,000-step file               under 2.5 s
//
//   node bench/cli-validate.bench.js [--runs 7]
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { generatePipeline } from "./generate-pipeline.js";

const { values } = parseArgs({ options: { runs: { type: "string", default: "7" } } });
const RUNS = Number(values.runs);
const mcp = resolve("bin/mcp.js");

const dir = mkdtempSync(join(tmpdir(), "mcp-bench-cli-"));
try {
  const one = join(dir, "one.yaml");
  writeFileSync(one, generatePipeline(30, "a"));
  const repo = join(dir, "repo");
  mkdirSync(repo);
  for (let k = 0; k < 100; k++) writeFileSync(join(repo, `p${String(k).padStart(3, "0")}.yaml`), generatePipeline(30, `p${k}s`));
  const big = join(dir, "big.yaml");
  writeFileSync(big, generatePipeline(5000, "b"));

  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  };
  /** Median wall time of a process, after one warm-up run (disk cache, compiled code cache). */
  const time = (args, expectStatus = 0) => {
    const times = [];
    for (let r = 0; r <= RUNS; r++) {
      const t0 = performance.now();
      const p = spawnSync(process.execPath, args, { cwd: dir, encoding: "utf8" });
      const ms = performance.now() - t0;
      if (p.status !== expectStatus) throw new Error(`${args.join(" ")} exited ${p.status}: ${p.stdout}${p.stderr}`);
      if (r > 0) times.push(ms);
    }
    return median(times);
  };

  // Interleaved, so a change in the machine's load shows in all of them alike.
  const base = time(["-e", "0"]);
  const t30 = time([mcp, "validate", one]);
  const t100 = time([mcp, "validate", repo]);
  const t5000 = time([mcp, "validate", big]);
  const base2 = time(["-e", "0"]);
  const node = Math.min(base, base2);

  const rows = [
    ["node -e 0", node, undefined, ""],
    ["30-step pipeline", t30, node + 250, `${(t30 - node).toFixed(0)} ms over node -e 0 (target: within 250 ms)`],
    ["100 pipelines of 30 steps", t100, 2000, "target: under 2 s"],
    ["5,000-step pipeline", t5000, 2500, "target: under 2.5 s"],
  ];
  console.log(`mcp validate, whole CLI processes (median of ${RUNS} after a warm-up)`);
  for (const [name, ms, limit, note] of rows) {
    const verdict = limit === undefined ? "" : ms <= limit ? "  met" : "  UNMET";
    console.log(`  ${name.padEnd(26)} ${ms.toFixed(0).padStart(6)} ms  ${(ms / node).toFixed(2)}x node -e 0${verdict}  ${note}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
