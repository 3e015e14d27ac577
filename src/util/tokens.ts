/**
 * Token counting with a real BPE tokenizer (gpt-tokenizer, cl100k_base: the GPT-4
 * encoding; a fair estimate for other models' tokenizers). Loaded on first use: the tables
 * take about 0.3 s to load and many runs never need them (providers report usage).
 */
type Counter = (text: string) => number;
let counter: Counter | undefined;
let loading: Promise<Counter> | undefined;

export async function loadTokenizer(): Promise<Counter> {
  if (counter) return counter;
  loading ??= import("gpt-tokenizer/encoding/cl100k_base").then((m) => {
    counter = (text: string) => m.countTokens(text);
    return counter;
  });
  return loading;
}

/** Text a value contributes to a prompt: strings as they are, message lists by content, else JSON. */
export function promptText(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value !== "object") return String(value);
  const v = value as { prompt?: unknown; messages?: unknown; system?: unknown; text?: unknown };
  if (typeof v.prompt === "string" || Array.isArray(v.messages)) {
    const parts: string[] = [];
    if (typeof v.system === "string") parts.push(v.system);
    if (typeof v.prompt === "string") parts.push(v.prompt);
    if (Array.isArray(v.messages)) {
      for (const m of v.messages) parts.push(typeof (m as { content?: unknown })?.content === "string" ? (m as { content: string }).content : JSON.stringify(m));
    }
    return parts.join("\n");
  }
  if (typeof v.text === "string") return v.text;
  return JSON.stringify(value);
}

/** Tokens of a value (see promptText). */
export async function countTokens(value: unknown): Promise<number> {
  const text = promptText(value);
  if (text === "") return 0;
  return (await loadTokenizer())(text);
}

/**
 * A cheap estimate with no tokenizer: about 4 characters per token, the rule of thumb for
 * English with GPT-style encodings. Used where a count is only reported (usage a provider
 * did not give, marked `~` in reports), so a run never pays the tokenizer's load time
 * (~0.3-1 s) just to print a number.
 */
export function estimateTokens(value: unknown): number {
  const text = promptText(value);
  return text === "" ? 0 : Math.max(1, Math.ceil(text.length / 4));
}

/**
 * An upper bound on the tokens of a value with no tokenizer: its UTF-8 byte length (a
 * byte-level BPE token is at least one byte). When every limit is above it, no exact count
 * is needed.
 */
export function tokenUpperBound(value: unknown): number {
  return Buffer.byteLength(promptText(value), "utf8");
}

/** Synchronous count once the tokenizer is loaded; undefined before. */
export function countTokensSync(value: unknown): number | undefined {
  if (!counter) return undefined;
  const text = promptText(value);
  return text === "" ? 0 : counter(text);
}
