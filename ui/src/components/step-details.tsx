/** One step of a run: status, model, attempts, tokens, cost, fallbacks, error, input, output. */
import type { StepView } from "../../../src/report/run-view.js";
import { formatCost, formatDuration, formatJson } from "./format.js";
import { BAR_LABEL } from "./timeline.js";

export function StepDetails({ step, open }: { step: StepView; open?: boolean }) {
  const tokens = step.usage ? `${step.usage.inputTokens} in / ${step.usage.outputTokens} out` : "–";
  return (
    <details class={`step-details status-${step.status}`} open={open} id={`step-${step.id}`} data-step={step.id}>
      <summary>
        <span class={`pill status-${step.status}`}>{step.status}</span> <strong>{step.id}</strong>
        <span class="muted">
          {step.model ? ` · ${step.model}` : ""}
          {step.durationMs !== undefined ? ` · ${formatDuration(step.durationMs)}` : ""}
          {step.cost !== undefined ? ` · ${formatCost(step.cost)}` : ""}
        </span>
      </summary>
      <dl class="kv">
        <dt>model</dt>
        <dd>
          {step.model ?? "–"}
          {step.cached ? " (cached)" : ""}
          {step.resumed ? " (resumed from the journal)" : ""}
        </dd>
        <dt>attempts</dt>
        <dd>{step.attempts}</dd>
        {step.iterations !== undefined ? (
          <>
            <dt>iterations</dt>
            <dd>{step.iterations}</dd>
          </>
        ) : null}
        <dt>tokens</dt>
        <dd>{tokens}</dd>
        <dt>cost</dt>
        <dd>{step.cost !== undefined ? formatCost(step.cost) : "–"}</dd>
        <dt>duration</dt>
        <dd>{step.durationMs !== undefined ? formatDuration(step.durationMs) : "–"}</dd>
        {step.skipReason ? (
          <>
            <dt>skipped</dt>
            <dd>{step.skipReason}</dd>
          </>
        ) : null}
        {step.fallbacks.length ? (
          <>
            <dt>fell back</dt>
            <dd>
              {step.fallbacks.map((f, i) => (
                <div key={i}>
                  {f.from} → {f.to}: {f.reason}
                </div>
              ))}
            </dd>
          </>
        ) : null}
        {step.error ? (
          <>
            <dt>error</dt>
            <dd class="error-text">
              {step.error.reason}: {step.error.message}
            </dd>
          </>
        ) : null}
      </dl>
      {step.bars.some((b) => b.kind === "retried" || b.kind === "fellback" || b.kind === "failed") ? (
        <ol class="attempts">
          {step.bars
            .filter((b) => b.kind !== "queued")
            .map((b, i) => (
              <li key={i}>
                <span class={`pill bar-${b.kind}`}>{BAR_LABEL[b.kind]}</span> {b.model ?? ""}
                {b.attempt ? ` #${b.attempt}` : ""}
                {b.item !== undefined ? ` item ${b.item}` : ""}
                {b.end !== undefined && b.end > b.start ? ` · ${formatDuration(b.end - b.start)}` : ""}
                {b.note ? ` · ${b.note}` : ""}
              </li>
            ))}
        </ol>
      ) : null}
      <div class="io">
        <div>
          <h4>input</h4>
          <pre>{step.input !== undefined ? formatJson(step.input) : "(not recorded)"}</pre>
        </div>
        <div>
          <h4>output</h4>
          <pre>{step.output !== undefined ? formatJson(step.output) : "–"}</pre>
        </div>
      </div>
    </details>
  );
}
