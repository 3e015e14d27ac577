/**
 * `mcp test --watch` as a user runs it: the real binary as a child process, the pipeline and
 * the suite edited while it watches; it runs again the affected suites only, reports an
 * invalid edit without running, and exits on Ctrl-C.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BIN } from "../helpers/cli.js";
import { tempProject } from "../helpers/project.js";
import { waitFor } from "../watch/helpers.js";

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

const ROOT = join(import.meta.dirname, "..", "..");
const copy = (p: string) => readFileSync(join(ROOT, p), "utf8");
const count = (s: string, sub: string) => s.split(sub).length - 1;

describe("mcp test --watch", { timeout: 120_000 }, () => {
  it("runs the suites, runs the affected one again after an edit, and exits on Ctrl-C", async () => {
    const dir = tempProject({
      "pipelines/ticket-triage.yaml": copy("pipelines/ticket-triage.yaml"),
      "pipelines/ticket-triage.test.yaml": copy("pipelines/ticket-triage.test.yaml"),
      "pipelines/samples/tickets.jsonl": copy("pipelines/samples/tickets.jsonl"),
      "pipelines/conversation.yaml": copy("pipelines/conversation.yaml"),
      "pipelines/conversation.test.yaml": copy("pipelines/conversation.test.yaml"),
    });
    const child = spawn(process.execPath, [BIN, "test", "--watch"], { cwd: dir, env: { ...process.env, NO_COLOR: "1", CI: "true" }, stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    const show = () => `stdout:\n${out}\nstderr:\n${err}`;

    await waitFor(
      () => out.includes("Tests: 12 passed, 0 failed") && err.includes("waiting for changes"),
      () => `the first run\n${show()}`,
      60_000,
    );

    // Break the routing: only the triage suite runs again, and fails.
    const file = join(dir, "pipelines/ticket-triage.yaml");
    const text = readFileSync(file, "utf8");
    writeFileSync(file, text.replace("/refund|charge|invoice|billing|payment/", "/refundd/"));
    await waitFor(
      () => /Tests: \d+ passed, [1-9]\d* failed/.test(out),
      () => `a second run that fails\n${show()}`,
      60_000,
    );
    const second = out.slice(out.lastIndexOf("Tests: 12 passed"));
    expect(second).toContain('expected output at `route` to equal "billing", got "general"');
    expect(second).not.toContain("conversation.test.yaml >");
    expect(err).toMatch(/\[watch\] 1 pipeline changed: running 1 suite/);

    // An invalid edit is reported; nothing runs until it is fixed.
    const runsBefore = count(out, "Tests: ");
    writeFileSync(file, text.replace("steps:", "stepz:"));
    await waitFor(
      () => err.includes("has errors; its suites run again once it is valid"),
      () => `the invalid edit reported\n${show()}`,
      60_000,
    );
    expect(count(out, "Tests: ")).toBe(runsBefore);

    // Fixed: green again. An edit of the suite itself runs it too.
    writeFileSync(file, text);
    await waitFor(
      () => count(out, "Tests: 10 passed, 0 failed") >= 1,
      () => `green again\n${show()}`,
      60_000,
    );
    const suite = join(dir, "pipelines/conversation.test.yaml");
    writeFileSync(suite, readFileSync(suite, "utf8").replace("conversations do not mix", "conversations stay apart"));
    await waitFor(
      () => out.includes("conversation.test.yaml > conversations stay apart"),
      () => `the edited suite ran\n${show()}`,
      60_000,
    );

    child.kill("SIGINT");
    expect(await exited).toBe(130);
    expect(err).toContain("[watch] stopped");
  });
});
