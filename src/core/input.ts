/**
 * What a session reads: its transport's input cut into units (lines of the text
 * protocol and IRC, messages of a WebSocket) by a {@linkcode Framer} the front-end
 * chooses. The core takes units; it never looks for a newline itself.
 *
 * @module
 */

/** Returned by {@linkcode Framer.next} for a unit longer than the limit. */
export const TOO_LONG: Uint8Array = new Uint8Array(0);

/** Cuts a session's input into units (see `src/transport/framing.ts` for lines). */
export interface Framer {
  /** Starts on a new chunk; it must stay unchanged until `next()` returns `undefined`. */
  feed(chunk: Uint8Array): void;
  /** The next whole unit, {@linkcode TOO_LONG} for one over the limit, or `undefined`. */
  next(): Uint8Array | undefined;
  /** Bytes of over-long units thrown away since the last call (flood control charges them). */
  takeDiscarded(): number;
}
