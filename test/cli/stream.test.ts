/**
 * `mcp run --stream`: a real child process against a local server speaking the OpenAI
 * streaming protocol on 127.0.0.1. The server sends each chunk only after the test has seen
 * the previous one on the child's stdout, so the test passes only if tokens are printed as
 * they arrive (a run that printed the answer at the end would never get the next chunk).
 */
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, runCli } from "../helpers/cli.js";
import { tempProject } from "../helpers/project.js";

const PIECES = ["Hello", ", stream", "ing ", "world", "!"];

/** An OpenAI-compatible server whose streamed answer advances one chunk per `next()`. */
class HandshakeServer {
  server!: Server;
  url = "";
  requests: unknown[] = [];
  #waiters: (() => void)[] = [];
  #allowed = 0;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", async () => {
        const json = JSON.parse(body) as { stream?: boolean; messages: { content: string }[] };
        this.requests.push(json);
        const prompt = json.messages.at(-1)?.content ?? "";
        if (!json.stream) {
          // The step that is not streamed gets a plain answer.
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ choices: [{ message: { content: `plain: ${prompt}` }, finish_reason: "stop" }], usage: { prompt_tokens: 3, completion_tokens: 2 } }));
          return;
        }
        res.writeHead(200, { "content-type": "text/event-stream" });
        for (let i = 0; i < PIECES.length; i++) {
          await this.#turn(i);
          res.write(`data: ${JSON.stringify({ choices: [{ delta: { content: PIECES[i] } }] })}\n\n`);
        }
        res.write(`data: ${JSON.stringify({ choices: [{ delta: {}, finish_reason: "stop" }], usage: { prompt_tokens: 5, completion_tokens: 5 } })}\n\n`);
        res.end("data: [DONE]\n\n");
      });
    });
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  /** Lets chunk i go once `allow(i + 1)` was called (chunk 0 goes at once). */
  #turn(i: number): Promise<void> {
    return new Promise((r) => {
      const check = () => (i <= this.#allowed ? r() : void this.#waiters.push(check));
      check();
    });
  }

  allow(n: number): void {
    this.#allowed = Math.max(this.#allowed, n);
    const ws = this.#waiters.splice(0);
    for (const w of ws) w();
  }

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

const pipeline = (url: string) => `version: 1
models:
  gpt:
    provider: openai
    model: test-model
    baseUrl: ${url}
    capabilities: [text-generation]
steps:
  outline:
    model: gpt
    input: { prompt: "outline" }
  answer:
    model: gpt
    input: { prompt: "answer after \${{ $steps.outline.output.text }}" }
output:
  answer: \${{ $steps.answer.output.text }}
`;

describe("mcp run --stream", () => {
  const api = new HandshakeServer();
  beforeAll(() => api.start());
  afterAll(() => api.close());

  it("prints the final step's tokens on stdout as they arrive, and the events carry them in order", async () => {
    const dir = tempProject({ "p.yaml": pipeline(api.url) });
    const child = spawn(process.execPath, [BIN, "run", "p.yaml", "--stream", "--progress", "json"], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: "1", CI: "true" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    const seen: string[] = [];
    child.stderr.on("data", (d) => (stderr += d));
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      // Each piece seen on stdout lets the server send the next one.
      let text = "";
      for (let i = 0; i < PIECES.length; i++) {
        text += PIECES[i];
        if (stdout.startsWith(text) && !seen.includes(PIECES[i]!)) {
          seen.push(PIECES[i]!);
          api.allow(i + 1);
        }
      }
    });
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
      child.on("close", (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    expect(code, stderr).toBe(0);
    expect(stdout).toBe("Hello, streaming world!\n");
    expect(seen).toEqual(PIECES);

    const events = stderr
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { type: string; stepId?: string; text?: string });
    const deltas = events.filter((e) => e.type === "step.delta");
    expect(deltas.map((e) => e.text)).toEqual(PIECES);
    expect(deltas.every((e) => e.stepId === "answer")).toBe(true);
    const finished = events.findIndex((e) => e.type === "step.finished" && e.stepId === "answer");
    expect(events.findIndex((e) => e.type === "step.delta")).toBeLessThan(finished);
    expect(events.findLastIndex((e) => e.type === "step.delta")).toBeLessThan(finished);
    // Only the streamed step asked the server to stream.
    expect(api.requests.map((r) => (r as { stream?: boolean }).stream ?? false)).toEqual([false, true]);
  });

  it("prints a step that did not stream when it finishes, and refuses an unknown step", async () => {
    api.allow(PIECES.length);
    const dir = tempProject({ "p.yaml": pipeline(api.url) });
    const r = await runCli(["run", "p.yaml", "--stream", "outline", "--quiet"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("Hello, streaming world!\n");
    const bad = await runCli(["run", "p.yaml", "--stream", "answr"], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("mcp run: --stream: no step 'answr' in p.yaml (did you mean 'answer'?)");
    const json = await runCli(["run", "p.yaml", "--stream", "--json"], { cwd: dir });
    expect(json.code).toBe(2);
    expect(json.stderr).toContain("--stream prints the answer's text on stdout; it does not go with --json");
  });
});

describe("mcp run --stream on a model that cannot stream", () => {
  it("prints the answer's text once, when the call returns (one step.delta), not the step's output object", async () => {
    const dir = tempProject({
      // A module model (a plain function) answers in one piece: it has no stream().
      "whole.mjs": "export default async (input) => ({ text: `All of it, at once: ${input.prompt}`, usage: { inputTokens: 4, outputTokens: 6 } });\n",
      "p.yaml": `version: 1
models:
  whole: { provider: module, module: ./whole.mjs, capabilities: [text-generation] }
steps:
  answer:
    model: whole
    input: { prompt: hi }
    output: { reply: "\${{ $result.text }}", words: "\${{ $count($split($result.text, ' ')) }}" }
output: \${{ $steps.answer.output }}
`,
    });
    const r = await runCli(["run", "p.yaml", "--stream", "--progress", "json"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("All of it, at once: hi\n");
    const events = r.stderr
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { type: string; stepId?: string; text?: string });
    expect(events.filter((e) => e.type === "step.delta")).toMatchObject([{ stepId: "answer", text: "All of it, at once: hi" }]);
    expect(events.findIndex((e) => e.type === "step.delta")).toBeLessThan(events.findIndex((e) => e.type === "step.finished"));
  });

  it("says in one line on stderr that a step answering with data has no text to stream, and prints no JSON", async () => {
    const dir = tempProject({
      "p.yaml": `version: 1
models:
  nlp: { provider: nlp, capabilities: [sentiment-analysis] }
steps:
  mood: { model: nlp, input: { text: "I love it, thank you!" } }
`,
    });
    const r = await runCli(["run", "p.yaml", "--stream", "--quiet"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("");
    const notes = r.stderr.split("\n").filter((l) => l.includes("--stream"));
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(/^mcp run: --stream: step 'mood' \(model nlp\) answered with data, not text \(.*sentiment.*\): nothing to stream; run without --stream for the result$/);
  });
});
