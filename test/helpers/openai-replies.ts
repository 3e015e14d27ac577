/** Replies of a local server speaking the OpenAI Chat Completions API (with FakeApiServer). */
import type { Reply } from "./fake-api-server.js";

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
