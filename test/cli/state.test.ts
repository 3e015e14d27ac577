/**
 * End to end: the state commands and flags of the real `mcp` binary, each test in a temp
 * project with its own mcp.yaml (so the store is <project>/.mcp/state.db), except one
 * without it.
 */
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync, realpathSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import type { RunEvent } from "../../src/events/event.js";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import { runCli } from "../helpers/cli.js";
import { echoOpenAI } from "../helpers/fake-api-server.js";
import { runAndKill } from "../helpers/kill-run.js";
import { tempProject } from "../helpers/project.js";

const ROOT = join(import.meta.dirname, "..", "..");
const project = (files: Record<string, string>) => tempProject({ "mcp.yaml": "version: 1\n", ...files }, "mcp-state-");

const json = <T = any>(s: string): T => JSON.parse(s) as T;

describe("conversations", () => {
  it("the example pipeline's second answer uses the first exchange, across processes", async () => {
    const dir = project({});
    mkdirSync(join(dir, "pipelines"));
    copyFileSync(join(ROOT, "pipelines", "conversation.yaml"), join(dir, "pipelines", "conversation.yaml"));
    const say = (id: string, message: string) => runCli(["run", "pipelines/conversation.yaml", "--input", JSON.stringify({ conversationId: id, message }), "--quiet"], { cwd: dir });

    const first = await say("ada", "My name is Ada and I love graphs.");
    expect(first.code, first.stderr).toBe(0);
    expect(json(first.stdout).reply).toMatch(/start of our conversation/);

    const second = await say("ada", "What do you remember about me?");
    expect(second.code, second.stderr).toBe(0);
    const reply = json(second.stdout).reply as string;
    expect(reply).toMatch(/Earlier in this conversation \(2 turns\)/);
    expect(reply).toContain("user: My name is Ada and I love graphs.");
    expect(json(second.stdout).historyTurns).toBe(4);

    // Another conversation knows nothing of it; --conversation overrides the input's id.
    const other = await say("bob", "Hello?");
    expect(json(other.stdout).reply).toMatch(/start of our conversation/);
    const forced = await runCli(["run", "pipelines/conversation.yaml", "--input", JSON.stringify({ conversationId: "bob", message: "Who am I?" }), "--conversation", "ada", "--quiet"], { cwd: dir });
    expect(json(forced.stdout).reply).toContain("My name is Ada");
  });

  it("--store memory keeps nothing between runs", async () => {
    const dir = project({});
    copyFileSync(join(ROOT, "pipelines", "conversation.yaml"), join(dir, "conversation.yaml"));
    const args = ["run", "conversation.yaml", "--store", "memory", "--quiet", "--input"];
    await runCli([...args, JSON.stringify({ conversationId: "x", message: "one" })], { cwd: dir });
    const r = await runCli([...args, JSON.stringify({ conversationId: "x", message: "two" })], { cwd: dir });
    expect(json(r.stdout).reply).toMatch(/start of our conversation/);
    expect(existsSync(join(dir, ".mcp", "state.db"))).toBe(false);
  });
});

const CACHED = `version: 1
name: cached
models:
  llm:
    provider: mock
    capabilities: [text-generation]
    options: { reply: { text: "answer to \${{ $request.prompt }}" }, latency: 20ms }
steps:
  ask: { model: llm, input: { prompt: "\${{ $input.q }}" } }
output: \${{ $steps.ask.output.text }}
`;

describe("the response cache", () => {
  it("serves a second identical run with no model call; --no-cache calls again", async () => {
    const dir = project({ "mcp.yaml": "version: 1\ncache: { enabled: true, ttl: 1h }\n", "p.yaml": CACHED });
    const run = (...extra: string[]) => runCli(["run", "p.yaml", "--input", '{"q": "why?"}', "--json", "--quiet", ...extra], { cwd: dir });
    const r1 = json((await run()).stdout);
    expect(r1.totals).toMatchObject({ calls: 1, cacheHits: 0, cacheMisses: 1 });
    const r2 = json((await run()).stdout);
    expect(r2.output).toBe("answer to why?");
    expect(r2.totals).toMatchObject({ calls: 0, cacheHits: 1, cacheMisses: 0 });
    expect(r2.steps.ask.cached).toBe(true);
    const r3 = json((await run("--no-cache")).stdout);
    expect(r3.totals).toMatchObject({ calls: 1, cacheHits: 0, cacheMisses: 0 });
    // The report table says so too.
    const plain = await runCli(["run", "p.yaml", "--input", '{"q": "why?"}'], { cwd: dir });
    expect(plain.stderr).toMatch(/ask\s+llm\s+1\s+\S+\s+\S+\s+\$0\s+hit/);
    expect(plain.stderr).toMatch(/0 model calls, 1 cache hit/);
  });
});

describe("record and replay", () => {
  it("records a run against an API, then replays it with the server gone and no key", async () => {
    const api = await echoOpenAI({ prompt_tokens: 11, completion_tokens: 4 });
    const pipeline = `version: 1
name: remote
models:
  gpt:
    provider: openai
    model: gpt-test
    baseUrl: ${api.baseUrl}
    apiKeyEnv: TEST_OPENAI_KEY
    capabilities: [text-generation]
steps:
  first: { model: gpt, input: { prompt: "\${{ $input.q }}" } }
  second: { model: gpt, input: { prompt: "Again: \${{ $steps.first.output.text }}" } }
output: \${{ $steps.second.output.text }}
`;
    const dir = project({ "p.yaml": pipeline });
    const secret = "sk-test-0123456789abcdef";
    const rec = await runCli(["run", "p.yaml", "--input", '{"q": "hello"}', "--record", "calls.json"], { cwd: dir, env: { TEST_OPENAI_KEY: secret } });
    expect(rec.code, rec.stderr).toBe(0);
    expect(json(rec.stdout)).toBe("Echo: Again: Echo: hello");
    expect(rec.stderr).toMatch(/recorded 2 model calls to calls\.json/);
    expect(api.requests).toHaveLength(2);
    expect(api.requests[0]!.headers.authorization).toBe(`Bearer ${secret}`);
    const file = readFileSync(join(dir, "calls.json"), "utf8");
    expect(file).not.toContain(secret);
    const recording = json(file);
    expect(recording.interactions.map((i: any) => [i.step, i.model, i.provider, i.modelId])).toEqual([
      ["first", "gpt", "openai", "gpt-test"],
      ["second", "gpt", "openai", "gpt-test"],
    ]);
    expect(recording.interactions[0]).toMatchObject({ request: { prompt: "hello" }, response: { text: "Echo: hello" }, usage: { inputTokens: 11, outputTokens: 4 } });

    await api.close();
    const env = { TEST_OPENAI_KEY: "" };
    const replay = await runCli(["run", "p.yaml", "--input", '{"q": "hello"}', "--replay", "calls.json", "--json", "--quiet"], { cwd: dir, env });
    expect(replay.code, replay.stderr).toBe(0);
    const report = json(replay.stdout);
    expect(report.output).toBe("Echo: Again: Echo: hello");
    expect(report.totals).toMatchObject({ calls: 0, cacheHits: 2 });
    expect(api.requests).toHaveLength(2);

    const miss = await runCli(["run", "p.yaml", "--input", '{"q": "hullo"}', "--replay", "calls.json"], { cwd: dir, env });
    expect(miss.code).toBe(1);
    expect(miss.stderr).toMatch(/replay: no recorded call in calls\.json matches step 'first' on model 'gpt' \(openai gpt-test\)/);
    expect(miss.stderr).toMatch(/nearest recorded call: step 'first' on model 'gpt' \(openai gpt-test\), input \d+% similar/);
    expect(miss.stderr).toMatch(/recorded: .*hello/);
    expect(miss.stderr).toMatch(/this call: .*hullo/);
  });

  it("refuses --record with --replay, and a replay file that is not there", async () => {
    const dir = project({ "p.yaml": CACHED });
    const both = await runCli(["run", "p.yaml", "--input", "{}", "--record", "a.json", "--replay", "b.json"], { cwd: dir });
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/give --record or --replay, not both/);
    const missing = await runCli(["run", "p.yaml", "--input", '{"q": "x"}', "--replay", "nope.json"], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read the replay file nope\.json: no such file/);
    mkdirSync(join(dir, "calls"));
    const folder = await runCli(["run", "p.yaml", "--input", '{"q": "x"}', "--replay", "calls"], { cwd: dir });
    expect(folder.code).toBe(2);
    expect(folder.stderr.split("\n")[0]).toBe("mcp run: cannot read the replay file calls: it is a folder");
  });
});

const LONG = `version: 1
name: long
models:
  fast: { provider: mock, capabilities: [t], options: { reply: { text: "fast \${{ $request.n }}" }, latency: 30ms } }
  slow: { provider: mock, capabilities: [t], options: { reply: { text: "slow \${{ $request.n }}" }, latency: 1500ms } }
steps:
  a: { model: fast, input: { n: "a" } }
  b: { model: fast, input: { n: "b after \${{ $steps.a.output.text }}" } }
  c: { model: slow, input: { n: "c after \${{ $steps.b.output.text }}" } }
  d: { model: fast, input: { n: "d after \${{ $steps.c.output.text }}" } }
output: \${{ $steps.d.output.text }}
`;

/** The kill point: steps a and b have finished (c takes 1.5 s). */
const bothFinished = (events: readonly RunEvent[]) => ["a", "b"].every((id) => events.some((e) => e.type === "step.finished" && e.stepId === id));

describe("the run journal and resume", () => {
  it("resumes a run killed with SIGKILL without repeating its finished steps' calls", async () => {
    const dir = project({ "pipelines/long.yaml": LONG });
    const { runId, finished } = await runAndKill(dir, "pipelines/long.yaml", bothFinished);
    expect(runId).toMatch(/^run_/);
    expect(finished).toEqual(["a", "b"]);

    const list = await runCli(["runs", "--json"], { cwd: dir });
    expect(list.code, list.stderr).toBe(0);
    expect(json(list.stdout)).toEqual([expect.objectContaining({ id: runId, status: "interrupted", pipeline: "long", stepsDone: 2 })]);
    const table = await runCli(["runs"], { cwd: dir });
    expect(table.stdout).toMatch(new RegExp(`${runId}\\s+interrupted\\s+long`));
    const show = await runCli(["runs", "show", runId.slice(0, 12)], { cwd: dir });
    expect(show.stdout).toContain(`run ${runId}: interrupted (continue it with: mcp resume ${runId})`);
    expect(show.stdout).toMatch(/✓ a\s+\(fast/);

    const resumed = await runCli(["resume", runId, "--json", "--progress", "none"], { cwd: dir });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`resuming run ${runId} (interrupted): 2 of 4 steps finished earlier (a, b); running c, d`);
    const report = json(resumed.stdout);
    expect(report).toMatchObject({ runId, status: "success", resumedFrom: runId, output: "fast d after slow c after fast b after fast a" });
    expect(report.steps.a).toMatchObject({ status: "success", resumed: true });
    expect(report.steps.b).toMatchObject({ status: "success", resumed: true });
    expect(report.steps.c.resumed).toBeUndefined();
    expect(report.steps.c.attempts).toHaveLength(1);
    // Only c and d called their model.
    expect(report.totals.calls).toBe(2);

    const after = json((await runCli(["runs", "show", runId, "--json"], { cwd: dir })).stdout);
    expect(after).toMatchObject({ id: runId, status: "success", attempts: 2 });
    const again = await runCli(["resume", runId], { cwd: dir });
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/already succeeded; nothing to resume/);
  }, 40_000);

  it("refuses to resume a run whose pipeline changed, unless --force", async () => {
    const dir = project({ "pipelines/long.yaml": LONG });
    const { runId } = await runAndKill(dir, "pipelines/long.yaml", bothFinished);
    appendFileSync(join(dir, "pipelines", "long.yaml"), "# edited\n");
    const refused = await runCli(["resume", runId], { cwd: dir });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(new RegExp(`mcp resume: the pipeline changed since run ${runId} started`));
    expect(refused.stderr).toMatch(/resume anyway with --force/);
    const forced = await runCli(["resume", runId, "--force", "--json", "--quiet"], { cwd: dir });
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toMatch(/pipeline changed .*resuming anyway \(--force\)/);
    expect(json(forced.stdout).totals.calls).toBe(2);
  }, 40_000);

  it("mcp runs with no mcp.yaml says where it looked and names the journal of pipelines/ and the command that lists it", async () => {
    // No mcp.yaml: the pipeline's folder is its project, so the run is journaled in pipelines/.mcp/.
    const dir = realpathSync(tempProject({ "pipelines/p.yaml": CACHED }, "mcp-state-"));
    const ran = await runCli(["run", "pipelines/p.yaml", "--input", '{"q": "x"}', "--quiet"], { cwd: dir });
    expect(ran.code, ran.stderr).toBe(0);
    const hint = "found a run journal in pipelines/.mcp/state.db (a pipeline run with no mcp.yaml keeps its runs in its own folder): mcp runs --project pipelines lists them";

    const none = await runCli(["runs"], { cwd: dir });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain(`mcp runs: no runs recorded in ${dir} (there is no ${join(dir, ".mcp", "state.db")}); ${hint}\n`);

    // The command it names lists the run.
    const listed = await runCli(["runs", "--project", "pipelines", "--json"], { cwd: dir });
    expect(listed.code, listed.stderr).toBe(0);
    expect(json<{ pipeline: string; status: string }[]>(listed.stdout)).toMatchObject([{ pipeline: "cached", status: "success" }]);

    // An empty journal in the folder itself: no runs there, and the same hint.
    await new SqliteStore(join(dir, ".mcp", "state.db")).close();
    const empty = await runCli(["runs"], { cwd: dir });
    expect(empty.code, empty.stderr).toBe(0);
    expect(empty.stdout).toBe(`no runs yet in ${join(dir, ".mcp", "state.db")}; ${hint}\n`);
  });

  it("says clearly when there is nothing to list or resume", async () => {
    const dir = project({ "p.yaml": CACHED });
    const none = await runCli(["runs"], { cwd: dir });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no runs recorded in .*; run a pipeline first/);
    await runCli(["run", "p.yaml", "--input", '{"q": "x"}', "--quiet"], { cwd: dir });
    const unknown = await runCli(["resume", "run_nope"], { cwd: dir });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no run 'run_nope' in .*state\.db; 'mcp runs' lists them/);
    const usage = await runCli(["resume"], { cwd: dir });
    expect(usage.code).toBe(2);
  });

  it("refuses a --project folder that does not exist instead of listing the project above it", async () => {
    const dir = project({ "p.yaml": CACHED });
    await runCli(["run", "p.yaml", "--input", '{"q": "x"}', "--quiet"], { cwd: dir });
    for (const args of [["runs"], ["runs", "show", "run_x"], ["resume", "run_x"], ["approve", "run_x", "s"]]) {
      const r = await runCli([...args, "--project", "pipelnes"], { cwd: dir });
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toContain(`mcp ${args[0]}: --project pipelnes: no such folder\n`);
      expect(r.stdout).toBe("");
    }
  });

  it("refuses a store written by a newer mcp in every command that reads it, with a one-line error (exit 2), not an internal error", async () => {
    const dir = project({ "p.yaml": CACHED });
    await runCli(["run", "p.yaml", "--input", '{"q": "x"}', "--quiet"], { cwd: dir });
    const db = new Database(join(dir, ".mcp", "state.db"));
    db.prepare("INSERT INTO schema_version (version, applied_at) VALUES (999, 0)").run();
    db.close();
    for (const args of [["run", "p.yaml", "--input", '{"q": "x"}'], ["runs"], ["runs", "show", "run_x"], ["resume", "run_x"], ["approve", "run_x", "s"]]) {
      const r = await runCli(args, { cwd: dir });
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^mcp ${args[0]}: the store \\S+state\\.db has schema version 999, newer than this mcp knows \\(\\d+\\); upgrade mcp\n`));
      expect(r.stderr).not.toContain("internal error");
    }
  });

  it("journals failed runs with their error, and concurrent runs into one store lose none", async () => {
    const failing = CACHED.replace("latency: 20ms", "latency: 20ms, failRate: 1").replace("ask: { model: llm,", "ask: { model: llm, retry: { attempts: 1 },");
    const dir = project({ "p.yaml": CACHED, "bad.yaml": failing.replace("name: cached", "name: bad") });
    const runs = await Promise.all([1, 2, 3, 4].map((i) => runCli(["run", "p.yaml", "--input", JSON.stringify({ q: `q${i}` }), "--quiet"], { cwd: dir })));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const bad = await runCli(["run", "bad.yaml", "--input", '{"q": "x"}', "--quiet"], { cwd: dir });
    expect(bad.code).toBe(1);
    const list = json((await runCli(["runs", "--json", "--limit", "10"], { cwd: dir })).stdout) as any[];
    expect(list).toHaveLength(5);
    expect(list[0]).toMatchObject({ pipeline: "bad", status: "failed", error: { reason: "model-error" } });
    expect(list.filter((r) => r.status === "success")).toHaveLength(4);
    expect(json((await runCli(["runs", "--json", "--limit", "2"], { cwd: dir })).stdout)).toHaveLength(2);
  });
});

describe("mcp runs show", () => {
  it("lists a finished run's steps in the order of its report, as mcp run's table does", async () => {
    // mcp init's example: its two nlp steps run side by side and the journal records them
    // in another order than the report.
    const dir = tempProject({}, "mcp-runs-order-");
    expect((await runCli(["init"], { cwd: dir })).code).toBe(0);
    const run = await runCli(["run", "pipelines/hello.yaml", "--input", '{"text": "I love this great tool"}', "--json", "--progress", "none"], { cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    const report = json(run.stdout);
    const order = Object.keys(report.steps);
    expect([...order].sort()).toEqual(["answer", "keywords", "sentiment"]);
    const show = await runCli(["runs", "show", report.runId], { cwd: dir });
    expect(show.code, show.stderr).toBe(0);
    expect([...show.stdout.matchAll(/^ {2}✓ (\w+)/gm)].map((m) => m[1])).toEqual(order);
    const shown = json((await runCli(["runs", "show", report.runId, "--json"], { cwd: dir })).stdout);
    expect(Object.keys(shown.steps)).toEqual(order);
  });
});
