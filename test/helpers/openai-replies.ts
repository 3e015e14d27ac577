/** Replies of a local server speaking the OpenAI Chat Completions API (with FakeApiServer). */
import { sseEvent, type Reply } from "./fake-api-server.js";

/** A chat.completion answer, as the API returns it. */
export function completion(text: string, usage = { prompt_tokens: 7, completion_tokens: 3 }): Reply {
  return {
    json: {
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1741569952,
      model: "local",
      choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
      usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
    },
  };
}

/** A streamed piece of an answer: a chat.completion.chunk event carrying `content`. */
export function chunkEvent(content: string): string {
  return sseEvent({ id: "u1", object: "chat.completion.chunk", created: 1, model: "up-1", choices: [{ index: 0, delta: { content }, finish_reason: null }] });
}

/** The last chunk of a streamed answer: finish reason stop, and the usage. */
export function finishEvent(usage: { prompt_tokens: number; completion_tokens: number }): string {
  return sseEvent({ id: "u1", object: "chat.completion.chunk", created: 1, model: "up-1", choices: [{ index: 0, delta: {}, finish_reason: "stop" }], usage });
}
