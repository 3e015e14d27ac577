/**
 * Property tests run with a fixed seed, so CI is repeatable: a failure is a bug to fix,
 * not a coin toss. Explore other inputs locally with FUZZ_SEED=<n> (and FUZZ_RUNS=<n>
 * where a test reads it); fast-check prints the seed of any counterexample it finds.
 */
import fc from "fast-check";

const seed = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : 20261125;
fc.configureGlobal({ seed });
