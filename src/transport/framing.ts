/**
 * Line framing: bytes in, lines out. Every transport that carries a byte
 * stream (TCP, TLS) feeds what it reads to a {@linkcode LineFramer}.
 *
 * @module
 */

import { type Framer, TOO_LONG } from "../core/input.ts";

const EMPTY = new Uint8Array(0);

/** Returned by {@linkcode LineFramer.next} for a line longer than the limit (the core's `TOO_LONG`). */
export const LINE_TOO_LONG: Uint8Array = TOO_LONG;

/**
 * Splits a byte stream into lines at `\n`, dropping a `\r` before it.
 *
 * Feed it each chunk read from a socket, then call `next()` until it returns
 * `undefined`. Lines may be split across chunks anywhere; the unfinished tail
 * is kept (copied) until its newline arrives, and dropped if it never does. A
 * line longer than `maxLine` bytes is reported once as {@linkcode LINE_TOO_LONG}
 * and skipped up to its newline, so memory per connection stays bounded; the
 * bytes it had are counted (see {@linkcode LineFramer.takeDiscarded}), so that
 * flood control can charge for them as for the bytes of lines.
 */
export class LineFramer implements Framer {
  #chunk: Uint8Array = EMPTY;
  #pos = 0;
  // The unfinished line, copied into a buffer that doubles as it fills (so a line sent a
  // byte at a time costs O(length), not O(length²)), at most `maxLine` + 1 bytes.
  #tail: Uint8Array | null = null;
  #tailLength = 0;
  #skipping = false;
  /** Bytes of over-long lines thrown away since `takeDiscarded()` was last called. */
  #discarded = 0;

  /** Makes a framer that refuses lines longer than `maxLine` bytes. */
  constructor(readonly maxLine: number) {}

  /** Starts on a new chunk; it must stay unchanged until `next()` returns `undefined`. */
  feed(chunk: Uint8Array): void {
    this.#chunk = chunk;
    this.#pos = 0;
  }

  /**
   * Bytes of over-long lines (their newlines too) thrown away since the last call:
   * those of a {@linkcode LINE_TOO_LONG} and those skipped after it, even without a newline.
   */
  takeDiscarded(): number {
    const discarded = this.#discarded;
    this.#discarded = 0;
    return discarded;
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
        this.#discarded += newline + 1 - start;
        this.#skipping = false;
        continue;
      }
      let line = chunk.subarray(start, newline);
      if (this.#tail) {
        line = joinBytes(this.#tail.subarray(0, this.#tailLength), line);
        this.#tail = null;
        this.#tailLength = 0;
      }
      if (line.length > 0 && line[line.length - 1] === 13) line = line.subarray(0, -1);
      if (line.length > this.maxLine) {
        this.#discarded += line.length + 1;
        return LINE_TOO_LONG;
      }
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
    if (this.#skipping) {
      this.#discarded += rest.length;
      return undefined;
    }
    if (rest.length === 0) return undefined;
    const length = this.#tailLength + rest.length;
    // One extra byte allows for the `\r` of a `\r\n` split across reads.
    if (length > this.maxLine + 1) {
      this.#discarded += length;
      this.#tail = null;
      this.#tailLength = 0;
      this.#skipping = true;
      return LINE_TOO_LONG;
    }
    let tail = this.#tail;
    if (tail === null || tail.length < length) {
      const grown = new Uint8Array(
        Math.min(this.maxLine + 1, Math.max(length, 2 * (tail?.length ?? 32))),
      );
      if (tail) grown.set(tail.subarray(0, this.#tailLength));
      this.#tail = tail = grown;
    }
    tail.set(rest, this.#tailLength);
    this.#tailLength = length;
    return undefined;
  }
}

function joinBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
