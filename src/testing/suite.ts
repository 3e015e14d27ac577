/**
 * Loading a test suite (`*.test.yaml`): read it within the load limits, check it against
 * schemas/test.schema.json, load the pipeline under test, and compile every case and
 * assertion, reporting all problems of the file at once as diagnostics (MCP1xx schema,
 * MCP201 expressions, MCP6xx tests). A data set case becomes one case per row.
 */
import { basename, dirname, join } from "node:path";
import { loadPipelineChecked, readSource } from "../compiler/load.js";
import { isTestFile } from "../config/file-kinds.js";
import { DEFAULT_LIMITS, type LoadLimits } from "../config/limits.js";
import { parseYaml, type JsonPath } from "../config/yaml-file.js";
import type { CompiledPipeline } from "../compiler/types.js";
import { error, hasErrors, sortDiagnostics, type Diagnostic, type Location } from "../diagnostics/diagnostic.js";
import { SourceMap } from "../diagnostics/source.js";
import { CompiledExpression, isSyntaxError } from "../expr/expression.js";
import type { Template } from "../expr/template.js";
import { validateTestSchema } from "../schema/validate.js";
import { didYouMean } from "../util/suggest.js";
import type { Assertion } from "./assertion-types.js";
import { readDataset } from "./dataset.js";
import { SuiteCompiler } from "./suite-compiler.js";

type Obj = Record<string, unknown>;

export type { Assertion, Bound, Check, CheckKind } from "./assertion-types.js";

export interface Turn {
  readonly name?: string;
  readonly input: Template;
  readonly mocks: Readonly<Record<string, Obj>>;
  readonly assertions: readonly Assertion[];
}

export interface TestCase {
  /** Unique in the suite: the name, with the row for data set cases. */
  readonly name: string;
  readonly location: Location;
  readonly skip: boolean;
  readonly conversation?: string;
  readonly mocks: Readonly<Record<string, Obj>>;
  readonly turns: readonly Turn[];
  /** A name over $row and $index, evaluated when the case runs (data set cases). */
  readonly nameTemplate?: Template;
  /** Where the case is written in the test file (for a data set case, `location` is its row). */
  readonly caseLocation?: Location;
  /** The data set row (a data set case). */
  readonly row?: Obj;
  readonly index?: number;
}

export interface TestSuite {
  /** The test file as given. */
  readonly file: string;
  readonly description?: string;
  readonly pipeline: CompiledPipeline;
  readonly cases: readonly TestCase[];
  /** Where this suite's model calls are recorded. */
  readonly recordingPath: string;
  readonly sources: SourceMap;
}

export interface SuiteLoad {
  suite?: TestSuite;
  diagnostics: Diagnostic[];
  sources: SourceMap;
  /** Files the suite depends on (pipeline, data sets), for watch. */
  files: string[];
}

export { isTestFile };

/** The recording beside a test file: `x.test.yaml` -> `x.test.recording.json`. */
export function recordingPathOf(testFile: string): string {
  return join(dirname(testFile), `${basename(testFile).replace(/\.ya?ml$/i, "")}.recording.json`);
}

/**
 * Loads and checks one test file; never throws for user mistakes.
 * @example const { suite, diagnostics } = await loadSuite("pipelines/ticket-triage.test.yaml");
 */
export async function loadSuite(path: string, opts: { sources?: SourceMap; limits?: LoadLimits } = {}): Promise<SuiteLoad> {
  const sources = opts.sources ?? new SourceMap();
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const files: string[] = [path];
  const read = readSource(path, limits);
  if (read.diagnostic) return { diagnostics: [read.diagnostic], sources, files };
  sources.add(path, read.text!);
  const file = parseYaml(path, read.text!, limits);
  const diagnostics: Diagnostic[] = [...file.diagnostics];
  if (hasErrors(file.diagnostics)) return { diagnostics, sources, files };
  if (!isObj(file.value)) {
    diagnostics.push(error("MCP008", "a test file must be a mapping with `pipeline:` and `tests:`", file.locate([]), { hint: "see pipelines/*.test.yaml for examples" }));
    return { diagnostics, sources, files };
  }
  diagnostics.push(...validateTestSchema(file));
  const doc = file.value;
  const c = new SuiteCompiler(file, diagnostics);

  // The pipeline under test.
  let pipeline: CompiledPipeline | undefined;
  if (typeof doc.pipeline === "string" && doc.pipeline !== "") {
    const pipelinePath = join(dirname(path), doc.pipeline);
    files.push(pipelinePath);
    const loaded = await loadPipelineChecked(pipelinePath, { sources });
    if (loaded.pipeline) pipeline = loaded.pipeline;
    else {
      const unreadable = loaded.diagnostics.find((d) => d.code === "MCP006" && d.message.startsWith("cannot read ") && d.location?.offset === 0);
      diagnostics.push(
        error(
          "MCP601",
          unreadable
            ? `the pipeline under test ${doc.pipeline} cannot be read: ${unreadable.message.replace(/^cannot read [^:]*: /, "")}`
            : `the pipeline under test ${doc.pipeline} has errors (below)`,
          file.locate(["pipeline"]),
        ),
      );
      if (!unreadable) diagnostics.push(...loaded.diagnostics);
    }
  }

  const models = new Set(pipeline?.models.map((m) => m.name) ?? []);
  const steps = new Set(pipeline ? [...pipeline.steps.keys()] : []);
  const checkModel = (name: unknown, p: JsonPath, key: boolean) => {
    if (!pipeline || typeof name !== "string" || models.has(name)) return;
    diagnostics.push(error("MCP605", `unknown model '${name}' in pipeline '${pipeline.name}'${didYouMean(name, models)}`, key ? file.locateKey(p) : file.locate(p)));
  };
  const mocksAt = (p: JsonPath): Record<string, Obj> => {
    const m = valueAt(doc, p);
    if (!isObj(m)) return {};
    for (const name of Object.keys(m)) checkModel(name, [...p, name], true);
    return Object.fromEntries(Object.entries(m).filter(([, v]) => isObj(v))) as Record<string, Obj>;
  };
  const suiteMocks = mocksAt(["mocks"]);
  const grader = typeof doc.grader === "string" ? doc.grader : undefined;
  if (grader) checkModel(grader, ["grader"], false);

  const cases: TestCase[] = [];
  const tests = Array.isArray(doc.tests) ? doc.tests : [];
  const names = new Map<string, number>();
  tests.forEach((raw, i) => {
    if (!isObj(raw)) return;
    const base: JsonPath = ["tests", i];
    const caseLoc = file.locate(base);
    const written = typeof raw.name === "string" ? raw.name : undefined;
    const has = (k: string) => raw[k] !== undefined;
    if (!has("input") && !has("dataset") && !has("turns")) {
      diagnostics.push(error("MCP607", `test ${written ? `'${written}'` : i + 1} has no input: give input:, dataset: or turns:`, file.locate(base)));
      return;
    }
    if (has("turns") && (has("input") || has("dataset") || has("assert"))) {
      diagnostics.push(error("MCP607", "a case with turns: has its inputs and assertions in the turns; remove input:, dataset: and assert: here", file.locateKey([...base, "turns"])));
      return;
    }
    const mocks = { ...suiteMocks, ...mocksAt([...base, "mocks"]) };
    const ctx = { steps, pipeline, grader };
    const turns: Turn[] = [];
    if (Array.isArray(raw.turns)) {
      raw.turns.forEach((t, k) => {
        if (!isObj(t)) return;
        const tp: JsonPath = [...base, "turns", k];
        turns.push({
          ...(typeof t.name === "string" ? { name: t.name } : {}),
          input: c.template(tp.concat("input"), t.input ?? {}),
          mocks: mocksAt([...tp, "mocks"]),
          assertions: c.assertions([...tp, "assert"], t.assert, ctx),
        });
      });
    } else {
      turns.push({ input: has("input") ? c.template([...base, "input"], raw.input) : { kind: "expr", expr: rowExpr() }, mocks: {}, assertions: c.assertions([...base, "assert"], raw.assert, ctx) });
    }
    const nameTemplate = written !== undefined ? c.template([...base, "name"], written) : undefined;
    const common = {
      location: caseLoc,
      skip: raw.skip === true,
      ...(typeof raw.conversation === "string" ? { conversation: raw.conversation } : {}),
      mocks,
      turns,
    };
    if (typeof raw.dataset === "string") {
      const dsPath = join(dirname(path), raw.dataset);
      files.push(dsPath);
      const ds = readDataset(dsPath, sources);
      diagnostics.push(...ds.diagnostics.map((d) => (d.location ? d : { ...d, location: file.locate([...base, "dataset"]) })));
      ds.rows.forEach((row, r) => {
        const fixed = nameTemplate?.kind === "literal" ? String(nameTemplate.value) : basename(dsPath);
        cases.push({
          ...common,
          name: `${fixed} [row ${r + 1}]`,
          ...(nameTemplate && nameTemplate.kind !== "literal" ? { nameTemplate } : {}),
          row: row.value,
          index: r,
          location: { file: dsPath, offset: row.offset, length: 0 },
          caseLocation: caseLoc,
        });
      });
    } else {
      const name = written ?? `test ${i + 1}`;
      const seen = names.get(name) ?? 0;
      names.set(name, seen + 1);
      cases.push({ ...common, name: seen ? `${name} (${seen + 1})` : name });
    }
  });

  if (hasErrors(diagnostics) || !pipeline) return { diagnostics: sortDiagnostics(diagnostics), sources, files };
  return {
    suite: {
      file: path,
      ...(typeof doc.description === "string" ? { description: doc.description } : {}),
      pipeline,
      cases,
      recordingPath: recordingPathOf(path),
      sources,
    },
    diagnostics: sortDiagnostics(diagnostics),
    sources,
    files,
  };
}

let rowExpression: CompiledExpression | undefined;
/** `$row`: the input of a data set case that gives no input template. */
function rowExpr(): CompiledExpression {
  const r = CompiledExpression.compile("$row");
  if (isSyntaxError(r)) throw new Error("Internal error: $row does not compile");
  return (rowExpression ??= r);
}

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function valueAt(root: unknown, path: JsonPath): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}
