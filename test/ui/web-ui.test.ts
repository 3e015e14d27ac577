/**
 * The web UI of `mcp serve` in a real browser (Debian's chromium via playwright-core): the
 * server is the real `mcp serve` child process over a folder of fixtures.
 */
import { cpSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { browserSkipReason, screenshot, startBrowser, type Browser } from "../helpers/browser.js";
import { serve, type Served } from "../helpers/mcp-serve.js";
import { tempProject } from "../helpers/project.js";
import { widePipeline } from "../helpers/wide-pipeline.js";

const FIXTURES = new URL("../fixtures/ui/serve/", import.meta.url);

async function boxesOverlap(page: Page, selector: string): Promise<{ count: number; overlaps: string[] }> {
  const boxes = await page.locator(selector).evaluateAll((els) =>
    els.map((e) => {
      const r = e.getBoundingClientRect();
      return { id: e.closest("[data-step]")?.getAttribute("data-step") ?? "", x: r.x, y: r.y, w: r.width, h: r.height };
    }),
  );
  const overlaps: string[] = [];
  for (let i = 0; i < boxes.length; i++)
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i]!,
        b = boxes[j]!;
      if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h) overlaps.push(`${a.id}/${b.id}`);
    }
  return { count: boxes.length, overlaps };
}

describe.skipIf(browserSkipReason)("the web UI", () => {
  /** Opens a page of the UI afresh (a hash change alone would keep the last page's state). */
  const open = async (hash: string) => {
    await page.goto("about:blank");
    await page.goto(`${server.url}/${hash}`);
  };
  let dir: string;
  let server: Served;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    dir = tempProject({}, "mcp-ui-");
    cpSync(FIXTURES, dir, { recursive: true });
    writeFileSync(join(dir, "fifty.yaml"), widePipeline(50));
    [server, browser] = await Promise.all([serve(dir), startBrowser()]);
    page = await browser.page();
    page.on("pageerror", (e) => process.stderr.write(`page error: ${e.message}\n`));
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it("lists the served pipelines with their versions, and a broken one's diagnostic as the CLI prints it", async () => {
    await open("");
    const table = page.locator("[data-testid=pipelines]");
    await table.waitFor();
    for (const name of ["retry-fallback", "slow", "fifty"]) await expect.poll(() => page.locator(`tr[data-pipeline="${name}"][data-status=valid]`).count()).toBe(1);
    const broken = page.locator("tr[data-status=invalid]");
    await expect.poll(() => broken.count()).toBe(1);
    expect(await broken.locator("[data-testid=diagnostic]").first().textContent()).toMatch(/broken\.yaml:7:54: error MCP012: unknown step 'reviw' in needs \(did you mean 'review'\?\)/);
    await screenshot(page, "ui-pipelines", false);
  });

  it("shows a new pipeline and a new diagnostic when files are saved (hot reload)", async () => {
    await open(`#/pipelines`);
    writeFileSync(join(dir, "added.yaml"), "version: 1\nname: added\nmodels:\n  m: { provider: mock, capabilities: [t] }\nsteps:\n  only: { model: m, input: { prompt: hi } }\n");
    await expect.poll(() => page.locator('tr[data-pipeline="added"][data-status=valid]').count(), { timeout: 20_000 }).toBe(1);
    writeFileSync(join(dir, "added.yaml"), "version: 1\nname: added\nsteps:\n  only: { model: nope, input: { prompt: hi } }\n");
    await expect.poll(() => page.locator('tr[data-pipeline="added"] [data-testid=diagnostic]').count(), { timeout: 20_000 }).toBeGreaterThan(0);
  });

  it("draws a 50-step pipeline's graph with every step and none overlapping", async () => {
    await open(`#/pipelines/fifty`);
    await page.locator(".graph .node").first().waitFor();
    const { count, overlaps } = await boxesOverlap(page, ".graph .node .body");
    expect(count).toBe(50);
    expect(overlaps).toEqual([]);
    // Keyboard: focus the graph, zoom in, and every step is still drawn once.
    await page.locator(".graph-viewport").focus();
    await page.keyboard.press("+");
    await page.keyboard.press("ArrowLeft");
    expect(await page.locator(".graph .node").count()).toBe(50);
    await page.keyboard.press("0");
    await screenshot(page, "ui-graph-50", false);
  });

  it("rejects a run input the pipeline's inputs schema rejects, in the form and on the server", async () => {
    await open(`#/pipelines/slow`);
    const form = page.locator("[data-testid=run-form]");
    await form.waitFor();
    const before = (await (await fetch(`${server.url}/v1/runs`)).json()) as { runs: unknown[] };
    // Too short for minLength: 3.
    await form.locator("#in-topic").fill("ab");
    await form.locator("button[type=submit]").click();
    await expect.poll(() => form.locator("[data-testid=form-error]").textContent()).toMatch(/topic: .*(3|characters)/);
    // Out of the integer's range.
    await form.locator("#in-topic").fill("a fine topic");
    await form.locator("#in-words").fill("9000");
    await form.locator("button[type=submit]").click();
    await expect.poll(() => form.locator("[data-testid=form-error]").textContent()).toMatch(/words/);
    // As JSON, past the form's checks: the server's schema check answers, and it is shown.
    await form.locator("#in-words").fill("50");
    await form.getByRole("button", { name: "Edit as JSON" }).click();
    await form.locator("#run-json").fill('{"topic": 42}');
    await form.locator("button[type=submit]").click();
    await expect.poll(() => form.locator("[data-testid=form-error]").textContent()).toMatch(/topic|string|input/i);
    await screenshot(page, "ui-run-form-rejected", false);
    const after = (await (await fetch(`${server.url}/v1/runs`)).json()) as { runs: unknown[] };
    expect(after.runs.length).toBe(before.runs.length);
    expect(page.url()).toContain("#/pipelines/slow");
  });

  it("starts a run from the form and its timeline gains bars as steps finish", async () => {
    await open(`#/pipelines/slow`);
    const form = page.locator("[data-testid=run-form]");
    await form.locator("#in-topic").fill("lighthouses");
    await form.locator("button[type=submit]").click();
    await page.waitForURL(/#\/runs\/run_/);
    const done = page.locator(".tl-row .tl-bar[data-kind=success]");
    const status = page.locator("[data-testid=run-status]");
    // Seen while the run is still going: some steps done, not all, and a bar still running.
    await expect.poll(async () => (await status.textContent()) === "running" && (await done.count()) >= 1, { timeout: 20_000 }).toBe(true);
    expect(await done.count()).toBeLessThan(4);
    expect(await page.locator(".tl-row .tl-bar[data-kind=running]").count()).toBeGreaterThanOrEqual(1);
    await screenshot(page, "ui-run-live", false);
    await expect.poll(() => page.locator("[data-testid=run-status]").textContent(), { timeout: 30_000 }).toBe("success");
    expect(await done.count()).toBe(4);
    expect(await page.locator("[data-testid=run-output]").textContent()).toContain("about");
    await screenshot(page, "ui-run-done");
  });

  it("shows a retried step and a fallback on the run page", async () => {
    const res = await fetch(`${server.url}/v1/pipelines/retry-fallback/runs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ input: { text: "hi" } }) });
    const { runId } = (await res.json()) as { runId: string };
    await open(`#/runs/${runId}`);
    await expect.poll(() => page.locator("[data-testid=run-status]").textContent(), { timeout: 30_000 }).toBe("success");
    const kinds = await page.locator(".tl-row[data-step=polish] .tl-bar").evaluateAll((els) => els.map((e) => e.getAttribute("data-kind")));
    expect(kinds).toEqual(expect.arrayContaining(["retried", "fellback", "success"]));
    expect(await page.locator(".tl-row[data-step=check] .tl-bar[data-kind=retried]").count()).toBe(1);
    await page.locator(".node[data-step=polish]").click();
    expect(await page.locator(".step-details[data-step=polish]").textContent()).toContain("flaky → steady");
    await screenshot(page, "ui-run-retry-fallback");
  });

  it("cancels a live run with Cancel, and Resume continues it without re-running finished steps", async () => {
    await open(`#/pipelines/slow`);
    const form = page.locator("[data-testid=run-form]");
    await form.locator("#in-topic").fill("tides");
    await form.locator("button[type=submit]").click();
    await page.waitForURL(/#\/runs\/run_/);
    const first = page.url();
    const status = page.locator("[data-testid=run-status]");
    await expect.poll(() => page.locator(".tl-row[data-step=outline] .tl-bar[data-kind=success]").count(), { timeout: 20_000 }).toBe(1);
    await page.getByRole("button", { name: "Cancel" }).click();
    await expect.poll(() => status.textContent(), { timeout: 20_000 }).toBe("cancelled");
    await expect.poll(() => page.getByRole("button", { name: "Resume" }).isEnabled(), { timeout: 10_000 }).toBe(true);
    await screenshot(page, "ui-run-cancelled", false);
    await page.getByRole("button", { name: "Resume" }).click();
    await expect.poll(() => page.url(), { timeout: 10_000 }).not.toBe(first);
    await expect.poll(() => status.textContent(), { timeout: 30_000 }).toBe("success");
    // outline came from the journal (a mark), the others ran.
    expect(await page.locator(".tl-row[data-step=outline] .tl-bar[data-kind=cached]").count()).toBe(1);
    expect(await page.locator(".tl-row[data-step=outline] .tl-bar[data-kind=success]").count()).toBe(0);
    expect(await page.locator(".tl-row[data-step=publish] .tl-bar[data-kind=success]").count()).toBe(1);
    expect(await page.locator(".step-details[data-step=outline]").textContent()).toContain("resumed");
  });

  it("lists runs and filters them by pipeline and status", async () => {
    await open(`#/runs`);
    await page.locator("[data-testid=runs]").waitFor();
    await page.locator("[data-testid=filter-pipeline]").selectOption("slow");
    await expect.poll(() => page.locator("tr[data-run]").evaluateAll((rows) => rows.map((r) => r.textContent ?? "").every((t) => t.includes("slow")))).toBe(true);
    expect(await page.locator("tr[data-run]").count()).toBeGreaterThanOrEqual(1);
    await page.locator("[data-testid=filter-status]").selectOption("failed");
    await expect.poll(() => page.locator("tr[data-run]").count()).toBe(0);
    expect(page.url()).toContain("pipeline=slow");
    await page.locator("[data-testid=filter-pipeline]").selectOption("");
    await page.locator("[data-testid=filter-status]").selectOption("success");
    await expect.poll(() => page.locator("tr[data-run]").count()).toBeGreaterThanOrEqual(2);
    await screenshot(page, "ui-runs", false);
  });

  it("is readable in dark mode", async () => {
    await page.emulateMedia({ colorScheme: "dark" });
    await open(`#/pipelines/retry-fallback`);
    await page.locator(".graph .node").first().waitFor();
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(bg).toBe("rgb(20, 23, 28)");
    await screenshot(page, "ui-pipeline-dark", false);
    // The theme toggle wins over the system's scheme, either way.
    const themed = (t: string) =>
      page.evaluate((theme) => {
        document.documentElement.dataset.theme = theme;
        return [getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).color];
      }, t);
    expect(await themed("light")).toEqual(["rgb(255, 255, 255)", "rgb(29, 35, 48)"]);
    await page.emulateMedia({ colorScheme: "light" });
    expect(await themed("dark")).toEqual(["rgb(20, 23, 28)", "rgb(227, 231, 238)"]);
    await page.evaluate(() => delete document.documentElement.dataset.theme);
    expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe("rgb(255, 255, 255)");
  });
  it("says a pipeline or a run that does not exist is not there, and shows nothing else of it", async () => {
    await open("#/pipelines/nope");
    const gone = page.locator("[role=alert]");
    await gone.waitFor();
    expect(await gone.textContent()).toBe("no pipeline named 'nope' in the live set");
    expect(await page.getByText("laying out the graph").count()).toBe(0);
    expect(await page.getByText("Run it").count()).toBe(0);
    await open("#/runs/run_nope");
    await expect.poll(() => page.locator("[role=alert]").textContent()).toBe("no run 'run_nope' in this server's journal");
    expect(await page.getByRole("button", { name: "Cancel" }).count()).toBe(0);
    expect(await page.getByText("waiting for the run's events").count()).toBe(0);
  });
});

describe.skipIf(browserSkipReason)("the web UI behind API keys", () => {
  it("asks for the key, keeps it in sessionStorage and never in a URL", async () => {
    const dir = tempProject({}, "mcp-ui-keys-");
    cpSync(FIXTURES, dir, { recursive: true });
    const [server, browser] = await Promise.all([serve(dir, { env: { MCP_API_KEYS: "alice:s3cret-key-123" } }), startBrowser()]);
    try {
      const page = await browser.page();
      const urls: string[] = [];
      page.on("request", (r) => urls.push(r.url()));
      await page.goto(`${server.url}/`);
      await page.locator("[data-testid=login]").waitFor();
      await screenshot(page, "ui-login", false);
      // No key given yet: no complaint. A wrong key: the prompt again, saying the server refused it.
      expect(await page.locator("[data-testid=login-refused]").count()).toBe(0);
      await page.locator("#api-key").fill("not-the-key-000");
      await page.keyboard.press("Enter");
      await page.locator("[data-testid=login-refused]").waitFor();
      expect(await page.locator("[data-testid=login-refused]").textContent()).toBe("The server refused the key: the API key is not valid");
      await page.locator("#api-key").fill("s3cret-key-123");
      await page.keyboard.press("Enter");
      await expect.poll(() => page.locator("tr[data-pipeline=slow]").count(), { timeout: 20_000 }).toBe(1);
      expect(await page.evaluate(() => sessionStorage.getItem("mcp-api-key"))).toBe("s3cret-key-123");
      expect(urls.filter((u) => u.includes("s3cret"))).toEqual([]);
      expect(page.url()).not.toContain("s3cret");
    } finally {
      await browser.close();
      await server.stop();
    }
  });
});

describe.skipIf(browserSkipReason)("the web UI when the server stops", () => {
  it("says it cannot reach the server instead of the browser's 'Failed to fetch'", async () => {
    const dir = tempProject({}, "mcp-ui-down-");
    cpSync(FIXTURES, dir, { recursive: true });
    const [server, browser] = await Promise.all([serve(dir), startBrowser()]);
    let stopped = false;
    try {
      const page = await browser.page();
      await page.goto(`${server.url}/`);
      await page.locator("[data-testid=pipelines]").waitFor();
      await server.stop();
      stopped = true;
      // The list polls: its next request fails.
      const error = page.locator("p.error-text");
      await error.waitFor({ timeout: 20_000 });
      expect(await error.textContent()).toBe("cannot reach the mcp server: is mcp serve still running?");
    } finally {
      await browser.close();
      if (!stopped) await server.stop();
    }
  });
});
