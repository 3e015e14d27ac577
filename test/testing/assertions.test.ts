/**
 * Every assertion kind, passing and failing, on real runs of the engine (mock models): the
 * failure's message and the file:line of the assertion.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadSuite } from "../../src/testing/suite.js";
import { runSuites } from "../../src/testing/runner.js";
import type { AssertionResult, CaseResult } from "../../src/testing/results.js";
import { tempProject } from "../helpers/project.js";

const PIPELINE = `version: 1
name: shop
models:
  llm:
    provider: mock
    capabilities: [text-generation]
    cost: { input: 1, output: 2 }
    options: { reply: { text: "route: billing" }, usage: { inputTokens: 10, outputTokens: 5 } }
  flaky:
    provider: mock
    capabilities: [text-generation]
    fallback: [llm]
    options: { failFirst: 5, reply: { text: never } }
steps:
  ask: { model: llm, input: { prompt: "\${{ $input.q }}" } }
  shaky: { model: flaky, retry: { attempts: 2, initialDelay: 1ms }, input: { prompt: hi } }
output:
  route: billing
  text: \${{ $steps.ask.output.text }}
  tags: [a, b]
  order: { id: 7, items: [{ sku: x1, qty: 2 }] }
`;

const SUITE = `version: 1
pipeline: ./shop.yaml
grader: llm
tests:
  - name: passing
    input: { q: refund please }
    assert:
      - { at: route, equals: billing }
      - { at: order, equals: { id: 7, items: [{ sku: x1, qty: 2 }] } }
      - { at: text, contains: billing }
      - { at: tags, contains: b }
      - { at: order, contains: { id: 7 } }
      - { at: text, matches: "^route: (billing|tech)$" }
      - { at: text, matches: "/ROUTE/i" }
      - schema: { type: object, required: [route, text] }
      - expect: \${{ $output.route = "billing" and $steps.ask.status = "success" }}
      - { step: ask, status: success, model: llm, attempts: 1, fallbacks: 0 }
      - { step: shaky, status: success, model: llm, attempts: 3, fallbacks: 1 }
      - { step: ask, at: text, equals: "route: billing" }
      - { status: success, tokens: { max: 100 }, cost: { max: 1 }, duration: 60s }
  - name: failing
    input: { q: refund please }
    assert:
      - { at: route, equals: tech-1 }
      - { at: order, equals: { id: 8, items: [{ sku: x1, qty: 2 }] } }
      - { at: text, contains: refund-2 }
      - { at: text, matches: "^tech-3" }
      - schema: { type: object, required: [missing4] }
      - expect: \${{ $output.route = "tech-5" }}
      - { step: ask, status: failed }
      - { step: ask, model: flaky }
      - { step: shaky, attempts: 1 }
      - { step: shaky, fallbacks: { max: 0 } }
      - { tokens: { max: 10 } }
      - { cost: { max: 0.000001 } }
      - { duration: { min: 1h } }
      - { status: failed }
`;

function lineOf(text: string, needle: string): number {
  const at = text.indexOf(needle);
  if (at < 0) throw new Error(`no ${needle}`);
  return text.slice(0, at).split("\n").length;
}

async function run(): Promise<{ passing: CaseResult; failing: CaseResult; file: string }> {
  const dir = tempProject({ "shop.yaml": PIPELINE, "shop.test.yaml": SUITE });
  const file = join(dir, "shop.test.yaml");
  const loaded = await loadSuite(file);
  expect(loaded.diagnostics).toEqual([]);
  const summary = await runSuites([loaded.suite!], { recordMode: "none" });
  const cases = summary.suites[0]!.cases;
  return { passing: cases.find((c) => c.name === "passing")!, failing: cases.find((c) => c.name === "failing")!, file };
}

describe("assertions", () => {
  it("pass when the run meets them: output, steps (status, model, attempts, fallbacks) and run bounds", async () => {
    const { passing } = await run();
    expect(passing.assertions.filter((a) => !a.passed)).toEqual([]);
    expect(passing.status).toBe("passed");
    expect(passing.assertions.map((a) => a.kind)).toEqual([
      "equals",
      "equals",
      "contains",
      "contains",
      "contains",
      "matches",
      "matches",
      "schema",
      "expect",
      "status",
      "model",
      "attempts",
      "fallbacks",
      "status",
      "model",
      "attempts",
      "fallbacks",
      "equals",
      "status",
      "tokens",
      "cost",
      "duration",
    ]);
  });

  it("fail with a message saying expected and actual, at the line of the check", async () => {
    const { failing, file } = await run();
    const text = SUITE;
    expect(failing.status).toBe("failed");
    const byLine = (needle: string): AssertionResult => {
      const line = lineOf(text, needle);
      const found = failing.assertions.filter((a) => a.where.line === line);
      expect(found, `an assertion at line ${line} (${needle})`).toHaveLength(1);
      expect(found[0]!.where.file).toBe(file);
      expect(found[0]!.passed).toBe(false);
      return found[0]!;
    };
    expect(byLine("tech-1").message).toBe('expected output at `route` to equal "tech-1", got "billing"');
    const deep = byLine("id: 8");
    expect(deep.message).toMatch(/^expected output at `order` to equal \{"id":8,/);
    expect(deep.diff).toContain('-   "id": 8,');
    expect(deep.diff).toContain('+   "id": 7,');
    expect(byLine("refund-2").message).toBe('expected output at `text` to contain "refund-2", got "route: billing"');
    expect(byLine("^tech-3").message).toBe('expected output at `text` to match ^tech-3, got "route: billing"');
    expect(byLine("missing4").message).toBe("expected output to match the schema: (root) must have required property 'missing4'");
    expect(byLine("tech-5").message).toBe('expected `$output.route = "tech-5"` to be true, got false');
    expect(byLine("status: failed }\n      - { step: ask, model").message).toBe("expected step 'ask' status to be failed, got success");
    expect(byLine("model: flaky").message).toBe("expected step 'ask' to run on model 'flaky', got 'llm'");
    expect(byLine("attempts: 1 }").message).toBe("expected step 'shaky' attempts to be 1, got 3");
    expect(byLine("fallbacks: { max: 0 }").message).toBe("expected step 'shaky' fallbacks to be at most 0, got 1");
    expect(byLine("tokens: { max: 10 }").message).toBe("expected run tokens to be at most 10, got 30");
    expect(byLine("max: 0.000001").message).toMatch(/^expected run cost to be at most \$0\.000001, got \$0\.00004$/);
    expect(byLine("min: 1h").message).toMatch(/^expected run duration to be at least 60m0s, got \d+ms$/);
    expect(byLine("{ status: failed }").message).toBe("expected run status to be failed, got success");
    expect(failing.assertions.every((a) => !a.passed)).toBe(true);
  });

  it("grade a rubric with the grader model, through the same engine", async () => {
    const dir = tempProject({
      "p.yaml": `version: 1
name: p
models:
  writer: { provider: mock, capabilities: [text-generation], options: { reply: { text: "Dear customer, we are sorry." } } }
  judge:
    provider: mock
    capabilities: [text-generation]
    options:
      reply:
        text: '\${{ $contains($request.messages[0].content, "sorry") ? "{\\"pass\\": true, \\"reason\\": \\"it apologises\\"}" : "FAIL: no apology" }}'
steps:
  draft: { model: writer, input: { prompt: "\${{ $input.q }}" } }
output: \${{ $steps.draft.output.text }}
`,
      "p.test.yaml": `version: 1
pipeline: p.yaml
grader: judge
tests:
  - name: apologises
    input: { q: x }
    assert:
      - rubric: The reply apologises
  - name: rude
    input: { q: x }
    mocks: { writer: { reply: { text: "Go away." } } }
    assert:
      - rubric: The reply apologises
`,
    });
    const loaded = await loadSuite(join(dir, "p.test.yaml"));
    expect(loaded.diagnostics).toEqual([]);
    const s = await runSuites([loaded.suite!]);
    const [ok, rude] = s.suites[0]!.cases;
    expect(ok!.assertions[0]).toMatchObject({ passed: true, kind: "rubric", message: "output meets the rubric (judge: it apologises)" });
    expect(rude!.assertions[0]).toMatchObject({ passed: false, message: 'output does not meet the rubric "The reply apologises": judge says no apology', where: { line: 13 } });
  });

  it("fail a case whose run failed even when no assertion checks the status", async () => {
    const dir = tempProject({
      "p.yaml": `version: 1
name: p
models:
  m: { provider: mock, capabilities: [text-generation], options: { failFirst: 9 } }
steps:
  a: { model: m, retry: { attempts: 1 }, input: { prompt: x } }
`,
      "p.test.yaml": "version: 1\npipeline: p.yaml\ntests:\n  - name: boom\n    input: {}\n",
    });
    const loaded = await loadSuite(join(dir, "p.test.yaml"));
    const s = await runSuites([loaded.suite!]);
    const c = s.suites[0]!.cases[0]!;
    expect(c.status).toBe("failed");
    expect(c.assertions[0]).toMatchObject({ kind: "status", passed: false, where: { line: 4 } });
    expect(c.assertions[0]!.message).toMatch(/^the run failed: .*mock failure on call 1/);
    expect(s).toMatchObject({ cases: 1, passed: 0, failed: 1 });
  });
});
