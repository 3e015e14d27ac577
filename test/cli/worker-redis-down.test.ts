/**
 * `mcp worker` while Redis is unreachable (the real binary): started then, it waits for Redis,
 * as a worker must through a restart, and says so once per error, not once per reconnect;
 * stopped then, it stops (after the grace time when it has runs) instead of waiting forever.
 */
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { BIN, runCli } from "../helpers/cli.js";
import { tempProject } from "../helpers/project.js";
import { startRedis } from "../helpers/redis.js";

describe("mcp worker with Redis down", () => {
  it("keeps waiting and warns once, not on every reconnect", { timeout: 30_000 }, async () => {
    const probe = createServer();
    await new Promise<void>((res) => probe.listen(0, "127.0.0.1", res));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((res) => probe.close(res));
    const dir = tempProject({ "mcp.yaml": "version: 1\n" });
    // Several reconnects (every worker's, at most 2 s apart) happen in these 5 s.
    const r = await runCli(["worker", "--queue", `redis://127.0.0.1:${port}`, "."], { cwd: dir, timeoutMs: 5000 });
    expect(r.signal, r.stderr).toBe("SIGKILL");
    const warnings = r.stderr.split("\n").filter((l) => l.includes(`ECONNREFUSED 127.0.0.1:${port}`));
    expect(warnings, r.stderr).toEqual([expect.stringMatching(/^mcp worker\[\d+\]: warning: redis: connect ECONNREFUSED 127\.0\.0\.1:\d+ \(retrying\)$/)]);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
  });

  it("stops on SIGTERM when Redis went away, instead of waiting for it forever", { timeout: 60_000 }, async () => {
    const redis = await startRedis();
    const dir = tempProject({ "mcp.yaml": "version: 1\n" });
    const child = spawn(process.execPath, [BIN, "worker", "--queue", redis.url, "--grace", "1s", "."], { cwd: dir, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((res) => child.on("exit", (code) => res(code)));
    try {
      const end = Date.now() + 20_000;
      while (!err.includes("ready:") && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      expect(err).toContain("ready:");
      await redis.stop();
      child.kill("SIGTERM");
      const code = await Promise.race([exited, new Promise<"hung">((res) => setTimeout(() => res("hung"), 30_000))]);
      expect(code, err).toBe(130);
      expect(err).toMatch(/error: Redis at redis:\/\/127\.0\.0\.1:\d+ does not answer: stopping without it/);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});
