import { spawn, type ChildProcess } from "node:child_process";
import { describe, expect, it } from "vitest";
import { BIN, runCli } from "../helpers/cli.js";
import { tempProject } from "../helpers/project.js";
import { api, waitForRun } from "./helpers.js";

const CONFIG = `version: 1
models:
  slow:
    provider: mock
    capabilities: [text-generation]
    options:
      reply: { text: "done: \${{ $request.prompt }}" }
      latency: 700ms
  quick:
    provider: mock
    capabilities: [text-generation]
    options:
      reply: { text: "quick" }
      latency: 300ms
`;
const LONG = `version: 1
name: long
steps:
  first: { model: slow, input: { prompt: "1" } }
  second: { model: slow, input: { prompt: "\${{ $steps.first.output.text }}" } }
  third: { model: slow, input: { prompt: "\${{ $steps.second.output.text }}" } }
output: "\${{ $steps.third.output.text }}"
`;
const SHORT = `version: 1
name: short
steps:
  only: { model: quick, input: { prompt: "x" } }
output: "\${{ $steps.only.output.text }}"
`;

/** Starts `mcp serve` as a child process and waits for its address. */
async function startServe(dir: string, args: string[]): Promise<{ child: ChildProcess; url: string; stderr: () => string; exit: Promise<number | null> }> {
  const child = spawn(process.execPath, [BIN, "serve", "pipelines", "--port", "0", "--log-level", "silent", ...args], {
    cwd: dir,
    env: { ...process.env, NO_COLOR: "1", MCP_API_KEYS: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr!.on("data", (d) => (err += d));
  child.stdout!.resume();
  const exit = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`mcp serve did not start: ${err}`)), 30_000);
    child.stderr!.on("data", () => {
      const m = /listening on (http:\/\/[^\s]+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exit.then((code) => reject(new Error(`mcp serve exited ${code}: ${err}`)));
  });
  return { child, url, stderr: () => err, exit };
}

describe("graceful shutdown of mcp serve", () => {
  it("lets a short run finish, journals a long one as interrupted, and `mcp resume` finishes it", async () => {
    const dir = tempProject({ "mcp.yaml": CONFIG, "pipelines/long.yaml": LONG, "pipelines/short.yaml": SHORT });
    const srv = await startServe(dir, ["--shutdown-timeout", "1s"]);
    const long = (await api(srv.url, "/v1/pipelines/long/runs", { body: {} })).json.runId as string;
    // Wait until the long run's first step is journalled, then start a short one and stop the server.
    for (let i = 0; i < 400; i++) {
      const r = (await api(srv.url, `/v1/runs/${long}`)).json;
      if (r.steps?.first) break;
      await new Promise((res) => setTimeout(res, 20));
    }
    const short = api(srv.url, "/v1/pipelines/short/runs", { body: { wait: true } });
    await new Promise((res) => setTimeout(res, 50));
    srv.child.kill("SIGTERM");
    const shortDone = await short;
    expect(shortDone.status).toBe(200);
    expect(shortDone.json.status).toBe("success");
    expect(await srv.exit).toBe(0);
    expect(srv.stderr()).toMatch(/SIGTERM: shutting down/);
    expect(srv.stderr()).toContain(`mcp resume ${long}`);

    const runs = await runCli(["runs", "--json", "--project", dir]);
    const listed = JSON.parse(runs.stdout) as { id: string; status: string }[];
    expect(listed.find((r) => r.id === long)?.status).toBe("interrupted");

    const resumed = await runCli(["resume", long, "--project", dir, "--json", "--progress", "none"], { timeoutMs: 60_000 });
    expect(resumed.code, resumed.stderr).toBe(0);
    // The steps journalled before the shutdown are not run again (how many depends on timing).
    expect(resumed.stderr).toMatch(/[12] of 3 steps finished earlier \(first/);
    const report = JSON.parse(resumed.stdout) as { status: string; output: unknown; steps: Record<string, { resumed?: boolean }> };
    expect(report.status).toBe("success");
    expect(report.output).toBe("done: done: done: 1");
    expect(report.steps.first!.resumed).toBe(true);
    expect(report.steps.third!.resumed).toBeUndefined();
  }, 120_000);

  it("a second server sees the runs of the first in /v1/runs (the journal is the store)", async () => {
    const dir = tempProject({ "mcp.yaml": CONFIG, "pipelines/short.yaml": SHORT });
    const a = await startServe(dir, []);
    const id = (await api(a.url, "/v1/pipelines/short/runs", { body: {} })).json.runId as string;
    expect((await waitForRun(a.url, id)).status).toBe("success");
    a.child.kill("SIGINT");
    expect(await a.exit).toBe(0);
    const b = await startServe(dir, []);
    try {
      const got = (await api(b.url, `/v1/runs/${id}`)).json;
      expect(got.status).toBe("success");
      expect(got.output).toBe("quick");
    } finally {
      b.child.kill("SIGTERM");
      await b.exit;
    }
  }, 120_000);
});
