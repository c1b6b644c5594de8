/**
 * Output batching: each connection queues the bytes meant for it in an
 * {@linkcode Outbox}; a {@linkcode FlushScheduler} writes every outbox that
 * has something queued once the lines being handled now are done, so a burst
 * of lines costs one write per recipient, not one per line.
 *
 * @module
 */

const EMPTY = new Uint8Array(0);
/** Chunks an outbox may hold before they are joined into one. */
const OUTBOX_CHUNKS = 256;

/** Flushes dirty outboxes once per batch, and lets them share one joined buffer. */
export class FlushScheduler {
  #dirty: Outbox[] = [];
  // Outboxes flushed in one batch mostly hold the very same chunks (a broadcast queues one
  // Uint8Array for every member), so one joined copy can serve all of them.
  #lastChunks: Uint8Array[] = [];
  #lastJoined: Uint8Array = EMPTY;
  /** The most bytes ever queued for one connection at once. */
  peakQueuedBytes = 0;

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

  /** Joins chunks into one buffer, reusing the previous one if it holds the same chunks. */
  join(chunks: Uint8Array[], total: number): Uint8Array {
    const last = this.#lastChunks;
    if (this.#lastJoined.length === total && last.length === chunks.length) {
      let same = true;
      for (let i = 0; same && i < chunks.length; i++) same = chunks[i] === last[i];
      if (same) return this.#lastJoined;
    }
    this.#lastJoined = concat(chunks, total);
    this.#lastChunks = chunks.slice();
    return this.#lastJoined;
  }
}

/**
 * A connection's output queue, counted in bytes, with at most one write in
 * flight: when it completes, everything queued since goes out as one write.
 * A transport extends it with {@linkcode Outbox.write}, and calls
 * {@linkcode Outbox.written} when that write is done.
 */
export abstract class Outbox {
  // Most of the time one chunk waits (one line to one recipient): it is kept on its own,
  // and the array for several is made only for a connection that ever needs it.
  #single: Uint8Array | null = null;
  #chunks: Uint8Array[] | null = null;
  /** Leading chunks of `#chunks` that are joins of earlier ones (see `enqueue`). */
  #joined = 0;
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

  /** Queues bytes; never waits. Past the queue cap, empties the queue and reports an overflow. */
  enqueue(bytes: Uint8Array): void {
    if (this.#shut) return;
    const queued = this.#queued + bytes.length;
    if (queued > this.maxQueue) {
      this.discard();
      return this.overflowed();
    }
    this.#queued = queued;
    if (queued > this.scheduler.peakQueuedBytes) this.scheduler.peakQueuedBytes = queued;
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
      // A connection that is not reading collects one array per line (~5× the line's
      // bytes); join each run of them, so what `maxQueue` lets it hold costs about that.
      // Only the run since the last join is copied, never the joins before it.
      if (chunks.length - this.#joined >= OUTBOX_CHUNKS) this.#joinRun(chunks);
    }
    if (this.#inFlight === 0 && !this.#scheduled) {
      this.#scheduled = true;
      this.scheduler.schedule(this);
    }
  }

  /** Writes everything queued as one chunk, unless a write is in flight (the scheduler calls it). */
  flush(): void {
    this.#scheduled = false;
    if (this.#inFlight > 0) return;
    let bytes = this.#single;
    if (bytes !== null) {
      this.#single = null;
    } else {
      const chunks = this.#chunks;
      if (chunks === null || chunks.length === 0) return;
      bytes = chunks.length === 1 ? chunks[0] : this.scheduler.join(chunks, this.#pending());
      chunks.length = 0;
      this.#joined = 0;
    }
    this.#inFlight = bytes.length;
    this.write(bytes);
  }

  /** The transport reports that the write in flight is done. */
  protected written(): void {
    this.#queued -= this.#inFlight;
    this.#inFlight = 0;
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

  /** Drops everything queued (the connection is gone). */
  protected discard(): void {
    this.#shut = true;
    this.#single = null;
    this.#chunks = null;
    this.#joined = 0;
    this.#queued = this.#inFlight;
  }

  /** Replaces the chunks after the joined ones with one array holding them all. */
  #joinRun(chunks: Uint8Array[]): void {
    const run = chunks.splice(this.#joined);
    let total = 0;
    for (const chunk of run) total += chunk.length;
    chunks.push(concat(run, total));
    this.#joined++;
  }

  #pending(): number {
    return this.#queued - this.#inFlight;
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
