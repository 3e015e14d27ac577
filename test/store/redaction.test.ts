import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import type { RunEvent } from "../../src/events/event.js";
import type { RunReport, StepRecord } from "../../src/events/report.js";
import { MemoryStore } from "../../src/store/memory-store.js";
import { openStore } from "../../src/store/open-store.js";
import { isRedacted, RedactingStore, redactValue, reusableSteps } from "../../src/store/redaction.js";
import { RedisStore } from "../../src/store/redis-store.js";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import type { Store } from "../../src/store/store.js";
import { runCli } from "../helpers/cli.js";
import { tempProject } from "../helpers/project.js";
import { startRedis } from "../helpers/redis.js";
import { api, serve } from "../server/helpers.js";

const PROMPT = "my card number is 4111-SECRET-PROMPT";
const ANSWER = "THE-SECRET-ANSWER";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const record = (output: unknown): StepRecord => ({
  status: "success",
  output,
  model: "m",
  attempts: [{ model: "m", attempt: 1, ok: true, durationMs: 7 }],
  durationMs: 7,
  usage: { inputTokens: 11, outputTokens: 5 },
  cost: 0.25,
  cached: false,
});

/** Everything a SQLite file holds, as text. */
function sqliteText(file: string): string {
  const db = new Database(file, { readonly: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
    return tables.map((t) => JSON.stringify(db.prepare(`SELECT * FROM "${t.name}"`).all())).join("\n");
  } finally {
    db.close();
  }
}

/** Everything a Redis server holds under a prefix, as text. */
async function redisText(url: string, prefix: string): Promise<string> {
  const r = new Redis(url);
  try {
    const out: string[] = [];
    for (const key of await r.keys(`${prefix}*`)) {
      const type = await r.type(key);
      if (type === "string") out.push(String(await r.get(key)));
      else if (type === "hash") out.push(JSON.stringify(await r.hgetall(key)));
      else if (type === "list") out.push(JSON.stringify(await r.lrange(key, 0, -1)));
      else if (type === "zset") out.push(JSON.stringify(await r.zrange(key, 0, -1)));
      else if (type === "set") out.push(JSON.stringify(await r.smembers(key)));
      else if (type === "stream") out.push(JSON.stringify(await r.xrange(key, "-", "+")));
      else out.push(`${key}: ${type}`);
    }
    return out.join("\n");
  } finally {
    r.disconnect();
  }
}

const redis = await startRedis();

/** The mcp.yaml of a project journaling with store.redact, its model `fake` answering "answer to PROMPT" (and `models`). */
const redactingProject = (models = "") => `version: 1
store: { type: sqlite, redact: true }
models:
  fake:
    provider: mock
    capabilities: [text-generation]
    options:
      reply: { text: "answer to \${{ $request.prompt }}" }
      usage: { inputTokens: 9, outputTokens: 4 }
${models}`;

describe("store.redact keeps prompts and answers out of the journal", () => {
  const kinds: [string, () => { store: Store; raw: () => Promise<string> }][] = [
    [
      "SqliteStore (a real file)",
      () => {
        const dir = mkdtempSync(join(tmpdir(), "mcp-redact-"));
        dirs.push(dir);
        const file = join(dir, ".mcp", "state.db");
        return { store: new SqliteStore(file), raw: async () => sqliteText(file) };
      },
    ],
    [
      "RedisStore (a real redis-server)",
      () => {
        const prefix = `redact${Math.random().toString(36).slice(2, 8)}:`;
        return { store: new RedisStore(new Redis(redis.url), { prefix, owned: true }), raw: () => redisText(redis.url, prefix) };
      },
    ],
    ["MemoryStore", () => ({ store: new MemoryStore(), raw: async () => "" })],
  ];

  it.each(kinds)("%s: inputs, outputs and event payloads are stored as digests; counts, costs and timings stay", async (_name, make) => {
    const { store: inner, raw } = make();
    const store = new RedactingStore(inner);
    const input = { text: PROMPT };
    await store.runStarted({ id: "run_r", pipeline: "p", file: "/x/p.yaml", hash: "h", input, startedAt: 1000 });
    await store.putStep("run_r", "answer", record({ text: ANSWER }));
    const events: RunEvent[] = [
      { type: "step.started", runId: "run_r", ts: 1, stepId: "answer", model: "m", attempt: 1, input: { prompt: PROMPT } },
      {
        type: "step.finished",
        runId: "run_r",
        ts: 2,
        stepId: "answer",
        model: "m",
        durationMs: 7,
        attempts: 1,
        usage: { inputTokens: 11, outputTokens: 5 },
        cost: 0.25,
        cached: false,
        output: { text: ANSWER },
      },
      { type: "run.finished", runId: "run_r", ts: 3, status: "success", durationMs: 9, output: ANSWER },
    ];
    await store.appendEvents(
      "run_r",
      events.map((event, i) => ({ seq: i + 1, event })),
    );
    const report: RunReport = {
      runId: "run_r",
      pipeline: "p",
      file: "/x/p.yaml",
      hash: "h",
      status: "success",
      startedAt: new Date(1000).toISOString(),
      durationMs: 9,
      input,
      output: ANSWER,
      steps: { answer: record({ text: ANSWER }) },
      totals: { inputTokens: 11, outputTokens: 5, cost: 0.25, calls: 1, cacheHits: 0, cacheMisses: 0 },
    };
    await store.runFinished("run_r", { status: "success", finishedAt: 2000, durationMs: 9, output: ANSWER, totals: report.totals, report });

    // Read back through the plain store: digests where the text was.
    const run = (await inner.getRun("run_r"))!;
    expect(run.input).toEqual(redactValue(input));
    expect(isRedacted(run.output)).toBe(true);
    expect(run.totals).toEqual(report.totals);
    expect(run.report!.steps.answer!.usage).toEqual({ inputTokens: 11, outputTokens: 5 });
    expect(isRedacted(run.report!.input)).toBe(true);
    const steps = await inner.getSteps("run_r");
    expect(isRedacted(steps.answer!.output)).toBe(true);
    expect(steps.answer!.durationMs).toBe(7);
    expect(steps.answer!.cost).toBe(0.25);
    // The digest is the SHA-256 of the value's JSON: equal values give equal digests.
    expect(steps.answer!.output).toEqual(redactValue({ text: ANSWER }));
    expect((steps.answer!.output as { redacted: string }).redacted).toMatch(/^sha256:[0-9a-f]{64}$/);
    const stored = await inner.listEvents("run_r");
    expect(stored.map((e) => e.event.type)).toEqual(["step.started", "step.finished", "run.finished"]);
    expect(JSON.stringify(stored)).not.toContain("SECRET");
    expect(JSON.stringify(await inner.getRun("run_r"))).not.toContain("SECRET");
    // And at rest: not a byte of the prompt or the answer in the file or the Redis keys.
    const text = await raw();
    expect(text).not.toContain("SECRET");
    if (text) expect(text).toContain("sha256:");
    // A resume may not take a redacted step as finished.
    expect(reusableSteps(steps)).toEqual({});
    await store.close();
  });

  it("openStore wraps the project's store when mcp.yaml says store: { redact: true }", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mcp-redact-"));
    dirs.push(dir);
    const s = await openStore({ projectDir: dir, store: { type: "sqlite", redact: true } });
    expect(s).toBeInstanceOf(RedactingStore);
    await s.close();
    const plain = await openStore({ projectDir: dir, store: { type: "memory" } });
    expect(plain).toBeInstanceOf(MemoryStore);
  });

  it("mcp run with store: { redact: true } prints the answer but leaves no prompt or answer in .mcp/state.db; mcp resume refuses the run", async () => {
    const dir = tempProject({
      "mcp.yaml": redactingProject(`  broken:
    provider: mock
    capabilities: [text-generation]
    options:
      failFirst: 1000
`),
      "pipelines/secret.yaml": `version: 1
name: secret
inputs:
  type: object
  required: [text]
steps:
  first:
    model: fake
    input: { prompt: "\${{ $input.text }}" }
  second:
    model: fake
    needs: [first]
    input: { prompt: "\${{ $steps.first.output.text }}" }
output: "\${{ $steps.second.output.text }}"
`,
      "pipelines/failing.yaml": `version: 1
name: failing
steps:
  first:
    model: fake
    input: { prompt: "\${{ $input.text }}" }
  second:
    model: broken
    needs: [first]
    retry: { attempts: 1 }
    input: { prompt: "\${{ $steps.first.output.text }}" }
`,
    });
    dirs.push(dir);
    const r = await runCli(["run", "pipelines/secret.yaml", "--input", JSON.stringify({ text: PROMPT }), "--json"], { cwd: dir, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`answer to answer to ${PROMPT}`);
    const file = join(dir, ".mcp", "state.db");
    const text = sqliteText(file);
    expect(text).not.toContain("SECRET");
    expect(text).toContain("sha256:");
    const failed = await runCli(["run", "pipelines/failing.yaml", "--input", JSON.stringify({ text: PROMPT }), "--json"], { cwd: dir, timeoutMs: 60_000 });
    expect(failed.code, failed.stderr).toBe(1);
    const db = new Database(file, { readonly: true });
    const row = db.prepare("SELECT id FROM runs WHERE pipeline = 'failing'").get() as { id: string };
    db.close();
    const shown = await runCli(["runs", "--json"], { cwd: dir, timeoutMs: 60_000 });
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).not.toContain("SECRET");
    const resumed = await runCli(["resume", row.id], { cwd: dir, timeoutMs: 60_000 });
    expect(resumed.code).toBe(2);
    expect(resumed.stderr).toMatch(/store\.redact: its input was not kept/);
    expect(readFileSync(file).includes("SECRET")).toBe(false);
  });

  it("mcp serve with store: { redact: true } answers wait: true with the output; the journal, GET /v1/runs/{id} and the replayed events keep digests", async () => {
    const s = await serve({
      "mcp.yaml": redactingProject(),
      "pipelines/secret.yaml": `version: 1
name: secret
steps:
  only:
    model: fake
    input: { prompt: "\${{ $input.text }}" }
output: "\${{ $steps.only.output.text }}"
`,
    });
    try {
      const r = await api(s.url, "/v1/pipelines/secret/runs", { body: { input: { text: PROMPT }, wait: true } });
      expect(r.status).toBe(200);
      expect(r.json.output).toBe(`answer to ${PROMPT}`);
      const runId = r.json.runId as string;
      const later = await api(s.url, `/v1/runs/${runId}`);
      expect(later.status).toBe(200);
      expect(later.text).not.toContain("SECRET");
      expect(later.json.steps.only.usage.inputTokens).toBeGreaterThan(0);
      const events = await api(s.url, `/v1/runs/${runId}/events`);
      expect(events.text).toContain("step.finished");
      expect(events.text).not.toContain("SECRET");
      expect(sqliteText(join(s.dir, ".mcp", "state.db"))).not.toContain("SECRET");
    } finally {
      await s.close();
    }
  });
});
