/**
 * CacheFront: the in-memory front of SqliteStore's cache table, a bounded LRU of rows as the
 * file holds them (the JSON text), so that a cache hit does not pay for a SQLite read: in WAL
 * mode a read takes a read lock each time, which costs more than the rest of a hit.
 *
 * The file stays the truth. An entry not held here is read from the file by the store (so
 * entries written by another process are seen at once), expiry is checked by the store at
 * each read, and when another connection has committed anything to the file (its
 * `PRAGMA data_version` changed; checked at most every `checkMs`) everything held is dropped,
 * so an entry another process overwrote or deleted is not served for longer than that.
 *
 * It knows nothing of SQL: the store passes the function that reads the data version.
 */

/** A cache row as the file holds it. */
export interface CacheRow {
  value: string;
  created_at: number;
  expires_at: number | null;
}

/** The bounds of the front. */
export interface CacheFrontLimits {
  /** At most this many entries. @default 5000 */
  entries?: number;
  /** At most this many characters of JSON text in all. @default 16 MiB */
  bytes?: number;
  /** How often, at most, the file's data version is checked, in ms. @default 100 */
  checkMs?: number;
}

export class CacheFront {
  /** Rows by key, least recently used first (Map order). */
  readonly #rows = new Map<string, CacheRow>();
  readonly #limits: Required<CacheFrontLimits>;
  readonly #readDataVersion: () => unknown;
  #bytes = 0;
  /** The data version when last checked, and when (performance.now()). */
  #dataVersion: unknown;
  #checkedAt: number;

  /** `readDataVersion` returns the file's `PRAGMA data_version`; it is read once here. */
  constructor(limits: CacheFrontLimits, readDataVersion: () => unknown) {
    this.#limits = { entries: limits.entries ?? 5000, bytes: limits.bytes ?? 16 * 1024 * 1024, checkMs: limits.checkMs ?? 100 };
    this.#readDataVersion = readDataVersion;
    this.#dataVersion = readDataVersion();
    this.#checkedAt = performance.now();
  }

  /**
   * The row held for `key` (now the most recently used), or undefined; first drops all it
   * holds when another connection has committed to the file since the last check.
   */
  get(key: string): CacheRow | undefined {
    const t = performance.now();
    if (t - this.#checkedAt >= this.#limits.checkMs) {
      this.#checkedAt = t;
      const v = this.#readDataVersion();
      if (v !== this.#dataVersion) {
        // Another connection committed: what the front holds may be overwritten or deleted.
        this.#dataVersion = v;
        this.clear();
      }
    }
    const row = this.#rows.get(key);
    if (row) {
      // Most recently used last.
      this.#rows.delete(key);
      this.#rows.set(key, row);
    }
    return row;
  }

  /** Holds `row` for `key` (replacing what was held), evicting the least recently used beyond the limits. */
  remember(key: string, row: CacheRow): void {
    const limits = this.#limits;
    const old = this.#rows.get(key);
    if (old) {
      this.#rows.delete(key);
      this.#bytes -= old.value.length;
    }
    // An entry larger than a sixteenth of the front is read from the file each time.
    if (row.value.length > limits.bytes / 16) return;
    this.#rows.set(key, row);
    this.#bytes += row.value.length;
    for (const [k, r] of this.#rows) {
      if (this.#rows.size <= limits.entries && this.#bytes <= limits.bytes) break;
      this.#rows.delete(k);
      this.#bytes -= r.value.length;
    }
  }

  /** Drops the rows expired at `now`. */
  dropExpired(now: number): void {
    for (const [k, r] of this.#rows) {
      if (r.expires_at !== null && r.expires_at <= now) {
        this.#rows.delete(k);
        this.#bytes -= r.value.length;
      }
    }
  }

  /** Drops every row. */
  clear(): void {
    this.#rows.clear();
    this.#bytes = 0;
  }
}
