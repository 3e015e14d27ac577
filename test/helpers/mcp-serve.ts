/** `mcp serve DIR` as a real child process on 127.0.0.1 and a free port; stop() sends SIGTERM. */
import { spawn, type ChildProcess } from "node:child_process";
import { BIN } from "./cli.js";

export interface Served {
  url: string;
  child: ChildProcess;
  stderr: () => string;
  stop(): Promise<void>;
}

export function serve(dir: string, opts: { env?: NodeJS.ProcessEnv; args?: string[]; cwd?: string } = {}): Promise<Served> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, "serve", dir, "--host", "127.0.0.1", "--port", "0", "--log-level", "warn", "--store", "memory", ...(opts.args ?? [])], {
      cwd: opts.cwd ?? dir,
      env: { ...process.env, NO_COLOR: "1", CI: "true", MCP_API_KEYS: "", ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let err = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`mcp serve did not start in 60s:\n${err}`));
    }, 60_000);
    child.stderr!.on("data", (d) => {
      err += d;
      const m = /listening on (http:\/\/\S+?)(?:\s|$)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({
          url: m[1]!,
          child,
          stderr: () => err,
          stop: () =>
            new Promise<void>((done) => {
              if (child.exitCode !== null) return done();
              const kill = setTimeout(() => child.kill("SIGKILL"), 15_000);
              child.once("exit", () => {
                clearTimeout(kill);
                done();
              });
              child.kill("SIGTERM");
            }),
        });
      }
    });
    child.stdout!.resume();
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`mcp serve exited with ${code}:\n${err}`));
    });
  });
}
