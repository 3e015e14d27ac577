/**
 * The OpenTelemetry GenAI semantic conventions (gen_ai.*) for a model call: the span name
 * (`chat {model}`, `execute_tool {tool}`), its request attributes, and the usage and finish
 * reasons of the answer. Prompts and answers (`gen_ai.input.messages`,
 * `gen_ai.output.messages`) only when content capture is on.
 * https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/
 */
import type { Attributes } from "@opentelemetry/api";

/** What a span reads of a model's config (a ModelConfig is one). */
export interface SpanModel {
  name: string;
  provider: string;
  model?: string;
  baseUrl?: string;
  url?: string;
  tool?: string;
}

/** Provider kind -> gen_ai.provider.name (the well-known values where there is one). */
const PROVIDER_NAMES: Record<string, string> = { openai: "openai", anthropic: "anthropic" };

/** The operation and span name of a call. */
export function callSpanName(m: SpanModel): { operation: string; name: string } {
  if (m.provider === "mcp") return { operation: "execute_tool", name: `execute_tool ${m.tool ?? m.name}` };
  const model = m.model ?? m.name;
  return { operation: "chat", name: `chat ${model}` };
}

/** Attributes known before the call. */
export function requestAttributes(m: SpanModel, input: unknown, captureContent: boolean): Attributes {
  const { operation } = callSpanName(m);
  const a: Attributes = {
    "gen_ai.operation.name": operation,
    "gen_ai.provider.name": PROVIDER_NAMES[m.provider] ?? m.provider,
    "gen_ai.request.model": m.model ?? m.name,
    "mcp.model": m.name,
  };
  if (m.provider === "mcp" && m.tool) a["gen_ai.tool.name"] = m.tool;
  Object.assign(a, serverAttributes(m.baseUrl ?? m.url));
  const i = input as { temperature?: unknown; maxTokens?: unknown } | null;
  if (i && typeof i === "object") {
    if (typeof i.temperature === "number") a["gen_ai.request.temperature"] = i.temperature;
    if (typeof i.maxTokens === "number") a["gen_ai.request.max_tokens"] = i.maxTokens;
  }
  if (captureContent) a["gen_ai.input.messages"] = JSON.stringify(inputMessages(input));
  return a;
}

/** server.address and server.port of a URL. */
export function serverAttributes(url: string | undefined): Attributes {
  if (!url) return {};
  try {
    const u = new URL(url);
    const port = u.port ? Number(u.port) : u.protocol === "https:" ? 443 : 80;
    return { "server.address": u.hostname, "server.port": port };
  } catch {
    return {};
  }
}

/** Attributes of the answer: usage, finish reasons, and the answer when content capture is on. */
export function responseAttributes(output: unknown, captureContent: boolean): Attributes {
  const a: Attributes = {};
  const o = output as { usage?: { inputTokens?: unknown; outputTokens?: unknown }; finishReason?: unknown; text?: unknown } | null;
  if (!o || typeof o !== "object") return a;
  if (typeof o.usage?.inputTokens === "number") a["gen_ai.usage.input_tokens"] = o.usage.inputTokens;
  if (typeof o.usage?.outputTokens === "number") a["gen_ai.usage.output_tokens"] = o.usage.outputTokens;
  if (typeof o.finishReason === "string") a["gen_ai.response.finish_reasons"] = [o.finishReason];
  if (captureContent) {
    const content = typeof o.text === "string" ? o.text : JSON.stringify(output);
    a["gen_ai.output.messages"] = JSON.stringify([{ role: "assistant", parts: [{ type: "text", content }], ...(typeof o.finishReason === "string" ? { finish_reason: o.finishReason } : {}) }]);
  }
  return a;
}

/** The call's input as GenAI messages ({ role, parts }). */
function inputMessages(input: unknown): unknown[] {
  const i = input as { prompt?: unknown; messages?: unknown; system?: unknown } | null;
  const text = (content: unknown) => [{ type: "text", content: typeof content === "string" ? content : JSON.stringify(content) }];
  const out: unknown[] = [];
  if (i && typeof i === "object") {
    if (i.system !== undefined) out.push({ role: "system", parts: text(i.system) });
    if (Array.isArray(i.messages)) {
      for (const m of i.messages as { role?: unknown; content?: unknown }[]) out.push({ role: typeof m?.role === "string" ? m.role : "user", parts: text(m?.content) });
      return out;
    }
    if (i.prompt !== undefined) {
      out.push({ role: "user", parts: text(i.prompt) });
      return out;
    }
  }
  out.push({ role: "user", parts: text(input) });
  return out;
}
