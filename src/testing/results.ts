/**
 * What a test run produces: one result per case, each with the results of its assertions,
 * and a summary. Plain JSON objects: the reporters (terminal, JSON, JUnit, GitHub) only
 * read these.
 */
import type { CheckKind } from "./assertion-types.js";

/** A place in a test file, as editors and CI annotations want it. */
export interface Where {
  file: string;
  line: number;
  col: number;
}

/** One check of an assertion, after the run. */
export interface AssertionResult {
  passed: boolean;
  kind: CheckKind;
  /** What was checked: `output`, `output.route`, `step 'sentiment'`, `run` ... */
  subject: string;
  /** The assertion's name, when it has one. */
  name?: string;
  /** One line: what was expected and what was found. */
  message: string;
  expected?: unknown;
  actual?: unknown;
  /** Expected vs actual, line by line, when the values are long. */
  diff?: string;
  /** The check's key in the test file. */
  where: Where;
  /** Turn index (cases with turns:). */
  turn?: number;
}

/** How a case ended. `error`: it could not be judged (invalid input, recording missing ...). */
export type CaseStatus = "passed" | "failed" | "skipped" | "error";

export interface CaseResult {
  /** The test file. */
  suite: string;
  pipeline: string;
  name: string;
  status: CaseStatus;
  /** Where the case is written (a data set case: its row in the data set). */
  where: Where;
  durationMs: number;
  assertions: AssertionResult[];
  /** Why the case could not be judged (status error), or the run's error (status failed). */
  error?: { message: string; where?: Where };
  tokens: number;
  cost: number;
  runIds: string[];
}

export interface SuiteResult {
  file: string;
  pipeline: string;
  cases: CaseResult[];
  durationMs: number;
  recording?: { path: string; replayed: number; recorded: number };
}

export interface TestSummary {
  suites: SuiteResult[];
  cases: number;
  passed: number;
  failed: number;
  /** Cases that could not be judged, counted in `failed` too. */
  errors: number;
  skipped: number;
  tokens: number;
  cost: number;
  durationMs: number;
  /** True when --bail stopped the run early. */
  bailed: boolean;
}

/** Receives results as they come; reporters implement it. */
export interface TestObserver {
  suiteStarted?(suite: { file: string; pipeline: string; cases: number }): void;
  caseFinished?(result: CaseResult): void;
  suiteFinished?(result: SuiteResult): void;
  finished?(summary: TestSummary): void | Promise<void>;
}
