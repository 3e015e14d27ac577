/**
 * Approval steps end to end: `mcp run` stops at the step (exit 3, the run journaled as
 * waiting in the project's SQLite file), and `mcp approve` / `mcp reject`, each a separate
 * child process, continue it from the journal.
 */
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempProject } from "../helpers/project.js";

const CONFIG = `version: 1
models:
  llm:
    provider: mock
    capabilities: [text-generation]
    options:
      reply: { text: "echo \${{ $request.prompt }}" }
`;

const pipeline = (timeout = "24h", onError = "fail") => `version: 1
name: ship
steps:
  draft:
    model: llm
    input: { prompt: "\${{ $input.topic }}" }
  review:
    onError: ${onError}
    approval:
      prompt: "Publish '\${{ $steps.draft.output.text }}'?"
      timeout: ${timeout}
      schema:
        type: object
        required: [ok]
        properties: { ok: { type: boolean }, note: { type: string } }
  side:
    model: llm
    input: { prompt: "side" }
  publish:
    model: llm
    input: { prompt: "publish \${{ $steps.review.output.note }}" }
output:
  text: \${{ $steps.publish.output.text }}
`;

function project(p = pipeline()): string {
  return tempProject({ "mcp.yaml": CONFIG, "ship.yaml": p });
}

async function startWaiting(dir: string): Promise<string> {
  const r = await runCli(["run", "ship.yaml", "--input", '{"topic":"cats"}', "--progress", "plain"], { cwd: dir });
  expect(r.code, r.stderr).toBe(3);
  expect(r.stdout).toBe("");
  const id = /waiting: step 'review' needs approval/.test(r.stderr) ? /mcp approve (run_\w+) review/.exec(r.stderr)?.[1] : undefined;
  expect(id, r.stderr).toBeDefined();
  return id!;
}

describe("approval steps", () => {
  it("stop the run with exit code 3, and another process's mcp approve finishes it with the answer", async () => {
    const dir = project();
    const first = await runCli(["run", "ship.yaml", "--input", '{"topic":"cats"}', "--progress", "plain"], { cwd: dir });
    expect(first.code, first.stderr).toBe(3);
    expect(first.stderr).toContain("? review waits for approval: Publish 'echo cats'?");
    const runId = /mcp approve (run_\w+) review --input/.exec(first.stderr)![1]!;

    // Waiting, in the journal: `mcp runs` and `mcp runs show`.
    const list = await runCli(["runs", "--json"], { cwd: dir });
    expect(JSON.parse(list.stdout)[0]).toMatchObject({ id: runId, status: "waiting" });
    const show = await runCli(["runs", "show", runId], { cwd: dir });
    expect(show.stdout).toContain(`run ${runId}: waiting`);
    expect(show.stdout).toContain("step 'review' needs approval: Publish 'echo cats'?");

    // An answer that does not match the schema changes nothing (exit 2).
    const wrong = await runCli(["approve", runId, "review", "--input", '{"ok":"yes"}'], { cwd: dir });
    expect(wrong.code, wrong.stderr).toBe(2);
    expect(wrong.stderr).toContain("mcp approve: the answer does not match the schema of approval step 'review': answer.ok must be boolean");
    const typo = await runCli(["approve", runId, "reviw"], { cwd: dir });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("step 'reviw' of run '" + runId + "' is not waiting for an approval (did you mean 'review'?)");

    const ok = await runCli(["approve", runId, "review", "--input", '{"ok":true,"note":"lgtm"}', "--json", "--by", "ana", "--progress", "none"], { cwd: dir });
    expect(ok.code, ok.stderr).toBe(0);
    const report = JSON.parse(ok.stdout);
    expect(report).toMatchObject({ runId, status: "success", output: { text: "echo publish lgtm" } });
    expect(report.steps.draft).toMatchObject({ status: "success", resumed: true });
    expect(report.steps.side).toMatchObject({ status: "success", resumed: true });
    expect(report.steps.review).toMatchObject({ status: "success", output: { ok: true, note: "lgtm" }, approval: { decision: "approved", by: "ana", prompt: "Publish 'echo cats'?" } });
    // Only publish called the model again.
    expect(report.totals.calls).toBe(1);

    const again = await runCli(["approve", runId, "review"], { cwd: dir });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`run '${runId}' is not waiting for an approval (it is success)`);
  });

  it("fail the run with the reason when rejected", async () => {
    const dir = project();
    const runId = await startWaiting(dir);
    const noReason = await runCli(["reject", runId, "review"], { cwd: dir });
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toContain("say why with --reason TEXT");
    const r = await runCli(["reject", runId, "review", "--reason", "too cheerful", "--by", "bo", "--json", "--progress", "none"], { cwd: dir });
    expect(r.code, r.stderr).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.status).toBe("failed");
    expect(report.error).toMatchObject({ reason: "rejected", message: "step 'review' was rejected by bo: too cheerful" });
    expect(report.steps.publish.status).toBe("aborted");
    const list = await runCli(["runs", "--json"], { cwd: dir });
    expect(JSON.parse(list.stdout)[0]).toMatchObject({ id: runId, status: "failed" });
  });

  it("fail the step when the answer comes after the timeout", async () => {
    const dir = project(pipeline("1ms"));
    const runId = await startWaiting(dir);
    const r = await runCli(["approve", runId, "review", "--input", '{"ok":true}', "--json", "--progress", "none"], { cwd: dir });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain("(after its timeout: the step fails)");
    const report = JSON.parse(r.stdout);
    expect(report.error.reason).toBe("timeout");
    expect(report.error.message).toMatch(/^approval of step 'review' timed out: no answer within 1ms/);
  });

  it("are refused by mcp resume, which points to approve and reject", async () => {
    const dir = project();
    const runId = await startWaiting(dir);
    const r = await runCli(["resume", runId], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`mcp resume: run ${runId} waits for an approval of 'review'; answer it with 'mcp approve ${runId} review' or 'mcp reject ${runId} review --reason ...'`);
  });

  it("with an invalid answer schema are a positioned diagnostic", async () => {
    const dir = tempProject({
      "bad.yaml": `version: 1
steps:
  review:
    approval:
      prompt: "ok?"
      schema:
        type: objekt
`,
    });
    const r = await runCli(["validate", "bad.yaml"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).toContain(
      `bad.yaml:7:15: error MCP104: steps.review.approval.schema.type must be one of array, boolean, integer, null, number, object, string; found the string "objekt" (did you mean 'object'?)`,
    );
    expect(r.stdout + r.stderr).toContain("hint: steps.review.approval.schema is the JSON Schema (draft 2020-12) of the answer to approval step 'review'");
  });

  it("call no model: a model on an approval step is an error", async () => {
    const dir = tempProject({
      "mcp.yaml": CONFIG,
      "bad.yaml": `version: 1
steps:
  review:
    model: llm
    approval: { prompt: "ok?" }
`,
    });
    const r = await runCli(["validate", "bad.yaml"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).toContain("bad.yaml:4:5: error MCP303: an approval step calls no model: remove 'model' from step 'review'");
  });
});
