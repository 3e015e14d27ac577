import { describe, expect, it } from "vitest";
import { headlines, load, rendered } from "../helpers/diagnostics.js";

const MODELS = `models:
  nlp:
    provider: nlp
    capabilities: [sentiment-analysis, entity-extraction]
  gpt:
    provider: openai
    model: gpt-4o-mini
    baseUrl: http://127.0.0.1:9/v1
    capabilities: [text-generation]
  scorer:
    provider: mock
    capabilities: [scoring]
    outputSchema:
      type: object
      properties: { score: { type: number }, tags: { type: array, items: { type: object, properties: { name: { type: string } }, additionalProperties: false } } }
      additionalProperties: false
  loose:
    provider: mock
    capabilities: [loose]
`;

const pipeline = (steps: string, output = "") => `version: 1
${MODELS}steps:
${steps}${output}`;

/** Steps several tests read: an nlp analysis, and an LLM call. */
const SENTIMENT = `  sentiment:
    capabilities: [sentiment-analysis]
    input: { text: "\${{ $input.text }}" }
`;
const DRAFT = `  draft:
    model: gpt
    input: { prompt: hi }
`;

describe("typed references", () => {
  it("warn with 'did you mean' on a misspelt field of a built-in provider's output", () => {
    const r = load(
      pipeline(`${SENTIMENT}  reply:
    model: gpt
    input: { prompt: "\${{ $steps.sentiment.output.sentimnet.label }}" }
`),
    );
    expect(r.pipeline).toBeDefined();
    expect(headlines(r)).toEqual(["p.yaml:27:51: warning MCP207: 'sentimnet' is not a field of $steps.sentiment.output (did you mean 'sentiment'?)"]);
    expect(rendered(r)).toContain("hint: the output is described by the nlp provider's output (model 'nlp'); its fields: usage, sentiment, label, score");
  });

  it("report the same misspelt field at each place it is written, also after correct uses of the step", () => {
    // The same texts in several steps: a text checked once and found clean is not walked
    // again; one with a problem is reported wherever it is.
    const reader = (id: string, when = "") => `  ${id}:
    model: gpt
    input: { prompt: "\${{ $steps.draft.output.text }} \${{ $steps.draft.output.txt }}" }
${when}`;
    const text = pipeline(`${DRAFT}${reader("one")}${reader("two", "    when: $steps.draft.output.finishReason = 1\n")}${reader("three", "    when: $steps.draft.output.finishReason = 1\n")}`);
    const r = load(text);
    const at = (n: number) => {
      let i = -1;
      for (let k = 0; k <= n; k++) i = text.indexOf("output.txt", i + 1);
      const before = text.slice(0, i + 7);
      return `${before.split("\n").length}:${before.length - before.lastIndexOf("\n")}`;
    };
    const whenAt = (n: number) => {
      let i = -1;
      for (let k = 0; k <= n; k++) i = text.indexOf("when: ", i + 1);
      const before = text.slice(0, i + 6);
      return `${before.split("\n").length}:${before.length - before.lastIndexOf("\n")}`;
    };
    expect(headlines(r)).toEqual([
      `p.yaml:${at(0)}: warning MCP207: 'txt' is not a field of $steps.draft.output (did you mean 'text'?)`,
      `p.yaml:${at(1)}: warning MCP207: 'txt' is not a field of $steps.draft.output (did you mean 'text'?)`,
      `p.yaml:${whenAt(0)}: error MCP208: $steps.draft.output.finishReason is a string, compared (=) with an integer 1: the condition can never hold`,
      `p.yaml:${at(2)}: warning MCP207: 'txt' is not a field of $steps.draft.output (did you mean 'text'?)`,
      `p.yaml:${whenAt(1)}: error MCP208: $steps.draft.output.finishReason is a string, compared (=) with an integer 1: the condition can never hold`,
    ]);
  });

  it("know the LLM call shape: text, json, usage, finishReason", () => {
    const ok = load(
      pipeline(
        DRAFT,
        `output:
  a: \${{ $steps.draft.output.text }}
  b: \${{ $steps.draft.output.usage.outputTokens }}
  c: \${{ $steps.draft.output.json.anything.goes }}
  d: \${{ $steps.draft.output.finishReason }}
`,
      ),
    );
    expect(headlines(ok)).toEqual([]);
    const bad = load(
      pipeline(
        DRAFT,
        `output:
  a: \${{ $steps.draft.output.txt }}
  b: \${{ $steps.draft.output.text.length }}
  c: \${{ $steps.draft.output.usage.outputTokns }}
`,
      ),
    );
    expect(headlines(bad)).toEqual([
      "p.yaml:26:30: warning MCP207: 'txt' is not a field of $steps.draft.output (did you mean 'text'?)",
      "p.yaml:27:35: warning MCP207: $steps.draft.output.text is a string; it has no field 'length'",
      "p.yaml:28:36: warning MCP207: 'outputTokns' is not a field of $steps.draft.output.usage (did you mean 'outputTokens'?)",
    ]);
  });

  it("follow a model's declared outputSchema, through arrays and forEach", () => {
    const r = load(
      pipeline(
        `  each:
    model: scorer
    forEach: "[1, 2]"
    input: { n: "\${{ $item }}" }
  one:
    model: scorer
    input: {}
`,
        `output:
  ok: \${{ $steps.each.output.score }}
  tags: \${{ $steps.one.output.tags[0].name }}
  bad: \${{ $steps.one.output.tags.nme }}
  free: \${{ $steps.loose_not_there }}
`,
      ),
    );
    expect(headlines(r).filter((h) => h.includes("MCP207"))).toEqual(["p.yaml:32:35: warning MCP207: 'nme' is not a field of $steps.one.output.tags (did you mean 'name'?)"]);
  });

  it("check a step's own outputSchema, and nothing where the output is unknown", () => {
    const r = load(
      pipeline(
        `  mapped:
    model: gpt
    input: { prompt: hi }
    output: { answer: "\${{ $result.text }}" }
  typed:
    model: loose
    input: {}
    outputSchema: { type: object, properties: { route: { type: string } }, additionalProperties: false }
  untyped:
    model: loose
    input: {}
`,
        `output:
  a: \${{ $steps.mapped.output.whatever }}
  b: \${{ $steps.untyped.output.whatever }}
  c: \${{ $steps.typed.output.rout }}
`,
      ),
    );
    expect(headlines(r)).toEqual(["p.yaml:36:30: warning MCP207: 'rout' is not a field of $steps.typed.output (did you mean 'route'?)"]);
  });

  it("make a when: comparing a field with a value of another type an error", () => {
    const r = load(
      pipeline(`${SENTIMENT}  reply:
    model: gpt
    when: $steps.sentiment.output.score = "negative"
    input: { prompt: hi }
  other:
    model: gpt
    when: $steps.sentiment.output.score < -0.2 and $steps.sentiment.output.label = "negative"
    input: { prompt: hi }
  third:
    model: gpt
    when: $steps.reply.output.finishReason = 1
    input: { prompt: hi }
`),
    );
    expect(r.pipeline).toBeUndefined();
    expect(headlines(r)).toEqual([
      `p.yaml:27:11: error MCP208: $steps.sentiment.output.score is a number, compared (=) with a string "negative": the condition can never hold`,
      `p.yaml:35:11: error MCP208: $steps.reply.output.finishReason is a string, compared (=) with an integer 1: the condition can never hold`,
    ]);
    expect(rendered(r)).toContain("~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~");
  });
});

describe("typed references over a fallback chain", () => {
  it("accept a field any model of the chain gives, and warn on one none gives", () => {
    const r = load(
      pipeline(
        `  summary:
    model: gpt
    fallback: [nlp]
    input: { prompt: hi }
`,
        `output:
  a: \${{ $steps.summary.output.text }}
  b: \${{ $steps.summary.output.label }}
  c: \${{ $steps.summary.output.titel }}
`,
      ),
    );
    expect(headlines(r)).toEqual(["p.yaml:29:32: warning MCP207: 'titel' is not a field of $steps.summary.output"]);
    expect(rendered(r)).toContain("the outputs of its models (the openai provider's output (model 'gpt'); the nlp provider's output (model 'nlp'))");
  });
});
