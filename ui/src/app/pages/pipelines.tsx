/** The live pipeline set: name, version, status, diagnostics as the CLI prints them; polled, so hot reloads show up. */
import { useState } from "preact/hooks";
import { listPipelines, type PipelineInfo } from "../api.js";
import { href, usePoll } from "../router.js";

export function PipelinesPage() {
  const [pipelines, setPipelines] = useState<PipelineInfo[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  usePoll(
    async (signal) => {
      try {
        setPipelines((await listPipelines(signal)).pipelines);
        setError(undefined);
      } catch (e) {
        if (!signal.aborted) setError((e as Error).message);
      }
    },
    1500,
    [],
  );
  return (
    <section>
      <h2>Pipelines</h2>
      {error ? <p class="error-text">{error}</p> : null}
      {!pipelines ? (
        <p class="muted">loading…</p>
      ) : pipelines.length === 0 ? (
        <p class="muted">No pipelines in the served folder.</p>
      ) : (
        <table class="list" data-testid="pipelines">
          <thead>
            <tr>
              <th>pipeline</th>
              <th>version</th>
              <th>status</th>
              <th>steps</th>
              <th>file and diagnostics</th>
            </tr>
          </thead>
          <tbody>
            {pipelines.map((p) => (
              <tr key={p.file} data-pipeline={p.name} data-status={p.status}>
                <td>
                  {p.steps ? <a href={href(["pipelines", p.name])}>{p.name}</a> : <strong>{p.name}</strong>}
                  {p.description ? <div class="muted">{p.description}</div> : null}
                </td>
                <td>{p.version ? <code title={p.version}>{p.version.slice(0, 12)}</code> : "–"}</td>
                <td>
                  <span class={`pill status-${p.status}`}>{p.status}</span>
                </td>
                <td>{p.steps?.length ?? "–"}</td>
                <td>
                  <code class="muted">{p.file}</code>
                  {p.diagnostics.map((d, i) => (
                    <div key={i} class={`diag ${d.severity}`} data-testid="diagnostic">
                      {d.text}
                    </div>
                  ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
