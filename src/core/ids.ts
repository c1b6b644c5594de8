/**
 * Event ids: opaque strings, unique across a cluster and ordered by time. An id is
 * the time in milliseconds (9 base-36 digits), a sequence within that millisecond
 * (4 digits) and the making process's tag (6 random digits), so that ids compare
 * as strings in the order they were made: strictly within one process (even if its
 * clock steps back), by millisecond across the processes of a cluster. Every id has
 * {@linkcode ID_LENGTH} characters of `0-9a-z`.
 *
 * @module
 */

const TIME_DIGITS = 9;
const SEQ_DIGITS = 4;
const TAG_DIGITS = 6;
const SEQ_LIMIT = 36 ** SEQ_DIGITS;
/** The length of every id. */
export const ID_LENGTH = TIME_DIGITS + SEQ_DIGITS + TAG_DIGITS;
const ID = /^[0-9a-z]{19}$/;

/** Whether `text` has the form of an id (an id from a client is checked before it is used). */
export function isId(text: unknown): text is string {
  return typeof text === "string" && ID.test(text);
}

/** The id made from its parts (a store migrating entries without ids makes theirs so). */
export function idOf(time: number, seq: number, tag: string): string {
  return time.toString(36).padStart(TIME_DIGITS, "0") +
    (seq % SEQ_LIMIT).toString(36).padStart(SEQ_DIGITS, "0") +
    tag.padStart(TAG_DIGITS, "0").slice(-TAG_DIGITS);
}

/**
 * A cursor that sorts after every id made before `time` and before any made at or
 * after it (a bound, never an id itself).
 */
export function idBound(time: number): string {
  return time.toString(36).padStart(TIME_DIGITS, "0");
}

/** Makes the ids of one process. */
export class IdMaker {
  #time = 0;
  #seq = 0;

  /** A maker whose ids end in `tag` (default: random, different on every start). */
  constructor(
    readonly tag: string = Math.floor(Math.random() * 36 ** TAG_DIGITS).toString(36),
  ) {}

  /** A new id, later than every id this maker made before. */
  next(now = Date.now()): string {
    if (now > this.#time) {
      this.#time = now;
      this.#seq = 0;
    } else if (++this.#seq === SEQ_LIMIT) {
      this.#time++; // a full millisecond's worth: borrow the next one
      this.#seq = 0;
    }
    return idOf(this.#time, this.#seq, this.tag);
  }
}
