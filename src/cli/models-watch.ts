/**
 * `mcp models --watch URL`: the deployments of a running server's models, live. Polls
 * `GET URL/v1/deployments` (with the key in MCP_API_KEY, when set) and prints, for each model
 * with deployments or limits, each deployment's breaker state, calls in flight, calls,
 * errors and rate-limit waits. On a terminal the table is redrawn in place; otherwise each
 * poll prints a new block. Runs until interrupted (Ctrl-C), or for `count` polls.
 */
import type { GatewayStatus } from "../registry/gateway-model.js";
import { sleep } from "../util/sleep.js";
import { writeLine, type CliIo } from "./io.js";

export interface WatchOptions {
  url: string;
  intervalMs: number;
  /** Stop after this many polls (tests, scripts). */
  count?: number;
  key?: string;
  signal?: AbortSignal;
}

/** Polls and prints; resolves with the exit code (2 when the server cannot be reached at first). */
export async function watchDeployments(io: CliIo, o: WatchOptions): Promise<number> {
  const base = o.url.replace(/\/+$/, "");
  const tty = (io.stdout as { isTTY?: boolean }).isTTY === true;
  let drawn = 0;
  for (let n = 0; o.count === undefined || n < o.count; n++) {
    if (o.signal?.aborted) return 0;
    let text: string;
    try {
      const res = await fetch(`${base}/v1/deployments`, { headers: o.key ? { authorization: `Bearer ${o.key}` } : {}, ...(o.signal ? { signal: o.signal } : {}) });
      if (!res.ok) throw new Error(`HTTP ${res.status}${statusHint(res.status, o.key !== undefined && o.key !== "")}`);
      text = deploymentsTable(((await res.json()) as { data: GatewayStatus[] }).data, Date.now());
    } catch (e) {
      if (o.signal?.aborted) return 0;
      const msg = `mcp models --watch: cannot read ${base}/v1/deployments: ${whyNot(e)}`;
      if (n === 0) {
        writeLine(io.stderr, msg);
        return 2;
      }
      text = msg;
    }
    if (tty && drawn > 0) io.stdout.write(`\x1b[${drawn}A\x1b[J`);
    writeLine(io.stdout, text);
    drawn = text.split("\n").length;
    if (!tty) writeLine(io.stdout, "");
    if (o.count !== undefined && n + 1 >= o.count) break;
    try {
      await sleep(o.intervalMs, o.signal);
    } catch {
      return 0;
    }
  }
  return 0;
}

/** What to change after an HTTP error: the key, or the URL (the server's base, not a route). */
function statusHint(status: number, keyGiven: boolean): string {
  if (status === 401) return keyGiven ? " (the key in MCP_API_KEY is not a key of the server)" : " (set MCP_API_KEY to a key of the server)";
  if (status === 404) return " (give the server's base URL, as 'mcp serve' prints it: http://HOST:PORT)";
  return "";
}

/** Why a poll failed, in words: fetch says only "fetch failed" and keeps the reason in `cause`. */
function whyNot(e: unknown): string {
  const cause = (e as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (cause?.code === "ECONNREFUSED") return "connection refused (is 'mcp serve' listening there?)";
  if (cause?.code === "ENOTFOUND") return "host not found";
  if (typeof cause?.code === "string") return `${(e as Error).message} (${cause.code})`;
  if (typeof cause?.message === "string") return `${(e as Error).message}: ${cause.message}`;
  return e instanceof Error ? e.message : String(e);
}

/** The table of one poll. */
export function deploymentsTable(models: readonly GatewayStatus[], now: number): string {
  if (models.length === 0) return "no model with deployments or limits has been called yet";
  const lines: string[] = [];
  for (const m of models) {
    const limits = m.limits
      ? `  limits ${Object.entries(m.limits)
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")} (waits ${m.limitWaits})`
      : "";
    lines.push(
      `${m.model}  balance ${m.balance}  breaker ${m.breaker.failures} failures / ${m.breaker.cooldownMs / 1000}s cool-down / ${m.breaker.probes} probe${m.breaker.probes === 1 ? "" : "s"}${limits}`,
    );
    const rows = [["  deployment", "state", "in flight", "calls", "errors", "limit waits", "url"]];
    for (const d of m.deployments) {
      const state = d.state === "open" && d.retryAt !== undefined ? `open (probe in ${Math.max(0, Math.ceil((d.retryAt - now) / 100) / 10)}s)` : d.state;
      rows.push([`  ${d.name}`, state, String(d.inFlight), String(d.calls), String(d.errors), String(d.limitWaits), d.url ?? "-"]);
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows)
      lines.push(
        r
          .map((c, i) => c.padEnd(widths[i]!))
          .join("  ")
          .trimEnd(),
      );
  }
  return lines.join("\n");
}
