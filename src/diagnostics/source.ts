/** Source texts by file, and offset -> line:col conversion (1-based, as editors show). */

export class SourceFile {
  #starts: number[] | undefined;
  constructor(
    readonly path: string,
    readonly text: string,
  ) {}

  /** Offsets where lines start; found on first need (a valid file never needs them). */
  get #lineStarts(): number[] {
    if (!this.#starts) {
      const starts = [0];
      const text = this.text;
      for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
      this.#starts = starts;
    }
    return this.#starts;
  }

  /** 1-based line and column of an offset. */
  position(offset: number): { line: number; col: number } {
    const starts = this.#lineStarts;
    let lo = 0;
    let hi = starts.length - 1;
    const o = Math.max(0, Math.min(offset, this.text.length));
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] ?? 0) <= o) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: o - (starts[lo] ?? 0) + 1 };
  }

  /** The text of a 1-based line, without its newline. */
  line(line: number): string {
    const start = this.#lineStarts[line - 1] ?? this.text.length;
    const next = this.#lineStarts[line];
    const end = next === undefined ? this.text.length : next - 1;
    return this.text.slice(start, end).replace(/\r$/, "");
  }
}

/** Every source file read in one process, so printers can show line:col and the source line. */
export class SourceMap {
  readonly #files = new Map<string, SourceFile>();
  add(path: string, text: string): SourceFile {
    const f = new SourceFile(path, text);
    this.#files.set(path, f);
    return f;
  }
  get(path: string): SourceFile | undefined {
    return this.#files.get(path);
  }
}
