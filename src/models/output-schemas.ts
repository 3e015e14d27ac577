/**
 * The output schemas the built-in providers declare (what `process()` really returns), so the
 * compiler can check `$steps.<id>.output.<path>` references before a run. A model's own
 * `outputSchema:` wins over these; providers whose output depends on the user (http, module,
 * mcp, mock) declare none.
 */

type Schema = Record<string, unknown>;

const usage: Schema = {
  type: "object",
  properties: { inputTokens: { type: "number" }, outputTokens: { type: "number" } },
  additionalProperties: false,
};

/** The LLM call shape of openai and anthropic: `{ text, json?, usage, finishReason }`. */
export const LLM_OUTPUT_SCHEMA: Schema = {
  type: "object",
  properties: {
    text: { type: "string" },
    json: { description: "The parsed answer, when the input asked for JSON." },
    usage,
    finishReason: { type: "string" },
  },
  required: ["text", "usage", "finishReason"],
  additionalProperties: false,
};

const sentiment: Schema = {
  type: "object",
  properties: { label: { type: "string", enum: ["positive", "negative", "neutral"] }, score: { type: "number" } },
  additionalProperties: false,
};

/** The parts of the nlp provider's output, by capability (src/models/providers/nlp.ts). */
const NLP_PARTS: Record<string, Record<string, Schema>> = {
  "sentiment-analysis": { sentiment, label: { type: "string", enum: ["positive", "negative", "neutral"] }, score: { type: "number" } },
  "entity-extraction": {
    entities: { type: "array", items: { type: "object", properties: { value: { type: "string" }, type: { type: "string" } }, additionalProperties: false } },
  },
  "sentence-split": { sentences: { type: "array", items: { type: "string" } } },
  "keyword-extraction": {
    keywords: { type: "array", items: { type: "object", properties: { value: { type: "string" }, score: { type: "number" } }, additionalProperties: false } },
  },
  summarization: { summary: { type: "string" } },
};

/**
 * The output schema a built-in provider declares for a call asking for `capabilities` (the
 * nlp provider answers only the parts asked for; without any, those of the model's own
 * capabilities, else all), or undefined when the provider's output is the user's to describe.
 */
export function builtinOutputSchema(provider: string, capabilities: readonly string[], modelCapabilities: readonly string[] = []): Schema | undefined {
  if (provider === "openai" || provider === "anthropic") return LLM_OUTPUT_SCHEMA;
  if (provider !== "nlp") return undefined;
  const known = (list: readonly string[]) => list.filter((c) => NLP_PARTS[c]);
  const asked = known(capabilities);
  const parts = asked.length ? asked : known(modelCapabilities).length ? known(modelCapabilities) : Object.keys(NLP_PARTS);
  const properties: Record<string, Schema> = { usage };
  for (const c of parts) Object.assign(properties, NLP_PARTS[c]);
  return { type: "object", properties, additionalProperties: false };
}
