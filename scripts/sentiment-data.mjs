// The labelled sentences under data/sentiment/ (sources and licences in data/sentiment/README.md),
// read into { text, label } rows (label 1 = positive, 0 = negative), with the fixed splits that
// scripts/train-sentiment.mjs and scripts/eval-sentiment.mjs share.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../data/sentiment/", import.meta.url));

/** UCI "Sentiment Labelled Sentences": `sentence \t 0|1` per line. */
function readUci(site) {
  return readFileSync(`${root}uci/${site}_labelled.txt`, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => {
      const tab = l.lastIndexOf("\t");
      return { text: l.slice(0, tab).trim(), label: Number(l.slice(tab + 1).trim()) };
    });
}

/** Our derived files: `label \t text` per line; label 1 positive, 0 negative, 0.5 neutral. */
function readTsv(rel) {
  return readFileSync(`${root}${rel}`, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => {
      const tab = l.indexOf("\t");
      return { text: l.slice(tab + 1), label: Number(l.slice(0, tab)) };
    });
}

/** The UCI and XED split: every 5th line of each file (20%) is held out, never trained on. */
const isHeldOut = (_row, i) => i % 5 === 4;

export const UCI_SITES = ["amazon_cells", "imdb", "yelp"];

/**
 * Named data sets. The shipped weights learn from `uci-train`, `goemotions-train` and
 * `xed-train`; every other set is never seen by them.
 *   uci-train, uci-test      the UCI sentences of all three sites, 80% / 20% (every 5th held out)
 *   uci-site:<site>          all 1,000 sentences of one site (amazon_cells, imdb, yelp)
 *   goemotions-<split>       GoEmotions Reddit comments (train, dev, test)
 *   goemotions-neutral-train GoEmotions train comments labelled only neutral (label 0.5)
 *   emobank                  EmoBank sentences of clear valence (news, letters, fiction, blogs...)
 *   xed-train, xed-test      XED film subtitle lines, 80% / 20% (every 5th held out)
 */
export function dataset(name) {
  const [kind, arg] = name.split(":");
  switch (kind) {
    case "uci-train":
      return UCI_SITES.flatMap((s) => readUci(s).filter((r, i) => !isHeldOut(r, i)));
    case "uci-test":
      return UCI_SITES.flatMap((s) => readUci(s).filter((r, i) => isHeldOut(r, i)));
    case "uci-site":
      return readUci(arg);
    case "goemotions-train":
    case "goemotions-dev":
    case "goemotions-test":
    case "goemotions-neutral-train":
      return readTsv(`goemotions/${kind.slice("goemotions-".length)}.tsv`);
    case "emobank":
      return readTsv("emobank/polar.tsv");
    case "xed-train":
      return readTsv("xed/polar.tsv").filter((r, i) => !isHeldOut(r, i));
    case "xed-test":
      return readTsv("xed/polar.tsv").filter((r, i) => isHeldOut(r, i));
    default:
      throw new TypeError(`unknown data set '${name}'`);
  }
}
