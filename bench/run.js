// Runs every benchmark suite, bench/*.bench.js, each in a child process of its own (so one
// suite's heap, JIT state and caches cannot skew the next), in file-name order, and prints
// their output. `npm run bench` builds first; the suites import from dist/.
//
//   node bench/run.js               every suite
//   node bench/run.js validate      suites whose file name contains "validate"
//
// Exit code: 0 if every suite exited 0, else 1 (and the failing suites are named).
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const suites = readdirSync(here)
  .filter((f) => f.endsWith(".bench.js"))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

if (suites.length === 0) {
  console.error(`no benchmark suites${filters.length ? ` matching ${filters.join(", ")}` : ""} in ${here}`);
  process.exit(1);
}

function run(file) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(here, file)], { stdio: "inherit", cwd: join(here, "..") });
    child.on("error", (e) => {
      console.error(`${file}: ${e.message}`);
      resolve(1);
    });
    child.on("exit", (code, signal) => resolve(signal ? 1 : (code ?? 1)));
  });
}

const failed = [];
console.log(`node ${process.version}, ${process.platform}/${process.arch}`);
for (const file of suites) {
  console.log(`\n== ${file}`);
  const started = Date.now();
  const code = await run(file);
  console.log(`-- ${file}: ${code === 0 ? "done" : `FAILED (exit ${code})`} in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  if (code !== 0) failed.push(file);
}
if (failed.length) {
  console.error(`\n${failed.length} suite(s) failed: ${failed.join(", ")}`);
  process.exit(1);
}
