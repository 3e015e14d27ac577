/**
 * A real redis-server for tests (Debian's package; `.ci/run` installs it when missing):
 * started on a free 127.0.0.1 port in a temp folder, with AOF on (appendfsync always) so a
 * restart keeps every write, and stopped after the test file. No mock Redis anywhere.
 *
 * When redis-server is missing or does not start, `startRedis` throws an error that says so
 * (and how to install it), so the tests that need it fail loudly instead of skipping.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

export interface TestRedis {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** SIGTERM (Redis writes its AOF and exits), then start again on the same port and folder. */
  restart(opts?: { downMs?: number }): Promise<void>;
  /** Stops the server (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again after stop(). */
  start(): Promise<void>;
}

const cleanups: (() => Promise<void>)[] = [];
let registered = false;

/** Where redis-server is, or undefined. */
export function redisServerPath(): string | undefined {
  const r = spawnSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" });
  const p = r.stdout.trim();
  return r.status === 0 && p ? p : undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts a redis-server for this test file; stopped by afterAll.
 * @example const redis = await startRedis(); const store = new RedisStore(redis.url);
 */
export async function startRedis(): Promise<TestRedis> {
  const bin = redisServerPath();
  if (!bin) {
    throw new Error("redis-server is not installed, and these tests need a real one: apt-get install -y redis-server (.ci/run does it when missing)");
  }
  if (!registered) {
    registered = true;
    afterAll(async () => {
      for (const c of cleanups.splice(0)) await c().catch(() => undefined);
    });
  }
  const dir = mkdtempSync(join(tmpdir(), "mcp-redis-"));
  const port = await freePort();
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const args = [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--appendonly",
      "yes",
      "--appendfsync",
      "always",
      "--save",
      "",
      "--daemonize",
      "no",
      "--protected-mode",
      "yes",
      "--maxmemory-policy",
      "noeviction",
      "--loglevel",
      "notice",
    ];
    const c = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
    child = c;
    let out = "";
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start on 127.0.0.1:${port} within 15s:\n${out}`)), 15_000);
      const onData = (d: Buffer) => {
        out += d.toString();
        if (/Ready to accept connections/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      };
      c.stdout!.on("data", onData);
      c.stderr!.on("data", onData);
      c.on("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited (code ${code}) before it was ready on 127.0.0.1:${port}:\n${out}`));
      });
      c.on("error", (e) => {
        clearTimeout(timer);
        reject(new Error(`cannot start redis-server (${bin}): ${e.message}`));
      });
    });
    c.removeAllListeners("exit");
  };

  const stop = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        c.kill("SIGKILL");
      }, 10_000);
      c.once("exit", () => {
        clearTimeout(t);
        resolve();
      });
      c.kill("SIGTERM");
    });
  };

  await launch();
  const server: TestRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    async restart(opts = {}) {
      await stop();
      if (opts.downMs) await new Promise((r) => setTimeout(r, opts.downMs));
      await launch();
    },
    async stop() {
      await stop();
    },
    async start() {
      await launch();
    },
  };
  cleanups.push(async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return server;
}
