/**
 * Compiling sub-pipelines (`pipeline:`) and bounded loops (`repeat:`): the child is loaded
 * with the parent, and every mistake is a diagnostic with its place, rendered as the CLI
 * prints it.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadPipelineFile } from "../../src/compiler/load.js";
import { rendered } from "../helpers/diagnostics.js";
import { tempProject } from "../helpers/project.js";

const CHILD = `version: 1
name: summarise
inputs:
  type: object
  required: [text]
  additionalProperties: false
  properties: { text: { type: string }, words: { type: integer } }
models:
  llm: { provider: mock, capabilities: [text-generation] }
steps:
  short: { model: llm, input: { prompt: "\${{ $input.text }}" } }
output: \${{ $steps.short.output.text }}
`;

/** Loads `main.yaml` of a temp project holding `files`, as `mcp validate` would (paths relative to the project). */
function loadIn(files: Record<string, string>, main = "main.yaml") {
  const dir = tempProject(files);
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    return { dir, r: loadPipelineFile(main, { configPath: null }) };
  } finally {
    process.chdir(cwd);
  }
}

describe("sub-pipelines at compile time", () => {
  it("compiles the child with the parent: its steps, its models, and its file in the parent's hash and files", () => {
    const { dir, r } = loadIn({
      "child.yaml": CHILD,
      "main.yaml": `version: 1
steps:
  summary:
    pipeline: ./child.yaml
    input: { text: "\${{ $input.text }}" }
`,
    });
    expect(rendered(r)).toBe("");
    const step = r.pipeline!.steps.get("summary")!;
    expect(step.chain).toEqual([]);
    expect(step.pipeline!.ref).toBe("./child.yaml");
    expect([...step.pipeline!.compiled.steps.keys()]).toEqual(["short"]);
    expect(step.pipeline!.compiled.models.map((m) => m.name)).toEqual(["llm"]);
    expect(r.pipeline!.files).toEqual([join(dir, "child.yaml")]);
    expect(r.pipeline!.hash).not.toBe(step.pipeline!.compiled.hash);
  });

  it("gives a sub-pipeline step its own timeout only: defaults.timeout bounds model calls, not nested runs", () => {
    const { r } = loadIn({
      "child.yaml": CHILD,
      "main.yaml": `version: 1
defaults: { timeout: 2s }
steps:
  bounded: { pipeline: ./child.yaml, input: { text: a }, timeout: 90s }
  unbounded: { pipeline: ./child.yaml, input: { text: b } }
`,
    });
    expect(rendered(r)).toBe("");
    expect(r.pipeline!.steps.get("bounded")!.timeoutMs).toBe(90_000);
    expect(r.pipeline!.steps.get("unbounded")!.timeoutMs).toBeUndefined();
  });

  it("names the chain of files of a cycle, with a note at each file's pipeline: step", () => {
    const { r } = loadIn(
      {
        "a.yaml": "version: 1\nsteps:\n  callb:\n    pipeline: ./sub/b.yaml\n",
        "sub/b.yaml": "version: 1\nsteps:\n  callc:\n    pipeline: ../c.yaml\n",
        "c.yaml": "version: 1\nsteps:\n  again:\n    pipeline: a.yaml\n",
      },
      "a.yaml",
    );
    expect(r.pipeline).toBeUndefined();
    expect(rendered(r)).toBe(
      [
        "c.yaml:4:15: error MCP310: cycle of pipeline files: a.yaml -> sub/b.yaml -> c.yaml -> a.yaml",
        "    4 |     pipeline: a.yaml",
        "                      ~~~~~~",
        "  hint: a pipeline cannot run itself, directly or through others; remove one of these `pipeline:` steps",
        "  a.yaml:4:15: note: a.yaml runs sub/b.yaml",
        "  sub/b.yaml:4:15: note: sub/b.yaml runs c.yaml",
      ].join("\n"),
    );
  });

  it("reports a pipeline that runs itself", () => {
    const { r } = loadIn({ "main.yaml": "version: 1\nsteps:\n  me:\n    pipeline: ./main.yaml\n" });
    expect(rendered(r)).toMatch(/^main\.yaml:4:15: error MCP310: cycle of pipeline files: main\.yaml -> main\.yaml\n/);
  });

  it("points at the pipeline: value when the child file is missing", () => {
    const { r } = loadIn({ "main.yaml": "version: 1\nsteps:\n  gone:\n    pipeline: ./nope.yaml\n" });
    expect(rendered(r)).toBe(
      [
        "main.yaml:4:15: error MCP311: cannot read the sub-pipeline ./nope.yaml: no such file (nope.yaml)",
        "    4 |     pipeline: ./nope.yaml",
        "                      ~~~~~~~~~~~",
        "  hint: the path is relative to this pipeline file",
      ].join("\n"),
    );
  });

  it("reports the child's errors with its file, and points at the step that runs it", () => {
    const { r } = loadIn({
      "child.yaml": "version: 1\nsteps:\n  a: { model: nobody }\n",
      "main.yaml": "version: 1\nsteps:\n  sub:\n    pipeline: ./child.yaml\n",
    });
    const lines = rendered(r)
      .split("\n")
      .filter((l) => / (error|warning) MCP/.test(l));
    expect(lines).toEqual(["child.yaml:3:15: error MCP401: unknown model 'nobody'", "main.yaml:4:15: error MCP311: sub-pipeline ./child.yaml of step 'sub' has errors (1, reported with its file)"]);
  });

  it("refuses model keys on a step that runs a sub-pipeline", () => {
    const { r } = loadIn({ "child.yaml": CHILD, "main.yaml": "version: 1\nsteps:\n  sub:\n    pipeline: ./child.yaml\n    model: llm\n    input: { text: hi }\n" });
    expect(rendered(r)).toBe(
      [
        "main.yaml:5:5: error MCP311: step 'sub' runs the sub-pipeline ./child.yaml: it has no 'model' of its own",
        "    5 |     model: llm",
        "            ~~~~~",
        "  hint: the child's steps choose their models; remove the key (or move it into the child)",
      ].join("\n"),
    );
  });

  it("checks the input the parent passes against the child's inputs where the shape is known", () => {
    const { r } = loadIn({
      "child.yaml": CHILD,
      "main.yaml": `version: 1
steps:
  missing:
    pipeline: ./child.yaml
    input: { txt: "\${{ $input.text }}" }
  typed:
    pipeline: ./child.yaml
    input: { text: hello, words: many }
  computed:
    pipeline: ./child.yaml
    input: { text: "\${{ $input.text }}", words: "\${{ $count($input) }}" }
  none:
    pipeline: ./child.yaml
`,
    });
    const lines = rendered(r)
      .split("\n")
      .filter((l) => / (error|warning) MCP/.test(l));
    expect(lines).toEqual([
      "main.yaml:5:12: error MCP312: step 'missing' input for sub-pipeline ./child.yaml lacks the required key 'text'",
      "main.yaml:5:14: error MCP312: step 'missing' input for sub-pipeline ./child.yaml: the child takes no input 'txt' (did you mean 'text'?)",
      "main.yaml:8:34: error MCP312: step 'typed' input for sub-pipeline ./child.yaml: 'words' must be integer, found string",
      "main.yaml:12:3: error MCP312: step 'none' input for sub-pipeline ./child.yaml: the step has no input, and the child requires 'text'",
    ]);
  });
});

describe("repeat at compile time", () => {
  const MODELS = "models:\n  llm: { provider: mock, capabilities: [text-generation] }\n";

  it("requires max: no loop is unbounded", () => {
    const { r } = loadIn({ "main.yaml": `version: 1\n${MODELS}steps:\n  refine:\n    model: llm\n    repeat: { until: "$last.ok" }\n` });
    expect(rendered(r)).toBe(
      [
        "main.yaml:7:5: error MCP103: steps.refine.repeat is missing the key 'max'",
        '    7 |     repeat: { until: "$last.ok" }',
        "            ~~~~~~",
        "  hint: no loop is unbounded: say how many times it may run at most, e.g. max: 5",
      ].join("\n"),
    );
  });

  it("compiles until with its place, and reports a syntax error in it", () => {
    const ok = loadIn({
      "main.yaml": `version: 1\n${MODELS}steps:\n  refine:\n    model: llm\n    input: { prompt: "\${{ $last.text }}" }\n    repeat: { until: "$iteration > 2", max: 4, onMax: last }\n`,
    });
    expect(rendered(ok.r)).toBe("");
    expect(ok.r.pipeline!.steps.get("refine")!.repeat).toMatchObject({ max: 4, onMax: "last" });
    expect(ok.r.pipeline!.steps.get("refine")!.repeat!.until!.source).toBe("$iteration > 2");

    const bad = loadIn({ "main.yaml": `version: 1\n${MODELS}steps:\n  refine:\n    model: llm\n    repeat: { until: "$last.ok = ", max: 0 }\n` });
    const lines = rendered(bad.r)
      .split("\n")
      .filter((l) => / (error|warning) MCP/.test(l));
    expect(lines).toEqual([
      "main.yaml:7:32: error MCP201: expression syntax error: Unexpected end of expression (JSONata S0207)",
      "main.yaml:7:42: error MCP104: steps.refine.repeat.max must be >= 1, found the number 0",
    ]);
  });

  it("makes $steps in until a dependency, and warns of $last and $iteration outside a loop", () => {
    const { r } = loadIn({
      "main.yaml": `version: 1\n${MODELS}steps:\n  check: { model: llm }\n  refine:\n    model: llm\n    repeat: { until: "$steps.check.output.text = $last.text", max: 2 }\n  plain:\n    model: llm\n    input: { n: "\${{ $iteration }}" }\n`,
    });
    expect(r.pipeline!.steps.get("refine")!.dependencies).toEqual(["check"]);
    expect(rendered(r).split("\n")[0]).toBe("main.yaml:11:22: warning MCP205: $iteration is only set in a step with repeat; here it is empty");
  });
});
