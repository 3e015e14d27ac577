/**
 * `mcp run --watch` and `mcp validate --watch` as a user runs them: the real binary as a
 * child process (uses the built dist/: `npx tsc -p .` first), real files edited while it
 * watches, then Ctrl-C (SIGINT): the process must close its watcher and exit by itself.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { pipeline, removeDir, tempDir, waitFor } from "./helpers.js";

const BIN = resolve(__dirname, "../../bin/mcp.js");

interface Cli {
  child: ChildProcess;
  out(): string;
  err(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const d of dirs.splice(0)) removeDir(d);
});

function cli(args: string[], cwd: string): Cli {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: "1", CI: "1" }, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on("exit", (code, signal) => r({ code, signal })));
  return { child, out: () => out, err: () => err, exited };
}

/** Sends Ctrl-C and waits for the process to exit by itself; returns its exit code and the time it took. */
async function interrupt(c: Cli): Promise<{ code: number | null; ms: number }> {
  const t0 = Date.now();
  c.child.kill("SIGINT");
  const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 5000));
  const result = await Promise.race([c.exited, timeout]);
  if (result === "timeout") throw new Error(`the process did not exit within 5 s of SIGINT\nstderr:\n${c.err()}`);
  return { code: result.code, ms: Date.now() - t0 };
}

const count = (s: string, sub: string) => s.split(sub).length - 1;
const show = (c: Cli) => `stdout:\n${c.out()}\nstderr:\n${c.err()}`;

function project(files: Record<string, string>): string {
  const dir = tempDir(files);
  dirs.push(dir);
  return dir;
}

describe("mcp run --watch", { timeout: 90_000 }, () => {
  it("runs, runs again after each save, reports an invalid edit without exiting, and exits on Ctrl-C", async () => {
    const dir = project({ "pipelines/echo.yaml": pipeline("echo", "v1: ${{ $request.prompt }}") });
    const file = join(dir, "pipelines/echo.yaml");
    const c = cli(["run", "pipelines/echo.yaml", "--watch", "--input", '{"text": "hi"}', "--store", "memory", "--progress", "none"], dir);
    await waitFor(
      () => c.out().includes('"v1: hi"') && c.err().includes("waiting for changes"),
      () => `the first run\n${show(c)}`,
      20_000,
    );
    expect(c.err()).toMatch(/\[watch\] echo @[0-9a-f]{7}: success in [\d.]+m?s \(/);

    writeFileSync(file, pipeline("echo", "v2: ${{ $request.prompt }}"));
    await waitFor(
      () => c.out().includes('"v2: hi"'),
      () => `the second run\n${show(c)}`,
    );

    writeFileSync(file, pipeline("echo", "v2").replace("model: fake", "model: faek"));
    await waitFor(
      () => c.err().includes("error MCP401: unknown model 'faek'"),
      () => `the diagnostic\n${show(c)}`,
    );
    await waitFor(
      () => c.err().includes("stays loaded; fix it and save to run again"),
      () => `the invalid line\n${show(c)}`,
    );
    expect(c.child.exitCode).toBeNull();

    writeFileSync(file, pipeline("echo", "v3: ${{ $request.prompt }}"));
    await waitFor(
      () => c.out().includes('"v3: hi"'),
      () => `the run after the fix\n${show(c)}`,
    );
    await waitFor(
      () => count(c.err(), ": success in") === 3,
      () => `three successful runs\n${show(c)}`,
    );

    const { code, ms } = await interrupt(c);
    expect(code).toBe(130);
    expect(ms).toBeLessThan(5000);
    expect(c.err()).toContain("[watch] stopped");
  });

  it("runs again when the mcp.yaml above the pipeline or a module model's file changes", async () => {
    const config = (reply: string) => `models:\n  fake:\n    provider: mock\n    capabilities: [text-generation]\n    options: { reply: { text: "${reply}" } }\n`;
    const model = (word: string) => `export default (input) => ({ text: "${word} " + input.prompt });\n`;
    const dir = project({
      "mcp.yaml": config("config-1"),
      "models/shout.mjs": model("module-1"),
      "pipelines/p.yaml": [
        "version: 1",
        "name: p",
        "models:",
        "  shout: { provider: module, module: ../models/shout.mjs, capabilities: [shouting] }",
        "steps:",
        "  a: { model: fake, input: { prompt: x } }",
        "  b: { model: shout, input: { prompt: y } }",
        "output: \"${{ $steps.a.output.text & ' / ' & $steps.b.output.text }}\"",
        "",
      ].join("\n"),
    });
    const c = cli(["run", "pipelines/p.yaml", "--watch", "--store", "memory", "--progress", "none"], dir);
    await waitFor(
      () => c.out().includes('"config-1 / module-1 y"'),
      () => `the first run\n${show(c)}`,
      20_000,
    );
    writeFileSync(join(dir, "mcp.yaml"), config("config-2"));
    await waitFor(
      () => c.out().includes('"config-2 / module-1 y"'),
      () => `the run after the mcp.yaml edit\n${show(c)}`,
    );
    writeFileSync(join(dir, "models/shout.mjs"), model("module-2"));
    await waitFor(
      () => c.out().includes('"config-2 / module-2 y"'),
      () => `the run after the module edit\n${show(c)}`,
    );
    expect((await interrupt(c)).code).toBe(130);
  });

  it("waits for an invalid file to be fixed at start", async () => {
    const dir = project({ "p.yaml": "version: 1\nname: p\nsteps: [\n" });
    const c = cli(["run", "p.yaml", "--watch", "--store", "memory", "--progress", "none"], dir);
    await waitFor(
      () => c.err().includes("error MCP001") && c.err().includes("waiting for changes"),
      () => `the diagnostic and the wait\n${show(c)}`,
    );
    writeFileSync(join(dir, "p.yaml"), pipeline("p", "fixed"));
    await waitFor(
      () => c.out().includes('"fixed"'),
      () => `the run after the fix\n${show(c)}`,
    );
    expect((await interrupt(c)).code).toBe(130);
  });

  it("refuses a file that is not there at start (a mistyped path), as without --watch: MCP006, exit 2", async () => {
    const dir = project({ "p.yaml": pipeline("p") });
    const c = cli(["run", "q.yaml", "--watch", "--store", "memory"], dir);
    expect((await c.exited).code).toBe(2);
    expect(c.err()).toBe("q.yaml:1:1: error MCP006: cannot read q.yaml: no such file\n");
  });

  it("cancels a run when the file changes during it (the default mode)", async () => {
    const dir = project({ "slow.yaml": pipeline("slow", "v1", "      latency: 3s") });
    const c = cli(["run", "slow.yaml", "--watch", "--input", '{"text": "x"}', "--store", "memory", "--progress", "none"], dir);
    await waitFor(
      () => c.err().includes("[watch] running slow"),
      () => `the first run to start\n${show(c)}`,
    );
    writeFileSync(join(dir, "slow.yaml"), pipeline("slow", "v2"));
    await waitFor(
      () => c.out().includes('"v2"'),
      () => `the second run\n${show(c)}`,
    );
    expect(c.err()).toContain("cancelled (the file changed)");
    expect(c.out()).not.toContain('"v1"');
    expect((await interrupt(c)).code).toBe(130);
  });

  it("lets the run finish first with --watch-mode=queue", async () => {
    const dir = project({ "slow.yaml": pipeline("slow", "v1", "      latency: 2s") });
    const c = cli(["run", "slow.yaml", "--watch", "--watch-mode=queue", "--input", '{"text": "x"}', "--store", "memory", "--progress", "none"], dir);
    await waitFor(
      () => c.err().includes("[watch] running slow"),
      () => `the first run to start\n${show(c)}`,
    );
    writeFileSync(join(dir, "slow.yaml"), pipeline("slow", "v2"));
    await waitFor(
      () => c.out().includes('"v2"'),
      () => `the second run\n${show(c)}`,
    );
    expect(c.out().indexOf('"v1"')).toBeGreaterThanOrEqual(0);
    expect(c.out().indexOf('"v1"')).toBeLessThan(c.out().indexOf('"v2"'));
    expect(c.err()).not.toContain("cancelled");
    expect((await interrupt(c)).code).toBe(130);
  });

  it("exits at once on Ctrl-C during a run, cancelling it", async () => {
    const dir = project({ "slow.yaml": pipeline("slow", "v1", "      latency: 20s") });
    const c = cli(["run", "slow.yaml", "--watch", "--input", '{"text": "x"}', "--store", "memory", "--progress", "none"], dir);
    await waitFor(
      () => c.err().includes("[watch] running slow"),
      () => `the run to start\n${show(c)}`,
    );
    const { code, ms } = await interrupt(c);
    expect(code).toBe(130);
    expect(ms).toBeLessThan(5000);
  });

  it("refuses --watch-mode without --watch, and an unknown mode", async () => {
    const dir = project({ "p.yaml": pipeline("p") });
    const a = cli(["run", "p.yaml", "--watch-mode", "queue"], dir);
    expect((await a.exited).code).toBe(2);
    expect(a.err()).toContain("--watch-mode needs --watch");
    const b = cli(["run", "p.yaml", "--watch", "--watch-mode", "later"], dir);
    expect((await b.exited).code).toBe(2);
    expect(b.err()).toContain("--watch-mode must be one of cancel, queue; got 'later'");
  });
});

describe("mcp validate --watch", { timeout: 90_000 }, () => {
  it("validates, validates again after each change, and exits on Ctrl-C", async () => {
    const dir = project({ "pipelines/a.yaml": pipeline("a"), "pipelines/b.yaml": pipeline("b") });
    const c = cli(["validate", "--watch", "pipelines"], dir);
    await waitFor(
      () => c.out().includes("2 files valid") && c.err().includes("waiting for changes"),
      () => `the first validation\n${show(c)}`,
    );

    writeFileSync(join(dir, "pipelines/b.yaml"), pipeline("b").replace("model: fake", "model: faek"));
    await waitFor(
      () => c.out().includes("error MCP401: unknown model 'faek'"),
      () => `the diagnostic\n${show(c)}`,
    );
    await waitFor(
      () => c.out().includes("1 error in 1 of 2 files"),
      () => `the summary\n${show(c)}`,
    );

    writeFileSync(join(dir, "pipelines/c.yaml"), pipeline("c"));
    writeFileSync(join(dir, "pipelines/b.yaml"), pipeline("b"));
    await waitFor(
      () => c.out().includes("3 files valid"),
      () => `the new file and the fix\n${show(c)}`,
    );
    expect(c.child.exitCode).toBeNull();

    const { code } = await interrupt(c);
    expect(code).toBe(130);
  });
});
