/**
 * Creates a folder and its missing parents, one level at a time. Not `mkdirSync(dir,
 * { recursive: true })`: on Node 20 that loops forever when mkdir answers ENOENT under a
 * parent that exists (a path under /proc, some FUSE file systems), so a `--report
 * /proc/x/run.html` hung at full CPU. Here each level is made once; an error is thrown.
 */
import { existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";

export function makeDirs(dir: string): void {
  const missing: string[] = [];
  let d = resolve(dir);
  for (; !existsSync(d); d = dirname(d)) {
    missing.push(d);
    if (dirname(d) === d) break; // the root itself is missing: let mkdir say why
  }
  // A file where a folder should be: the error mkdir -p gives (ENOTDIR), not a later one.
  if (existsSync(d) && !statSync(d).isDirectory()) {
    throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${resolve(dir)}'`), { code: "ENOTDIR", path: resolve(dir), syscall: "mkdir" });
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
  }
}
