/**
 * One event on its way to many members: a {@linkcode Delivery} carries the
 * {@linkcode Event} and caches its encoding per wire {@linkcode Format}, so that a
 * room's line is encoded once per format (text, IRC, JSON), not once per recipient.
 * Each front-end's session picks its format; the core never encodes.
 *
 * @module
 */

import type { Event } from "./events.ts";

/** A wire format: how a front-end encodes an event for its clients (whole lines or frames). */
export interface Format {
  /** The bytes that show `event` to a client of this format. */
  encode(event: Event): Uint8Array;
}

/** An event and its encodings so far, made lazily, once per format. */
export class Delivery {
  // Most events go out in one or two formats: those two need no array.
  #format1: Format | null = null;
  #bytes1: Uint8Array | null = null;
  #format2: Format | null = null;
  #bytes2: Uint8Array | null = null;
  /** Further formats and their bytes, alternating (IRC's tag variants, say). */
  #more: (Format | Uint8Array)[] | null = null;

  /** Wraps `event`, encoded in no format yet. */
  constructor(readonly event: Event) {}

  /** The event in `format`, encoded the first time it is asked for. */
  bytes(format: Format): Uint8Array {
    if (this.#format1 === format) return this.#bytes1!;
    if (this.#format2 === format) return this.#bytes2!;
    const more = this.#more;
    if (more !== null) {
      for (let i = 0; i < more.length; i += 2) {
        if (more[i] === format) return more[i + 1] as Uint8Array;
      }
    }
    const bytes = format.encode(this.event);
    if (this.#format1 === null) {
      this.#format1 = format;
      this.#bytes1 = bytes;
    } else if (this.#format2 === null) {
      this.#format2 = format;
      this.#bytes2 = bytes;
    } else {
      (this.#more ??= []).push(format, bytes);
    }
    return bytes;
  }
}
