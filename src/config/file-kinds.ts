/**
 * Which YAML files are what: a test suite is `*.test.yaml` (or `.test.yml`); every other
 * YAML file in a pipelines folder, except mcp.yaml, is a pipeline. Discovery (validate,
 * the live pipeline set, mcp test) asks here so that they never disagree.
 */

/** `*.test.yaml` and `*.test.yml`. */
export const TEST_FILE_PATTERN = /\.test\.ya?ml$/i;

/** Whether a file name (or path) is a test suite's. */
export function isTestFile(path: string): boolean {
  return TEST_FILE_PATTERN.test(path);
}
