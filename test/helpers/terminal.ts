/**
 * A tiny terminal for reporter tests: a Writable that applies what a live view writes (text,
 * line breaks, wrapping at `columns`, cursor up/down/left, erase line and screen, colours ignored) to a
 * screen of lines, so a
 * test reads what the user would see after a run instead of the escape codes.
 */
import { Writable } from "node:stream";

export class FakeTerminal extends Writable {
  readonly lines: string[] = [""];
  /** Everything written, escape codes and all. */
  raw = "";
  row = 0;
  col = 0;

  constructor(readonly columns = 100) {
    super();
  }

  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: (e?: Error | null) => void): void {
    const s = chunk.toString();
    this.raw += s;
    this.#apply(s);
    done();
  }

  /** The screen, each line without trailing spaces, without the empty last line the cursor rests on. */
  get screen(): string[] {
    const out = this.lines.map((l) => l.trimEnd());
    while (out.length && out[out.length - 1] === "") out.pop();
    return out;
  }

  #apply(s: string): void {
    for (let i = 0; i < s.length; i++) {
      const ch = s[i]!;
      if (ch === "\u001b" && s[i + 1] === "[") {
        // eslint-disable-next-line no-control-regex -- escape codes are what this reads
        const m = /^\u001b\[(\??)([\d;]*)([A-Za-z])/.exec(s.slice(i));
        if (!m) throw new Error(`unknown escape at ${JSON.stringify(s.slice(i, i + 8))}`);
        i += m[0].length - 1;
        if (m[1] === "?") continue; // synchronized output, cursor show/hide
        const n = m[2] === "" ? 1 : Number(m[2]);
        switch (m[3]) {
          case "A":
            this.row = Math.max(0, this.row - n);
            break;
          case "B":
            this.row += n;
            this.#ensure();
            break;
          case "G":
            this.col = 0;
            break;
          case "K":
            // 2K erases the whole line, K (0K) from the cursor to its end.
            this.lines[this.row] = m[2] === "2" ? "" : this.lines[this.row]!.slice(0, this.col);
            break;
          case "J":
            // Erase from the cursor to the end of the screen.
            this.lines[this.row] = this.lines[this.row]!.slice(0, this.col);
            this.lines.length = this.row + 1;
            break;
          case "m":
            break; // colours
          default:
            throw new Error(`unexpected escape ${JSON.stringify(m[0])}`);
        }
        continue;
      }
      if (ch === "\n") {
        this.row++;
        this.col = 0;
        this.#ensure();
        continue;
      }
      if (this.col >= this.columns) {
        // Auto-wrap, as terminals do.
        this.row++;
        this.col = 0;
        this.#ensure();
      }
      const line = this.lines[this.row]!.padEnd(this.col);
      this.lines[this.row] = line.slice(0, this.col) + ch + line.slice(this.col + 1);
      this.col++;
    }
  }

  #ensure(): void {
    while (this.lines.length <= this.row) this.lines.push("");
  }
}
