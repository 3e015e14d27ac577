/** A project of mock-model pipelines served as MCP tools (stdio and HTTP tests). */

export const CONFIG = `version: 1
models:
  writer:
    provider: mock
    capabilities: [text-generation]
    options:
      reply: { text: "hello \${{ $request.prompt }}" }
  steady:
    provider: mock
    options: { latency: 100ms, reply: { text: step done } }
  stuck:
    provider: mock
    options: { latency: 60s }
  broken:
    provider: mock
    options: { failFirst: 1000000, failWith: { kind: fatal, message: the model refused } }
`;

export const PIPELINES: Record<string, string> = {
  "pipelines/greet.yaml": `version: 1
name: greet
description: Greets someone by name.
inputs:
  type: object
  required: [name]
  properties: { name: { type: string, description: Who to greet. } }
outputSchema:
  type: object
  required: [greeting]
  properties: { greeting: { type: string } }
steps:
  say: { model: writer, input: { prompt: "\${{ $input.name }}" } }
output:
  greeting: \${{ $steps.say.output.text }}
`,
  "pipelines/three.yaml": `version: 1
name: three
steps:
  a: { model: steady }
  b: { model: steady, needs: [a] }
  c: { model: steady, needs: [b] }
output: \${{ $steps.c.output.text }}
`,
  "pipelines/stuck.yaml": `version: 1
name: stuck
steps:
  wait: { model: stuck }
`,
  "pipelines/fails.yaml": `version: 1
name: fails
steps:
  first: { model: writer, input: { prompt: x } }
  refuse: { model: broken, needs: [first], retry: { attempts: 1 } }
`,
};
