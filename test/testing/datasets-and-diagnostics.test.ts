/** Data set rows as cases (JSONL, CSV, JSON), and the diagnostics of test files. */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SourceMap } from "../../src/diagnostics/source.js";
import { formatText } from "../../src/diagnostics/printer.js";
import { loadSuite } from "../../src/testing/suite.js";
import { runSuites } from "../../src/testing/runner.js";
import { tempProject } from "../helpers/project.js";

const PIPELINE = `version: 1
name: upper
models:
  m: { provider: mock, capabilities: [text-generation], options: { reply: { text: "\${{ $uppercase($request.prompt) }}" } } }
steps:
  up: { model: m, input: { prompt: "\${{ $input.word }}" } }
output: \${{ $steps.up.output.text }}
`;

const suite = (dataset: string) => `version: 1
pipeline: p.yaml
tests:
  - name: "upper \${{ $row.word }}"
    dataset: ${dataset}
    input: { word: "\${{ $row.word }}" }
    assert:
      - equals: \${{ $row.expected }}
`;

describe("data sets", () => {
  for (const [name, file, text] of [
    ["JSON Lines", "rows.jsonl", '{"word": "a", "expected": "A"}\n\n{"word": "b", "expected": "B"}\n{"word": "c", "expected": "wrong"}\n'],
    ["CSV", "rows.csv", "word,expected\na,A\nb,B\nc,wrong\n"],
    ["JSON", "rows.json", '[{"word": "a", "expected": "A"}, {"word": "b", "expected": "B"}, {"word": "c", "expected": "wrong"}]'],
  ] as const) {
    it(`makes every row of a ${name} file a case, named from the row`, async () => {
      const dir = tempProject({ "p.yaml": PIPELINE, "p.test.yaml": suite(file), [file]: text });
      const loaded = await loadSuite(join(dir, "p.test.yaml"));
      expect(loaded.diagnostics).toEqual([]);
      expect(loaded.suite!.cases).toHaveLength(3);
      const s = await runSuites([loaded.suite!]);
      const cases = s.suites[0]!.cases;
      expect(cases.map((c) => [c.name, c.status])).toEqual([
        ["upper a", "passed"],
        ["upper b", "passed"],
        ["upper c", "failed"],
      ]);
      expect(cases[2]!.assertions[0]!.message).toBe('expected output to equal "wrong", got "C"');
      if (name !== "JSON") expect(cases[2]!.where).toMatchObject({ file: join(dir, file), line: 4 });
    });
  }

  it("reports a bad row at its line in the data set, and a missing file at dataset:", async () => {
    const dir = tempProject({ "p.yaml": PIPELINE, "p.test.yaml": suite("rows.jsonl"), "rows.jsonl": '{"word": "a"}\n{"word": \n[1]\n' });
    const sources = new SourceMap();
    const r = await loadSuite(join(dir, "p.test.yaml"), { sources });
    const text = formatText(r.diagnostics, sources, { excerpt: false }).replaceAll(dir + "/", "");
    expect(text).toMatch(/^rows\.jsonl:2:1: error MCP603: data set row is not JSON: /m);
    expect(text).toContain("rows.jsonl:3:1: error MCP603: data set row must be a JSON object (one case per line)");
    const missing = tempProject({ "p.yaml": PIPELINE, "p.test.yaml": suite("nope.csv") });
    const m = await loadSuite(join(missing, "p.test.yaml"), { sources });
    expect(formatText(m.diagnostics, sources, { excerpt: false }).replaceAll(missing + "/", "")).toBe("p.test.yaml:5:14: error MCP603: cannot read the data set nope.csv: no such file");
  });
});

describe("test file diagnostics", () => {
  it("reports every problem of the file at once, compiler-style, with codes from the catalog", async () => {
    const dir = tempProject({
      "p.yaml": PIPELINE,
      "p.test.yaml": `version: 1
pipeline: p.yaml
mocks: { mm: { reply: x } }
tests:
  - name: one
    input: { word: a }
    assert:
      - { step: upp, equals: A }
      - { at: "$$$(", equals: A }
      - { matches: "(a+)+$" }
      - { model: m }
      - { expect: "\${{ $output = }}" }
      - { equls: A }
  - name: none
`,
    });
    const sources = new SourceMap();
    const r = await loadSuite(join(dir, "p.test.yaml"), { sources });
    expect(r.suite).toBeUndefined();
    const lines = formatText(r.diagnostics, sources, { excerpt: false })
      .replaceAll(dir + "/", "")
      .split("\n");
    expect(lines).toEqual([
      "p.test.yaml:3:10: error MCP605: unknown model 'mm' in pipeline 'upper' (did you mean 'm'?)",
      "p.test.yaml:8:17: error MCP602: unknown step 'upp' in pipeline 'upper' (did you mean 'up'?)",
      expect.stringMatching(/^p\.test\.yaml:9:1\d: error MCP201: expression syntax error: /),
      expect.stringMatching(/^p\.test\.yaml:10:20: error MCP604: invalid regular expression: nested quantifiers /),
      "p.test.yaml:11:11: error MCP606: 'model' checks a step: add step: <id> to this assertion",
      "p.test.yaml:12:32: error MCP201: expression syntax error: Unexpected end of expression (JSONata S0207)",
      "p.test.yaml:13:9: error MCP606: this assertion checks nothing: add one of equals, contains, matches, schema, expect, status, model, attempts, fallbacks, tokens, cost, duration, rubric",
      "p.test.yaml:13:11: error MCP101: unknown key 'equls' in tests[0].assert[5] (did you mean 'equals'?)",
      "p.test.yaml:14:5: error MCP607: test 'none' has no input: give input:, dataset: or turns:",
    ]);
  });

  it("says when the pipeline under test is missing", async () => {
    const dir = tempProject({ "p.test.yaml": "version: 1\npipeline: ./gone.yaml\ntests:\n  - input: {}\n" });
    const sources = new SourceMap();
    const r = await loadSuite(join(dir, "p.test.yaml"), { sources });
    expect(formatText(r.diagnostics, sources, { excerpt: false }).replaceAll(dir + "/", "")).toBe("p.test.yaml:2:11: error MCP601: the pipeline under test ./gone.yaml cannot be read: no such file");
  });
});
