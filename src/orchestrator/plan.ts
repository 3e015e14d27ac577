/**
 * The plan of a run (`mcp run --dry-run`): what would run, in which order and parallel
 * groups, on which model with which fallback chain, and estimated tokens and cost.
 *
 * Estimates: input tokens are counted with the tokenizer on the step input evaluated with
 * the real run input and empty outputs for earlier steps (so text from $steps is not
 * counted); output tokens come from an explicit maxTokens, else a mock's scripted usage,
 * else a default for text generation. No model is called.
 */
import type { CompiledPipeline, CompiledStep } from "../compiler/types.js";
import { evaluateTemplate } from "../expr/template.js";
import type { ModelConfig } from "../models/types.js";
import { ModelRegistry } from "../registry/model-registry.js";
import { countTokens } from "../util/tokens.js";

/** Output tokens assumed for a text-generating call with no maxTokens. */
export const DEFAULT_OUTPUT_ESTIMATE = 256;

export interface PlannedStep {
  id: string;
  group: number;
  dependencies: string[];
  model: string | null;
  fallback: string[];
  /** The sub-pipeline the step runs (`pipeline:`); its estimates are its own plan's totals. */
  pipeline?: string;
  provider?: string;
  when?: string;
  forEach?: string;
  inputTokens: number;
  outputTokens: number;
  cost: number;
  /** Why the estimate may be off. */
  notes: string[];
}

export interface RunPlan {
  pipeline: string;
  groups: string[][];
  steps: PlannedStep[];
  totals: { inputTokens: number; outputTokens: number; cost: number };
  budget?: { maxCost?: number; maxTokens?: number };
}

export async function planRun(pipeline: CompiledPipeline, input: unknown, registry: ModelRegistry): Promise<RunPlan> {
  const group = new Map<string, number>();
  pipeline.levels.forEach((l, i) => l.forEach((id) => group.set(id, i)));
  const stepsBinding: Record<string, unknown> = {};
  for (const id of pipeline.order) stepsBinding[id] = { output: {}, status: "pending" };
  const bindings = { input, steps: stepsBinding, env: {}, context: { history: [], summary: "" } };

  const steps: PlannedStep[] = [];
  for (const id of pipeline.order) {
    const s = pipeline.steps.get(id)!;
    const notes: string[] = [];
    let evaluated: unknown;
    try {
      evaluated = await evaluateTemplate(s.input, s.forEach ? { ...bindings, item: {}, index: 0 } : bindings);
    } catch {
      evaluated = undefined;
      notes.push("input depends on earlier steps");
    }
    if (s.repeat) notes.push(`repeat: up to ${s.repeat.max} iterations; the estimate is for one`);
    if (s.pipeline) {
      // The child's own plan, on the input as far as it is known now.
      let reg = registry;
      if (s.pipeline.compiled.models.length) {
        reg = new ModelRegistry(registry.list());
        for (const m of s.pipeline.compiled.models) reg.add(m);
      }
      const child = await planRun(s.pipeline.compiled, evaluated ?? {}, reg);
      notes.unshift(`runs the sub-pipeline ${s.pipeline.ref} (${child.steps.length} step${child.steps.length === 1 ? "" : "s"}): its plan's estimate`);
      if (s.forEach) notes.push("forEach: per item; the item count is known only at run time");
      steps.push({
        id,
        group: group.get(id) ?? 0,
        dependencies: [...s.dependencies],
        model: null,
        fallback: [],
        pipeline: s.pipeline.ref,
        ...(s.when ? { when: s.when.source.trim() } : {}),
        ...(s.forEach ? { forEach: s.forEach.source.trim() } : {}),
        inputTokens: child.totals.inputTokens,
        outputTokens: child.totals.outputTokens,
        cost: child.totals.cost,
        notes,
      });
      continue;
    }
    const inputTokens = evaluated === undefined ? 0 : await countTokens(evaluated);
    const configs = s.chain.map((n) => registry.get(n)).filter((m): m is ModelConfig => !!m);
    const fits = configs.filter((m) => m.maxTokens === undefined || m.maxTokens >= inputTokens);
    const chosen = fits[0];
    if (configs.length && !chosen) notes.push(`no model of the chain takes ${inputTokens} tokens`);
    const outputTokens = chosen ? estimateOutput(chosen, s, evaluated) : 0;
    if (s.forEach) notes.push("forEach: per item; the item count is known only at run time");
    if (s.when) notes.push("runs only when its condition holds");
    if (s.dependencies.length && s.input.kind !== "literal") notes.push("text from earlier steps not counted");
    steps.push({
      id,
      group: group.get(id) ?? 0,
      dependencies: [...s.dependencies],
      model: chosen?.name ?? null,
      fallback: fits.slice(1).map((m) => m.name),
      ...(chosen ? { provider: chosen.provider } : {}),
      ...(s.when ? { when: s.when.source.trim() } : {}),
      ...(s.forEach ? { forEach: s.forEach.source.trim() } : {}),
      inputTokens,
      outputTokens,
      cost: chosen ? registry.cost(chosen.name, inputTokens, outputTokens) : 0,
      notes,
    });
  }
  const totals = steps.reduce((t, s) => ({ inputTokens: t.inputTokens + s.inputTokens, outputTokens: t.outputTokens + s.outputTokens, cost: t.cost + s.cost }), {
    inputTokens: 0,
    outputTokens: 0,
    cost: 0,
  });
  return {
    pipeline: pipeline.name,
    groups: pipeline.levels.map((l) => [...l]),
    steps,
    totals,
    ...(pipeline.budget ? { budget: pipeline.budget } : {}),
  };
}

function estimateOutput(m: ModelConfig, s: CompiledStep, input: unknown): number {
  const explicit = Number((input as { maxTokens?: unknown } | undefined)?.maxTokens ?? (m.options as { maxTokens?: unknown } | undefined)?.maxTokens);
  if (Number.isFinite(explicit)) return explicit;
  const scripted = (m.options as { usage?: { outputTokens?: unknown } } | undefined)?.usage?.outputTokens;
  if (typeof scripted === "number") return scripted;
  if (m.provider === "nlp") return 0;
  const generates = [...m.capabilities, ...s.capabilities].some((c) => /generation|completion|chat|summar/.test(c));
  return generates ? DEFAULT_OUTPUT_ESTIMATE : 0;
}
