#!/usr/bin/env node
// The `mcp` command. The CLI lives in src/cli; this file only starts the compiled build.
import { main } from "../dist/cli/main.js";

// `mcp ... | head` closes the pipe early: that is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err) => {
    if (err && err.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw err;
  });
}

// The process runs out of work while main() still waits: what it waits for can never
// happen (nothing is left to wake it: no timer, no I/O). A model call that never settles
// does this (a module model awaiting a promise nobody resolves). Say so instead of exiting
// 0 with nothing printed.
let settled = false;
process.on("beforeExit", () => {
  if (settled) return;
  settled = true;
  process.stderr.write(
    "mcp: stopped before the command finished: it was waiting for something that can never happen (no timer or I/O is left to wake it).\n" +
      "A model call that never settles does this, e.g. a module model whose promise is never resolved: give the step (or the model) a timeout.\n",
  );
  process.exitCode = 1;
});

main(process.argv.slice(2)).then(
  (code) => {
    settled = true;
    process.exitCode = code;
  },
  (err) => {
    settled = true;
    // main() turns every user-facing failure into a diagnostic; reaching here is a bug.
    process.stderr.write(`mcp: internal error: ${err && err.stack ? err.stack : String(err)}\n`);
    process.exitCode = 70;
  },
);
