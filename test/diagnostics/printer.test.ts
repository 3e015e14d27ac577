/** Rendering diagnostics: compiler-style text, JSON and GitHub annotations. */
import { describe, expect, it } from "vitest";
import { error, sortDiagnostics, warning } from "../../src/diagnostics/diagnostic.js";
import { formatDiagnostics, formatGithub, formatText, toJson } from "../../src/diagnostics/printer.js";
import { SourceMap } from "../../src/diagnostics/source.js";

const TEXT = "steps:\n  a:\n    needs: [reviw]\n";
const sources = new SourceMap();
sources.add("p.yaml", TEXT);
const at = (needle: string) => ({ file: "p.yaml", offset: TEXT.indexOf(needle), length: needle.length });

const d = error("MCP012", "unknown step 'reviw' in needs (did you mean 'review'?)", at("reviw"), {
  hint: "check the step ids",
  related: [{ message: "defined here", location: at("a:") }],
});

describe("formatText", () => {
  it("prints the headline, the source line with a squiggle, the hint and the notes", () => {
    expect(formatText([d], sources)).toBe(
      [
        "p.yaml:3:13: error MCP012: unknown step 'reviw' in needs (did you mean 'review'?)",
        "    3 |     needs: [reviw]",
        "                    ~~~~~",
        "  hint: check the step ids",
        "  p.yaml:2:3: note: defined here",
      ].join("\n"),
    );
  });

  it("colours only when asked", () => {
    expect(formatText([d], sources)).not.toContain("\u001b[");
    expect(formatText([d], sources, { color: true })).toContain("\u001b[1;31merror\u001b[0m");
  });

  it("prints a diagnostic without a location as a bare headline", () => {
    expect(formatText([warning("MCP009", "no .yaml files in x")], sources)).toBe("warning MCP009: no .yaml files in x");
  });

  it("squiggles to the end of the line for a range that spans lines", () => {
    const multi = error("MCP301", "x", { file: "p.yaml", offset: TEXT.indexOf("a:"), length: 20 });
    expect(formatText([multi], sources).split("\n")[2]).toBe("          ~~");
  });
});

describe("formatGithub", () => {
  it("prints one ::error annotation per diagnostic, escaping the data", () => {
    const nl = error("MCP001", "bad: 100%\nnext line", at("needs"));
    expect(formatGithub([d, nl], sources).split("\n")).toEqual([
      "::error file=p.yaml,line=3,col=13,title=MCP012::MCP012: unknown step 'reviw' in needs (did you mean 'review'?) (hint: check the step ids)",
      "::error file=p.yaml,line=3,col=5,title=MCP001::MCP001: bad: 100%25%0Anext line",
    ]);
  });

  it("escapes commas and colons in the file property", () => {
    const s = new SourceMap();
    s.add("a,b:c.yaml", "x\n");
    expect(formatGithub([error("MCP001", "m", { file: "a,b:c.yaml", offset: 0, length: 1 })], s)).toBe("::error file=a%2Cb%3Ac.yaml,line=1,col=1,title=MCP001::MCP001: m");
  });
});

describe("toJson", () => {
  it("gives line and column with the offsets, and the related locations", () => {
    expect(toJson([d], sources)).toEqual([
      {
        severity: "error",
        code: "MCP012",
        message: "unknown step 'reviw' in needs (did you mean 'review'?)",
        file: "p.yaml",
        line: 3,
        col: 13,
        offset: TEXT.indexOf("reviw"),
        length: 5,
        hint: "check the step ids",
        related: [{ message: "defined here", file: "p.yaml", line: 2, col: 3 }],
      },
    ]);
    expect(JSON.parse(formatDiagnostics([d], sources, "json"))).toEqual(toJson([d], sources));
  });
});

describe("sortDiagnostics", () => {
  it("orders by file, then by position", () => {
    const b = error("MCP001", "b", { file: "b.yaml", offset: 0, length: 0 });
    const a2 = error("MCP001", "a2", { file: "a.yaml", offset: 9, length: 0 });
    const a1 = error("MCP001", "a1", { file: "a.yaml", offset: 2, length: 0 });
    expect(sortDiagnostics([b, a2, a1]).map((x) => x.message)).toEqual(["a1", "a2", "b"]);
  });
});
