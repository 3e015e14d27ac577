// The generated pipelines of the validation benchmarks: chains of steps that read the
// previous step's output, and fan-outs where many steps read one step and a join step reads
// them all, every step on a mock model, so the compiler sees realistic `$steps` references,
// interpolated strings, `when` conditions and explicit `needs`.

/**
 * A pipeline of `n` steps: blocks of a chain of 5 then a fan-out of 8 joined by one step.
 * Step ids start with `prefix`, so each run's expressions are new text: parsed expressions
 * are cached by text, and a benchmark reusing one file would time the cache.
 */
export function generatePipeline(n, prefix = "s") {
  const lines = [
    "version: 1",
    `name: bench-${prefix.toLowerCase()}`,
    "models:",
    "  writer:",
    "    provider: mock",
    "    capabilities: [text-generation]",
    "    options:",
    '      reply: { text: "echo: ${{ $request.prompt }}" }',
    "  tagger:",
    "    provider: mock",
    "    capabilities: [text-generation, entity-extraction]",
    "    fallback: [writer2]",
    "  writer2:",
    "    provider: mock",
    "    capabilities: [text-generation, entity-extraction]",
    "steps:",
  ];
  let prev;
  let i = 0;
  const id = (k) => `${prefix}${k}`;
  while (i < n) {
    // A chain of up to five steps, each reading the one before.
    for (let k = 0; k < 5 && i < n; k++, i++) {
      lines.push(`  ${id(i)}:`, "    model: writer");
      if (prev) lines.push("    input:", `      prompt: "Continue: \${{ $steps.${prev}.output.text }} (step ${i})"`);
      else lines.push("    input:", '      prompt: "${{ $input.text }}"');
      prev = id(i);
    }
    if (i >= n) break;
    // A fan-out of up to eight steps reading the chain's last step, then a join.
    const root = prev;
    const fan = [];
    for (let k = 0; k < 8 && i < n; k++, i++) {
      lines.push(
        `  ${id(i)}:`,
        "    capabilities: [entity-extraction]",
        `    when: $steps.${root}.status = "success"`,
        "    input:",
        `      text: \${{ $steps.${root}.output.text }}`,
        `      index: ${k}`,
      );
      fan.push(id(i));
    }
    if (i >= n) break;
    lines.push(
      `  ${id(i)}:`,
      "    model: writer",
      `    needs: [${root}]`,
      "    input:",
      `      prompt: "\${{ $join([${fan.map((f) => `$steps.${f}.output.text`).join(", ")}], '; ') }}"`,
      "    retry: { attempts: 2, backoff: fixed, initialDelay: 10ms }",
      "    timeout: 5s",
    );
    prev = id(i);
    i++;
  }
  lines.push("output:", `  last: \${{ $steps.${prev}.output.text }}`);
  return lines.join("\n") + "\n";
}

