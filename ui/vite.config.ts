/**
 * The web UI's build (run by `npm install`, `npm test` and `npm run build`):
 *   vite build -c ui/vite.config.ts                 the app, served by `mcp serve` at /  -> dist/ui/app
 *   vite build -c ui/vite.config.ts --mode report   the run report's script and styles  -> dist/ui/report
 * (one IIFE file and one CSS file, inlined into each self-contained HTML report).
 * No CDN: everything the pages need is in these folders.
 */
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = fileURLToPath(new URL(".", import.meta.url));
const out = fileURLToPath(new URL("../dist/ui/", import.meta.url));

export default defineConfig(({ mode }) => ({
  root: here,
  base: "./",
  logLevel: "warn",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build:
    mode === "report"
      ? {
          outDir: `${out}report`,
          emptyOutDir: true,
          cssCodeSplit: false,
          lib: { entry: `${here}src/report/main.tsx`, name: "McpReport", formats: ["iife"], fileName: () => "report.js", cssFileName: "report" },
        }
      : { outDir: `${out}app`, emptyOutDir: true, chunkSizeWarningLimit: 400 },
}));
