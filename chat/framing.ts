/**
 * Line framing: bytes in, lines out. Every transport that carries a byte
 * stream (TCP, TLS) feeds what it reads to a {@linkcode LineFramer}.
 *
 * @module
 */

const EMPTY = new Uint8Array(0);

/** Returned by {@linkcode LineFramer.next} for a line longer than the limit. */
export const LINE_TOO_LONG: Uint8Array = new Uint8Array(0);

/**
 * Splits a byte stream into lines at `\n`, dropping a `\r` before it.
 *
 * Feed it each chunk read from a socket, then call `next()` until it returns
 * `undefined`. Lines may be split across chunks anywhere; the unfinished tail
 * is kept (copied) until its newline arrives, and dropped if it never does. A
 * line longer than `maxLine` bytes is reported once as {@linkcode LINE_TOO_LONG}
 * and skipped up to its newline, so memory per connection stays bounded.
 */
export class LineFramer {
  #chunk: Uint8Array = EMPTY;
  #pos = 0;
  #tail: Uint8Array | null = null;
  #skipping = false;

  /** Makes a framer that refuses lines longer than `maxLine` bytes. */
  constructor(readonly maxLine: number) {}

  /** Starts on a new chunk; it must stay unchanged until `next()` returns `undefined`. */
  feed(chunk: Uint8Array): void {
    this.#chunk = chunk;
    this.#pos = 0;
  }

  /** The next complete line (a view, valid until the next `feed`), or `undefined`. */
  next(): Uint8Array | undefined {
    const chunk = this.#chunk;
    while (this.#pos < chunk.length) {
      const start = this.#pos;
      const newline = chunk.indexOf(10, start);
      if (newline === -1) {
        this.#release();
        return this.#keepTail(chunk.subarray(start));
      }
      this.#pos = newline + 1;
      if (this.#skipping) {
        this.#skipping = false;
        continue;
      }
      let line = chunk.subarray(start, newline);
      if (this.#tail) {
        line = joinBytes(this.#tail, line);
        this.#tail = null;
      }
      if (line.length > 0 && line[line.length - 1] === 13) line = line.subarray(0, -1);
      if (line.length > this.maxLine) return LINE_TOO_LONG;
      return line;
    }
    this.#release();
    return undefined;
  }

  /** Forgets the chunk, so an idle connection does not keep a view of its read buffer. */
  #release(): void {
    this.#chunk = EMPTY;
    this.#pos = 0;
  }

  #keepTail(rest: Uint8Array): Uint8Array | undefined {
    if (this.#skipping || rest.length === 0) return undefined;
    const kept = this.#tail ? this.#tail.length : 0;
    // One extra byte allows for the `\r` of a `\r\n` split across reads.
    if (kept + rest.length > this.maxLine + 1) {
      this.#tail = null;
      this.#skipping = true;
      return LINE_TOO_LONG;
    }
    this.#tail = this.#tail ? joinBytes(this.#tail, rest) : rest.slice();
    return undefined;
  }
}

function joinBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
