/**
 * Output batching and the output budget: each connection queues the bytes
 * meant for it in an {@linkcode Outbox}; a {@linkcode FlushScheduler} writes
 * every outbox that has something queued once the lines being handled now are
 * done, so a burst of lines costs one write per recipient, not one per line,
 * and keeps the total queued for everyone within one budget.
 *
 * A broadcast is encoded once and queued by reference in each recipient's
 * outbox: a line waiting for ten thousand slow readers is stored once. Bytes
 * are copied per recipient only when they are written.
 *
 * @module
 */

const EMPTY = new Uint8Array(0);
/** The most bytes joined into one write; the rest waits for the next. */
const WRITE_MAX = 256 * 1024;

/** Flushes dirty outboxes once per batch, shares joined buffers, and keeps the output budget. */
export class FlushScheduler {
  #dirty: Outbox[] = [];
  // Outboxes flushed in one batch mostly hold the very same chunks (a broadcast queues one
  // Uint8Array for every member), so one joined copy can serve all of them.
  #lastChunks: Uint8Array[] = [];
  #lastJoined: Uint8Array = EMPTY;
  #shedding = false;
  /** Bytes queued for all connections together, counted per recipient. */
  queuedBytes = 0;
  /** The most bytes ever queued for all connections together. */
  peakBufferedBytes = 0;
  /** The most bytes ever queued for one connection at once. */
  peakQueuedBytes = 0;

  /**
   * Makes a scheduler whose outboxes may hold `maxBuffered` bytes in all; past
   * that, `overBudget` is called to drop some of them (it must bring the total down).
   */
  constructor(
    readonly maxBuffered = Infinity,
    readonly overBudget: () => void = () => {},
  ) {}

  /** Marks `outbox` to be written once the current batch of lines has been handled. */
  schedule(outbox: Outbox): void {
    if (this.#dirty.push(outbox) === 1) queueMicrotask(this.#flushDirty);
  }

  #flushDirty = (): void => {
    const dirty = this.#dirty;
    this.#dirty = [];
    for (const outbox of dirty) outbox.flush();
    this.#lastChunks = []; // at most one joined buffer is ever kept
    this.#lastJoined = EMPTY;
  };

  /** Counts bytes queued (or, negative, written or dropped); sheds load past the budget. */
  count(bytes: number): void {
    const queued = this.queuedBytes += bytes;
    if (queued > this.peakBufferedBytes) this.peakBufferedBytes = queued;
    if (queued > this.maxBuffered && !this.#shedding) {
      this.#shedding = true;
      try {
        this.overBudget();
      } finally {
        this.#shedding = false;
      }
    }
  }

  /** Joins the first `n` chunks into one buffer, reusing the last join if it holds the same. */
  join(chunks: readonly Uint8Array[], n: number, total: number): Uint8Array {
    const last = this.#lastChunks;
    if (this.#lastJoined.length === total && last.length === n) {
      let same = true;
      for (let i = 0; same && i < n; i++) same = chunks[i] === last[i];
      if (same) return this.#lastJoined;
    }
    this.#lastChunks = chunks.slice(0, n);
    this.#lastJoined = concat(this.#lastChunks, total);
    return this.#lastJoined;
  }
}

/**
 * A connection's output queue, counted in bytes, with at most one write in
 * flight: when it completes, what queued since goes out as one write (up to
 * 256 KiB). A transport extends it with {@linkcode Outbox.write}, and calls
 * {@linkcode Outbox.written} when that write is done.
 */
export abstract class Outbox {
  // Most of the time one chunk waits (one line to one recipient): it is kept on its own,
  // and the array for several is made only for a connection that ever needs it.
  #single: Uint8Array | null = null;
  #chunks: Uint8Array[] | null = null;
  /** Bytes queued and in flight. */
  #queued = 0;
  #inFlight = 0;
  #scheduled = false;
  /** Set once nothing more may be queued. */
  #shut = false;

  constructor(readonly scheduler: FlushScheduler, readonly maxQueue: number) {}

  /** Starts writing `bytes`; the transport calls {@linkcode written} when done. */
  protected abstract write(bytes: Uint8Array): void;
  /** Called once everything queued has been written after {@linkcode shutOutput}. */
  protected abstract drained(): void;
  /** Called when the queue cap is passed; the outbox is already shut and emptied. */
  protected abstract overflowed(): void;

  /** Bytes waiting for this connection, including the write in flight. */
  get queuedBytes(): number {
    return this.#queued;
  }

  /** Queues bytes by reference; never waits. Past the queue cap, empties it and reports. */
  enqueue(bytes: Uint8Array): void {
    if (this.#shut) return;
    const queued = this.#queued + bytes.length;
    if (queued > this.maxQueue) {
      this.discard();
      return this.overflowed();
    }
    this.#queued = queued;
    const { scheduler } = this;
    if (queued > scheduler.peakQueuedBytes) scheduler.peakQueuedBytes = queued;
    const chunks = this.#chunks;
    if (this.#single === null && (chunks === null || chunks.length === 0)) {
      this.#single = bytes;
    } else if (chunks === null) {
      this.#chunks = [this.#single!, bytes];
      this.#single = null;
    } else {
      if (this.#single !== null) chunks.push(this.#single);
      this.#single = null;
      chunks.push(bytes);
    }
    if (this.#inFlight === 0 && !this.#scheduled) {
      this.#scheduled = true;
      scheduler.schedule(this);
    }
    scheduler.count(bytes.length); // last: past the budget, this very outbox may be dropped
  }

  /** Writes what is queued as one chunk, unless a write is in flight (the scheduler calls it). */
  flush(): void {
    this.#scheduled = false;
    if (this.#inFlight > 0) return;
    let bytes = this.#single;
    if (bytes !== null) {
      this.#single = null;
    } else {
      const chunks = this.#chunks;
      if (chunks === null || chunks.length === 0) return;
      let n = 0;
      let total = 0;
      while (n < chunks.length && (n === 0 || total + chunks[n].length <= WRITE_MAX)) {
        total += chunks[n++].length;
      }
      bytes = n === 1 ? chunks[0] : this.scheduler.join(chunks, n, total);
      if (n === chunks.length) chunks.length = 0;
      else chunks.splice(0, n);
    }
    this.#inFlight = bytes.length;
    this.write(bytes);
  }

  /** The transport reports that the write in flight is done. */
  protected written(): void {
    const done = this.#inFlight;
    if (done === 0) return; // forgotten: the connection closed meanwhile
    this.#queued -= done;
    this.#inFlight = 0;
    this.scheduler.count(-done);
    if (this.#hasPending()) {
      // Written with the others that finished now: outboxes that waited on the same lines
      // then share one joined buffer instead of each copying its own.
      if (!this.#scheduled) {
        this.#scheduled = true;
        this.scheduler.schedule(this);
      }
    } else if (this.#shut) {
      this.drained();
    }
  }

  /** Accepts nothing more; {@linkcode drained} follows once what is queued is written. */
  protected shutOutput(): void {
    if (this.#shut) return;
    this.#shut = true;
    if (this.#inFlight === 0 && !this.#hasPending()) this.drained();
  }

  /** Drops everything queued but the write in flight (the connection is gone). */
  protected discard(): void {
    this.#shut = true;
    this.#single = null;
    this.#chunks = null;
    const dropped = this.#queued - this.#inFlight;
    this.#queued = this.#inFlight;
    this.scheduler.count(-dropped);
  }

  /** Forgets everything, the write in flight included (the connection has closed). */
  protected forget(): void {
    this.discard();
    this.scheduler.count(-this.#inFlight);
    this.#queued = 0;
    this.#inFlight = 0;
  }

  #hasPending(): boolean {
    return this.#single !== null || (this.#chunks !== null && this.#chunks.length > 0);
  }
}

/** Joins chunks whose lengths add up to `total` into one array. */
export function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
