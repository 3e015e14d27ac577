/**
 * The nlp provider's sentiment: the trained classifier (src/models/providers/nlp/) on plain
 * complaints, praise, negation, its output range, its lazy one-time weight load, and its
 * accuracy on a held-out fixture it was never trained on (test/fixtures/sentiment/held-out.tsv).
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { analyse, NlpModel } from "../../../src/models/providers/nlp.js";
import { classifySentiment, sentimentWeightLoads } from "../../../src/models/providers/nlp/sentiment-classifier.js";
import { markNegation, sentimentFeatures, tokenize } from "../../../src/models/providers/nlp/sentiment-features.js";

const FIXTURE = resolve(__dirname, "../../fixtures/sentiment/held-out.tsv");

describe("nlp sentiment", () => {
  it("reads no weights until the first text is scored, then reads them once", () => {
    expect(sentimentWeightLoads()).toBe(0);
    for (let i = 0; i < 50; i++) classifySentiment(`sentence number ${i} is fine`);
    analyse("I love it", new Set(["sentiment-analysis"]));
    expect(sentimentWeightLoads()).toBe(1);
  });

  it.each([
    "This is awful, my order never arrived and I am angry.",
    "The app crashes, I want a refund!",
    "I was charged twice and nobody answers my emails.",
    "The package arrived broken and support was useless.",
    "Terrible experience, I am cancelling my subscription.",
  ])("calls a plain complaint negative: %s", (text) => {
    const r = classifySentiment(text);
    expect(r.score).toBeLessThan(0);
    expect(r.label).toBe("negative");
  });

  it.each([
    "Thank you, the new release is wonderful!",
    "Great support, my problem was fixed in minutes.",
    "I love this app, it works perfectly.",
    "The staff were friendly and the food was delicious.",
  ])("calls praise positive: %s", (text) => {
    const r = classifySentiment(text);
    expect(r.score).toBeGreaterThan(0);
    expect(r.label).toBe("positive");
  });

  it("turns the polarity of a negated word", () => {
    expect(classifySentiment("not bad").score).toBeGreaterThan(0);
    expect(classifySentiment("not good").score).toBeLessThan(0);
    expect(classifySentiment("The food was not good.").score).toBeLessThan(0);
    expect(classifySentiment("Honestly, this is not bad at all.").score).toBeGreaterThan(0);
    expect(classifySentiment("I don't like it.").score).toBeLessThan(0);
  });

  it("marks negation up to the clause's end, including n't and words without an apostrophe", () => {
    expect(markNegation(tokenize("It isn't good, but fine"))).toEqual(["it", "is", "not", "NOT_good", ",", "but", "fine"]);
    expect(markNegation(tokenize("I dont like it"))).toEqual(["i", "do", "not", "NOT_like", "NOT_it"]);
    expect(markNegation(tokenize("can't wait"))).toEqual(["can", "not", "NOT_wait"]);
    expect(sentimentFeatures("Not good!")).toEqual(["not", "NOT_good", "not|NOT_good", "NOT_good|!"]);
  });

  it("keeps the score in -1..1 and labels it by its sign, for any text", () => {
    const texts = ["", "   ", "!!!", "12345", "ok", "a".repeat(5000), "good ".repeat(2000), "bad awful terrible ".repeat(500), "The meeting is at 3pm on Tuesday."];
    for (const t of texts) {
      const { label, score } = classifySentiment(t);
      expect(score).toBeGreaterThanOrEqual(-1);
      expect(score).toBeLessThanOrEqual(1);
      expect(label).toBe(score > 0.1 ? "positive" : score < -0.1 ? "negative" : "neutral");
    }
    expect(classifySentiment("")).toEqual({ label: "neutral", score: 0 });
  });

  it("gives the provider's output the same {label, score}, at the top level and under sentiment", async () => {
    const model = new NlpModel({ name: "nlp", provider: "nlp", capabilities: [] });
    const out = (await model.process({ text: "The app crashes, I want a refund!" }, { signal: new AbortController().signal, attempt: 1, capabilities: ["sentiment-analysis"] })) as {
      sentiment: { label: string; score: number };
      label: string;
      score: number;
    };
    expect(out.sentiment).toEqual({ label: out.label, score: out.score });
    expect(out.label).toBe("negative");
  });

  it("has the right sign on at least 80% of a held-out fixture it never trained on", () => {
    const rows = readFileSync(FIXTURE, "utf8")
      .split("\n")
      .filter((l) => l && !l.startsWith("#"))
      .map((l) => ({ label: Number(l.slice(0, l.indexOf("\t"))), text: l.slice(l.indexOf("\t") + 1) }));
    expect(rows.length).toBeGreaterThanOrEqual(300);
    const right = rows.filter((r) => {
      const { score } = classifySentiment(r.text);
      return r.label === 1 ? score > 0 : score < 0;
    }).length;
    expect(right / rows.length).toBeGreaterThanOrEqual(0.8);
  });
});
