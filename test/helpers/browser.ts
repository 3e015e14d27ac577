/**
 * A real browser for the UI tests: Debian's chromium (installed by .ci/run when missing)
 * driven by playwright-core, headless, with a fresh profile and no background network.
 * `browserSkipReason` says why tests must skip (chromium missing), so they say it clearly.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type BrowserContext, type Page } from "playwright-core";

export const CHROMIUM = process.env.MCP_CHROMIUM ?? "/usr/bin/chromium";

/** Why browser tests cannot run here, or undefined when they can. */
export const browserSkipReason: string | undefined = existsSync(CHROMIUM)
  ? undefined
  : `chromium is not installed at ${CHROMIUM} (apt-get install -y chromium; .ci/run does it): browser tests skipped`;

if (browserSkipReason) process.stderr.write(`\n*** ${browserSkipReason} ***\n\n`);

/** Where tests keep screenshots (gitignored): test-artifacts/screenshots/. */
export const SCREENSHOTS = fileURLToPath(new URL("../../test-artifacts/screenshots/", import.meta.url));

export const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export interface Browser {
  context: BrowserContext;
  page(): Promise<Page>;
  close(): Promise<void>;
}

/** Starts chromium with a fresh --user-data-dir (removed on close). */
export async function startBrowser(opts: { colorScheme?: "light" | "dark"; width?: number; height?: number } = {}): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), "mcp-chromium-"));
  // launchPersistentContext is playwright's way to give chromium its --user-data-dir.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: opts.width ?? 1280, height: opts.height ?? 860 },
    colorScheme: opts.colorScheme ?? "light",
    timeout: 60_000,
  });
  return {
    context,
    page: async () => context.pages()[0] ?? (await context.newPage()),
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Saves a full-page screenshot under test-artifacts/screenshots/NAME.png; returns its path. */
export async function screenshot(page: Page, name: string, fullPage = true): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage });
  return path;
}
