import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createRequire } from "node:module";
import Database from "better-sqlite3";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { MemoryStore } from "../../src/store/memory-store.js";
import { openStore, storePath } from "../../src/store/open-store.js";
import { StoreJournal, effectiveStatus } from "../../src/store/run-journal.js";
import { loadPipelineFile } from "../../src/compiler/load.js";
import { TaskOrchestrator } from "../../src/orchestrator/orchestrator.js";
import { MIGRATIONS } from "../../src/store/sqlite-schema.js";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import type { Store } from "../../src/store/store.js";
import { RedisStore } from "../../src/store/redis-store.js";
import { startRedis } from "../helpers/redis.js";
import type { RunReport, StepRecord } from "../../src/events/report.js";

const require = createRequire(import.meta.url);
const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "mcp-store-"));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const step = (output: unknown): StepRecord => ({
  status: "success",
  output,
  attempts: [{ model: "m", attempt: 1, ok: true, durationMs: 3 }],
  durationMs: 3,
  usage: { inputTokens: 1, outputTokens: 2 },
  cost: 0,
  cached: false,
});
const totals = { inputTokens: 1, outputTokens: 2, cost: 0, calls: 1, cacheHits: 0, cacheMisses: 0 };

// A real redis-server on a free loopback port; each store gets a key prefix of its own.
const redis = await startRedis();
let prefixes = 0;
const kinds: [string, () => Store][] = [
  ["SqliteStore (a real file)", () => new SqliteStore(join(tempDir(), ".mcp", "state.db"))],
  ["MemoryStore", () => new MemoryStore()],
  ["RedisStore (a real redis-server)", () => new RedisStore(new Redis(redis.url), { prefix: `t${++prefixes}:`, owned: true })],
];

describe.each(kinds)("%s", (_name, make) => {
  it("keeps runs with their input, hash and steps, newest first", async () => {
    const s = make();
    await s.runStarted({ id: "run_a", pipeline: "p", file: "/x/p.yaml", hash: "h1", input: { text: "hi" }, startedAt: 1000 });
    await s.runStarted({ id: "run_b", pipeline: "q", file: "/x/q.yaml", hash: "h2", input: {}, startedAt: 2000, conversationId: "c1" });
    await s.putStep("run_a", "first", step({ n: 1 }));
    await s.putStep("run_a", "second", step([1, 2]));
    expect(await s.getSteps("run_a")).toEqual({ first: step({ n: 1 }), second: step([1, 2]) });
    expect((await s.listRuns()).map((r) => r.id)).toEqual(["run_b", "run_a"]);
    expect((await s.listRuns({ limit: 1 })).map((r) => r.id)).toEqual(["run_b"]);
    expect((await s.listRuns({ pipeline: "p" })).map((r) => r.id)).toEqual(["run_a"]);
    const a = await s.getRun("run_a");
    expect(a).toMatchObject({ id: "run_a", pipeline: "p", file: "/x/p.yaml", hash: "h1", status: "running", input: { text: "hi" }, startedAt: 1000, attempts: 1 });
    expect((await s.getRun("run_b"))?.conversationId).toBe("c1");
    expect(await s.getRun("nope")).toBeUndefined();
    await s.close();
  });

  it("records the end of a run and starts it again in place on resume", async () => {
    const s = make();
    await s.runStarted({ id: "r", pipeline: "p", file: "/p.yaml", hash: "h", input: 1, startedAt: 5 });
    const report = { runId: "r", status: "failed", steps: {} } as unknown as RunReport;
    await s.runFinished("r", { status: "failed", finishedAt: 10, durationMs: 5, error: { reason: "model-error", message: "boom" }, totals, report });
    expect(await s.getRun("r")).toMatchObject({ status: "failed", durationMs: 5, error: { message: "boom" }, totals, report });
    await s.runStarted({ id: "r", pipeline: "p", file: "/p.yaml", hash: "h", input: 1, startedAt: 50, resumedFrom: "r" });
    const again = await s.getRun("r");
    expect(again).toMatchObject({ status: "running", attempts: 2, resumedFrom: "r", startedAt: 5 });
    expect(again?.error).toBeUndefined();
    await s.runFinished("r", { status: "success", finishedAt: 60, durationMs: 10, output: { ok: true }, totals, report });
    expect(await s.getRun("r")).toMatchObject({ status: "success", output: { ok: true } });
    await s.close();
  });

  it("appends turns in order and prunes to maxTurns in the same write", async () => {
    const s = make();
    await s.appendTurns("c", [
      { role: "user", content: "one" },
      { role: "assistant", content: { text: "two" } },
    ]);
    await s.appendTurns("other", [{ role: "user", content: "elsewhere" }]);
    const added = await s.appendTurns("c", [{ role: "user", content: "three", runId: "r", stepId: "s" }], { maxTurns: 2 });
    expect(added[0]).toMatchObject({ role: "user", content: "three", runId: "r", stepId: "s" });
    const turns = await s.listTurns("c");
    expect(turns.map((t) => t.content)).toEqual([{ text: "two" }, "three"]);
    expect(turns[0]!.seq).toBeLessThan(turns[1]!.seq);
    expect(turns[1]).toMatchObject({ runId: "r", stepId: "s" });
    expect((await s.listTurns("other")).map((t) => t.content)).toEqual(["elsewhere"]);
    await s.clearConversation("c");
    expect(await s.listTurns("c")).toEqual([]);
    expect(await s.getConversation("c")).toEqual({ version: 0 });
    await s.close();
  });

  it("compacts turns into a summary only at the expected version", async () => {
    const s = make();
    const added = await s.appendTurns(
      "c",
      ["a", "b", "c", "d"].map((content) => ({ role: "user", content })),
    );
    expect(await s.compactTurns("c", { summary: "a and b", throughSeq: added[1]!.seq, expectedVersion: 0 })).toBe(true);
    expect(await s.getConversation("c")).toEqual({ summary: "a and b", version: 1 });
    expect((await s.listTurns("c")).map((t) => t.content)).toEqual(["c", "d"]);
    // A writer that read version 0 lost the race: nothing changes.
    expect(await s.compactTurns("c", { summary: "stale", throughSeq: added[3]!.seq, expectedVersion: 0 })).toBe(false);
    expect((await s.getConversation("c")).summary).toBe("a and b");
    expect((await s.listTurns("c")).length).toBe(2);
    await s.close();
  });

  it("keeps a run's events by sequence number, ignoring one already stored", async () => {
    const s = make();
    const ev = (seq: number) => ({ seq, event: { type: "step.queued" as const, runId: "r", ts: seq, stepId: `s${seq}` } });
    await s.appendEvents("r", [ev(1), ev(2)]);
    await s.appendEvents("r", [ev(2), ev(3)]);
    expect((await s.listEvents("r")).map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(await s.listEvents("r", 2)).toEqual([ev(3)]);
    expect(await s.listEvents("other")).toEqual([]);
    await s.close();
  });

  it("serves cache entries until they expire", async () => {
    const s = make();
    await s.cacheSet("k1", { value: { text: "cached" }, createdAt: 100, expiresAt: 200 });
    await s.cacheSet("k2", { value: [1], createdAt: 100 });
    expect(await s.cacheGet("k1", 150)).toEqual({ value: { text: "cached" }, createdAt: 100, expiresAt: 200 });
    expect(await s.cacheGet("k1", 200)).toBeUndefined();
    expect(await s.cacheGet("k2", 10 ** 15)).toEqual({ value: [1], createdAt: 100 });
    expect(await s.cacheGet("missing")).toBeUndefined();
    expect(await s.cacheDeleteExpired(300)).toBe(1);
    expect(await s.cacheGet("k2")).toBeDefined();
    await s.close();
  });
});

describe("SqliteStore", () => {
  it("creates .mcp/state.db on first use, in WAL mode, with a .gitignore and the schema version", async () => {
    const dir = tempDir();
    const store = await openStore({ projectDir: dir });
    expect(store.location).toBe(join(dir, ".mcp", "state.db"));
    expect(existsSync(store.location)).toBe(true);
    expect(readFileSync(join(dir, ".mcp", ".gitignore"), "utf8")).toMatch(/^\*$/m);
    await store.close();
    const db = new Database(join(dir, ".mcp", "state.db"), { readonly: true });
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(db.prepare("SELECT MAX(version) AS v FROM schema_version").get()).toEqual({ v: MIGRATIONS.length });
    db.close();
  });

  it("keeps its data across openings", async () => {
    const path = join(tempDir(), "state.db");
    const a = new SqliteStore(path);
    await a.runStarted({ id: "r1", pipeline: "p", file: "/p", hash: "h", input: { x: 1 }, startedAt: 1 });
    await a.putStep("r1", "s", step("out"));
    await a.appendTurns("c", [{ role: "user", content: "remember me" }]);
    await a.close();
    const b = new SqliteStore(path);
    expect((await b.getRun("r1"))?.input).toEqual({ x: 1 });
    expect(await b.getSteps("r1")).toEqual({ s: step("out") });
    expect((await b.listTurns("c"))[0]?.content).toBe("remember me");
    await b.close();
  });

  it("writes each journalled step record once: the report refers to its row, and reads back whole and in order", async () => {
    const path = join(tempDir(), "state.db");
    const a = new SqliteStore(path);
    await a.runStarted({ id: "r", pipeline: "p", file: "/p", hash: "h", input: { x: 1 }, startedAt: 1 });
    const first = step({ text: "one" });
    const second = step({ text: "two" });
    // Journalled in one batch (one event-loop turn), as a chain of 0 ms steps is.
    const writes = [a.putStep("r", "first", first), a.putStep("r", "second", second)];
    await Promise.all(writes);
    const steps: Record<string, StepRecord> = {
      second,
      // The same content, not the journalled object (a resumed step's record is a copy): kept whole.
      first: { ...first },
      failed: { status: "failed", attempts: [], durationMs: 1, usage: { inputTokens: 0, outputTokens: 0 }, cost: 0, cached: false, error: { reason: "model-error", message: "boom" } },
      // Journalled under another key: kept whole.
      other: second,
    };
    const report = {
      runId: "r",
      pipeline: "p",
      file: "/p",
      hash: "h",
      status: "failed",
      startedAt: "1970-01-01T00:00:00.001Z",
      durationMs: 2,
      input: { x: 1 },
      output: { n: [1, "two"] },
      steps,
      totals,
    } as RunReport;
    await a.runFinished("r", { status: "failed", finishedAt: 3, durationMs: 2, output: report.output, totals, report });
    await a.close();

    const db = new Database(path, { readonly: true });
    const stored = JSON.parse((db.prepare("SELECT report FROM runs WHERE id = 'r'").get() as { report: string }).report) as { steps: Record<string, unknown> };
    db.close();
    expect(stored.steps).toEqual({ second: 0, first: steps.first, failed: steps.failed, other: second });

    // Another process (here: another store) reads the report as it was given.
    const b = new SqliteStore(path);
    const run = await b.getRun("r");
    expect(JSON.stringify(run?.report)).toBe(JSON.stringify(report));
    expect(JSON.stringify((await b.listRuns())[0]?.report)).toBe(JSON.stringify(report));
    await b.close();
  });

  it("keeps a run's report as the run returned it, its steps journalled once (a real run)", async () => {
    const dir = tempDir();
    const lines = ["version: 1", "models:", "  m: { provider: mock, capabilities: [t], options: { reply: { text: x } } }", "steps:"];
    for (let i = 0; i < 40; i++) lines.push(`  s${i}: { model: m, input: { prompt: "${i ? `\${{ $steps.s${i - 1}.output.text }}` : "x"}" } }`);
    lines.push('  bad: { model: m, needs: [s39], when: "${{ false }}" }');
    const r = loadPipelineFile(join(dir, "p.yaml"), { text: lines.join("\n"), configPath: null });
    expect(r.diagnostics).toEqual([]);
    const s = new SqliteStore(join(dir, "state.db"));
    const report = await new TaskOrchestrator().runPipeline(r.pipeline!, {}, { journal: new StoreJournal(s) });
    expect(report.status).toBe("success");
    expect(report.steps.bad?.status).toBe("skipped");
    expect(JSON.stringify((await s.getRun(report.runId))?.report)).toBe(JSON.stringify(report));
    expect(Object.keys(await s.getSteps(report.runId))).toHaveLength(40);
    await s.close();
    const db = new Database(join(dir, "state.db"), { readonly: true });
    const stored = JSON.parse((db.prepare("SELECT report FROM runs").get() as { report: string }).report) as { steps: Record<string, unknown> };
    db.close();
    expect(Object.values(stored.steps).filter((v) => v === 0)).toHaveLength(40);
  });

  it("refuses a file written by a newer schema instead of misreading it", async () => {
    const path = join(tempDir(), "state.db");
    await new SqliteStore(path).close();
    const db = new Database(path);
    db.prepare("INSERT INTO schema_version (version, applied_at) VALUES (?, 0)").run(MIGRATIONS.length + 1);
    db.close();
    expect(() => new SqliteStore(path)).toThrow(/newer than this mcp knows/);
  });

  it("resolves store.path against the project folder", () => {
    expect(storePath({ projectDir: "/proj" })).toBe("/proj/.mcp/state.db");
    expect(storePath({ projectDir: "/proj", store: { path: "data/s.db" } })).toBe("/proj/data/s.db");
    expect(storePath({ projectDir: "/proj", store: { path: "/abs/s.db" } })).toBe("/abs/s.db");
  });

  it("openStore picks memory when asked, redis from a URL, and asks for the URL of a redis store", async () => {
    expect((await openStore({ projectDir: tempDir() }, "memory")).kind).toBe("memory");
    expect((await openStore({ projectDir: tempDir(), store: { type: "memory" } })).kind).toBe("memory");
    await expect(openStore({ projectDir: tempDir(), store: { type: "redis" } })).rejects.toThrow(/the redis store needs a URL/);
    const r = await openStore({ projectDir: tempDir(), store: { type: "redis", url: redis.url } });
    expect(r.kind).toBe("redis");
    await r.close();
    const fromEnv = await openStore({ projectDir: tempDir() }, redis.url);
    expect(fromEnv.kind).toBe("redis");
    await fromEnv.close();
  });

  it("loses nothing when two processes write to the same file at once", async () => {
    const path = join(tempDir(), "shared.db");
    // Create it first so both writers race on data, not on creating the schema... and
    // also race on opening: the second writer opens while the first writes.
    const moduleUrl = pathToFileURL(join(import.meta.dirname, "..", "..", "dist", "store", "sqlite-store.js")).href;
    const script = `
      const { SqliteStore } = await import(${JSON.stringify(moduleUrl)});
      const [path, who, n] = process.argv.slice(1);
      const s = new SqliteStore(path);
      for (let i = 0; i < Number(n); i++) {
        const id = who + "-" + i;
        await s.runStarted({ id, pipeline: "p", file: "/p", hash: "h", input: { i }, startedAt: Date.now() });
        await s.putStep(id, "a", { status: "success", output: i, attempts: [], durationMs: 0, usage: { inputTokens: 0, outputTokens: 0 }, cost: 0, cached: false });
        await s.appendTurns("shared", [{ role: who, content: i }]);
        await s.cacheSet(id, { value: i, createdAt: Date.now() });
      }
      await s.close();
    `;
    const N = 150;
    const run = (who: string) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ["--input-type=module", "-e", script, path, who, String(N)], { stdio: ["ignore", "ignore", "pipe"] });
        let stderr = "";
        child.stderr.on("data", (d) => (stderr += d));
        child.on("close", (code) => resolve({ code, stderr }));
      });
    const results = await Promise.all([run("alpha"), run("beta")]);
    for (const r of results) expect(r, r.stderr).toMatchObject({ code: 0 });
    const s = new SqliteStore(path);
    expect((await s.listRuns({ limit: 10_000 })).length).toBe(2 * N);
    const turns = await s.listTurns("shared");
    expect(turns.length).toBe(2 * N);
    for (const who of ["alpha", "beta"]) {
      // Each writer's turns are all there, in the order it wrote them.
      expect(turns.filter((t) => t.role === who).map((t) => t.content)).toEqual(Array.from({ length: N }, (_, i) => i));
      expect(await s.getSteps(`${who}-${N - 1}`)).toHaveProperty("a");
      expect((await s.cacheGet(`${who}-7`))?.value).toBe(7);
    }
    await s.close();
  }, 60_000);
});

describe("SqliteStore cache front (cache entries kept in memory)", () => {
  /** Runs SQL on the file from another process (as `sqlite3 state.db "..."` would). */
  const otherProcess = (path: string, sql: string) =>
    new Promise<void>((resolve, reject) => {
      const script = `const D = require(${JSON.stringify(require.resolve("better-sqlite3"))}); const db = new D(process.argv[1]); db.exec(process.argv[2]); db.close();`;
      const child = spawn(process.execPath, ["-e", script, path, sql], { stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (d) => (stderr += d));
      child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(stderr))));
    });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it("sees at once an entry another process wrote, and what it overwrote or deleted once the file is checked again", async () => {
    const path = join(tempDir(), "front.db");
    const s = new SqliteStore(path, { cacheFront: { checkMs: 50 } });
    await s.cacheSet("a", { value: "first", createdAt: 1 });
    expect((await s.cacheGet("a"))?.value).toBe("first");
    await otherProcess(path, `INSERT INTO cache (key, value, created_at) VALUES ('b', '"from elsewhere"', 2)`);
    expect(await s.cacheGet("b")).toEqual({ value: "from elsewhere", createdAt: 2 });
    await otherProcess(path, `UPDATE cache SET value = '"second"' WHERE key = 'a'`);
    await sleep(120);
    expect((await s.cacheGet("a"))?.value).toBe("second");
    await otherProcess(path, "DELETE FROM cache");
    await sleep(120);
    expect(await s.cacheGet("a")).toBeUndefined();
    expect(await s.cacheGet("b")).toBeUndefined();
    await s.close();
  }, 30_000);

  it("serves from memory between checks, at most its number of entries, and never past an entry's expiry", async () => {
    const path = join(tempDir(), "front-lru.db");
    // Checks of the file far apart: what is served after another process emptied the table comes from memory.
    const s = new SqliteStore(path, { cacheFront: { entries: 2, checkMs: 60_000 } });
    await s.cacheSet("a", { value: "A", createdAt: 1 });
    await s.cacheSet("b", { value: "B", createdAt: 1, expiresAt: 1000 });
    await s.cacheSet("c", { value: "C", createdAt: 1 });
    await otherProcess(path, "DELETE FROM cache");
    expect((await s.cacheGet("c"))?.value).toBe("C");
    expect((await s.cacheGet("b", 999))?.value).toBe("B");
    expect(await s.cacheGet("b", 1000)).toBeUndefined();
    // "a" was the least recently used of three: not in memory, and gone from the file.
    expect(await s.cacheGet("a")).toBeUndefined();
    await s.close();
    // Without the front every read goes to the file.
    const direct = new SqliteStore(path, { cacheFront: false });
    await direct.cacheSet("d", { value: "D", createdAt: 1 });
    await otherProcess(path, "DELETE FROM cache");
    expect(await direct.cacheGet("d")).toBeUndefined();
    await direct.close();
  }, 30_000);

  it("hands each reader its own copy of a cached value", async () => {
    const s = new SqliteStore(join(tempDir(), "front-copy.db"));
    await s.cacheSet("k", { value: { text: "x" }, createdAt: 1 });
    const first = (await s.cacheGet("k"))!.value as { text: string };
    first.text = "changed by a reader";
    expect((await s.cacheGet("k"))?.value).toEqual({ text: "x" });
    await s.close();
  });
});

describe("effectiveStatus", () => {
  it("calls a running run whose process is gone interrupted", async () => {
    const { hostname } = await import("node:os");
    const base = { id: "r", pipeline: "p", file: "/p", hash: "h", input: {}, startedAt: 0, updatedAt: 0, attempts: 1 };
    expect(effectiveStatus({ ...base, status: "running", pid: 123, host: hostname() }, () => false)).toBe("interrupted");
    expect(effectiveStatus({ ...base, status: "running", pid: 123, host: hostname() }, () => true)).toBe("running");
    expect(effectiveStatus({ ...base, status: "running", pid: 123, host: "another-machine" }, () => false)).toBe("running");
    expect(effectiveStatus({ ...base, status: "failed", pid: 123, host: hostname() }, () => false)).toBe("failed");
  });
});

describe("RedisStore", () => {
  it("keeps its data across a Redis restart, and a write made while Redis is down waits for it", async () => {
    const s = await RedisStore.open(redis.url, { prefix: "restart:" });
    await s.runStarted({ id: "r1", pipeline: "p", file: "/p", hash: "h", input: { x: 1 }, startedAt: 1 });
    await redis.stop();
    const pending = s.putStep("r1", "a", step("written while down"));
    await new Promise((r) => setTimeout(r, 300));
    await redis.start();
    await pending;
    expect((await s.getRun("r1"))?.input).toEqual({ x: 1 });
    expect(await s.getSteps("r1")).toEqual({ a: step("written while down") });
    await s.close();
  });
});
