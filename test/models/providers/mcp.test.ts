/**
 * The `mcp` provider against the real reference server @modelcontextprotocol/server-everything
 * over stdio (a child process per server, reused): tool results flowing into the next step,
 * structuredContent, progress events, cancellation mid-call, the server killed mid-run,
 * a server that cannot start failing only its own steps, the response cache and record/replay.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { Recorder, Replayer } from "../../../src/cache/recording.js";
import { ResponseCache } from "../../../src/cache/response-cache.js";
import { loadPipeline } from "../../../src/compiler/load.js";
import type { RunEvent } from "../../../src/events/event.js";
import { mcpConnection } from "../../../src/models/mcp-connection.js";
import { closeMcpConnections } from "../../../src/models/mcp-pool.js";
import { TaskOrchestrator } from "../../../src/orchestrator/orchestrator.js";
import { MemoryStore } from "../../../src/store/memory-store.js";

const require = createRequire(import.meta.url);
/** The reference server's entry point (its package exports only the bin). */
export const EVERYTHING = join(require.resolve("@modelcontextprotocol/server-everything/package.json"), "..", "dist", "index.js");

const temp = mkdtempSync(join(tmpdir(), "mcp-tools-test-"));
afterAll(() => rmSync(temp, { recursive: true, force: true }));
afterEach(async () => closeMcpConnections());

const SERVERS = `mcpServers:
  everything:
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(EVERYTHING)}, stdio]
  broken:
    command: ${JSON.stringify(join(temp, "no-such-program"))}
models:
  echo: { provider: mcp, server: everything, tool: echo }
  sum: { provider: mcp, server: everything, tool: get-sum }
  slow: { provider: mcp, server: everything, tool: trigger-long-running-operation }
  weather: { provider: mcp, server: everything, tool: get-structured-content }
  gone: { provider: mcp, server: broken, tool: echo }
  canned: { provider: mock, options: { reply: { text: "from the fallback" } } }
`;

let n = 0;
async function pipeline(body: string) {
  const file = join(temp, `p${++n}.yaml`);
  writeFileSync(file, `version: 1\n${SERVERS}${body}`);
  return loadPipeline(file, { configPath: null });
}

function collect() {
  const events: RunEvent[] = [];
  return { events, observer: { onEvent: (e: RunEvent) => events.push(e) } };
}

describe("mcp provider: tools of server-everything as steps", () => {
  it("passes one tool's text result into the next step, and returns structuredContent as the output", async () => {
    const p = await pipeline(`steps:
  add:
    model: sum
    input: { a: 2, b: "\${{ $input.n }}" }
  say:
    model: echo
    input: { message: "\${{ $steps.add.output.text }}" }
  weather:
    model: weather
    input: { location: Chicago }
output:
  said: \${{ $steps.say.output.text }}
  weather: \${{ $steps.weather.output }}
`);
    const orch = new TaskOrchestrator();
    const report = await orch.runPipeline(p, { n: 5 });
    expect(report.status).toBe("success");
    const out = report.output as { said: string; weather: Record<string, unknown> };
    expect(out.said).toBe("Echo: The sum of 2 and 5 is 7.");
    expect(Object.keys(out.weather).sort()).toEqual(["conditions", "humidity", "temperature"]);
    expect(typeof out.weather.temperature).toBe("number");
  });

  it("reuses one server process for every call of the process", async () => {
    const p = await pipeline(`steps:
  a: { model: echo, input: { message: one } }
  b: { model: echo, input: { message: two } }
  c: { model: sum, input: { a: 1, b: 2 }, needs: [a, b] }
`);
    const orch = new TaskOrchestrator();
    expect((await orch.runPipeline(p, {})).status).toBe("success");
    const server = p.models.find((m) => m.name === "echo")!.mcpServer!;
    const pid = mcpConnection(server, process.env).pid;
    expect(pid).toBeGreaterThan(0);
    expect((await orch.runPipeline(p, {})).status).toBe("success");
    expect(mcpConnection(server, process.env).pid).toBe(pid);
  });

  it("turns the tool's progress notifications into step.progress events", async () => {
    const p = await pipeline(`steps:
  wait:
    model: slow
    input: { duration: 1, steps: 4 }
`);
    const { events, observer } = collect();
    const report = await new TaskOrchestrator().runPipeline(p, {}, { observer });
    expect(report.status).toBe("success");
    const progress = events.filter((e) => e.type === "step.progress");
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.every((e) => e.stepId === "wait" && e.model === "slow" && e.total === 4)).toBe(true);
    const values = progress.map((e) => (e.type === "step.progress" ? e.progress : 0));
    expect(values).toEqual([...values].sort((a, b) => a - b));
    expect((report.output as { wait?: unknown } | undefined) ?? report.steps.wait!.output).toBeDefined();
  });

  it("cancels a tool call mid-way: the run ends cancelled long before the tool would finish, and the server still answers", async () => {
    const p = await pipeline(`steps:
  wait:
    model: slow
    input: { duration: 60, steps: 60 }
`);
    const ctl = new AbortController();
    const { observer } = collect();
    const started = Date.now();
    const run = new TaskOrchestrator().runPipeline(
      p,
      {},
      {
        signal: ctl.signal,
        observer: { onEvent: (e) => (observer.onEvent(e), e.type === "step.progress" ? ctl.abort(new Error("stop")) : undefined) },
      },
    );
    const report = await run;
    expect(report.status).toBe("cancelled");
    expect(Date.now() - started).toBeLessThan(30_000);
    // The same connection still serves calls.
    const echo = await pipeline(`steps:\n  e: { model: echo, input: { message: after } }\n`);
    const again = await new TaskOrchestrator().runPipeline(echo, {});
    expect(again.steps.e!.output).toEqual({ text: "Echo: after" });
  });

  it("retries on a new server process when the server is killed mid-call", async () => {
    const p = await pipeline(`steps:
  wait:
    model: slow
    input: { duration: 1, steps: 2 }
    retry: { attempts: 3, initialDelay: 10ms }
`);
    const server = p.models.find((m) => m.name === "slow")!.mcpServer!;
    let killed: number | undefined;
    const { events } = collect();
    const report = await new TaskOrchestrator().runPipeline(
      p,
      {},
      {
        observer: {
          onEvent: (e) => {
            events.push(e);
            if (e.type === "step.progress" && killed === undefined) {
              killed = mcpConnection(server, process.env).pid;
              process.kill(killed!, "SIGKILL");
            }
          },
        },
      },
    );
    expect(killed).toBeGreaterThan(0);
    expect(report.status).toBe("success");
    const failed = events.filter((e) => e.type === "step.attempt_failed");
    expect(failed).toHaveLength(1);
    expect(failed[0]!.type === "step.attempt_failed" && failed[0]!.error.message).toMatch(/closed the connection|connection/i);
    expect(mcpConnection(server, process.env).pid).not.toBe(killed);
  });

  it("fails only the steps of a server that cannot start; its fallback model answers for it", async () => {
    const p = await pipeline(`steps:
  ok: { model: echo, input: { message: fine } }
  down:
    model: gone
    input: { message: x }
    retry: { attempts: 2, initialDelay: 10ms }
    onError: continue
  rescued:
    model: gone
    fallback: [canned]
    input: { message: y }
    retry: { attempts: 1 }
`);
    const report = await new TaskOrchestrator().runPipeline(p, {});
    expect(report.steps.ok!.status).toBe("success");
    expect(report.steps.down!.status).toBe("failed");
    expect(report.steps.down!.error!.message).toMatch(/server 'broken'/);
    expect(report.steps.rescued!.status).toBe("success");
    expect(report.steps.rescued!.output).toMatchObject({ text: "from the fallback" });
  });

  it("treats a tool error result (isError) as a failed attempt that retries and then fails the step", async () => {
    // echo without its required argument: the server answers with isError: true.
    const p = await pipeline(`steps:
  bad:
    model: echo
    input: { text: "no message" }
    retry: { attempts: 2, initialDelay: 10ms }
`);
    const { events, observer } = collect();
    const report = await new TaskOrchestrator().runPipeline(p, {}, { observer });
    expect(report.status).toBe("failed");
    expect(events.filter((e) => e.type === "step.attempt_failed")).toHaveLength(2);
    expect(report.steps.bad!.error!.message).toMatch(/tool 'echo' on server 'everything'/);
  });

  it("answers a repeated tool call from the response cache, and replays a recorded one without the server", async () => {
    const p = await pipeline(`steps:
  e: { model: echo, input: { message: cached }, cache: true }
`);
    const cache = new ResponseCache(new MemoryStore());
    const first = collect();
    await new TaskOrchestrator().runPipeline(p, {}, { hooks: [cache], observer: first.observer });
    const second = collect();
    const r2 = await new TaskOrchestrator().runPipeline(p, {}, { hooks: [cache], observer: second.observer });
    expect(second.events.some((e) => e.type === "step.cache" && e.hit)).toBe(true);
    expect(r2.steps.e!.output).toEqual({ text: "Echo: cached" });

    const file = join(temp, "tools.recording.json");
    const recorder = new Recorder(file);
    await new TaskOrchestrator().runPipeline(p, {}, { hooks: [recorder] });
    await closeMcpConnections();
    expect(readFileSync(file, "utf8")).toContain("Echo: cached");
    // Replayed: the answer comes from the recording, and no server process is started.
    const replay = collect();
    const r3 = await new TaskOrchestrator().runPipeline(p, {}, { hooks: [new Replayer(file)], observer: replay.observer });
    expect(r3.steps.e!.output).toEqual({ text: "Echo: cached" });
    expect(replay.events.some((e) => e.type === "step.cache" && e.source === "replay")).toBe(true);
    expect(mcpConnection(p.models.find((m) => m.name === "echo")!.mcpServer!, process.env).pid).toBeUndefined();
  });
});
