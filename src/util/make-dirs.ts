/**
 * Creates a folder and its missing parents, one level at a time. Not `mkdirSync(dir,
 * { recursive: true })`: on Node 20 that loops forever when mkdir answers ENOENT under a
 * parent that exists (a path under /proc, some FUSE file systems), so a `--report
 * /proc/x/run.html` hung at full CPU. Here each level is made once; an error is thrown.
 */
import { existsSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";

export function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let d = resolve(dir); !existsSync(d); d = dirname(d)) {
    missing.push(d);
    if (dirname(d) === d) break; // the root itself is missing: let mkdir say why
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
  }
}
