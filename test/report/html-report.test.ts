/**
 * The HTML run report in a real browser: written by `mcp run --report` (a child process),
 * opened from file:// with every network request recorded (there must be none).
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { browserSkipReason, screenshot, startBrowser, type Browser } from "../helpers/browser.js";
import { runCli } from "../helpers/cli.js";
import { tempProject } from "../helpers/project.js";
import { widePipeline } from "../helpers/wide-pipeline.js";

const FIXTURE = readFileSync(new URL("../fixtures/ui/retry-fallback.yaml", import.meta.url), "utf8");
const STEPS = ["draft", "polish", "check", "fanout", "never"];

describe("mcp run --report", () => {
  let dir: string;
  let browser: Browser | undefined;

  beforeAll(async () => {
    dir = tempProject({ "p.yaml": FIXTURE, "fifty.yaml": widePipeline(50) }, "mcp-report-");
    if (!browserSkipReason) browser = await startBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("writes one file and a GitHub step summary from the run's events", async () => {
    const r = await runCli(["run", "p.yaml", "--input", '{"text":"hi"}', "--report", "out/report.html"], { cwd: dir, env: { GITHUB_STEP_SUMMARY: join(dir, "summary.md") } });
    expect(r.stderr).toContain("report: out/report.html");
    expect(r.code).toBe(0);
    const html = readFileSync(join(dir, "out/report.html"), "utf8");
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/);
    expect(html).toContain("Content-Security-Policy");
    const md = readFileSync(join(dir, "summary.md"), "utf8");
    expect(md).toContain("mcp run `retry-fallback`: success");
    expect(md).toContain("```mermaid");
    for (const id of STEPS) expect(md).toContain(`| ${id} |`);
  });

  it("exits 1 with the reason when the report cannot be written, after printing the run's output, as runs show --report does", async () => {
    // A folder that cannot be made: p.yaml is a file (unwritable even for root).
    const r = await runCli(["run", "p.yaml", "--input", '{"text":"hi"}', "--report", "p.yaml/report.html", "--quiet"], { cwd: dir });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toBeDefined();
    expect(r.stderr).toMatch(/^error: could not write the run report: .*p\.yaml/m);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const [last] = JSON.parse((await runCli(["runs", "--json"], { cwd: dir })).stdout) as { id: string }[];
    const past = await runCli(["runs", "show", last!.id, "--report", "p.yaml/past.html"], { cwd: dir });
    expect(past.code).toBe(1);
  });

  it.skipIf(!existsSync("/proc/self"))("exits 1 for a report under a folder mkdir cannot make though its parent exists (/proc), instead of spinning forever", async () => {
    const r = await runCli(["run", "p.yaml", "--input", '{"text":"hi"}', "--report", "/proc/mcp-no-such/report.html", "--quiet"], { cwd: dir, timeoutMs: 30_000 });
    expect(r.signal).toBeNull();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: could not write the run report: ENOENT: no such file or directory, mkdir '\/proc\/mcp-no-such'$/m);
  });

  it("exits 1 saying to give a file name when --report names a folder", async () => {
    mkdirSync(join(dir, "reports"), { recursive: true });
    const r = await runCli(["run", "p.yaml", "--input", '{"text":"hi"}', "--report", "reports", "--quiet"], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: could not write the run report: 'reports' is a folder; give a file name, like reports\/run\.html$/m);
  });

  it("writes the report of a past run from the journal with mcp runs show --report", async () => {
    const runs = await runCli(["runs", "--json"], { cwd: dir });
    const [last] = JSON.parse(runs.stdout) as { id: string }[];
    const r = await runCli(["runs", "show", last!.id.slice(0, 12), "--report", "past.html"], { cwd: dir });
    expect(r.stderr).toContain("report: past.html");
    expect(r.code).toBe(0);
    const html = readFileSync(join(dir, "past.html"), "utf8");
    const data = JSON.parse(/<script type="application\/json" id="mcp-data">(.*?)<\/script>/s.exec(html)![1]!) as {
      events: { type: string; stepId?: string }[];
      source: string;
      graph?: { nodes: unknown[] };
    };
    expect(data.source).toBe("journal");
    expect(data.graph?.nodes).toHaveLength(5);
    for (const id of STEPS) expect(data.events.some((e) => e.stepId === id)).toBe(true);
    const bad = await runCli(["runs", "--report", "x.html"], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--report needs one run");
  });

  it.skipIf(browserSkipReason)("opens from file:// with no network and shows every step, the retry and the fallback", async () => {
    const page = await browser!.page();
    const requests: string[] = [];
    page.on("request", (q) => requests.push(q.url()));
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    const url = pathToFileURL(join(dir, "out/report.html")).href;
    await page.goto(url);
    await page.waitForSelector("[data-testid=timeline]");
    expect(errors).toEqual([]);
    expect(requests).toEqual([url]);
    expect(await page.locator("[data-testid=run-status]").textContent()).toBe("success");
    for (const id of STEPS) {
      await expect.poll(() => page.locator(`.step-details[data-step=${id}]`).count()).toBe(1);
      expect(await page.locator(`.node[data-step=${id}]`).count()).toBe(1);
    }
    const polish = page.locator(".tl-row[data-step=polish] .tl-bar");
    expect(await polish.evaluateAll((els) => els.map((e) => e.getAttribute("data-kind")))).toEqual(expect.arrayContaining(["retried", "fellback", "success"]));
    expect(await page.locator(".tl-row[data-step=never] [data-kind=skipped]").count()).toBe(1);
    // Clicking a step in the graph opens its details: input, output, the fallback.
    await page.locator(".node[data-step=polish]").click();
    const details = page.locator(".step-details[data-step=polish]");
    await expect.poll(() => details.getAttribute("open")).not.toBeNull();
    const text = await details.textContent();
    expect(text).toContain("flaky → steady");
    expect(text).toContain('"prompt": "ok hi"');
    await screenshot(page, "report-light");
    await page.emulateMedia({ colorScheme: "dark" });
    await screenshot(page, "report-dark");
  });

  it.skipIf(browserSkipReason)("draws a 50-step graph with every step and no two steps overlapping", async () => {
    const r = await runCli(["run", "fifty.yaml", "--report", "fifty.html", "--quiet"], { cwd: dir });
    expect(r.code).toBe(0);
    const page = await browser!.page();
    await page.goto(pathToFileURL(join(dir, "fifty.html")).href);
    await page.waitForSelector(".node");
    await page.keyboard.press("Tab");
    const boxes = await page.locator(".graph .node .body").evaluateAll((els) =>
      els.map((e) => {
        const r = e.getBoundingClientRect();
        return { x: r.x, y: r.y, w: r.width, h: r.height };
      }),
    );
    expect(boxes).toHaveLength(50);
    for (let i = 0; i < boxes.length; i++)
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i]!,
          b = boxes[j]!;
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        expect(overlap, `steps ${i} and ${j} overlap`).toBe(false);
      }
    expect(await page.locator(".step-details").count()).toBe(50);
    await screenshot(page, "report-50-steps", false);
  });
});
