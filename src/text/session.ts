/**
 * The text protocol's session (nc, telnet, `client.ts`, the page's text WebSocket):
 * input cut into lines at `\n`, every event rendered by `renderText` (`render.ts`),
 * and a room's events taken from their delivery in {@linkcode TEXT}, encoded once
 * for every text recipient.
 *
 * @module
 */

import type { Hub } from "../core/hub.ts";
import type { Event } from "../core/events.ts";
import type { Delivery, Format } from "../core/delivery.ts";
import { type Connection, Session } from "../core/session.ts";
import { LineFramer } from "../transport/framing.ts";
import { renderText } from "./render.ts";

const encoder = new TextEncoder();

/** The text protocol as a wire format: an event's lines, each ending in `\n`. */
export const TEXT: Format = {
  encode: (event: Event): Uint8Array => encoder.encode(renderText(event) + "\n"),
};

/** The greeting's bytes by line limit: a connection storm encodes it once, not per connection. */
const greetings = new Map<number, Uint8Array>();

/** One client of the text protocol. */
export class TextSession extends Session {
  /** Makes the session of `conn`, reading lines of at most the hub's `maxLine` bytes. */
  constructor(hub: Hub, conn: Connection) {
    super(hub, conn, new LineFramer(hub.options.maxLine));
  }

  deliver(delivery: Delivery): void {
    const bytes = delivery.bytes(TEXT);
    if (delivery.event.type === "chat") this.hub.relayedBytes += bytes.length;
    this.conn.deliver(bytes);
  }

  tell(event: Event): void {
    if (event.type === "greeting") {
      let bytes = greetings.get(event.maxLine);
      if (bytes === undefined) greetings.set(event.maxLine, bytes = TEXT.encode(event));
      return this.conn.deliver(bytes);
    }
    if (event.type === "conversations") return; // the page's, not a text client's
    const bytes = TEXT.encode(event);
    this.conn.deliver(bytes);
    if (event.type === "history" || event.type === "privateHistory") this.historySent(bytes.length);
  }
}

/** Makes a text session: the default of the transports that carry the text protocol. */
export function textSession(conn: Connection, hub: Hub): TextSession {
  return new TextSession(hub, conn);
}
