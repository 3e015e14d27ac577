/**
 * `mcp worker` started while Redis is unreachable (the real binary): it waits for Redis, as
 * a worker must through a restart, and says so once per error, not once per reconnect.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempProject } from "../helpers/project.js";

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
});
