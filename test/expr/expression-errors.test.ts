/**
 * MCP2xx: expressions. Every expression is compiled when the pipeline is loaded, and its
 * errors are placed in the YAML file: inside quoted strings, plain scalars, block scalars
 * and interpolated text alike.
 */
import { describe, expect, it } from "vitest";
import { headlines, load, MOCK_MODELS, only } from "../helpers/diagnostics.js";

/** A pipeline with the mock models and the given `steps:` body (indented by two). */
const pipeline = (steps: string, extra = "") => `${MOCK_MODELS}${extra}steps:\n${steps}`;

describe("MCP201 expression syntax error", () => {
  it("is placed inside a literal block scalar", () => {
    const r = load(
      pipeline(`  a: { model: writer }
  b:
    model: writer
    input:
      prompt: |
        Summarise this:
          \${{ $steps.a.output.text + }}
        Thanks.
`),
    );
    // Column 36 is the '+' with nothing after it.
    expect(headlines(r)).toEqual(["p.yaml:15:36: error MCP201: expression syntax error: Unexpected end of expression (JSONata S0207)"]);
  });

  it("is placed inside an interpolated, double-quoted string", () => {
    const r = load(pipeline(`  a:\n    model: writer\n    input: { prompt: "Hello \${{ $input.name ~> }} and bye" }\n`));
    expect(headlines(r)).toEqual(["p.yaml:11:45: error MCP201: expression syntax error: Unexpected end of expression (JSONata S0207)"]);
  });

  it("is placed inside a plain scalar", () => {
    const r = load(pipeline(`  a:\n    model: writer\n    input: \${{ $input.(a b }}\n`));
    expect(headlines(r)).toEqual(['p.yaml:11:26: error MCP201: expression syntax error: Expected ")", got "b" (JSONata S0202)']);
  });

  it("is placed inside a bare `when` expression", () => {
    const r = load(pipeline(`  a:\n    model: writer\n    when: $input.score >> 3\n`));
    expect(headlines(r)).toEqual(['p.yaml:11:25: error MCP201: expression syntax error: The symbol ">" cannot be used as a unary operator (JSONata S0211)']);
  });

  it("reports an empty expression", () => {
    const r = load(pipeline(`  a:\n    model: writer\n    input: "x \${{ }} y"\n`));
    expect(headlines(r)).toEqual(["p.yaml:11:15: error MCP201: expression syntax error: empty expression '${{ }}'"]);
  });

  it("reports every broken expression of a file at once", () => {
    const r = load(pipeline(`  a:\n    model: writer\n    input: "\${{ ( }}"\n  b:\n    model: writer\n    input: "\${{ ] }}"\n`));
    expect(r.diagnostics.map((d) => d.code)).toEqual(["MCP201", "MCP201"]);
  });
});

describe("MCP202 unknown step in expression", () => {
  it("points at the step id and suggests the one meant", () => {
    const r = load(pipeline(`  review: { model: writer }\n  publish:\n    model: writer\n    input: { text: "\${{ $steps.reviw.output.text }}" }\n`));
    expect(headlines(r)).toEqual(["p.yaml:12:32: error MCP202: unknown step 'reviw' in expression (did you mean 'review'?)"]);
  });

  it("is found by walking the AST, deep inside function calls and predicates", () => {
    const r = load(pipeline(`  a:\n    model: writer\n    input: "\${{ $join($map([1,2], function($v) { $steps.ghost.output[$v] }), ',') }}"\n`));
    expect(only(r, "MCP202").message).toBe("unknown step 'ghost' in expression");
  });

  it("refuses step outputs in the conversation id, which is read before any step runs", () => {
    const r = load(pipeline(`  a: { model: writer }\n`, `context:\n  conversation: "\${{ $steps.a.output.id }}"\n`));
    expect(headlines(r)).toEqual(["p.yaml:9:22: error MCP202: the conversation id can only use $input and $env: it is read before any step runs"]);
  });
});

describe("MCP203 expression misread by YAML", () => {
  it("catches an unquoted expression that YAML reads as a mapping", () => {
    const r = load(pipeline(`  a:\n    model: writer\n    input: \${{ {"a": 1} }}\n`));
    expect(headlines(r)).toEqual(["p.yaml:11:12: error MCP203: YAML cannot read this unquoted expression (nested mappings are not allowed in compact mappings)"]);
    expect(r.diagnostics[0]!.hint).toMatch(/^quote this value/);
  });

  it("catches an unquoted expression inside a flow mapping, and only it", () => {
    const r = load(pipeline(`  a:\n    model: writer\n    input: { text: \${{ $input.text }} }\n  b:\n    model: writer\n    input: { text: "\${{ $input.text }}" }\n`));
    expect(headlines(r)).toEqual(["p.yaml:11:20: error MCP203: YAML cannot read this unquoted expression (unexpected flow-map-start at node end)"]);
    expect(r.diagnostics[0]!.hint).toBe(`quote this value: YAML reads '{', '}', ': ' and '#' in a plain value as syntax, e.g. key: "\${{ expr }}"`);
  });
});

describe("MCP203 for bare expressions (when, forEach, until) YAML misreads", () => {
  it("catches an unquoted when: whose comma splits the flow mapping, with a hint that quotes it", () => {
    const r = load(pipeline(`  a: { model: writer, when: $contains($input.text, "x") }\n`));
    expect(headlines(r)).toEqual(["p.yaml:9:29: error MCP203: YAML cannot read this unquoted expression (missing , or : between flow map items)"]);
    expect(r.diagnostics[0]!.location!.length).toBe('$contains($input.text, "x")'.length);
    expect(r.diagnostics[0]!.hint).toMatch(/, e\.g\. when: '\$contains\(\$input\.text, "x"\)'$/);
    // Quoted as the hint says, the file loads.
    expect(load(pipeline(`  a: { model: writer, when: '$contains($input.text, "x")' }\n`)).pipeline).toBeDefined();
  });

  it("catches an unquoted forEach with brackets in a flow mapping, and a bare expression holding ': ', one diagnostic each", () => {
    const r = load(pipeline(`  a: { model: writer, forEach: $input.items[0] }\n`));
    expect(headlines(r)).toEqual(["p.yaml:9:32: error MCP203: YAML cannot read this unquoted expression (unexpected flow-seq-start at node end)"]);
    const colon = load(pipeline(`  a:\n    model: writer\n    when: $input.a: 1\n`));
    expect(headlines(colon)).toEqual(["p.yaml:11:11: error MCP203: YAML cannot read this unquoted expression (nested mappings are not allowed in compact mappings)"]);
  });
});

describe("MCP204 environment variable not allowed", () => {
  it("refuses $env names missing from the env allow-list", () => {
    const r = load(pipeline(`  a:\n    model: writer\n    input: "\${{ $env.HOME }}"\n`));
    expect(headlines(r)).toEqual(["p.yaml:11:22: error MCP204: $env.HOME is not allowed"]);
    expect(r.diagnostics[0]!.hint).toBe("add 'HOME' to the env: list in mcp.yaml; expressions see only allow-listed variables");
  });
});

describe("MCP205 unknown binding", () => {
  it("refuses $steps without a step id", () => {
    const r = load(pipeline(`  a: { model: writer }\n  b:\n    model: writer\n    input: "\${{ $keys($steps) }}"\n`));
    expect(headlines(r)).toEqual(["p.yaml:12:23: error MCP205: '$steps' must be followed by a step id, as in $steps.<id>.output"]);
  });

  it("warns about $item outside forEach, without failing the pipeline", () => {
    const r = load(pipeline(`  a:\n    model: writer\n    input: "\${{ $item }}"\n`));
    expect(headlines(r)).toEqual(["p.yaml:11:17: warning MCP205: $item is only set in a step with forEach; here it is empty"]);
    expect(r.pipeline).toBeDefined();
  });
});

describe("MCP206 unclosed template", () => {
  it("points at the opening ${{", () => {
    const r = load(pipeline(`  a:\n    model: writer\n    input: "Hi \${{ $input.name }"\n`));
    expect(headlines(r)).toEqual(["p.yaml:11:16: error MCP206: '${{' is not closed by '}}'"]);
    expect(r.diagnostics[0]!.hint).toBe('close it with }}; inside flow mappings { } quote the value: key: "${{ expr }}"');
  });

  it("explains a comment that cut an unquoted expression short", () => {
    const r = load(pipeline(`  a:\n    model: writer\n    input: \${{ $input.n #1 }}\n`));
    expect(headlines(r)).toEqual(["p.yaml:11:12: error MCP206: '${{' is not closed by '}}'"]);
    expect(r.diagnostics[0]!.hint).toBe(`YAML read '#1 }}' as a comment and cut the value before it: quote the value, key: "\${{ expr }}"`);
  });
});
