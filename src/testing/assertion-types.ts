/**
 * What a test file's assertions compile to: each assertion selects a value (a step's output,
 * `at:`) and makes one or more checks on it.
 */
import type { ValidateFunction } from "ajv";
import type { Location } from "../diagnostics/diagnostic.js";
import type { CompiledExpression } from "../expr/expression.js";
import type { Template } from "../expr/template.js";

/** A number bound: `exact` for counts written as a bare number, else min/max. */
export interface Bound {
  min?: number;
  max?: number;
  exact?: number;
}

/** One check of an assertion; `location` is its key in the test file. */
export type Check = { readonly location: Location; readonly key: string } & (
  | { readonly kind: "equals" | "contains"; readonly expected: Template }
  | { readonly kind: "matches"; readonly regex: RegExp; readonly pattern: string }
  | { readonly kind: "schema"; readonly validate: ValidateFunction; readonly schema: unknown }
  | { readonly kind: "expect"; readonly expr: CompiledExpression; readonly source: string }
  | { readonly kind: "status" | "model"; readonly expected: string }
  | { readonly kind: "attempts" | "fallbacks" | "tokens" | "cost" | "duration"; readonly bound: Bound }
  | { readonly kind: "rubric"; readonly rubric: string; readonly grader: string }
);

export type CheckKind = Check["kind"];

export interface Assertion {
  readonly name?: string;
  readonly step?: string;
  /** Selects the value checked; source kept for messages. */
  readonly at?: { readonly expr: CompiledExpression; readonly source: string };
  readonly checks: readonly Check[];
  readonly location: Location;
}
