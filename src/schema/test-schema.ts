/** The JSON Schema of `*.test.yaml` files (docs/testing.md), self-contained like the others. */
import { defs, SCHEMA_BASE } from "./definitions.js";
import { bool, d, num, ref, strict, str, type Schema } from "./schema-parts.js";

/** A bound on a number: at most N, or { min, max }. */
const bound = (description: string): Schema =>
  d(description, {
    anyOf: [
      { type: "number", minimum: 0 },
      strict("Lower and upper bounds, inclusive.", {
        min: num("At least this.", { minimum: 0 }),
        max: num("At most this.", { minimum: 0 }),
      }),
    ],
  });
/** A bound on a duration: at most D, or { min, max }. */
const durationBound = (description: string): Schema =>
  d(description, {
    anyOf: [
      { $ref: "#/$defs/duration" },
      strict("Lower and upper bounds, inclusive.", {
        min: { $ref: "#/$defs/duration", description: "At least this long." },
        max: { $ref: "#/$defs/duration", description: "At most this long." },
      }),
    ],
  });

const testDefs: Record<string, Schema> = {
  duration: defs.duration!,
  template: defs.template!,
  mocks: d(
    "Models replaced by the mock provider in this test: model name -> mock options (reply, replies, latency, failFirst, failRate, failWith, usage). The model keeps its capabilities, limits and cost.",
    {
      type: "object",
      additionalProperties: d("Options of the mock provider (docs/providers.md).", { type: "object" }),
    },
  ),
  assertion: strict(
    "One assertion: an optional subject (`step:`, `at:`) and one or more checks. Without `step:` the checks are on the run's output (status, tokens, cost, duration: on the run).",
    {
      name: str("A name for the assertion, shown when it fails."),
      step: str("Check this step instead of the run: its output, status, model, attempts, fallbacks, tokens, cost, duration."),
      at: str("JSONata expression selecting the value checked from the output (or the step's output), e.g. route or entities[type = 'MONEY'].value."),
      equals: { $ref: "#/$defs/template", description: "The value equals this (deep equality). A template over $row and $input." },
      contains: { $ref: "#/$defs/template", description: "A string contains this text, a list contains this element, a mapping contains these keys and values." },
      matches: str("A string matches this regular expression (ECMAScript syntax; /pattern/flags for flags)."),
      schema: d("The value is valid against this JSON Schema (draft 2020-12).", { type: ["object", "boolean"] }),
      expect: str('A JSONata predicate that must be true: ${{ $output.route = "billing" }}. Bindings: $output, $steps, $run, $input, $row.'),
      status: d("The run's status (success, failed, cancelled) or, with step:, the step's (success, failed, skipped, aborted).", {
        enum: ["success", "failed", "cancelled", "skipped", "aborted"],
      }),
      model: str("With step: the model that produced the step's output."),
      attempts: bound("With step: number of attempts (calls tried, retries and fallbacks included): exactly N, or { min, max }."),
      fallbacks: bound("With step: times the step fell back to the next model: exactly N, or { min, max }."),
      tokens: bound("Input plus output tokens of the run (or the step): at most N, or { min, max }."),
      cost: bound("Cost in USD of the run (or the step): at most N, or { min, max }."),
      duration: durationBound("Duration of the run (or the step): at most D, or { min, max }."),
      rubric: str("A model-graded check: the grader model is asked whether the output meets this rubric. Needs a recording or a model to run."),
      grader: str("The model (registry name) that grades `rubric`; default: the suite's grader."),
    },
    { minProperties: 1 },
  ),
  turn: strict(
    "One run of a multi-turn case: the same conversation, one input after another.",
    {
      name: str("A name for the turn."),
      input: { $ref: "#/$defs/template", description: "The run input of this turn." },
      mocks: ref("mocks", "Models replaced by mocks in this turn."),
      assert: d("Assertions on this turn's run.", { type: "array", items: { $ref: "#/$defs/assertion" } }),
    },
    { required: ["input"] },
  ),
  case: strict("A test case: an input (or a data set, one case per row) and assertions on the run.", {
    name: str("The case's name, shown in reports; with a data set a template over $row and $index."),
    description: str("What the case checks."),
    skip: bool("Do not run this case (reported as skipped)."),
    input: { $ref: "#/$defs/template", description: "The run input; with a data set a template over $row (default: the row itself)." },
    dataset: str("A data set file (.jsonl, .csv, .json list), relative to this file: every row is a case."),
    conversation: str("Conversation id for the runs (each case starts with an empty conversation)."),
    mocks: ref("mocks", "Models replaced by mocks in this case, over the suite's."),
    assert: d("Assertions on the run.", { type: "array", items: { $ref: "#/$defs/assertion" } }),
    turns: d("Runs one after another in one conversation, each with its own input and assertions.", {
      type: "array",
      minItems: 1,
      items: { $ref: "#/$defs/turn" },
    }),
  }),
};

/** The schema of `*.test.yaml` files: test suites of one pipeline (docs/testing.md). */
export const testSchema: Schema = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: `${SCHEMA_BASE}/test.schema.json`,
  title: "MCP pipeline test suite (*.test.yaml)",
  description: "Test cases of one pipeline: inputs or data sets, mocks, and assertions. See docs/testing.md.",
  type: "object",
  additionalProperties: false,
  required: ["pipeline", "tests"],
  properties: {
    $schema: str("JSON Schema of this file, for editors."),
    version: d("File format version.", { const: 1 }),
    pipeline: str("The pipeline file under test, relative to this file."),
    description: str("What the suite checks."),
    mocks: ref("mocks", "Models replaced by mocks in every case: model name -> mock options."),
    grader: str("Model (registry name) that grades `rubric` assertions."),
    tests: d("The test cases.", { type: "array", minItems: 1, items: { $ref: "#/$defs/case" } }),
  },
  $defs: testDefs,
};
