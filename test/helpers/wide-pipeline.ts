/** Generated pipelines for the UI tests. */

/** A pipeline of n mock steps in layers of 5: each needs the step above it, every third also reads one. */
export function widePipeline(n: number, name = "fifty"): string {
  const lines = ["version: 1", `name: ${name}`, "models:", "  m: { provider: mock, capabilities: [t], options: { latency: 1ms, reply: { text: ok } } }", "steps:"];
  for (let i = 0; i < n; i++) {
    const deps = i < 5 ? "" : `, needs: [s${i - 5}]`;
    const ref = i >= 5 && i % 3 === 0 ? "${{ $steps.s" + (i - 4 - (i % 5 === 4 ? 5 : 0)) + ".output.text }}" : "x";
    lines.push(`  s${i}: { model: m, input: { prompt: "${ref}" }${deps} }`);
  }
  return lines.join("\n") + "\n";
}
