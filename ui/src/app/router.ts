/** Hash routes (#/pipelines, #/pipelines/NAME, #/runs?pipeline=&status=, #/runs/ID): static files serve every page. */
import { useEffect, useState } from "preact/hooks";

export interface Route {
  path: string[];
  query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const h = hash.replace(/^#\/?/, "");
  const [p = "", q = ""] = h.split("?");
  return { path: p.split("/").filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(q) };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(location.hash));
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return route;
}

export function href(path: string[], query?: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v) q.set(k, v);
  const qs = q.toString();
  return `#/${path.map(encodeURIComponent).join("/")}${qs ? `?${qs}` : ""}`;
}

/** Calls `f` now and every `ms` while the page is visible; `deps` restart it. */
export function usePoll(f: (signal: AbortSignal) => Promise<void>, ms: number, deps: unknown[]): void {
  useEffect(() => {
    const ac = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      if (document.visibilityState !== "hidden") await f(ac.signal).catch(() => undefined);
      if (!ac.signal.aborted) timer = setTimeout(() => void tick(), ms);
    };
    void tick();
    return () => {
      ac.abort();
      clearTimeout(timer);
    };
  }, deps);
}
