/**
 * A long-lived loader (the live set) keeps each pipeline file's parse: a file whose text is
 * unchanged is compiled again against a changed mcp.yaml without being parsed again, and
 * the result is the same as a fresh load's (pipeline, diagnostics), also for a file with
 * schema errors and for a sub-pipeline; a changed text is parsed again.
 */
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { loadPipelineFile, type ParsedPipelines } from "../../src/compiler/load.js";
import { tempProject } from "../helpers/project.js";

const config = (reply: string) => `version: 1\nmodels:\n  m: { provider: mock, capabilities: [text-generation], options: { reply: { text: "${reply}" } } }\n`;
const PARENT = `version: 1
name: parent
steps:
  a: { model: m, input: { prompt: "\${{ $input.text }}" } }
  child: { pipeline: ./child.yaml, input: { text: "\${{ $steps.a.output.text }}" } }
output: "\${{ $steps.child.output }}"
`;
const CHILD = `version: 1\nname: child\nsteps:\n  b: { model: m, input: { prompt: "\${{ $input.text }}" } }\noutput: "\${{ $steps.b.output.text }}"\n`;
// A schema error (an unknown key) and a compile error (an unknown step) in one file.
const BROKEN = `version: 1\nname: broken\nsteps:\n  a: { model: m, colour: red, input: { prompt: "\${{ $steps.nope.output }}" } }\n`;

const view = (r: ReturnType<typeof loadPipelineFile>) => ({
  models: r.pipeline?.models.map((m) => [m.name, m.options]),
  steps: r.pipeline ? Object.keys(r.pipeline.steps) : undefined,
  diagnostics: r.diagnostics.map((d) => `${d.location?.file}:${d.location?.offset} ${d.code} ${d.message}`),
});

describe("loading with kept parses", () => {
  it("compiles an unchanged file against a changed mcp.yaml without parsing it again, as a fresh load would", () => {
    const dir = tempProject({ "mcp.yaml": config("first"), "parent.yaml": PARENT, "child.yaml": CHILD, "broken.yaml": BROKEN });
    const parsed: ParsedPipelines = new Map();
    for (const f of ["parent.yaml", "broken.yaml"]) {
      const path = join(dir, f);
      const one = loadPipelineFile(path, { parsed });
      expect(view(one)).toEqual(view(loadPipelineFile(path)));
      const held = parsed.get(resolve(path))!.file;
      writeFileSync(join(dir, "mcp.yaml"), config(`second ${f}`));
      const two = loadPipelineFile(path, { parsed });
      expect(parsed.get(resolve(path))!.file).toBe(held);
      expect(view(two)).toEqual(view(loadPipelineFile(path)));
      if (f === "parent.yaml") {
        expect(two.pipeline!.models[0]!.options).toMatchObject({ reply: { text: "second parent.yaml" } });
        expect(parsed.has(resolve(join(dir, "child.yaml")))).toBe(true);
      } else {
        expect(two.diagnostics.map((d) => d.code).sort()).toEqual(one.diagnostics.map((d) => d.code).sort());
        expect(two.diagnostics.length).toBeGreaterThanOrEqual(2);
      }
    }
  });

  it("parses a changed text again", () => {
    const dir = tempProject({ "mcp.yaml": config("x"), "child.yaml": CHILD });
    const path = join(dir, "child.yaml");
    const parsed: ParsedPipelines = new Map();
    loadPipelineFile(path, { parsed });
    const held = parsed.get(resolve(path))!.file;
    writeFileSync(path, CHILD.replace("name: child", "name: child2"));
    const r = loadPipelineFile(path, { parsed });
    expect(parsed.get(resolve(path))!.file).not.toBe(held);
    expect(r.pipeline!.name).toBe("child2");
  });
});
