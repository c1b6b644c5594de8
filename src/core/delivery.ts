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
  // A few formats at most (text, IRC with and without tags, JSON): a short list beats a Map.
  #formats: Format[] = [];
  #bytes: Uint8Array[] = [];

  /** Wraps `event`, encoded in no format yet. */
  constructor(readonly event: Event) {}

  /** The event in `format`, encoded the first time it is asked for. */
  bytes(format: Format): Uint8Array {
    const formats = this.#formats;
    for (let i = 0; i < formats.length; i++) {
      if (formats[i] === format) return this.#bytes[i];
    }
    const bytes = format.encode(this.event);
    formats.push(format);
    this.#bytes.push(bytes);
    return bytes;
  }
}
