/** One pipeline: its graph, the run form generated from its `inputs`, its recent runs. */
import { useEffect, useState } from "preact/hooks";
import type { LaidOutGraph } from "../../../../src/report/graph-layout.js";
import { Graph } from "../../components/graph.js";
import { RunForm } from "../../components/run-form.js";
import { listPipelines, pipelineGraph, startRun, type PipelineInfo } from "../api.js";
import { href, usePoll } from "../router.js";
import { RunsTable } from "./runs.js";

export function PipelinePage({ name }: { name: string }) {
  const [info, setInfo] = useState<PipelineInfo | undefined>();
  const [graph, setGraph] = useState<LaidOutGraph | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [graphError, setGraphError] = useState<string | undefined>();
  usePoll(
    async (signal) => {
      const all = (await listPipelines(signal)).pipelines;
      const p = all.find((x) => x.name === name);
      setInfo(p);
      setError(p ? undefined : `no pipeline named '${name}' in the live set`);
    },
    2000,
    [name],
  );
  // The graph is laid out again only when the live version changes.
  useEffect(() => {
    if (!info?.version) return;
    const ac = new AbortController();
    pipelineGraph(name, ac.signal).then(setGraph, (e: Error) => !ac.signal.aborted && setGraphError(e.message));
    return () => ac.abort();
  }, [name, info?.version]);

  // Not in the live set (a mistyped link, or a file that was removed): say so, nothing else.
  if (!info && error)
    return (
      <section>
        <p>
          <a href={href(["pipelines"])}>← pipelines</a>
        </p>
        <h2>{name}</h2>
        <p class="error-text" role="alert">
          {error}
        </p>
      </section>
    );

  return (
    <section>
      <p>
        <a href={href(["pipelines"])}>← pipelines</a>
      </p>
      <h2>
        {name} {info ? <span class={`pill status-${info.status}`}>{info.status}</span> : null}
      </h2>
      {info?.description ? <p class="muted">{info.description}</p> : null}
      {error || graphError ? <p class="error-text">{error ?? graphError}</p> : null}
      {info?.diagnostics.map((d, i) => (
        <div key={i} class={`diag ${d.severity}`}>
          {d.text}
        </div>
      ))}
      {graph ? <Graph graph={graph} height={Math.min(620, Math.max(240, graph.layout.height + 24))} /> : <p class="muted">laying out the graph…</p>}
      <h2>Run it</h2>
      {info ? (
        <div class="card">
          <RunForm
            key={info.version}
            {...(info.inputs ? { schema: info.inputs } : {})}
            disabled={!info.version}
            onSubmit={async (input) => {
              const { runId } = await startRun(name, input);
              location.hash = href(["runs", runId]);
            }}
          />
        </div>
      ) : null}
      <h2>Recent runs</h2>
      <RunsTable pipeline={name} limit={10} />
    </section>
  );
}
