/**
 * Reads a Server-Sent Events stream (the `text/event-stream` format of the WHATWG HTML
 * standard) into events, through the `eventsource-parser` package. Used by the streaming
 * providers; it knows nothing about HTTP.
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";

/** One dispatched event: the `event:` name (if any) and its `data:` lines joined by "\n". */
export interface SseEvent {
  event?: string;
  data: string;
}

/**
 * Parses SSE bytes into events. Chunks may split lines, "\r\n" pairs and UTF-8 characters
 * anywhere. A trailing event without its blank line is dropped, as the standard says: a cut
 * stream does not produce a half event.
 */
export async function* parseSse(chunks: AsyncIterable<Uint8Array | string>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let ready: SseEvent[] = [];
  const parser = createParser({
    onEvent(m: EventSourceMessage) {
      ready.push(m.event !== undefined ? { event: m.event, data: m.data } : { data: m.data });
    },
  });
  let endsInCr = false;
  for await (const chunk of chunks) {
    const text = typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
    if (text === "") continue;
    endsInCr = text.endsWith("\r");
    parser.feed(text);
    if (ready.length === 0) continue;
    const out = ready;
    ready = [];
    yield* out;
  }
  // The parser holds a last "\r" back in case "\n" follows; at the end it was a line end.
  // A last line without its blank line is not a complete event: the parser is not flushed.
  if (endsInCr) {
    parser.feed("\n");
    yield* ready;
  }
}
