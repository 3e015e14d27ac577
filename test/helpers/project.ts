/** A temporary project folder with real files, removed after the test file's tests. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll } from "vitest";

const made: string[] = [];
let registered = false;

/**
 * Creates a folder under the OS temp folder holding `files` (relative path -> text).
 * @example const dir = tempProject({ "mcp.yaml": "version: 1\n", "pipelines/a.yaml": "..." });
 */
export function tempProject(files: Record<string, string> = {}, prefix = "mcp-test-"): string {
  if (!registered) {
    registered = true;
    afterAll(() => {
      for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
    });
  }
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  writeFiles(dir, files);
  return dir;
}

export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    const path = join(dir, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
}
