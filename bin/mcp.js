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

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    // main() turns every user-facing failure into a diagnostic; reaching here is a bug.
    process.stderr.write(`mcp: internal error: ${err && err.stack ? err.stack : String(err)}\n`);
    process.exitCode = 70;
  },
);
