/** Helpers of the watch tests: a temp project on disk, polling, and a recorder of set events. */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { LivePipelineSet, LiveSetEvent } from "../../src/watch/live-pipeline-set.js";

/** A folder under the OS temp folder holding `files` (relative path -> text); call the result's `remove()`. */
export function tempDir(files: Record<string, string> = {}): string {
  // realpath: on macOS /tmp is a symlink, and paths in events are real ones.
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "mcp-watch-")));
  write(dir, files);
  return dir;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export function write(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    const path = join(dir, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
}

/** Polls `check` until it returns a truthy value (returned) or `timeoutMs` passes (throws). */
export async function waitFor<T>(check: () => T, what: string | (() => string), timeoutMs = 20_000, everyMs = 10): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === "function" ? what() : what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Records every event of a set; `of(type)` filters them. */
export function record(set: LivePipelineSet): { events: LiveSetEvent[]; of<T extends LiveSetEvent["type"]>(type: T): Extract<LiveSetEvent, { type: T }>[]; clear(): void } {
  const events: LiveSetEvent[] = [];
  set.on("all", (e) => events.push(e));
  return {
    events,
    of: <T extends LiveSetEvent["type"]>(type: T) => events.filter((e): e is Extract<LiveSetEvent, { type: T }> => e.type === type),
    clear: () => void events.splice(0),
  };
}

/** A pipeline on a mock model whose reply is `reply` (a template over $request). */
export function pipeline(name: string, reply = "v1", extra = ""): string {
  return [
    "version: 1",
    `name: ${name}`,
    "models:",
    "  fake:",
    "    provider: mock",
    "    capabilities: [text-generation]",
    "    options:",
    `      reply: { text: "${reply}" }`,
    extra,
    "steps:",
    "  answer:",
    "    model: fake",
    '    input: { prompt: "${{ $input.text }}" }',
    'output: "${{ $steps.answer.output.text }}"',
    "",
  ]
    .filter((l) => l !== "")
    .join("\n");
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
