/**
 * Reads a Server-Sent Events stream (the `text/event-stream` format of the WHATWG HTML
 * standard) into events. Used by the streaming providers; it knows nothing about HTTP.
 */

/** One dispatched event: the `event:` name (if any) and its `data:` lines joined by "\n". */
export interface SseEvent {
  event?: string;
  data: string;
}

/**
 * Parses SSE bytes into events.
 *
 * Why a hand-written loop: chunks split lines (and UTF-8 characters) anywhere, lines end in
 * "\n", "\r\n" or "\r", a "\r\n" may itself be split across chunks, and an event is only
 * dispatched at a blank line. A trailing event without its blank line is dropped, as the
 * standard says: a cut stream does not produce a half event.
 */
export async function* parseSse(chunks: AsyncIterable<Uint8Array | string>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = "";
  let data: string[] = [];
  let event: string | undefined;
  let skipLf = false;

  const line = (text: string): SseEvent | undefined => {
    if (text === "") {
      if (data.length === 0) {
        event = undefined;
        return undefined;
      }
      const out: SseEvent = { data: data.join("\n"), ...(event !== undefined ? { event } : {}) };
      data = [];
      event = undefined;
      return out;
    }
    if (text.startsWith(":")) return undefined; // comment / keep-alive
    const colon = text.indexOf(":");
    const field = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? "" : text.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") data.push(value);
    else if (field === "event") event = value;
    // id and retry are not needed by model APIs.
    return undefined;
  };

  for await (const chunk of chunks) {
    buffer += typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let i = 0; i < buffer.length; i++) {
      const c = buffer.charCodeAt(i);
      if (c === 10 /* \n */ && skipLf && i === start) {
        start = i + 1;
        skipLf = false;
        continue;
      }
      skipLf = false;
      if (c === 10 || c === 13) {
        const ev = line(buffer.slice(start, i));
        if (ev) yield ev;
        start = i + 1;
        if (c === 13) {
          if (i + 1 < buffer.length) {
            if (buffer.charCodeAt(i + 1) === 10) {
              i++;
              start = i + 1;
            }
          } else {
            skipLf = true;
          }
        }
      }
    }
    buffer = buffer.slice(start);
  }
  buffer += decoder.decode();
  // A last line without a line break is not a complete event; ignore it.
}
