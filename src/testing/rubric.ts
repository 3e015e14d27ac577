/**
 * Model-graded checks (`rubric:`): the grader model (a model of the pipeline's registry) is
 * asked whether a value meets the rubric, through the same engine and hooks as the run, so
 * the grader's calls are replayed from and recorded to the suite's recording like any
 * other call (a grader on a network model needs a recording, or a model, to run).
 */
import { DEFAULT_RETRY, type CompiledPipeline, type CompiledStep } from "../compiler/types.js";
import type { CallHook } from "../events/ports.js";
import type { TaskOrchestrator } from "../orchestrator/orchestrator.js";

export const GRADER_SYSTEM = ["You grade the output of an AI pipeline against a rubric.", 'Answer with JSON only: {"pass": true or false, "reason": "one short sentence"}.'].join(" ");

/** The grader's verdict from its answer: JSON `{pass, reason}`, else a leading PASS or FAIL. */
export function parseVerdict(answer: unknown): { pass: boolean; reason: string } {
  const a = answer as { json?: unknown; text?: unknown } | string | null | undefined;
  const text = typeof a === "string" ? a : typeof a?.text === "string" ? a.text : undefined;
  const candidates: unknown[] = [];
  if (a && typeof a === "object" && a.json !== undefined) candidates.push(a.json);
  if (text !== undefined) {
    const m = /\{[\s\S]*\}/.exec(text);
    if (m) {
      try {
        candidates.push(JSON.parse(m[0]));
      } catch {
        // not JSON: try PASS/FAIL below
      }
    }
  } else if (a && typeof a === "object") candidates.push(a);
  for (const c of candidates) {
    const v = c as { pass?: unknown; reason?: unknown };
    if (v && typeof v === "object" && typeof v.pass === "boolean") return { pass: v.pass, reason: typeof v.reason === "string" ? v.reason : v.pass ? "pass" : "fail" };
  }
  const word = text !== undefined ? /^\s*\**\s*(pass|fail)\b[\s:.\-–]*(.*)$/is.exec(text) : null;
  if (word) return { pass: word[1]!.toLowerCase() === "pass", reason: word[2]!.trim() || word[1]!.toUpperCase() };
  throw new Error(`the grader's answer is neither {"pass": ..., "reason": ...} nor PASS/FAIL: ${JSON.stringify(answer).slice(0, 200)}`);
}

/**
 * Grades `value` against `rubric` on the model `grader` of `pipeline`.
 * @example await gradeWithModel(orchestrator, pipeline, hooks, "is polite", "judge", output)
 */
export async function gradeWithModel(
  orchestrator: TaskOrchestrator,
  pipeline: CompiledPipeline,
  hooks: CallHook[],
  rubric: string,
  grader: string,
  value: unknown,
): Promise<{ pass: boolean; reason: string }> {
  const config = pipeline.models.find((m) => m.name === grader);
  if (!config) throw new Error(`unknown grader model '${grader}'`);
  const input = {
    system: GRADER_SYSTEM,
    messages: [{ role: "user", content: `Rubric: ${rubric}\n\nOutput:\n${typeof value === "string" ? value : JSON.stringify(value, null, 2)}` }],
    temperature: 0,
    json: true,
  };
  const step: CompiledStep = {
    id: "grade",
    model: grader,
    capabilities: [],
    select: "first",
    chain: [grader],
    input: { kind: "literal", value: input },
    retry: { ...DEFAULT_RETRY, attempts: 2, initialDelayMs: 200 },
    onError: "fail",
    dependencies: [],
    location: { file: pipeline.file, offset: 0, length: 0 },
  };
  const gradePipeline: CompiledPipeline = {
    ...pipeline,
    name: `${pipeline.name}:grader`,
    steps: new Map([["grade", step]]),
    order: ["grade"],
    levels: [["grade"]],
    dependants: new Map([["grade", []]]),
    context: undefined,
    budget: undefined,
    output: undefined,
    inputs: undefined,
  } as CompiledPipeline;
  const report = await orchestrator.runPipeline(gradePipeline, {}, { hooks });
  const rec = report.steps.grade;
  if (report.status !== "success" || !rec) throw new Error(report.error?.message ?? "the grader failed");
  return parseVerdict(rec.output);
}
