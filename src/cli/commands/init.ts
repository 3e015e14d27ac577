/** `mcp init [DIR]`: scaffold mcp.yaml and an example pipeline, never overwriting a file. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join, relative, resolve } from "node:path";
import { parse } from "../args.js";
import { UsageError, writeLine, type CliIo } from "../io.js";

export const help = `Usage: mcp init [DIR]

Creates mcp.yaml, pipelines/hello.yaml and the JSON Schemas editors use (schemas/) in DIR
(default: the current folder). Existing files are never overwritten: they are left alone
and listed.

Options:
  -h, --help  show this help

Exit codes: 0 done (even if every file already existed), 2 usage error.`;

// The modelines point at the schemas init writes next to them, so an editor resolves them at
// once, with or without the package installed in the project.
const CONFIG = `# yaml-language-server: $schema=./schemas/config.schema.json
# Project settings for the MCP runner; pipelines below this folder use them.
version: 1

# Environment variables expressions may read as $env.NAME (nothing else is visible).
env: []

models:
  # In-process English NLP: no network, no key.
  nlp:
    provider: nlp
    capabilities: [sentiment-analysis, entity-extraction, keyword-extraction, sentence-split, summarization]
  # A scripted model for tests and demos.
  echo:
    provider: mock
    capabilities: [text-generation]
    options:
      reply: { text: "echo: \${{ $request.prompt }}" }
      latency: 10ms
`;

const PIPELINE = `# yaml-language-server: $schema=../schemas/pipeline.schema.json
version: 1
name: hello
description: Analyse a text and answer it.
inputs:
  type: object
  required: [text]
  properties:
    text: { type: string, maxLength: 20000 }
steps:
  sentiment:
    capabilities: [sentiment-analysis]
    input: { text: "\${{ $input.text }}" }
  keywords:
    capabilities: [keyword-extraction]
    input: { text: "\${{ $input.text }}" }
  answer:
    model: echo
    input:
      # A text with no keywords ("I love this!") gets no "about ...".
      prompt: "You sounded \${{ $steps.sentiment.output.label }}\${{ $count($steps.keywords.output.keywords) > 0 ? ' about ' & $join($steps.keywords.output.keywords[[0..2]].value, ', ') : '' }}."
output:
  sentiment: \${{ $steps.sentiment.output.sentiment }}
  answer: \${{ $steps.answer.output.text }}
`;

export async function initCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse("init", argv, {});
  if (values.help) {
    writeLine(io.stdout, help);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError("give at most one folder", "init");
  const dir = resolve(io.cwd, positionals[0] ?? ".");
  const schemas = fileURLToPath(new URL("../../../schemas/", import.meta.url));
  const files: [string, string][] = [
    [join(dir, "mcp.yaml"), CONFIG],
    [join(dir, "pipelines", "hello.yaml"), PIPELINE],
    ...["config.schema.json", "pipeline.schema.json"].map((n): [string, string] => [join(dir, "schemas", n), readFileSync(join(schemas, n), "utf8")]),
  ];
  for (const [path, text] of files) {
    const shown = relative(io.cwd, path) || path;
    if (existsSync(path)) {
      writeLine(io.stderr, `exists, left alone: ${shown}`);
      continue;
    }
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, text, { flag: "wx" });
    writeLine(io.stderr, `created ${shown}`);
  }
  // The next steps run in the project's folder: npm install pins the CLI in its package.json.
  const rel = relative(io.cwd, dir);
  const into = rel.startsWith("..") ? dir : rel;
  const cd = into === "" ? [] : [`  cd ${/[\s'"$`\\]/.test(into) ? `'${into.replace(/'/g, "'\\''")}'` : into}`];
  writeLine(
    io.stderr,
    [
      "",
      "next steps:",
      ...cd,
      `  npm install --save-dev mcp-runner      # the CLI in this project (then: npx mcp ...), pinned in package.json`,
      `  npx mcp validate pipelines`,
      `  npx mcp run pipelines/hello.yaml --input '{"text": "I love this!"}'`,
      "editors with the YAML extension check the files against schemas/ (see the first line of each file)",
    ].join("\n"),
  );
  return 0;
}
