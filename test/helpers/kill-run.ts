/** `mcp run` killed with SIGKILL mid-run (the real binary), for the journal and resume tests. */
import { spawn } from "node:child_process";
import { expect } from "vitest";
import type { RunEvent } from "../../src/events/event.js";
import { BIN } from "./cli.js";

/**
 * Starts `mcp run FILE --progress json` in `dir` and SIGKILLs it as soon as `until` holds for
 * the events read so far (none are read after the kill). Fails if the run ended first.
 */
export async function runAndKill(dir: string, file: string, until: (events: readonly RunEvent[]) => boolean): Promise<{ runId: string; events: RunEvent[]; finished: string[] }> {
  const child = spawn(process.execPath, [BIN, "run", file, "--progress", "json"], { cwd: dir, env: { ...process.env, NO_COLOR: "1", CI: "true" }, stdio: ["ignore", "pipe", "pipe"] });
  let buf = "";
  const events: RunEvent[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the kill point never came: ${JSON.stringify(events.map((e) => [e.type, "stepId" in e ? e.stepId : undefined]))}`)), 20_000);
    child.stderr.on("data", (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line.startsWith("{") || child.signalCode || child.killed) continue;
        events.push(JSON.parse(line) as RunEvent);
        if (until(events)) {
          clearTimeout(timer);
          child.kill("SIGKILL");
          resolve();
          return;
        }
      }
    });
    child.on("close", () => {
      clearTimeout(timer);
      resolve();
    });
  });
  await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.on("close", r)));
  expect(child.signalCode, "the run ended before the kill point").toBe("SIGKILL");
  const started = events.find((e) => e.type === "run.started");
  const finished = events.flatMap((e) => (e.type === "step.finished" ? [e.stepId] : []));
  return { runId: started?.runId ?? "", events, finished };
}
