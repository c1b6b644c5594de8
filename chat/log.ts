/**
 * The operator's log: lines are written asynchronously through a bounded
 * queue, so a stdout that nobody reads never stalls the chat (lines are then
 * dropped and counted), and events that repeat (refusals, timeouts) are
 * summed up instead of logged one line each.
 *
 * @module
 */

const encoder = new TextEncoder();

/** A log that never blocks its caller: lines wait in a bounded queue for one write at a time. */
export class AsyncLog {
  #pending: string[] = [];
  #writing: Promise<void> | null = null;
  #dropped = 0;

  /** Makes a log writing with `write`; at most `maxPending` lines wait, the rest are dropped. */
  constructor(
    readonly write: (bytes: Uint8Array) => Promise<unknown>,
    readonly maxPending = 10_000,
  ) {}

  /** Queues one line (without its newline). */
  line(text: string): void {
    if (this.#pending.length >= this.maxPending) {
      this.#dropped++;
      return;
    }
    this.#pending.push(text);
    this.#writing ??= this.#writeAll();
  }

  /** Settles once everything queued is written. */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  async #writeAll(): Promise<void> {
    try {
      while (this.#pending.length > 0 || this.#dropped > 0) {
        if (this.#dropped > 0) {
          this.#pending.push(
            `-- ${this.#dropped} log lines dropped (the log's reader fell behind)`,
          );
          this.#dropped = 0;
        }
        const text = this.#pending.join("\n") + "\n";
        this.#pending = [];
        await this.write(encoder.encode(text));
      }
    } catch {
      // stdout is gone: nothing more can be logged, and chatting goes on
      this.#pending = [];
    } finally {
      this.#writing = null;
    }
  }
}

/**
 * Logs the first of a kind of event at once, and the rest of that kind within
 * `interval` milliseconds as one summary line when the interval ends.
 */
export class RepeatedLog {
  #counts = new Map<string, number>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** Makes a summarizing log on top of `log`. */
  constructor(readonly log: (line: string) => void, readonly interval = 10_000) {}

  /** Notes one event, described by `what` (events with the same text are counted together). */
  note(what: string): void {
    if (this.#timer === undefined) {
      this.log(what);
      this.#timer = setTimeout(() => this.#summarize(), this.interval);
      return;
    }
    this.#counts.set(what, (this.#counts.get(what) ?? 0) + 1);
  }

  /** Logs what is counted and stops the timer. */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#report();
  }

  #summarize(): void {
    this.#timer = undefined;
    if (this.#report()) this.#timer = setTimeout(() => this.#summarize(), this.interval);
  }

  /** Logs one summary line if anything was counted; says whether it did. */
  #report(): boolean {
    if (this.#counts.size === 0) return false;
    const parts = [...this.#counts].map(([what, count]) => `${count} × ${what}`);
    this.#counts.clear();
    this.log(`in the last ${this.interval / 1000} s, also: ${parts.join("; ")}`);
    return true;
  }
}
