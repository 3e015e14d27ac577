/**
 * A run, live: its events arrive over SSE (resumed with Last-Event-ID after a drop) and are
 * folded by the same RunViewBuilder as the HTML report, so the timeline grows as steps run.
 */
import { useEffect, useMemo, useState } from "preact/hooks";
import type { RunEvent } from "../../../../src/events/event.js";
import type { LaidOutGraph } from "../../../../src/report/graph-layout.js";
import { RunViewBuilder, type RunView } from "../../../../src/report/run-view.js";
import { formatJson } from "../../components/format.js";
import { Graph } from "../../components/graph.js";
import { RunSummary } from "../../components/run-summary.js";
import { StepDetails } from "../../components/step-details.js";
import { Timeline } from "../../components/timeline.js";
import { ApiError, cancelRun, followEvents, getRun, pipelineGraph, resumeRun, type RunSummary as Summary } from "../api.js";
import { href } from "../router.js";

export function RunPage({ id }: { id: string }) {
  const [summary, setSummary] = useState<Summary | undefined>();
  const [view, setView] = useState<RunView | undefined>();
  const [graph, setGraph] = useState<LaidOutGraph | undefined>();
  const [connected, setConnected] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [selected, setSelected] = useState<string | undefined>();
  const [now, setNow] = useState(Date.now());
  const [busy, setBusy] = useState(false);
  const [missing, setMissing] = useState(false);

  useEffect(() => {
    const ac = new AbortController();
    const builder = new RunViewBuilder(id);
    let pending = false;
    // Many events can arrive at once: draw at most once a frame.
    const publish = () => {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => {
        pending = false;
        setView({ ...builder.view });
      });
    };
    getRun(id, ac.signal).then(
      (s) => {
        setSummary(s);
        pipelineGraph(s.pipeline, ac.signal).then(setGraph, () => undefined);
      },
      (e: Error) => {
        if (ac.signal.aborted) return;
        if (e instanceof ApiError && e.status === 404) {
          setMissing(true);
          ac.abort(); // no events to follow
        } else setError(e.message);
      },
    );
    followEvents(
      id,
      (e: RunEvent) => {
        builder.apply(e);
        publish();
        if (e.type === "run.finished") getRun(id, ac.signal).then(setSummary, () => undefined);
      },
      ac.signal,
      setConnected,
    ).catch((e: Error) => !ac.signal.aborted && setError(e.message));
    return () => ac.abort();
  }, [id]);

  const running = view ? view.status === "running" : summary?.status === "running";
  useEffect(() => {
    if (!running) return;
    const t = setInterval(() => setNow(Date.now()), 200);
    return () => clearInterval(t);
  }, [running]);

  const statuses = useMemo(() => (view ? Object.fromEntries(Object.values(view.steps).map((s) => [s.id, s.status])) : {}), [view]);
  const select = (sid: string) => {
    setSelected(sid);
    const el = document.getElementById(`step-${sid}`) as HTMLDetailsElement | null;
    if (el) {
      el.open = true;
      el.scrollIntoView({ block: "nearest" });
    }
  };
  const status = view?.status ?? summary?.status;
  const resumable = summary?.status === "failed" || summary?.status === "cancelled" || summary?.status === "interrupted";

  if (missing)
    return (
      <section>
        <p>
          <a href={href(["runs"])}>← runs</a>
        </p>
        <h2>
          Run <code>{id}</code>
        </h2>
        <p class="error-text" role="alert">
          no run '{id}' in this server's journal
        </p>
      </section>
    );

  return (
    <section>
      <p>
        <a href={href(["runs"])}>← runs</a>
        {summary ? (
          <>
            {" · "}
            <a href={href(["pipelines", summary.pipeline])}>{summary.pipeline}</a>
          </>
        ) : null}
      </p>
      <div class="row">
        <h2>
          Run <code>{id}</code>
        </h2>
        <span class="muted" data-testid="stream-state">
          <span class={`live-dot${connected ? "" : " off"}`} />
          {connected ? "live" : status === "running" ? "reconnecting…" : "ended"}
        </span>
        <span class="spacer" />
        <button
          type="button"
          class="danger"
          disabled={!running || busy}
          onClick={async () => {
            setBusy(true);
            try {
              await cancelRun(id);
            } catch (e) {
              setError((e as Error).message);
            } finally {
              setBusy(false);
            }
          }}
        >
          Cancel
        </button>
        <button
          type="button"
          disabled={!resumable || busy}
          title={resumable ? "continue the run; finished steps are not run again" : "only a failed, cancelled or interrupted run can be resumed"}
          onClick={async () => {
            setBusy(true);
            try {
              const r = await resumeRun(id);
              location.hash = href(["runs", r.runId]);
              if (r.runId === id) location.reload();
            } catch (e) {
              setError((e as Error).message);
            } finally {
              setBusy(false);
            }
          }}
        >
          Resume
        </button>
      </div>
      {error ? (
        <p class="error-text" role="alert">
          {error}
        </p>
      ) : null}
      {view && view.events > 0 ? <RunSummary view={view} {...(running ? { now } : {})} /> : <p class="muted">waiting for the run's events…</p>}
      {view ? (
        <>
          <h2>Timeline</h2>
          <Timeline view={view} {...(running ? { now } : {})} {...(selected ? { selected } : {})} onSelect={select} />
        </>
      ) : null}
      {graph ? (
        <>
          <h2>Graph</h2>
          <Graph graph={graph} statuses={statuses} {...(selected ? { selected } : {})} onSelect={select} height={Math.min(440, Math.max(200, graph.layout.height + 24))} />
        </>
      ) : null}
      {view ? (
        <>
          <h2>Steps</h2>
          {view.order.map((sid) => (
            <StepDetails key={sid} step={view.steps[sid]!} open={selected === sid} />
          ))}
        </>
      ) : null}
      {summary?.input !== undefined ? (
        <>
          <h2>Input</h2>
          <pre>{formatJson(summary.input)}</pre>
        </>
      ) : null}
      {view?.output !== undefined ? (
        <>
          <h2>Output</h2>
          <pre data-testid="run-output">{formatJson(view.output)}</pre>
        </>
      ) : null}
    </section>
  );
}
