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
import { cleanText, LOBBY, nameKey, roomKey } from "../core/protocol.ts";
import type { Room } from "../core/room.ts";
import { isId } from "../core/ids.ts";
import { type Connection, Session } from "../core/session.ts";
import { textFrame, type WsConnection } from "../transport/websocket.ts";
import {
  jsonError,
  type JsonProblem,
  REF_MAX,
  roomReplyJson,
  ticketJson,
  toJson,
} from "./render.ts";
import type { WebSessions } from "../core/web_sessions.ts";
import { markerAt, markerTarget } from "../core/read_markers.ts";
import { SEARCH_LIMIT_MAX } from "../core/hub.ts";

/** Entries a JSON `history` request gets at most, and when it does not say. */
const PAGE_MAX = 100;
const PAGE_DEFAULT = 50;

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

/** What a JSON session opened by the page knows of its login cookie (see `web_sessions.ts`). */
export interface WebLogin {
  /** Where tickets are made and tokens checked. */
  readonly sessions: WebSessions;
  /** The `Host` the socket was opened with: tickets are made for it. */
  readonly host: string;
  /** The account the socket's session cookie names (checked for `host`), if it sent one. */
  readonly cookie: Promise<string | null> | null;
}

/** One client of the JSON protocol. */
export class JsonSession extends Session {
  /** The `ref` of the request being handled (or waited on), for its replies and errors. */
  #ref: string | undefined;
  /** The account the session cookie logs in to (with a `hello` of its name), and when checked. */
  #cookieAccount: string | null = null;
  #cookieChecked = 0;
  /** The greeting, held while the cookie is checked (it says the account). */
  #greeting: Event | null = null;
  #checkingCookie = false;
  /** The account a ticket was last sent for (a login by cookie needs none). */
  #ticketed: string | null = null;
  /** Set while the session is logged in by its cookie but not yet named. */
  #cookieLogin = false;
  /** Set by a `join` request: the client keeps several rooms (see `alwaysInRoom`). */
  #severalRooms = false;
  #joining = false;

  /**
   * Makes the session of `conn`, which then hands over and writes whole messages
   * (`maxMessage`: the most bytes it takes in one; a larger one is refused whole);
   * `web`: the page's login, for a socket opened by a browser.
   */
  constructor(
    hub: Hub,
    conn: MessageConnection,
    readonly maxMessage: number,
    readonly web: WebLogin | null = null,
  ) {
    super(hub, conn, new MessageFramer(hub.options.maxLine + 2));
    conn.wholeMessages = true;
    if (web?.cookie) this.#checkCookie(web.cookie, web.sessions);
  }

  /** Input (the `hello`) and the greeting wait until the cookie is checked. */
  #checkCookie(cookie: Promise<string | null>, sessions: WebSessions): void {
    this.#checkingCookie = true;
    this.hold();
    cookie.then((key) => {
      this.#cookieChecked = sessions.options.now();
      if (key !== null && this.hub.accounts.accountName(key) !== undefined) {
        this.#cookieAccount = key;
      }
    }, (error) => this.hub.internalError(null, error)).finally(() => {
      this.#checkingCookie = false;
      const greeting = this.#greeting;
      this.#greeting = null;
      if (this.closed) return;
      if (greeting !== null) this.tell(greeting);
      this.proceed();
    });
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
    if (event.type === "greeting" && this.#checkingCookie) {
      this.#greeting = event;
      return;
    }
    if (this.#cookieLogin && this.name === null && event.type === "prompt") {
      // The account's name was refused (someone holds it): no login without the name.
      this.#cookieLogin = false;
      this.account = null;
      this.#ticketed = null;
    }
    if (event.type === "welcome") this.#cookieLogin = false;
    const json = toJson(event, this.#ref);
    // The page learns the account it is logged in to: by its cookie (before the name), or now.
    if (event.type === "greeting" && this.#cookieAccount !== null) {
      json.account = this.hub.accounts.accountName(this.#cookieAccount);
    } else if (event.type === "welcome" && this.account !== null) {
      json.account = this.hub.accounts.accountName(this.account);
    }
    const bytes = frameOf(json);
    this.conn.deliver(bytes);
    if (event.type === "history" || event.type === "privateHistory") {
      this.historySent(bytes.length);
    }
    // Logged in (or welcomed so): the account's private conversations and its read markers
    // follow, for the page's list and its "new messages" lines.
    if (
      (event.type === "welcome" && this.account !== null) ||
      (event.type === "loggedIn" || event.type === "registered") && this.name !== null
    ) {
      this.hub.conversationsOf(this);
      this.hub.readMarkers.tellAll(this);
    }
    if (event.type === "loggedOut" || event.type === "unregistered") this.#ticketed = null;
    if (
      event.type === "welcome" || event.type === "loggedIn" || event.type === "registered" ||
      event.type === "passwordChanged"
    ) this.#offerTicket(event.type === "passwordChanged");
  }

  /**
   * Logged in by password: the page is sent a ticket to trade for a session cookie
   * (`fresh`: again, the password having changed and the old cookies revoked).
   */
  #offerTicket(fresh: boolean): void {
    const key = this.account;
    if (this.web === null || key === null || (this.#ticketed === key && !fresh)) return;
    this.#ticketed = key;
    this.web.sessions.ticket(key, this.web.host).then((ticket) => {
      if (!this.closed && this.account === key) this.conn.deliver(frameOf(ticketJson(ticket)));
    }, (error) => this.hub.internalError(null, error));
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
        case "history":
          return this.#history(fields);
        case "markRead":
          return this.#markRead(fields);
        case "search":
          return this.#search(fields);
        case "join":
          return this.#join(fields);
        case "part":
          return this.#part(fields);
        case "focus":
          return this.#focus(fields);
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
    const chosen = cleanText(name);
    const key = this.#cookieAccount;
    if (key !== null && this.account === null && nameKey(chosen.normalize("NFC")) === key) {
      // The session cookie's account: logged in without a password, unless it was
      // revoked (a logout, a new password) or unregistered since the cookie was checked.
      const account = this.hub.accounts.accountName(key);
      if (account !== undefined && !this.web!.sessions.revokedSince(key, this.#cookieChecked)) {
        this.account = key;
        this.#ticketed = key; // its browser has its cookie
        this.#cookieLogin = true;
        this.hub.log.event({
          event: "account",
          name: account,
          address: this.conn.remote,
          reason: "login (session cookie)",
        });
        return this.hub.chooseName(this, account);
      }
      this.#cookieAccount = null;
    }
    this.hub.chooseName(this, chosen);
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

  /**
   * `{"type":"line","text","room"?}`: what an nc user would type, a chat line or a command;
   * with `room` (one of the member's rooms), in that room: it is made current first.
   */
  #line({ text, room }: Record<string, unknown>): void {
    if (typeof text !== "string") return this.#refuse({ code: "badRequest", field: "text" });
    if (room !== undefined && typeof room !== "string") {
      return this.#refuse({ code: "badRequest", field: "room" });
    }
    const bytes = encoder.encode(text);
    const { maxLine } = this.hub.options;
    if (bytes.length > maxLine) return this.tell(failed({ code: "lineTooLong", max: maxLine }));
    if (room !== undefined) {
      const target = this.#joined(room);
      if (target === null) return;
      this.hub.focus(this, target);
    }
    this.hub.handleLine(this, bytes);
  }

  /**
   * The member's room called `name`, or `null` when it is in no such room (refused with
   * `notInRoom`; `nameFirst` before a name).
   */
  #joined(name: string): Room<Session> | null {
    if (this.name === null) {
      this.tell(failed({ code: "nameFirst" }));
      return null;
    }
    const key = roomKey(name.normalize("NFC"));
    for (const room of this.member.rooms) if (room.key === key) return room;
    this.tell(failed({ code: "notInRoom", name: this.name, room: name.slice(0, REF_MAX) }));
    return null;
  }

  /**
   * `{"type":"join","room","key"?}`: adds a room to the member's rooms and makes it current
   * (`entered`, its replay), keeping the others (at most `ROOMS_PER_MEMBER`). A session that
   * sends it keeps several rooms from then on; one that never does moves (`/join`) as before.
   */
  #join({ room, key }: Record<string, unknown>): void {
    if (typeof room !== "string") return this.#refuse({ code: "badRequest", field: "room" });
    if (key !== undefined && typeof key !== "string") {
      return this.#refuse({ code: "badRequest", field: "key" });
    }
    if (this.name === null) return this.tell(failed({ code: "nameFirst" }));
    this.#severalRooms = true;
    this.#joining = true;
    let result;
    try {
      result = this.hub.join(this, room, key);
    } finally {
      this.#joining = false;
    }
    // Already in it: it is current now, and said so (a move, for a member with a text
    // connection too, says `alreadyIn` itself).
    const current = this.room;
    if (
      !result.ok && result.problem === null && current !== null &&
      current.key === roomKey(room.normalize("NFC")) &&
      !this.member.connections().some((each) => each.alwaysInRoom)
    ) this.tell({ type: "alreadyIn", time: Date.now(), room: current.name });
  }

  /**
   * Always in one room, as before, until a `join`; then in several, but never in none: the
   * last one left (or kicked from) is traded for the lobby, as a move would.
   */
  override get alwaysInRoom(): boolean {
    return !this.#severalRooms || (!this.#joining && this.member.rooms.size <= 1);
  }

  /**
   * `{"type":"part","room"}`: leaves that one of the member's rooms (answered `parted`); the
   * last one is traded for the lobby (`entered`), and the lobby alone is not left.
   */
  #part({ room }: Record<string, unknown>): void {
    if (typeof room !== "string") return this.#refuse({ code: "badRequest", field: "room" });
    const target = this.#joined(room);
    if (target === null) return;
    if (target.key === roomKey(LOBBY) && this.member.rooms.size === 1) {
      return this.tell({ type: "alreadyIn", time: Date.now(), room: target.name });
    }
    this.hub.part(this, undefined, false, target);
    this.conn.deliver(frameOf(roomReplyJson("parted", target.name, this.#ref)));
  }

  /**
   * `{"type":"focus","room"}`: makes one of the member's rooms current (answered `focused`):
   * where plain lines, `/who`, `/topic` and the moderation commands act.
   */
  #focus({ room }: Record<string, unknown>): void {
    if (typeof room !== "string") return this.#refuse({ code: "badRequest", field: "room" });
    const target = this.#joined(room);
    if (target === null) return;
    this.hub.focus(this, target);
    this.conn.deliver(frameOf(roomReplyJson("focused", target.name, this.#ref)));
  }

  /**
   * `{"type":"history","room"|"with","before"?,"limit"?}`: a page of the session's room, or
   * of its private conversation with an account, before the id `before` (the newest if absent).
   */
  #history({ room, with: other, before, limit }: Record<string, unknown>): void {
    if (this.name === null) return this.tell(failed({ code: "nameFirst" }));
    if (before !== undefined && !isId(before)) {
      return this.#refuse({ code: "badRequest", field: "before" });
    }
    if (
      limit !== undefined &&
      (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1 || limit > PAGE_MAX)
    ) return this.#refuse({ code: "badRequest", field: "limit" });
    const count = (limit as number | undefined) ?? PAGE_DEFAULT;
    if (typeof room === "string" && other === undefined) {
      return this.hub.roomPage(this, room, count, before);
    }
    if (typeof other === "string" && room === undefined) {
      this.hub.privatePage(this, other, count, before);
      return;
    }
    this.#refuse({ code: "badRequest", field: room === undefined ? "with" : "room" });
  }

  /** JSON clients keep read markers (the page's "new messages" line, unread counts). */
  override get takesMarkers(): boolean {
    return true;
  }

  /**
   * `{"type":"markRead","room"|"with","id"}`: read up to `id` in that conversation; every
   * connection of the account is told the marker kept (a guest's own connection only).
   */
  #markRead({ room, with: other, id }: Record<string, unknown>): void {
    if (this.name === null) return this.tell(failed({ code: "nameFirst" }));
    let target;
    if (typeof room === "string" && other === undefined) target = markerTarget({ room });
    else if (typeof other === "string" && room === undefined) {
      target = markerTarget({ with: other });
    } else return this.#refuse({ code: "badRequest", field: room === undefined ? "with" : "room" });
    if (typeof target === "string") {
      return this.#refuse({ code: "badRequest", field: room === undefined ? "with" : "room" });
    }
    const marker = typeof id === "string" ? markerAt(target, { id }) : null;
    if (marker === null) return this.#refuse({ code: "badRequest", field: "id" });
    this.hub.readMarkers.mark(this, marker);
  }

  /** `{"type":"search","text","limit"?}`: see `Hub.search`. */
  #search({ text, limit }: Record<string, unknown>): void {
    if (this.name === null) return this.tell(failed({ code: "nameFirst" }));
    if (typeof text !== "string" || text.trim() === "") {
      return this.#refuse({ code: "badRequest", field: "text" });
    }
    if (
      limit !== undefined &&
      (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1 ||
        limit > SEARCH_LIMIT_MAX)
    ) return this.#refuse({ code: "badRequest", field: "limit" });
    this.hub.search(this, cleanText(text), limit);
  }

  #refuse(problem: JsonProblem): void {
    this.conn.deliver(frameOf(jsonError(problem, this.#ref)));
  }
}

/** Makes a JSON session: the WebSocket's for clients that ask for `chat.v1.json`. */
export function jsonSession(
  conn: WsConnection,
  hub: Hub,
  web: WebLogin | null = null,
): JsonSession {
  return new JsonSession(hub, conn, conn.transport.maxFrame, web);
}
