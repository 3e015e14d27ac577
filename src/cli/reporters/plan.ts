/** The text of `mcp run --dry-run`: the plan, group by group. */
import type { CompiledPipeline } from "../../compiler/types.js";
import type { RunPlan } from "../../orchestrator/plan.js";
import { formatCost } from "./format.js";

export function formatPlan(plan: RunPlan, pipeline: CompiledPipeline): string {
  const lines: string[] = [
    `plan for ${plan.pipeline} (${pipeline.file}): ${plan.steps.length} step${plan.steps.length === 1 ? "" : "s"} in ${plan.groups.length} parallel group${plan.groups.length === 1 ? "" : "s"}`,
    "",
  ];
  const byId = new Map(plan.steps.map((s) => [s.id, s]));
  plan.groups.forEach((g, i) => {
    lines.push(`group ${i + 1}${g.length > 1 ? " (in parallel)" : ""}:`);
    for (const id of g) {
      const s = byId.get(id)!;
      const model = s.pipeline !== undefined ? `pipeline ${s.pipeline}` : s.model ? `${s.model}${s.provider ? ` (${s.provider})` : ""}` : "no model fits";
      const fb = s.fallback.length ? `, then ${s.fallback.join(" → ")}` : "";
      const deps = s.dependencies.length ? ` after ${s.dependencies.join(", ")}` : "";
      lines.push(`  ${id}: ${model}${fb}${deps}`);
      lines.push(`    ~${s.inputTokens} in / ~${s.outputTokens} out tokens, ~${formatCost(s.cost)}${s.when ? `; when ${s.when}` : ""}${s.forEach ? `; for each of ${s.forEach}` : ""}`);
      for (const n of s.notes) lines.push(`    note: ${n}`);
    }
  });
  lines.push("", `estimated total: ~${plan.totals.inputTokens} in / ~${plan.totals.outputTokens} out tokens, ~${formatCost(plan.totals.cost)}`);
  if (plan.budget) {
    const b = plan.budget;
    lines.push(
      `budget: ${b.maxCost !== undefined ? `maxCost ${formatCost(b.maxCost)}` : ""}${b.maxCost !== undefined && b.maxTokens !== undefined ? ", " : ""}${b.maxTokens !== undefined ? `maxTokens ${b.maxTokens}` : ""}`,
    );
  }
  return lines.join("\n");
}
