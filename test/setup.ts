/**
 * Property tests run with a fixed seed, so CI is repeatable: a failure is a bug to fix,
 * not a coin toss. Explore other inputs locally with FUZZ_SEED=<n> (and FUZZ_RUNS=<n>
 * where a test reads it); fast-check prints the seed of any counterexample it finds.
 */
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { afterAll, beforeAll, expect } from "vitest";

const seed = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : 20261125;
fc.configureGlobal({ seed });

/**
 * A test run leaves the repository as it was: tests write into temporary folders (see
 * test/helpers/project.ts), never next to the repository's own files (a command run from the
 * repository root would leave its `.mcp/state.db` there), except for the screenshots kept for
 * people to look at in git-ignored test-artifacts/ (test/helpers/browser.ts). Checked for each
 * test file; a file running at the same time as the one that wrote may be named too.
 */
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const KEPT = new Set(["test-artifacts"]);
let rootBefore = new Set<string>();
beforeAll(() => {
  rootBefore = new Set(readdirSync(ROOT));
});
afterAll(() => {
  const left = readdirSync(ROOT).filter((name) => !rootBefore.has(name) && !KEPT.has(name));
  expect(left, "new files in the repository root after this test file: tests must use temporary folders").toEqual([]);
});
