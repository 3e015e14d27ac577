/** Exit codes of every command (DESIGN section 5). */
export const EXIT_CODES = {
  /** Success. */
  ok: 0,
  /** The run failed. */
  runFailed: 1,
  /** Invalid input, config or usage: nothing ran. */
  invalid: 2,
  /** The run waits for a person's answer to an approval step (`mcp approve` / `mcp reject` continue it). */
  waiting: 3,
  /** A bug in the runner. */
  internal: 70,
  /** Interrupted by Ctrl-C or SIGTERM. */
  interrupted: 130,
} as const;
