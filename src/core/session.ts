/**
 * A session: one client as the hub sees it, whatever carries it. Its front-end's
 * {@linkcode Framer} cuts the bytes its transport reads into lines (or messages);
 * the session applies flood control and hands each to the hub. What the hub tells
 * it comes as events, which the front-end's session renders in its own protocol.
 *
 * @module
 */

import type { Hub } from "./hub.ts";
import { reasons } from "./protocol.ts";
import { type Event, failed } from "./events.ts";
import type { Room } from "./room.ts";
import { NO_LISTENER } from "../ops/metrics.ts";
import type { Delivery } from "./delivery.ts";
import { type Framer, TOO_LONG as LINE_TOO_LONG } from "./input.ts";

/** What the hub needs of a transport's connection; the hub never sees a socket. */
export interface Connection {
  /** The peer's address, for the log. */
  readonly remote: string;
  /** The listener it came by, as `/metrics` labels it (`tcp`, `tls`, `irc`, `ircs`, `ws`). */
  readonly listener?: string;
  /** Bytes queued for the peer and not yet written (the output budget sheds the largest). */
  readonly queuedBytes: number;
  /** Queues bytes for the peer; never waits. A connection that overflows reports it. */
  deliver(bytes: Uint8Array): void;
  /** Ends the connection; with `drain`, what is queued is written first (bounded in time). */
  close(drain: boolean): void;
  /** Stops reading input (flood control); the transport's flow control pushes back. */
  pause(): void;
  /** Starts reading input again. */
  resume(): void;
}

type Timer = ReturnType<typeof setTimeout>;
/** Bytes of a line that one flood-control token pays for. */
const TOKEN_BYTES = 512;
/**
 * Over-long input a client may send within {@linkcode LONG_WINDOW} ms before it is
 * dropped: more than {@linkcode LONG_LINES_MAX} over-long lines, or more than
 * {@linkcode LONG_BYTES_MAX} times `maxLine` bytes of them (64 KiB by default, however
 * many lines: an endless line is one). A person is told the limit at the first
 * over-long line, and clients refuse such lines before sending them; what keeps
 * sending them is a program gone wrong or a flood.
 */
const LONG_WINDOW = 60_000;
const LONG_LINES_MAX = 8;
const LONG_BYTES_MAX = 16;
/**
 * History a session may be sent at once, in bytes (one `/history` answer's most), and then
 * per second: replays and `/history` answers are rated by the bytes they send, not the
 * lines asked for, so that short commands cannot make a session a firehose.
 */
export const HISTORY_BURST = 256 * 1024;
export const HISTORY_RATE = 16 * 1024;
/**
 * Moderation actions (kicks, bans, mode changes, invites, klines …) a member may take at
 * once, and then per second: a bucket of their own, beside the lines' (a kick is one short
 * line, but it moves members and tells rooms), on whenever flood control is (`--rate`).
 */
export const MODERATION_BURST = 10;
export const MODERATION_RATE = 1;
/** Held while flood control makes a session pay for bytes it threw away: no line to handle. */
const NO_LINE = new Uint8Array(0);

/** Room messages a member's session remembers having posted (for a guest's `/delete`). */
export const POSTED_KEPT = 32;

/**
 * One connected client: unnamed until it picks a name, then a member of one room.
 * A front-end's subclass renders what it is told (`src/text/session.ts`, `src/irc/irc.ts`).
 */
export abstract class Session {
  name: string | null = null;
  /**
   * The member's current room: where a text user's plain lines go (and what a front-end
   * acting in one of its rooms focuses first, see `Hub.focus`); one of {@linkcode rooms}.
   */
  room: Room<Session> | null = null;
  /**
   * Every room the member is in (an IRC user may sit in several, at most
   * `ROOMS_PER_MEMBER`; text and JSON in one): shared by all of a member's connections.
   */
  rooms: Set<Room<Session>> = new Set();
  /** Set once the session has ended; nothing more is read or sent. */
  closed = false;
  /** The oldest history line this session was shown in its room (`/history` goes on from it). */
  historyCursor: string | undefined;
  /** The private conversation (its pair key) `/history NAME` paged last, and its oldest id shown. */
  privateCursor: [string, string] | undefined;
  /** Closes an unnamed session that took too long (see {@linkcode Hub.connect}). */
  nameTimer: Timer | undefined;
  #account: string | null = null;
  /** A name this session is claiming across the cluster (its input waits meanwhile). */
  claiming: string | null = null;
  /**
   * The id of the last kept event the client saw before it reconnected: its first room
   * replays exactly what was kept after it (see `Hub`), instead of the last lines.
   */
  since: string | undefined;
  /**
   * The member this session is one more connection of (see {@linkcode Hub}): the session
   * that holds the member's name and room, in `hub.members` and its room; `null` when this
   * session holds them itself.
   */
  lead: Session | null = null;
  /** The member's further connections when this session leads it; `null`: one connection. */
  attached: Session[] | null = null;
  /**
   * Whether this front-end's client is always in some room (IRC's may be in none); a JSON
   * client that sends `join` keeps several rooms (and trades its last for the lobby).
   */
  get alwaysInRoom(): boolean {
    return true;
  }
  /**
   * The ids of the last {@linkcode POSTED_KEPT} room messages this member (its lead) posted,
   * a ring made on its first message: how a guest proves it wrote one (`/delete`).
   */
  #posted: string[] | null = null;
  #postedAt = 0;

  /** Notes that this member posted the kept message `id` (a ring: no allocation once made). */
  rememberPosted(id: string): void {
    const ring = this.#posted ??= new Array<string>(POSTED_KEPT).fill("");
    ring[this.#postedAt] = id;
    this.#postedAt = (this.#postedAt + 1) % POSTED_KEPT;
  }

  /** The ids this member posted lately, newest first. */
  recentlyPosted(): string[] {
    const ring = this.#posted;
    if (ring === null) return [];
    const ids: string[] = [];
    for (let i = 1; i <= POSTED_KEPT; i++) {
      const id = ring[(this.#postedAt - i + POSTED_KEPT) % POSTED_KEPT];
      if (id !== "") ids.push(id);
    }
    return ids;
  }

  /** Whether this client is told read markers (JSON; IRC with `draft/read-marker`). */
  get takesMarkers(): boolean {
    return false;
  }

  #framer: Framer;
  // Flood control: a token bucket refilled `rate` times a second. While in debt the
  // session holds the line it was about to handle, and the transport stops reading.
  #tokens: number;
  #refilledAt = performance.now();
  #held: Uint8Array | undefined;
  #backlog: Uint8Array[] | null = null;
  #wakeTimer: Timer | undefined;
  /** Set when the peer's EOF came while lines were held back: leave once they are handled. */
  #eof = false;
  /** Set while the hub waits on something for this session (a name claim): input waits too. */
  #waiting = false;
  /** History this session may still be sent now, in bytes (below zero: in debt), and when. */
  #historyBytes = HISTORY_BURST;
  #historyAt = performance.now();
  /** Moderation actions this member may still take now (see {@linkcode MODERATION_BURST}). */
  #moderationTokens = MODERATION_BURST;
  #moderationAt = performance.now();
  /** Over-long input in the current window: when it began, its lines and bytes. */
  #longSince = -Infinity;
  #longLines = 0;
  #longBytes = 0;

  /** Makes the session of `conn`, whose input `framer` cuts into lines (or messages). */
  constructor(readonly hub: Hub, readonly conn: Connection, framer: Framer) {
    this.#framer = framer;
    this.#tokens = hub.options.burst;
  }

  /** The user part of this member's IRC mask (`nick!user@host`), if its front-end shows one. */
  maskUser(): string | undefined {
    return undefined;
  }

  /** The host part of this member's IRC mask (a cloak), if its front-end shows one. */
  maskHost(): string | undefined {
    return undefined;
  }

  /** The key of the account this session is logged in to, or `null` (a guest). */
  get account(): string | null {
    return this.#account;
  }

  /**
   * Logs this connection in to the account `key` (`null`: out). Every front-end's login and
   * logout comes through here, so the hub's change hooks hear of each (IRC's account-notify).
   */
  set account(key: string | null) {
    const old = this.#account;
    if (key === old) return;
    this.#account = key;
    this.hub.accountChanged(this, old);
  }

  /**
   * Queues an event many members are told at once (a room's message or notice): the
   * session takes the delivery's encoding in its own format (made once for all).
   */
  abstract deliver(delivery: Delivery): void;

  /**
   * Tells this client what happened (see `src/core/events.ts`), in its front-end's
   * protocol. History counts against its budget ({@linkcode historySent}).
   */
  abstract tell(event: Event): void;

  /**
   * This session's own room message went out as `delivery` (with its id): a front-end
   * whose clients want their lines confirmed (JSON) sends it back; others need nothing.
   */
  posted(_delivery: Delivery): void {}

  /** The session that stands for this connection's member in rooms and `hub.members`. */
  get member(): Session {
    return this.lead ?? this;
  }

  /** Every connection of this session's member, the lead first. */
  connections(): Session[] {
    const lead = this.member;
    return lead.attached === null ? [lead] : [lead, ...lead.attached];
  }

  /**
   * Another connection of this session's member sent `delivery`'s message: a room line
   * comes as anyone's would (`ann: hi`), a private one as the receipt its sender got.
   */
  sentBySibling(delivery: Delivery): void {
    const { event } = delivery;
    if (event.type !== "chat") return;
    const { message } = event;
    if (message.kind !== "private") return this.deliver(delivery);
    this.tell({ type: "privateSent", time: message.time, to: message.to!, text: message.text });
  }

  /** Milliseconds until this session may be sent history again: 0 if it may now. */
  historyWait(): number {
    const now = performance.now();
    const refill = (now - this.#historyAt) * HISTORY_RATE / 1000;
    this.#historyBytes = Math.min(HISTORY_BURST, this.#historyBytes + refill);
    this.#historyAt = now;
    return this.#historyBytes >= 0 ? 0 : Math.ceil(-this.#historyBytes * 1000 / HISTORY_RATE);
  }

  /**
   * Takes one moderation action's token, as a line takes the flood bucket's: 0 if it may
   * go now, else the milliseconds until it may (nothing is taken then: it is refused).
   */
  moderationWait(): number {
    if (this.hub.options.rate <= 0) return 0;
    const now = performance.now();
    const refill = (now - this.#moderationAt) * MODERATION_RATE / 1000;
    this.#moderationTokens = Math.min(MODERATION_BURST, this.#moderationTokens + refill);
    this.#moderationAt = now;
    if (this.#moderationTokens >= 1) {
      this.#moderationTokens--;
      return 0;
    }
    return Math.ceil((1 - this.#moderationTokens) * 1000 / MODERATION_RATE);
  }

  /** Counts `bytes` of history sent to this session against its budget. */
  historySent(bytes: number): void {
    this.#historyBytes -= bytes;
  }

  /** The transport hands over bytes it read; the chunk must not change afterwards. */
  receive(chunk: Uint8Array): void {
    if (this.closed) return;
    if (this.#held !== undefined || this.#waiting) {
      // Paused, but the transport had this chunk in hand already.
      (this.#backlog ??= []).push(chunk);
      return;
    }
    this.#framer.feed(chunk);
    this.#handleLines();
  }

  /**
   * The transport reports that the connection ended: the peer's EOF (no
   * `reason`), or a reset or error. After an EOF, lines still held back by flood
   * control are handled first: a client that half-closes loses nothing it sent.
   */
  ended(reason?: string): void {
    if (reason === undefined && (this.#held !== undefined || this.#waiting)) {
      this.#eof = true;
      return;
    }
    this.hub.leave(this, reason, true);
  }

  /** Makes the next lines wait until {@linkcode proceed}: the hub is busy for this session. */
  hold(): void {
    this.#waiting = true;
  }

  /** Handles the lines that waited since {@linkcode hold}, and reads again. */
  proceed(): void {
    this.#waiting = false;
    if (!this.closed && this.#wakeTimer === undefined) this.wake();
  }

  /** Stops timers and drops held input; the hub calls it once, when the session leaves. */
  dispose(): void {
    this.closed = true;
    clearTimeout(this.nameTimer);
    clearTimeout(this.#wakeTimer);
    this.#held = undefined;
    this.#backlog = null;
  }

  #handleLines(): void {
    const { hub } = this;
    const framer = this.#framer;
    while (!this.closed) {
      let line = this.#held;
      if (line !== undefined) {
        this.#held = undefined; // its token is paid already
      } else {
        line = framer.next();
        // Bytes thrown away cost what lines of them would: an endless line is no way
        // around flood control, and too many of them end the connection.
        const discarded = framer.takeDiscarded();
        if (discarded > 0 && this.#overLong(line === LINE_TOO_LONG ? 1 : 0, discarded)) return;
        if (line === undefined) {
          if (discarded > 0 && this.#pay(discarded / TOKEN_BYTES, NO_LINE)) return;
          const chunk = this.#backlog?.shift();
          if (chunk === undefined) return;
          framer.feed(chunk);
          continue;
        }
        // A line costs a token per started 512 bytes, so `rate` bounds bytes as well as lines.
        const cost =
          (line === LINE_TOO_LONG ? 1 : Math.max(1, Math.ceil(line.length / TOKEN_BYTES))) +
          discarded / TOKEN_BYTES;
        if (this.#pay(cost, line)) return;
      }
      if (line === NO_LINE) continue;
      if (line === LINE_TOO_LONG) {
        const { name, conn } = this;
        hub.log.repeated({ event: "line-too-long", name: name ?? undefined, address: conn.remote });
        hub.metrics.linesTooLong.with(conn.listener ?? NO_LISTENER).inc();
        this.refuseTooLong();
        continue;
      }
      try {
        this.handle(line);
      } catch (error) {
        hub.internalError(this, error); // a bug: logged with its stack, the user told little
      }
      if (this.closed) return;
      if (this.#waiting) return this.conn.pause();
    }
  }

  /**
   * Takes `cost` tokens for `line`; if that puts the session in debt, holds the line,
   * stops reading until the debt is paid, and returns `true`.
   */
  #pay(cost: number, line: Uint8Array): boolean {
    const wait = this.#takeTokens(cost);
    if (wait <= 0) return false;
    this.#held = line;
    this.conn.pause();
    this.#wakeTimer = setTimeout(wake, wait, this);
    return true;
  }

  /**
   * Counts `lines` over-long lines and `bytes` thrown away; past the window's limits the
   * client is told, and dropped (and `true` returned).
   */
  #overLong(lines: number, bytes: number): boolean {
    const now = performance.now();
    if (now - this.#longSince > LONG_WINDOW) {
      this.#longSince = now;
      this.#longLines = this.#longBytes = 0;
    }
    this.#longLines += lines;
    this.#longBytes += bytes;
    const { hub, name, conn } = this;
    if (
      this.#longLines <= LONG_LINES_MAX && this.#longBytes <= LONG_BYTES_MAX * hub.options.maxLine
    ) {
      return false;
    }
    hub.log.repeated({ event: "long-lines", name: name ?? undefined, address: conn.remote });
    this.tell(failed({ code: "tooManyLongLines" }));
    hub.leave(this, reasons.longLines, true);
    return true;
  }

  /** Tells the client that a line (or message) it sent was over the limit and dropped. */
  protected refuseTooLong(): void {
    this.tell(failed({ code: "lineTooLong", max: this.hub.options.maxLine }));
  }

  /** Handles one line (a front-end with another protocol, such as IRC, overrides it). */
  protected handle(line: Uint8Array): void {
    this.hub.handleLine(this, line);
  }

  /** The bucket is out of debt: handle what was held, and read again if all of it was. */
  wake(): void {
    this.#wakeTimer = undefined;
    this.#handleLines();
    if (this.closed || this.#held !== undefined || this.#waiting) return;
    if (this.#eof) this.hub.leave(this, undefined, true);
    else this.conn.resume();
  }

  /** Takes `cost` tokens; returns how many milliseconds to wait until the bucket is out of debt. */
  #takeTokens(cost: number): number {
    const { rate, burst } = this.hub.options;
    if (rate <= 0) return 0;
    const now = performance.now();
    this.#tokens = Math.min(burst, this.#tokens + (now - this.#refilledAt) * rate / 1000) - cost;
    this.#refilledAt = now;
    return this.#tokens >= 0 ? 0 : Math.ceil(-this.#tokens * 1000 / rate);
  }
}

/** A timer callback shared by every session (no closure per session). */
function wake(session: Session): void {
  session.wake();
}
