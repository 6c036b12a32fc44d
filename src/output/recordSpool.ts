/**
 * Records (whole NDJSON lines, newline included) waiting in memory while their log file cannot be written,
 * oldest first, bounded by a record count and a byte count.
 *
 * When full, the OLDEST records give way to the new one. Why not the newest: an attacker who fills the disk
 * acts afterwards, and those alerts are the newest; a flood of noise raised to fill the spool before the real
 * act is pushed out by it rather than keeping it out. When space returns, the log then holds the most recent
 * picture, and the agent's log says how many were lost and from when.
 */
export const DEFAULT_SPOOL_MAX_BYTES = 8 * 1024 * 1024;
export const DEFAULT_SPOOL_MAX_RECORDS = 10_000;

export class RecordSpool {
  private items: Buffer[] = [];
  private head = 0;
  /** Bytes held. */
  bytes = 0;

  constructor(
    readonly maxRecords: number,
    readonly maxBytes: number,
  ) {}

  get count(): number {
    return this.items.length - this.head;
  }

  /**
   * Adds `record` at the end. Returns how many records were dropped to make room: the oldest ones, or `record`
   * itself when it alone is larger than the spool (then nothing else is dropped).
   */
  push(record: Buffer): number {
    if (record.length > this.maxBytes || this.maxRecords === 0) return 1;
    let dropped = 0;
    while (this.count > 0 && (this.count + 1 > this.maxRecords || this.bytes + record.length > this.maxBytes)) {
      this.bytes -= this.items[this.head].length;
      this.head++;
      dropped++;
    }
    this.items.push(record);
    this.bytes += record.length;
    this.compact();
    return dropped;
  }

  /** The `index`-th oldest record. */
  peek(index: number): Buffer {
    return this.items[this.head + index];
  }

  /** Removes the `n` oldest records (they were written). */
  shift(n: number): void {
    for (let i = 0; i < n && this.count > 0; i++) {
      this.bytes -= this.items[this.head].length;
      this.head++;
    }
    this.compact();
  }

  /** Empties the spool; returns how many records it held. */
  clear(): number {
    const n = this.count;
    this.items = [];
    this.head = 0;
    this.bytes = 0;
    return n;
  }

  /** Drops the references before `head` once they are most of the array (amortised O(1) per record). */
  private compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
