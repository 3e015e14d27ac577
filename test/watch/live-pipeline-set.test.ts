/**
 * The live pipeline set on real files in a temp folder: each editor save pattern, invalid
 * edits, creation and deletion, a renamed folder, mcp.yaml and module file dependants,
 * and in-flight runs keeping their version. Tests poll for the expected state.
 */
import { appendFileSync, mkdirSync, openSync, closeSync, readFileSync, renameSync, rmSync, truncateSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { formatDiagnostics } from "../../src/diagnostics/printer.js";
import { TaskOrchestrator } from "../../src/orchestrator/orchestrator.js";
import { DEFAULT_DEBOUNCE_MS, LivePipelineSet, type LivePipelineSetOptions } from "../../src/watch/live-pipeline-set.js";
import { pipeline, record, removeDir, sleep, tempDir, waitFor, write } from "./helpers.js";

const open: LivePipelineSet[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
  for (const d of dirs.splice(0)) removeDir(d);
});

async function start(files: Record<string, string>, paths: string | string[] = ".", options: LivePipelineSetOptions = {}) {
  const dir = tempDir(files);
  dirs.push(dir);
  const roots = (typeof paths === "string" ? [paths] : paths).map((p) => join(dir, p));
  const set = new LivePipelineSet(roots, options);
  open.push(set);
  const rec = record(set);
  await set.ready;
  return { dir, set, rec, at: (p: string) => join(dir, p) };
}

const replyOf = (set: LivePipelineSet, name: string) => (set.get(name)?.models.find((m) => m.name === "fake")?.options as { reply?: { text?: string } } | undefined)?.reply?.text;

describe("LivePipelineSet: loading", () => {
  it("loads every pipeline under the folder, skipping mcp.yaml, hidden folders, node_modules and .mcp", async () => {
    const { set, rec } = await start({
      "mcp.yaml": "env: [REGION]\n",
      "a.yaml": pipeline("a"),
      "nested/deeper/b.yml": pipeline("b"),
      ".hidden/c.yaml": pipeline("c"),
      "node_modules/pkg/d.yaml": pipeline("d"),
      ".mcp/e.yaml": pipeline("e"),
      "notes.txt": "not yaml",
    });
    expect(set.list().map((p) => [p.name, p.status])).toEqual([
      ["a", "valid"],
      ["b", "valid"],
    ]);
    expect(rec.of("loaded").map((e) => e.name)).toEqual(["a", "b"]);
    expect(set.get("a")?.name).toBe("a");
    expect(set.get("c")).toBeUndefined();
    const a = set.list()[0]!;
    expect(a.version).toMatch(/^[0-9a-f]{64}$/);
    expect(a.configPath).toMatch(/mcp\.yaml$/);
    expect(set.state).toBe("idle");
  });

  it("reports a file that is invalid from the start, with no live version", async () => {
    const { set, rec } = await start({ "bad.yaml": "version: 1\nname: bad\nsteps:\n  s: { model: nope }\n" });
    expect(set.get("bad")).toBeUndefined();
    const [info] = set.list();
    expect(info).toMatchObject({ name: "bad", status: "invalid" });
    expect(info!.version).toBeUndefined();
    expect(info!.diagnostics.map((d) => d.code)).toContain("MCP401");
    expect(rec.of("invalid")).toHaveLength(1);
  });

  it("publishes frozen pipelines", async () => {
    const { set } = await start({ "a.yaml": pipeline("a") });
    const p = set.get("a")!;
    expect(Object.isFrozen(p)).toBe(true);
    expect(Object.isFrozen(p.models[0])).toBe(true);
    expect(Object.isFrozen(p.steps.get("answer"))).toBe(true);
    expect(() => {
      (p as { name: string }).name = "changed";
    }).toThrow(TypeError);
  });

  it("rejects `ready` for a folder that does not exist, and bad options with a TypeError", async () => {
    const set = new LivePipelineSet(join(tempDir(), "missing-folder"));
    open.push(set);
    await expect(set.ready).rejects.toThrow(/no such file or folder/);
    expect(() => new LivePipelineSet(".", { debounceMs: -1 })).toThrow(/debounceMs/);
    expect(DEFAULT_DEBOUNCE_MS).toBe(50);
  });
});

describe("LivePipelineSet: editor save patterns", () => {
  it("reloads a file edited in place", async () => {
    const { set, rec, at } = await start({ "a.yaml": pipeline("a", "v1") });
    const v1 = set.list()[0]!.version;
    writeFileSync(at("a.yaml"), pipeline("a", "v2"));
    await waitFor(() => rec.of("updated").length === 1, "the update");
    const e = rec.of("updated")[0]!;
    expect(e).toMatchObject({ name: "a", previousVersion: v1, causes: ["file"] });
    expect(e.version).not.toBe(v1);
    expect(replyOf(set, "a")).toBe("v2");
  });

  it("handles an atomic save: write a temp file, rename it over the pipeline (VS Code, JetBrains)", async () => {
    const { set, rec, at } = await start({ "a.yaml": pipeline("a", "v1") });
    for (const [i, temp] of [".a.yaml.tmp-123", "a.yaml___jb_tmp___", "a.yaml.swp"].entries()) {
      writeFileSync(at(temp), pipeline("a", `v${i + 2}`));
      renameSync(at(temp), at("a.yaml"));
      await waitFor(() => replyOf(set, "a") === `v${i + 2}`, `v${i + 2} live`);
    }
    expect(rec.of("removed")).toEqual([]);
    expect(rec.of("invalid")).toEqual([]);
    expect(rec.of("updated")).toHaveLength(3);
    expect(set.list().map((p) => p.file.replace(/.*[\\/]/, ""))).toEqual(["a.yaml"]);
  });

  it("handles vim's save: rename the original to a backup, write a new file, delete the backup", async () => {
    const { set, rec, at } = await start({ "a.yaml": pipeline("a", "v1") });
    renameSync(at("a.yaml"), at("a.yaml~"));
    writeFileSync(at("a.yaml"), pipeline("a", "v2"));
    unlinkSync(at("a.yaml~"));
    await waitFor(() => replyOf(set, "a") === "v2", "v2 live");
    await sleep(300); // past chokidar's 100 ms unlink/add pairing
    expect(rec.of("removed")).toEqual([]);
    expect(set.get("a")).toBeDefined();
  });

  it("does not load the empty file of a truncate-then-write save", async () => {
    // A long debounce, so a loaded machine cannot stretch the save past it.
    const { set, rec, at } = await start({ "a.yaml": pipeline("a", "v1") }, ".", { debounceMs: 200 });
    truncateSync(at("a.yaml"), 0);
    await sleep(5);
    const fd = openSync(at("a.yaml"), "r+");
    const text = pipeline("a", "v2");
    writeSync(fd, text.slice(0, 40));
    await sleep(5);
    writeSync(fd, text.slice(40), 40);
    closeSync(fd);
    await waitFor(() => replyOf(set, "a") === "v2", "v2 live");
    expect(rec.of("invalid")).toEqual([]);
    expect(rec.of("updated")).toHaveLength(1);
  });

  it("reports a file that stays empty after the debounce, and keeps the last good version", async () => {
    const { set, rec, at } = await start({ "a.yaml": pipeline("a", "v1") });
    const v1 = set.get("a");
    truncateSync(at("a.yaml"), 0);
    await waitFor(() => rec.of("invalid").length === 1, "the invalid event");
    expect(set.get("a")).toBe(v1);
    expect(set.list()[0]).toMatchObject({ status: "invalid", name: "a" });
    expect(rec.of("invalid")[0]!.lastGood).toBe(v1);
    appendFileSync(at("a.yaml"), pipeline("a", "v1"));
    await waitFor(() => set.list()[0]!.status === "valid", "valid again");
    expect(rec.of("updated")).toHaveLength(1);
  });

  it("makes a burst of saves one reload", async () => {
    const { set, rec, at } = await start({ "a.yaml": pipeline("a", "v0") }, ".", { debounceMs: 200 });
    // Back to back: with pauses, a loaded machine could stretch the burst past the debounce.
    for (let i = 1; i <= 20; i++) writeFileSync(at("a.yaml"), pipeline("a", `v${i}`));
    await waitFor(() => replyOf(set, "a") === "v20", "v20 live");
    await sleep(300);
    expect(rec.of("updated")).toHaveLength(1);
    expect(rec.of("batch").filter((b) => b.paths.length > 0)).toHaveLength(1);
  });

  it("sees a save that follows the previous one within chokidar's 50 ms change throttle (short debounce)", async () => {
    const { set, rec, at } = await start({ "a.yaml": pipeline("a", "v0") }, ".", { debounceMs: 5 });
    writeFileSync(at("a.yaml"), pipeline("a", "v1"));
    await waitFor(() => replyOf(set, "a") === "v1", "v1 live");
    writeFileSync(at("a.yaml"), pipeline("a", "v2")); // chokidar drops this change event
    await waitFor(() => replyOf(set, "a") === "v2", "v2 live");
    // (Normally seen by the recheck: a batch with reason "recheck".)
    expect(rec.of("updated").length).toBeGreaterThanOrEqual(2);
  });

  it("reloads a file written continuously at least every maxWaitMs, and its final text", async () => {
    const { set, rec, at } = await start({ "a.yaml": pipeline("a", "v0") }, ".", { debounceMs: 100, maxWaitMs: 150 });
    for (let i = 1; i <= 40; i++) {
      writeFileSync(at("a.yaml"), pipeline("a", `v${i}`));
      await sleep(10);
    }
    await waitFor(() => replyOf(set, "a") === "v40", "the last save live");
    expect(rec.of("updated").length).toBeGreaterThanOrEqual(2);
  });

  it("loads a created file and removes a deleted one", async () => {
    const { set, rec, at } = await start({ "a.yaml": pipeline("a") });
    write(at(""), { "sub/new.yaml": pipeline("new") });
    await waitFor(() => set.get("new"), "the new pipeline");
    expect(rec.of("loaded").map((e) => e.name)).toEqual(["a", "new"]);
    unlinkSync(at("sub/new.yaml"));
    await waitFor(() => rec.of("removed").length === 1, "the removal");
    expect(rec.of("removed")[0]).toMatchObject({ name: "new" });
    expect(rec.of("removed")[0]!.lastGood?.name).toBe("new");
    expect(set.get("new")).toBeUndefined();
    expect(set.list().map((p) => p.name)).toEqual(["a"]);
  });

  it("follows a renamed folder: the old files are removed, the new ones loaded, names kept", async () => {
    const { set, rec, at } = await start({ "team/a.yaml": pipeline("a"), "team/deep/b.yaml": pipeline("b") });
    renameSync(at("team"), at("squad"));
    await waitFor(() => set.list().every((p) => p.path.includes("squad")) && set.list().length === 2, "the pipelines at the new place");
    expect(set.get("a")?.file).toMatch(/squad[\\/]a\.yaml$/);
    expect(set.get("b")?.file).toMatch(/squad[\\/]deep[\\/]b\.yaml$/);
    expect(
      rec
        .of("removed")
        .map((e) => e.name)
        .sort(),
    ).toEqual(["a", "b"]);
    expect(rec.of("invalid")).toEqual([]);
  });

  it("removes the pipelines of a deleted folder", async () => {
    const { set, at } = await start({ "team/a.yaml": pipeline("a"), "b.yaml": pipeline("b") });
    rmSync(at("team"), { recursive: true });
    await waitFor(() => set.list().length === 1, "one pipeline left");
    expect(set.get("a")).toBeUndefined();
  });
});

describe("LivePipelineSet: invalid edits", () => {
  it("keeps the last good version and reports the diagnostics of an invalid edit", async () => {
    const { set, rec, at } = await start({ "a.yaml": pipeline("a", "v1") });
    const good = set.get("a")!;
    const version = set.list()[0]!.version;
    writeFileSync(at("a.yaml"), pipeline("a", "v1").replace("model: fake", "model: faek"));
    await waitFor(() => rec.of("invalid").length === 1, "the invalid event");
    const e = rec.of("invalid")[0]!;
    expect(e.lastGood).toBe(good);
    expect(e.lastGoodVersion).toBe(version);
    const text = formatDiagnostics(e.diagnostics, e.sources, "text", { color: false });
    expect(text).toContain("error MCP401: unknown model 'faek' (did you mean 'fake'?)");
    expect(set.get("a")).toBe(good);
    expect(set.list()[0]).toMatchObject({ status: "invalid", version });
    expect(set.list()[0]!.diagnostics).toEqual(e.diagnostics);

    // A YAML syntax error too.
    writeFileSync(at("a.yaml"), "version: 1\nname: a\nsteps: [\n");
    await waitFor(() => rec.of("invalid").length === 2, "the second invalid event");
    expect(rec.of("invalid")[1]!.diagnostics[0]!.code).toBe("MCP001");
    expect(set.get("a")).toBe(good);

    writeFileSync(at("a.yaml"), pipeline("a", "v2"));
    await waitFor(() => set.list()[0]!.status === "valid", "valid again");
    expect(rec.of("updated")[0]).toMatchObject({ previousVersion: version, previous: good });
    expect(replyOf(set, "a")).toBe("v2");
  });

  it("reports a second file claiming a name (MCP010), and lets it have the name once the first is gone", async () => {
    const { set, rec, at } = await start({ "a.yaml": pipeline("shared", "from-a") });
    writeFileSync(at("b.yaml"), pipeline("shared", "from-b"));
    await waitFor(() => rec.of("invalid").length === 1, "the clash");
    const e = rec.of("invalid")[0]!;
    expect(e.diagnostics.map((d) => `${d.code}: ${d.message}`)).toEqual([`MCP010: pipeline name 'shared' is already used by ${at("a.yaml")}`]);
    expect(formatDiagnostics(e.diagnostics, e.sources, "text", { color: false })).toContain("b.yaml:2:7: error MCP010");
    expect(replyOf(set, "shared")).toBe("from-a");
    unlinkSync(at("a.yaml"));
    await waitFor(() => replyOf(set, "shared") === "from-b", "b taking the name");
    expect(set.list().map((p) => [p.name, p.status])).toEqual([["shared", "valid"]]);
  });
});

describe("LivePipelineSet: dependencies", () => {
  it("reloads every pipeline using a changed mcp.yaml, and only those", async () => {
    const config = (reply: string) => `models:\n  shared:\n    provider: mock\n    capabilities: [text-generation]\n    options: { reply: { text: "${reply}" } }\n`;
    const uses = (name: string) => `version: 1\nname: ${name}\nsteps:\n  s: { model: shared, input: { prompt: x } }\n`;
    const { set, rec, at } = await start({
      "project/mcp.yaml": config("c1"),
      "project/pipelines/a.yaml": uses("a"),
      "project/pipelines/deep/b.yaml": uses("b"),
      "other/mcp.yaml": config("other"),
      "other/c.yaml": uses("c"),
    });
    const c = set.get("c");
    writeFileSync(at("project/mcp.yaml"), config("c2"));
    await waitFor(() => rec.of("updated").length === 2, "both dependants updated");
    expect(rec.of("updated").map((e) => [e.name, e.causes])).toEqual([
      ["a", ["config"]],
      ["b", ["config"]],
    ]);
    expect(set.get("c")).toBe(c);

    // A broken mcp.yaml makes its dependants invalid; they stay live.
    writeFileSync(at("project/mcp.yaml"), "models: [\n");
    await waitFor(() => rec.of("invalid").length === 2, "both dependants invalid");
    expect(set.get("a")).toBeDefined();
    expect(rec.of("invalid")[0]!.diagnostics[0]).toMatchObject({ code: "MCP001" });
  });

  it("watches an mcp.yaml above the watched folder, and one created closer to the pipeline", async () => {
    const config = (reply: string) => `models:\n  m:\n    provider: mock\n    capabilities: [text-generation]\n    options: { reply: { text: "${reply}" } }\n`;
    const { set, rec, at } = await start({ "mcp.yaml": config("top"), "pipelines/a.yaml": "version: 1\nname: a\nsteps:\n  s: { model: m, input: { prompt: x } }\n" }, "pipelines");
    const reply = () => (set.get("a")?.models.find((m) => m.name === "m")?.options as { reply: { text: string } }).reply.text;
    expect(reply()).toBe("top");
    writeFileSync(at("mcp.yaml"), config("top2"));
    await waitFor(() => reply() === "top2", "the edited mcp.yaml");
    writeFileSync(at("pipelines/mcp.yaml"), config("near"));
    await waitFor(() => reply() === "near", "the nearer mcp.yaml");
    expect(set.list()[0]!.configPath).toBe(at("pipelines/mcp.yaml"));
    unlinkSync(at("pipelines/mcp.yaml"));
    await waitFor(() => reply() === "top2", "back to the top mcp.yaml");
    expect(rec.of("removed")).toEqual([]);
  });

  it("reloads the pipelines using a module model file when it changes, and reports a broken one", async () => {
    const model = (word: string) => `export default function model(input) { return { text: "${word}: " + input.prompt }; }\n`;
    const uses = (name: string) =>
      `version: 1\nname: ${name}\nmodels:\n  custom:\n    provider: module\n    module: ../models/custom.mjs\n    capabilities: [text-generation]\nsteps:\n  s: { model: custom, input: { prompt: "\${{ $input.text }}" } }\noutput: "\${{ $steps.s.output.text }}"\n`;
    const { set, rec, at } = await start({ "models/custom.mjs": model("one"), "pipelines/a.yaml": uses("a"), "pipelines/b.yaml": uses("b"), "pipelines/c.yaml": pipeline("c") }, "pipelines");
    expect(set.list().find((p) => p.name === "a")!.modules).toEqual([at("models/custom.mjs")]);
    const orchestrator = new TaskOrchestrator();
    try {
      expect((await orchestrator.runPipeline(set.get("a")!, { text: "hi" })).output).toBe("one: hi");
      await sleep(20); // a new mtime, so the module is imported afresh
      writeFileSync(at("models/custom.mjs"), model("two"));
      await waitFor(() => rec.of("updated").length === 2, "a and b updated");
      expect(rec.of("updated").map((e) => [e.name, e.causes])).toEqual([
        ["a", ["module"]],
        ["b", ["module"]],
      ]);
      expect((await orchestrator.runPipeline(set.get("a")!, { text: "hi" })).output).toBe("two: hi");

      const good = set.get("a");
      writeFileSync(at("models/custom.mjs"), "export default function model( {\n");
      await waitFor(() => rec.of("invalid").length === 2, "a and b invalid");
      expect(rec.of("invalid")[0]!.diagnostics[0]).toMatchObject({ code: "MCP405" });
      expect(set.get("a")).toBe(good);
    } finally {
      await orchestrator.close();
    }
  });
});

describe("LivePipelineSet: runs in flight", () => {
  it("lets a run started on a version finish on it while a new version is loaded", async () => {
    const { set, rec, at } = await start({ "a.yaml": pipeline("a", "old: ${{ $request.prompt }}", "      latency: 400ms") });
    const orchestrator = new TaskOrchestrator();
    try {
      const v1 = set.get("a")!;
      const run = orchestrator.startRun(v1, { text: "x" });
      writeFileSync(at("a.yaml"), pipeline("a", "new: ${{ $request.prompt }}"));
      await waitFor(() => rec.of("updated").length === 1, "the new version");
      const v2 = set.get("a")!;
      expect(v2).not.toBe(v1);
      const report = await run.done;
      expect(report).toMatchObject({ status: "success", output: "old: x", hash: v1.hash });
      expect((await orchestrator.runPipeline(v2, { text: "x" })).output).toBe("new: x");
      expect(replyOf(set, "a")).toBe("new: ${{ $request.prompt }}");
    } finally {
      await orchestrator.close();
    }
  });
});

describe("LivePipelineSet: closing", () => {
  it("emits nothing after close() and settles with the watchers closed", async () => {
    const { set, rec, at } = await start({ "a.yaml": pipeline("a") });
    await set.close();
    expect(set.state).toBe("closed");
    rec.clear();
    writeFileSync(at("a.yaml"), pipeline("a", "v2"));
    await sleep(200);
    expect(rec.events).toEqual([]);
    expect(set.get("a")).toBeDefined();
  });

  it("keeps watching a single named file: its deletion removes it, its return loads it", async () => {
    const dir = tempDir({ "one.yaml": pipeline("one"), "other.yaml": pipeline("other") });
    dirs.push(dir);
    const set = new LivePipelineSet(join(dir, "one.yaml"));
    open.push(set);
    const rec = record(set);
    await set.ready;
    expect(set.list().map((p) => p.name)).toEqual(["one"]);
    unlinkSync(join(dir, "one.yaml"));
    await waitFor(() => rec.of("removed").length === 1, "the removal");
    mkdirSync(join(dir, "sub"));
    writeFileSync(join(dir, "one.yaml"), pipeline("one", "back"));
    await waitFor(() => replyOf(set, "one") === "back", "the file back");
    writeFileSync(join(dir, "other.yaml"), pipeline("other", "changed"));
    await sleep(200);
    expect(set.list().map((p) => p.name)).toEqual(["one"]);
    expect(readFileSync(join(dir, "one.yaml"), "utf8")).toContain("back");
  });
});
