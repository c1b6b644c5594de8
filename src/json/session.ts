/**
 * The JSON protocol's session (`chat.v1.json` on the WebSocket): each WebSocket
 * message is one request (`hello`, `line`, `password`), each event one JSON object in a text
 * frame of its own. A room's events are encoded (and framed) once for all JSON
 * recipients ({@linkcode JSON_FRAMES}); a reply or error carries the `ref` of the
 * request that caused it. A bad frame gets one error, and the connection stays.
 *
 * @module
 */

import type { Hub } from "../core/hub.ts";
import { type Event, failed } from "../core/events.ts";
import type { Delivery, Format } from "../core/delivery.ts";
import { type Framer, TOO_LONG } from "../core/input.ts";
import { cleanText } from "../core/protocol.ts";
import { type Connection, Session } from "../core/session.ts";
import { textFrame, type WsConnection } from "../transport/websocket.ts";
import { jsonError, type JsonProblem, REF_MAX, toJson } from "./render.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder(); // the WebSocket checked the UTF-8 of text frames

/** An event as a text frame of its JSON object (`ref`: the request's). */
function frameOf(object: Record<string, unknown>): Uint8Array {
  return textFrame(encoder.encode(JSON.stringify(object)));
}

/** The JSON protocol as a wire format: each event one text frame (made once per event). */
export const JSON_FRAMES: Format = { encode: (event: Event) => frameOf(toJson(event)) };

/**
 * Input as whole messages: each chunk fed is one unit (the WebSocket hands over
 * whole messages), {@linkcode TOO_LONG} for one it refused as too big.
 */
class MessageFramer implements Framer {
  #unit: Uint8Array | undefined;
  #discarded = 0;

  /** Counts a refused message as `refusedBytes` thrown away (flood control charges them). */
  constructor(readonly refusedBytes: number) {}

  feed(chunk: Uint8Array): void {
    this.#unit = chunk;
  }

  next(): Uint8Array | undefined {
    const unit = this.#unit;
    this.#unit = undefined;
    if (unit === TOO_LONG) this.#discarded += this.refusedBytes;
    return unit;
  }

  takeDiscarded(): number {
    const discarded = this.#discarded;
    this.#discarded = 0;
    return discarded;
  }
}

/** A connection that hands over whole messages and writes what it is given as it is. */
export interface MessageConnection extends Connection {
  wholeMessages: boolean;
}

/** One client of the JSON protocol. */
export class JsonSession extends Session {
  /** The `ref` of the request being handled (or waited on), for its replies and errors. */
  #ref: string | undefined;

  /**
   * Makes the session of `conn`, which then hands over and writes whole messages
   * (`maxMessage`: the most bytes it takes in one; a larger one is refused whole).
   */
  constructor(hub: Hub, conn: MessageConnection, readonly maxMessage: number) {
    super(hub, conn, new MessageFramer(hub.options.maxLine + 2));
    conn.wholeMessages = true;
  }

  deliver(delivery: Delivery): void {
    const bytes = delivery.bytes(JSON_FRAMES);
    if (delivery.event.type === "chat") this.hub.relayedBytes += bytes.length;
    this.conn.deliver(bytes);
  }

  /** One's own message comes back with its id and the request's `ref`: the line is confirmed. */
  override posted(delivery: Delivery): void {
    this.conn.deliver(frameOf(toJson(delivery.event, this.#ref)));
  }

  tell(event: Event): void {
    const bytes = frameOf(toJson(event, this.#ref));
    this.conn.deliver(bytes);
    if (event.type === "history") this.historySent(bytes.length);
  }

  /** A claim this session waited on is settled and answered: later events are no reply. */
  override proceed(): void {
    this.#ref = undefined;
    super.proceed();
  }

  protected override refuseTooLong(): void {
    this.#refuse({ code: "tooBig", max: this.maxMessage });
  }

  protected override handle(bytes: Uint8Array): void {
    this.#ref = undefined;
    let request: unknown;
    try {
      request = JSON.parse(decoder.decode(bytes));
    } catch {
      return this.#refuse({ code: "badJson" });
    }
    if (typeof request !== "object" || request === null || Array.isArray(request)) {
      return this.#refuse({ code: "badJson" });
    }
    const fields = request as Record<string, unknown>;
    const { ref, type } = fields;
    if (ref !== undefined && (typeof ref !== "string" || ref.length > REF_MAX)) {
      return this.#refuse({ code: "badRequest", field: "ref" });
    }
    this.#ref = ref;
    try {
      switch (type) {
        case "hello":
          return this.#hello(fields);
        case "line":
          return this.#line(fields);
        case "password":
          return this.#password(fields);
        default:
          if (typeof type !== "string") return this.#refuse({ code: "badRequest", field: "type" });
          return this.#refuse({ code: "unknownType", got: type.slice(0, REF_MAX) });
      }
    } finally {
      // A name claimed across the cluster, or a password being checked, is answered
      // later: the ref waits with it.
      if (this.claiming === null && !this.hub.accounts.busy(this)) this.#ref = undefined;
    }
  }

  /** `{"type":"hello","name","since"?}`: the name, and where a reconnecting client left off. */
  #hello({ name, since }: Record<string, unknown>): void {
    if (typeof name !== "string") return this.#refuse({ code: "badRequest", field: "name" });
    if (since !== undefined && typeof since !== "string") {
      return this.#refuse({ code: "badRequest", field: "since" });
    }
    if (this.name !== null) {
      return this.tell({ type: "alreadyNamed", time: Date.now(), name: this.name });
    }
    this.since = since;
    // Another name instead of answering a password question: the question is dropped.
    this.hub.accounts.forget(this);
    this.hub.chooseName(this, cleanText(name));
  }

  /**
   * `{"type":"password","password"}`: the answer to a `passwordPrompt` (never taken as a
   * name or a chat line: without a question pending it is refused, and goes nowhere).
   */
  #password({ password }: Record<string, unknown>): void {
    if (typeof password !== "string") {
      return this.#refuse({ code: "badRequest", field: "password" });
    }
    if (this.name !== null || !this.hub.accounts.asking(this)) {
      return this.#refuse({ code: "noPasswordAsked" });
    }
    this.hub.accounts.answer(this, password);
  }

  /** `{"type":"line","text"}`: what an nc user would type, a chat line or a command. */
  #line({ text }: Record<string, unknown>): void {
    if (typeof text !== "string") return this.#refuse({ code: "badRequest", field: "text" });
    const bytes = encoder.encode(text);
    const { maxLine } = this.hub.options;
    if (bytes.length > maxLine) return this.tell(failed({ code: "lineTooLong", max: maxLine }));
    this.hub.handleLine(this, bytes);
  }

  #refuse(problem: JsonProblem): void {
    this.conn.deliver(frameOf(jsonError(problem, this.#ref)));
  }
}

/** Makes a JSON session: the WebSocket's for clients that ask for `chat.v1.json`. */
export function jsonSession(conn: WsConnection, hub: Hub): JsonSession {
  return new JsonSession(hub, conn, conn.transport.maxFrame);
}
