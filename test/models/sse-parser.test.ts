/** The SSE parser: line endings, chunks split anywhere, comments, multi-line data, cut events. */
import { describe, expect, it } from "vitest";
import { parseSse, type SseEvent } from "../../src/models/sse-parser.js";

async function parse(chunks: (string | Uint8Array)[]): Promise<SseEvent[]> {
  const out: SseEvent[] = [];
  async function* gen() {
    yield* chunks;
  }
  for await (const ev of parseSse(gen())) out.push(ev);
  return out;
}

const text = 'event: message_start\ndata: {"a":1}\n\n: keep-alive comment\n\ndata: line one\ndata: line two\n\ndata:no-space\n\n';
const expected = [{ event: "message_start", data: '{"a":1}' }, { data: "line one\nline two" }, { data: "no-space" }];

describe("parseSse", () => {
  it("reads events, skipping comments and joining data lines", async () => {
    expect(await parse([text])).toEqual(expected);
  });

  it("gives the same events whatever the chunking, for \\n, \\r\\n and \\r line ends", async () => {
    for (const eol of ["\n", "\r\n", "\r"]) {
      const t = text.replaceAll("\n", eol);
      for (let size = 1; size <= 7; size++) {
        const chunks: string[] = [];
        for (let i = 0; i < t.length; i += size) chunks.push(t.slice(i, i + size));
        expect(await parse(chunks), `eol ${JSON.stringify(eol)} size ${size}`).toEqual(expected);
      }
    }
  });

  it("decodes UTF-8 split across chunks", async () => {
    const bytes = new TextEncoder().encode("data: héllo ✓\n\n");
    const chunks = Array.from(bytes, (b) => new Uint8Array([b]));
    expect(await parse(chunks)).toEqual([{ data: "héllo ✓" }]);
  });

  it("drops a last event that was not ended by a blank line (a cut stream)", async () => {
    expect(await parse(["data: one\n\ndata: tw"])).toEqual([{ data: "one" }]);
    expect(await parse(["data: one\n\ndata: two\n"])).toEqual([{ data: "one" }]);
  });
});
