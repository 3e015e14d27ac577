/**
 * The test runner: runs the cases of loaded suites on the run engine (TaskOrchestrator),
 * with the suite's recording as a call hook in the chosen record mode, mocks applied to the
 * pipeline's models, and each case in a conversation store of its own; judges the
 * assertions and reports each case to the observer as it finishes.
 *
 * A turn that does not check the run's `status` must succeed: a run that fails (a replay
 * miss, a model error) fails the case even when no assertion looks at it.
 */
import PQueue from "p-queue";
import { Cassette, type RecordMode } from "../cache/cassette.js";
import type { CompiledPipeline } from "../compiler/types.js";
import { ContextManager } from "../context/context-manager.js";
import type { Location } from "../diagnostics/diagnostic.js";
import { evaluateTemplate } from "../expr/template.js";
import type { ModelConfig } from "../models/types.js";
import type { CallHook } from "../events/ports.js";
import { TaskOrchestrator } from "../orchestrator/orchestrator.js";
import type { RunReport } from "../events/report.js";
import { ModelRegistry } from "../registry/model-registry.js";
import { MemoryStore } from "../store/memory-store.js";
import { ConfigError } from "../util/errors.js";
import { judgeAssertion } from "./assertions.js";
import type { AssertionResult, CaseResult, SuiteResult, TestObserver, TestSummary, Where } from "./results.js";
import { gradeWithModel } from "./rubric.js";
import type { TestCase, TestSuite } from "./suite.js";

export interface RunSuitesOptions {
  /** @default "none" */
  recordMode?: RecordMode;
  /** Cases in flight at once, across suites. @default 4 */
  concurrency?: number;
  /** Stop starting cases after this many failed. @default no limit */
  bail?: number;
  /** Only cases whose "file > name" contains this text (or matches /regex/). */
  filter?: string;
  env?: NodeJS.ProcessEnv;
  observer?: TestObserver;
  signal?: AbortSignal;
}

/** A pipeline whose listed models are replaced by mocks (keeping capabilities, limits, cost). */
export function withMocks(pipeline: CompiledPipeline, mocks: Readonly<Record<string, Record<string, unknown>>>): CompiledPipeline {
  const names = Object.keys(mocks);
  if (names.length === 0) return pipeline;
  const models = pipeline.models.map((m): ModelConfig => {
    const options = mocks[m.name];
    if (!options) return m;
    return {
      name: m.name,
      provider: "mock",
      capabilities: [...m.capabilities],
      ...(m.description !== undefined ? { description: m.description } : {}),
      ...(m.maxTokens !== undefined ? { maxTokens: m.maxTokens } : {}),
      ...(m.cost !== undefined ? { cost: m.cost } : {}),
      ...(m.concurrency !== undefined ? { concurrency: m.concurrency } : {}),
      ...(m.fallback !== undefined ? { fallback: m.fallback } : {}),
      options,
    };
  });
  return { ...pipeline, models } as CompiledPipeline;
}

/** Whether a case is selected by --filter: a substring of "file > name", or /regex/flags. */
export function matchesFilter(filter: string | undefined, file: string, name: string): boolean {
  if (!filter) return true;
  const full = `${file} > ${name}`;
  const m = /^\/(.+)\/([a-z]*)$/.exec(filter);
  if (m) {
    try {
      return new RegExp(m[1]!, m[2]).test(full);
    } catch {
      return full.includes(filter);
    }
  }
  return full.toLowerCase().includes(filter.toLowerCase());
}

/** Runs every selected case of `suites`; resolves to the summary (never rejects for a failed case). */
export async function runSuites(suites: readonly TestSuite[], opts: RunSuitesOptions = {}): Promise<TestSummary> {
  const t0 = Date.now();
  const queue = new PQueue({ concurrency: opts.concurrency ?? 4 });
  const mode = opts.recordMode ?? "none";
  let failures = 0;
  let bailed = false;
  const results: SuiteResult[] = [];

  await Promise.all(
    suites.map(async (suite) => {
      const s0 = Date.now();
      const where = (loc: Location): Where => {
        const pos = suite.sources.get(loc.file)?.position(loc.offset) ?? { line: 1, col: 1 };
        return { file: loc.file, line: pos.line, col: pos.col };
      };
      const named = await Promise.all(suite.cases.map(async (c) => ({ c, name: await caseName(c) })));
      const selected = named.filter(({ c, name }) => matchesFilter(opts.filter, suite.file, name) || matchesFilter(opts.filter, suite.file, c.name));
      const result: SuiteResult = { file: suite.file, pipeline: suite.pipeline.name, cases: [], durationMs: 0 };
      results.push(result);
      if (selected.length === 0) return;
      opts.observer?.suiteStarted?.({ file: suite.file, pipeline: suite.pipeline.name, cases: selected.length });

      let cassette: Cassette | undefined;
      let cassetteError: string | undefined;
      try {
        cassette = new Cassette(suite.recordingPath, { mode, pipeline: suite.pipeline.name, hash: suite.pipeline.hash, ...(opts.env ? { env: opts.env } : {}) });
      } catch (e) {
        cassetteError = (e as Error).message;
      }

      await Promise.all(
        selected.map(({ c, name }) =>
          queue.add(async () => {
            let r: CaseResult;
            if (bailed || opts.signal?.aborted) return;
            if (c.skip) r = blank(suite, c, name, where, "skipped");
            else if (cassetteError) r = { ...blank(suite, c, name, where, "error"), error: { message: cassetteError } };
            else r = await runCase(suite, c, name, cassette!, where, opts);
            result.cases.push(r);
            if (r.status === "failed" || r.status === "error") {
              failures++;
              if (opts.bail !== undefined && failures >= opts.bail) bailed = true;
            }
            opts.observer?.caseFinished?.(r);
          }),
        ),
      );
      cassette?.save();
      // Cases in the order they are written, whatever order they finished in.
      const order = new Map(selected.map(({ name }, i) => [name, i]));
      result.cases.sort((a, b) => (order.get(a.name) ?? 0) - (order.get(b.name) ?? 0));
      result.durationMs = Date.now() - s0;
      if (cassette) result.recording = { path: cassette.path, replayed: cassette.replayed, recorded: cassette.recorded };
      opts.observer?.suiteFinished?.(result);
    }),
  );

  const ordered = suites.map((s) => results.find((r) => r.file === s.file)!).filter((r) => r && r.cases.length > 0);
  const all = ordered.flatMap((s) => s.cases);
  const summary: TestSummary = {
    suites: ordered,
    cases: all.length,
    passed: all.filter((c) => c.status === "passed").length,
    failed: all.filter((c) => c.status === "failed" || c.status === "error").length,
    errors: all.filter((c) => c.status === "error").length,
    skipped: all.filter((c) => c.status === "skipped").length,
    tokens: all.reduce((n, c) => n + c.tokens, 0),
    cost: all.reduce((n, c) => n + c.cost, 0),
    durationMs: Date.now() - t0,
    bailed,
  };
  await opts.observer?.finished?.(summary);
  return summary;
}

async function caseName(c: TestCase): Promise<string> {
  if (!c.nameTemplate) return c.name;
  try {
    const v = await evaluateTemplate(c.nameTemplate, { row: c.row, index: c.index });
    return typeof v === "string" && v !== "" ? v : c.name;
  } catch {
    return c.name;
  }
}

function blank(suite: TestSuite, c: TestCase, name: string, where: (l: Location) => Where, status: CaseResult["status"]): CaseResult {
  return { suite: suite.file, pipeline: suite.pipeline.name, name, status, where: where(c.location), durationMs: 0, assertions: [], tokens: 0, cost: 0, runIds: [] };
}

async function runCase(suite: TestSuite, c: TestCase, name: string, cassette: Cassette, where: (l: Location) => Where, opts: RunSuitesOptions): Promise<CaseResult> {
  const t0 = Date.now();
  const result = blank(suite, c, name, where, "passed");
  const orchestrator = new TaskOrchestrator(new ModelRegistry(), { ...(opts.env ? { env: opts.env } : {}) });
  const context = new ContextManager(new MemoryStore());
  const hooks: CallHook[] = [cassette];
  try {
    for (let t = 0; t < c.turns.length; t++) {
      const turn = c.turns[t]!;
      const turnNo = c.turns.length > 1 ? t : undefined;
      const pipeline = withMocks(suite.pipeline, { ...c.mocks, ...turn.mocks });
      const bindings: Record<string, unknown> = { row: c.row, index: c.index };
      let input: unknown;
      try {
        input = await evaluateTemplate(turn.input, bindings);
      } catch (e) {
        result.status = "error";
        result.error = { message: `the input could not be made: ${(e as Error).message}`, where: result.where };
        break;
      }
      bindings.input = input;
      let report: RunReport;
      try {
        report = await orchestrator.runPipeline(pipeline, input, {
          hooks,
          context,
          ...(c.conversation !== undefined ? { conversationId: c.conversation } : {}),
          ...(opts.signal ? { signal: opts.signal } : {}),
        });
      } catch (e) {
        result.status = "error";
        const msg = e instanceof ConfigError ? e.diagnostics.map((d) => d.message).join("; ") : (e as Error).message;
        result.error = { message: `${turnNo !== undefined ? `turn ${t + 1}: ` : ""}${msg}`, where: result.where };
        break;
      }
      result.runIds.push(report.runId);
      result.tokens += report.totals.inputTokens + report.totals.outputTokens;
      result.cost += report.totals.cost;
      const ctx = {
        report,
        bindings,
        where,
        ...(turnNo !== undefined ? { turn: turnNo } : {}),
        grade: (rubric: string, grader: string, value: unknown) => gradeWithModel(orchestrator, pipeline, hooks, rubric, grader, value),
      };
      const checksStatus = turn.assertions.some((a) => a.step === undefined && a.checks.some((k) => k.kind === "status"));
      if (!checksStatus && report.status !== "success") {
        const implicit: AssertionResult = {
          passed: false,
          kind: "status",
          subject: "run",
          message: `the run ${report.status === "cancelled" ? "was cancelled" : "failed"}: ${report.error?.message ?? "no error given"}`,
          expected: "success",
          actual: report.status,
          where: result.where,
          ...(turnNo !== undefined ? { turn: turnNo } : {}),
        };
        result.assertions.push(implicit);
      }
      for (const a of turn.assertions) result.assertions.push(...(await judgeAssertion(a, ctx)));
    }
  } finally {
    await orchestrator.close();
  }
  if (result.status !== "error" && result.assertions.some((a) => !a.passed)) result.status = "failed";
  result.durationMs = Date.now() - t0;
  return result;
}
