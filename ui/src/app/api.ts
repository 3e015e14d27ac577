/**
 * The web UI's client of the HTTP API (DESIGN section 6). The API key lives in
 * sessionStorage (gone when the tab closes) and travels only in the Authorization header,
 * never in a URL. Events come over SSE read with fetch (EventSource cannot send headers),
 * parsed by eventsource-parser, resumed with Last-Event-ID after a drop.
 */
import { createParser } from "eventsource-parser";
import type { RunEvent } from "../../../src/events/event.js";
import type { RunReport, RunTotals, StepRecord } from "../../../src/events/report.js";
import type { LaidOutGraph } from "../../../src/report/graph-layout.js";

const KEY = "mcp-api-key";

export function apiKey(): string | undefined {
  try {
    return sessionStorage.getItem(KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

export function setApiKey(key: string | undefined): void {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
}

/** An HTTP error answered by the API: `{ error: { code, message, details? } }`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** Listeners told when the API answers 401, so the app shows the login prompt. */
const unauthorized = new Set<(message: string) => void>();
export function onUnauthorized(f: (message: string) => void): () => void {
  unauthorized.add(f);
  return () => unauthorized.delete(f);
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const key = apiKey();
  return { ...(key ? { authorization: `Bearer ${key}` } : {}), ...extra };
}

/** What the page says when the server does not answer at all (the browser's own words are "Failed to fetch"). */
export const UNREACHABLE = "cannot reach the mcp server: is mcp serve still running?";

export async function api<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: headers(body !== undefined ? { "content-type": "application/json" } : {}),
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      ...(signal ? { signal } : {}),
    });
  } catch (e) {
    // A request we stopped stays an abort; anything else is a network failure.
    if (signal?.aborted || (e as Error).name === "AbortError") throw e;
    throw new ApiError(0, "unreachable", UNREACHABLE);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
    if (res.status === 401) for (const f of unauthorized) f(e?.message ?? "unauthorized");
    throw new ApiError(res.status, e?.code ?? `http_${res.status}`, e?.message ?? `${res.status} ${res.statusText}`, e?.details);
  }
  return json as T;
}

/** A diagnostic as the API reports it; `text` is the CLI's headline (file:line:col: error CODE: message). */
export interface ApiDiagnostic {
  code: string;
  severity: "error" | "warning" | "info";
  message: string;
  text: string;
}

export interface PipelineInfo {
  name: string;
  file: string;
  status: string;
  version?: string;
  description?: string;
  inputs?: Record<string, unknown>;
  steps?: string[];
  diagnostics: ApiDiagnostic[];
}

export interface RunSummary {
  runId: string;
  pipeline: string;
  status: string;
  startedAt: number;
  finishedAt?: number;
  durationMs?: number;
  input?: unknown;
  output?: unknown;
  error?: { reason: string; message: string };
  totals?: RunTotals;
  steps?: Record<string, StepRecord>;
}

export const listPipelines = (signal?: AbortSignal) => api<{ pipelines: PipelineInfo[] }>("GET", "/v1/pipelines", undefined, signal);
export const pipelineGraph = (name: string, signal?: AbortSignal) => api<LaidOutGraph>("GET", `/ui/api/pipelines/${encodeURIComponent(name)}/graph`, undefined, signal);
export const listRuns = (q: { pipeline?: string; limit?: number }, signal?: AbortSignal) => {
  const p = new URLSearchParams();
  if (q.pipeline) p.set("pipeline", q.pipeline);
  p.set("limit", String(q.limit ?? 100));
  return api<{ runs: RunSummary[] }>("GET", `/v1/runs?${p}`, undefined, signal);
};
export const getRun = (id: string, signal?: AbortSignal) => api<RunSummary>("GET", `/v1/runs/${encodeURIComponent(id)}`, undefined, signal);
export const startRun = (pipeline: string, input: unknown) => api<{ runId: string }>("POST", `/v1/pipelines/${encodeURIComponent(pipeline)}/runs`, { input });
export const cancelRun = (id: string) => api<RunSummary>("DELETE", `/v1/runs/${encodeURIComponent(id)}`);
export const resumeRun = (id: string) => api<{ runId: string }>("POST", `/ui/api/runs/${encodeURIComponent(id)}/resume`);

export type { RunReport };

/**
 * Follows a run's events: calls `onEvent` for each (in order, each once), reconnects with
 * Last-Event-ID when the stream drops before the run ended, resolves when it has ended or
 * `signal` aborts. `onState` tells whether the stream is connected.
 */
export async function followEvents(runId: string, onEvent: (e: RunEvent, seq: number) => void, signal: AbortSignal, onState?: (connected: boolean) => void): Promise<void> {
  let last = 0;
  let ended = false;
  for (let tries = 0; !ended && !signal.aborted; tries++) {
    try {
      const res = await fetch(`/v1/runs/${encodeURIComponent(runId)}/events`, { headers: headers({ accept: "text/event-stream", ...(last ? { "last-event-id": String(last) } : {}) }), signal });
      if (res.status === 401) {
        const body = (await res.json().catch(() => undefined)) as { error?: { message?: string } } | undefined;
        for (const f of unauthorized) f(body?.error?.message ?? "unauthorized");
      }
      if (!res.ok || !res.body) throw new ApiError(res.status, `http_${res.status}`, `events: ${res.status}`);
      onState?.(true);
      tries = 0;
      const parser = createParser({
        onEvent(m) {
          if (m.event === "error") return;
          const seq = Number(m.id);
          if (Number.isFinite(seq) && seq <= last) return;
          if (Number.isFinite(seq)) last = seq;
          const e = JSON.parse(m.data) as RunEvent;
          if (e.type === "run.finished") ended = true;
          onEvent(e, seq);
        },
      });
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.feed(value);
      }
      // A finished run's stream replays and closes: done.
      if (!ended) ended = (await getRun(runId, signal)).status !== "running";
    } catch (e) {
      if (signal.aborted) return;
      if (e instanceof ApiError && (e.status === 401 || e.status === 404)) throw e;
    } finally {
      onState?.(false);
    }
    if (!ended && !signal.aborted) await new Promise((r) => setTimeout(r, Math.min(5000, 500 * 2 ** Math.min(tries, 4))));
  }
}
