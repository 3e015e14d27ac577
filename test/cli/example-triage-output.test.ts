/**
 * The ticket-triage example as a user first runs it (the real binary): its output keeps one
 * shape whatever the ticket, so a client can read `keywords` as a list even when the text
 * has one keyword or none (a JSONata path to one value gives the value, to none nothing).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempProject } from "../helpers/project.js";

const ROOT = join(import.meta.dirname, "..", "..");

describe("the ticket-triage example's output", () => {
  it("gives keywords as a list for many keywords, one keyword and none", { timeout: 60_000 }, async () => {
    const dir = tempProject({ "pipelines/ticket-triage.yaml": readFileSync(join(ROOT, "pipelines/ticket-triage.yaml"), "utf8") });
    const keywordsOf = async (text: string): Promise<unknown> => {
      const r = await runCli(["run", "pipelines/ticket-triage.yaml", "--store", "memory", "--quiet", "--input", JSON.stringify({ text })], { cwd: dir });
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { keywords?: unknown }).keywords;
    };
    expect(await keywordsOf("The app crashes when I log in!")).toEqual(["application", "crash"]);
    expect(await keywordsOf("refund please")).toEqual(["refund"]);
    expect(await keywordsOf("hi")).toEqual([]);
  });
});
