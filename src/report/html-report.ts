/**
 * The self-contained HTML run report: one file with the report's script and styles (built
 * from ui/ by `npm install`) and the run's data inlined, so it opens from file:// with no
 * network, as a CI artifact or attached to a bug report.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ReportData } from "./report-data.js";

/** The package's root: the nearest folder above this module with a package.json. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "package.json"))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error("Internal error: the mcp package's folder was not found");
    dir = up;
  }
}

let assets: { js: string; css: string } | undefined;

/** The built report script and styles; a clear error when the UI was not built. */
export function reportAssets(): { js: string; css: string } {
  if (assets) return assets;
  const dir = join(packageRoot(), "dist", "ui", "report");
  const js = join(dir, "report.js");
  const css = join(dir, "report.css");
  if (!existsSync(js) || !existsSync(css)) {
    throw new Error(`the report's script is not built (${js} is missing): run 'npm run build' in the mcp package`);
  }
  assets = { js: readFileSync(js, "utf8"), css: readFileSync(css, "utf8") };
  return assets;
}

/** JSON that is safe inside a <script> element: no `</script>`, no `<!--`. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

export function renderHtmlReport(data: ReportData): string {
  const { js, css } = reportAssets();
  const title = data.events[0]?.type === "run.started" ? `${data.events[0].pipeline} · ${data.events[0].runId}` : "mcp run report";
  return [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    // No network: nothing may load from anywhere but this file.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">`,
    `<title>${escapeHtml(title)}</title>`,
    `<style>${css.replace(/<\/style/gi, "<\\/style")}</style>`,
    "</head>",
    "<body>",
    '<div id="app"><noscript>This report needs JavaScript to draw; its data is in the mcp-data script element.</noscript></div>',
    `<script type="application/json" id="mcp-data">${scriptJson(data)}</script>`,
    `<script>${js.replace(/<\/script/gi, "<\\/script")}</script>`,
    "</body>",
    "</html>",
    "",
  ].join("\n");
}
