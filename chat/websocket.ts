/**
 * The WebSocket transport: a browser page (or any WebSocket client) is a
 * member like any other. Each upgrade at `/ws` (`chat/web.ts` answers it with
 * `Deno.upgradeWebSocket`) becomes a {@linkcode WsConnection} behind the same
 * `Connection` interface as a TCP socket, so names, rooms, commands, history,
 * notices and limits are the hub's, whatever carries the lines.
 *
 * Framing: a text frame is one line, or several separated by `\n` (a `\n` at
 * its end is optional); each frame goes to the session as bytes ending in
 * `\n`, so frames never run into each other and `--max-line` holds per line.
 * A frame over {@linkcode WsTransport.maxFrame} bytes is refused whole, as an
 * over-long line. Output: whatever the hub delivers in one batch goes out as
 * one text frame of `\n`-terminated lines.
 *
 * Backpressure: reads cannot be paused, so while flood control holds a session
 * back, frames wait in a bounded inbox (64 KiB, 100 frames); past it the
 * client is told and dropped (`too fast: input queue full`). Writes are
 * counted in the shared outbox budget; Deno's own send buffer is watched
 * through `bufferedAmount`, and holds at most one window beyond the write in
 * flight, so a peer that stops reading is held to `--max-queue` like a TCP one.
 *
 * @module
 */

import type { Admission } from "./admission.ts";
import type { Hub } from "./hub.ts";
import { hostPort } from "./log.ts";
import { type FlushScheduler, Outbox } from "./outbox.ts";
import { reasons, say } from "./protocol.ts";
import type { Connection, Session } from "./session.ts";
import { withTimeout } from "./timeout.ts";

/** What the transport needs to know and share with the others. */
export interface WsOptions {
  /** Longest line a client may send, in bytes, without its newline. */
  maxLine: number;
  /** Bytes that may wait to be written to one client before it is dropped. */
  maxQueue: number;
  /** Milliseconds a closing connection has to take its last output. */
  drainTimeout: number;
  /** Writes outboxes once per batch and keeps the server's output budget (shared by transports). */
  scheduler: FlushScheduler;
  /** Counts connections in all and by address (shared by transports). */
  admission: Admission;
  /** Told of a client dropped for a reason the hub's log does not show (one without a name). */
  dropped?: (reason: string) => void;
}

/** Bytes of input that may wait while flood control holds a client back (and the largest frame). */
export const INPUT_MAX_BYTES = 64 * 1024;
/** Frames that may wait while flood control holds a client back. */
export const INPUT_MAX_FRAMES = 100;
/** Bytes Deno's send buffer may hold beyond the write in flight before writing waits for it. */
const SEND_WINDOW = 64 * 1024;
/** Milliseconds between two looks at the send buffers of connections that have bytes in them. */
const WATCH_INTERVAL = 10;
/**
 * Seconds of silence after which Deno pings a client, doubled: one that has not
 * answered the ping half of it later is dropped (as TCP keepalive finds vanished peers).
 */
const IDLE_TIMEOUT = 120;

/** Close codes (RFC 6455, section 7.4.1). */
const NORMAL = 1000;
const GOING_AWAY = 1001;
const POLICY = 1008;
const INTERNAL = 1011;
const TRY_LATER = 1013;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Every WebSocket client of a server, from its upgrade until its socket has closed. */
export class WsTransport {
  /** The largest frame taken as it is; a larger one is refused as an over-long line. */
  readonly maxFrame: number;
  /** What a refused frame is handed to the session as: one line over `--max-line`. */
  readonly tooLong: Uint8Array;
  /** Connections not yet closed, with the address each was admitted under (`null`: refused). */
  readonly #sockets = new Map<WsConnection, string | null>();
  #allClosed: (() => void) | null = null;
  /** Connections whose send buffer holds bytes: looked at every {@linkcode WATCH_INTERVAL} ms. */
  readonly #watched = new Set<WsConnection>();
  #watchTimer: ReturnType<typeof setTimeout> | undefined;
  // A broadcast hands the very same bytes to every recipient's write: decode them once.
  #lastBytes: Uint8Array | null = null;
  #lastText = "";

  constructor(readonly hub: Hub, readonly options: WsOptions) {
    this.maxFrame = Math.max(INPUT_MAX_BYTES, options.maxLine + 1);
    this.tooLong = new Uint8Array(options.maxLine + 2).fill(0x78);
    this.tooLong[options.maxLine + 1] = 10;
  }

  /** Connections open now (named or not), and refused ones not yet closed. */
  get connections(): number {
    return this.#sockets.size;
  }

  /**
   * Upgrades `request` (a WebSocket handshake the caller has checked) from the
   * peer at `remote`, counting it at the door; a refused one is told why once
   * open, then closed. Returns the response that completes the handshake.
   */
  upgrade(request: Request, remote: Deno.NetAddr): Response {
    const address = remote.hostname;
    const refusal = this.options.admission.admit(address);
    if (refusal !== null) {
      // Refused before the upgrade: a socket Deno cannot cut must never be opened for it.
      const where = hostPort(remote.hostname, remote.port);
      this.hub.log.repeated({ event: "refused", address: where, reason: refusal.slice(3) });
      const status = refusal === say.serverFull ? 503 : 429;
      return new Response(refusal.slice(3) + "\n", { status, headers: { "retry-after": "60" } });
    }
    const { socket, response } = Deno.upgradeWebSocket(request, { idleTimeout: IDLE_TIMEOUT });
    const conn = new WsConnection(this, socket as TaggedSocket, remote, null);
    this.#sockets.set(conn, address);
    return response;
  }

  /** Settles once every connection has closed; those still open after `ms` are cut. */
  async closed(ms: number): Promise<void> {
    const allClosed = new Promise<void>((resolve) => {
      this.#allClosed = resolve;
      if (this.#sockets.size === 0) resolve();
    });
    await withTimeout(allClosed, ms);
    for (const conn of this.#sockets.keys()) conn.cut();
  }

  /**
   * Forgets connections whose peer never answered their close: the HTTP server's
   * shutdown has ended them (Deno can cut a server WebSocket no other way).
   */
  forgetAll(): void {
    for (const conn of [...this.#sockets.keys()]) conn.closed(false);
    clearTimeout(this.#watchTimer);
    this.#watchTimer = undefined;
    this.#watched.clear();
  }

  /** A connection's socket has closed: it no longer counts at the door. */
  untrack(conn: WsConnection): void {
    if (!this.#sockets.has(conn)) return;
    const address = this.#sockets.get(conn);
    this.#sockets.delete(conn);
    if (address != null) this.options.admission.release(address);
    if (this.#sockets.size === 0) this.#allClosed?.();
  }

  /** Looks at `conn`'s send buffer every few milliseconds until it is empty. */
  watch(conn: WsConnection): void {
    this.#watched.add(conn);
    this.#watchTimer ??= setTimeout(this.#look, WATCH_INTERVAL);
  }

  unwatch(conn: WsConnection): void {
    this.#watched.delete(conn);
    if (this.#watched.size === 0 && this.#watchTimer !== undefined) {
      clearTimeout(this.#watchTimer);
      this.#watchTimer = undefined;
    }
  }

  #look = (): void => {
    this.#watchTimer = undefined;
    for (const conn of this.#watched) {
      if (!conn.look()) this.#watched.delete(conn);
    }
    if (this.#watched.size > 0) this.#watchTimer ??= setTimeout(this.#look, WATCH_INTERVAL);
  };

  /** `bytes` (whole UTF-8 lines) as text, decoded once however many recipients share them. */
  text(bytes: Uint8Array): string {
    if (bytes !== this.#lastBytes) {
      this.#lastBytes = bytes;
      this.#lastText = decoder.decode(bytes);
    }
    return this.#lastText;
  }
}

const CONNECTION = Symbol("connection");
/** A socket that knows its {@linkcode WsConnection}. */
type TaggedSocket = WebSocket & { [CONNECTION]: WsConnection };

// Event handlers are shared functions that find their connection on the socket, not
// closures: thousands of idle pages would otherwise carry thousands of each.
function onOpen(this: WebSocket): void {
  (this as TaggedSocket)[CONNECTION].opened();
}

function onMessage(this: WebSocket, event: MessageEvent): void {
  (this as TaggedSocket)[CONNECTION].frame(event.data);
}

function onError(this: WebSocket, event: Event): void {
  (this as TaggedSocket)[CONNECTION].failed((event as ErrorEvent).message ?? "");
}

function onClose(this: WebSocket, event: CloseEvent): void {
  (this as TaggedSocket)[CONNECTION].closed(event.wasClean);
}

function drainTimedOut(conn: WsConnection): void {
  conn.cut();
}

/** One WebSocket behind the {@linkcode Connection} interface. */
export class WsConnection extends Outbox implements Connection {
  session: Session | null = null;
  readonly remote: string;
  /** Why the server refused it at the door, or `null`. */
  readonly #refusal: string | null;
  /** Set while flood control holds the session back: frames wait in the inbox. */
  #paused = false;
  #inbox: Uint8Array[] | null = null;
  #inboxBytes = 0;
  /** Bytes of the write in flight, while Deno's send buffer is too full to call it written. */
  #sending = 0;
  /** Bytes in Deno's send buffer besides the write in flight, as counted in the budget. */
  #held = 0;
  /** Set once the hub (or the server) has closed it: nothing more is read. */
  #closing = false;
  /** Set once the socket has been told to close. */
  #shut = false;
  /** Set once the socket's close event came (or the server gave up on it). */
  #ended = false;
  /** Why the server dropped it (the close frame's reason), if it did. */
  #dropped: string | undefined;
  /** Why the socket failed, from its error event (the first wins). */
  #failure: string | undefined;
  #drainTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly transport: WsTransport,
    readonly socket: TaggedSocket,
    remote: Deno.NetAddr,
    refusal: string | null,
  ) {
    super(transport.options.scheduler, transport.options.maxQueue);
    this.remote = hostPort(remote.hostname, remote.port);
    this.#refusal = refusal;
    socket[CONNECTION] = this;
    socket.onopen = onOpen;
    socket.onmessage = onMessage;
    socket.onerror = onError;
    socket.onclose = onClose;
  }

  /** Bytes waiting for this client: in its outbox and in Deno's send buffer. */
  override get queuedBytes(): number {
    return super.queuedBytes + this.#held;
  }

  /** The handshake is done: the hub greets the client (or it is told why not, and closed). */
  opened(): void {
    if (this.#refusal !== null) {
      this.#closing = this.#shut = true;
      this.socket.send(this.#refusal + "\n");
      this.socket.close(TRY_LATER, "try again later");
      return;
    }
    this.session = this.transport.hub.connect(this);
  }

  /** A frame arrived: one or more lines for the session, or for the inbox while it is held back. */
  frame(data: unknown): void {
    const session = this.session;
    if (session === null || this.#closing) return;
    const bytes = this.#lines(data);
    if (this.#paused) {
      const inbox = this.#inbox ??= [];
      const bytesAfter = this.#inboxBytes + bytes.length;
      if (inbox.length >= INPUT_MAX_FRAMES || bytesAfter > this.transport.maxFrame) {
        return this.#flooded(session);
      }
      inbox.push(bytes);
      this.#inboxBytes = bytesAfter;
      return;
    }
    this.#receive(session, bytes);
  }

  /** A frame's data as bytes ending in `\n`; a frame too large to take is one over-long line. */
  #lines(data: unknown): Uint8Array {
    const { maxFrame, tooLong } = this.transport;
    if (typeof data === "string") {
      // A string has at least as many UTF-8 bytes as UTF-16 code units.
      if (data.length > maxFrame) return tooLong;
      const bytes = encoder.encode(data.endsWith("\n") ? data : data + "\n");
      return bytes.length > maxFrame + 1 ? tooLong : bytes;
    }
    if (!(data instanceof ArrayBuffer)) return tooLong; // a server socket gets ArrayBuffers
    if (data.byteLength > maxFrame) return tooLong;
    const view = new Uint8Array(data);
    if (view.at(-1) === 10) return view;
    const bytes = new Uint8Array(view.length + 1);
    bytes.set(view);
    bytes[view.length] = 10;
    return bytes;
  }

  #receive(session: Session, bytes: Uint8Array): void {
    try {
      session.receive(bytes);
    } catch (error) {
      // A bug outside any one line's handling: end this client, keep serving the rest.
      session.hub.internalError(session, error);
      this.#dropped ??= reasons.internal;
      session.hub.leave(session, reasons.internal, false);
    }
  }

  /** More input than flood control lets wait: the client is told, and dropped. */
  #flooded(session: Session): void {
    this.#inbox = null;
    this.#inboxBytes = 0;
    this.#dropped = reasons.tooFast;
    if (session.name === null) this.transport.options.dropped?.(reasons.tooFast);
    session.send(say.tooFast);
    session.hub.leave(session, reasons.tooFast, true);
  }

  pause(): void {
    this.#paused = true;
  }

  /** Flood control lets the session go on: frames that waited are handed over, in order. */
  resume(): void {
    this.#paused = false;
    const session = this.session;
    const inbox = this.#inbox;
    while (session !== null && inbox !== null && inbox.length > 0 && !this.#paused) {
      if (session.closed || this.#closing) return;
      const bytes = inbox.shift()!;
      this.#inboxBytes -= bytes.length;
      this.#receive(session, bytes);
    }
  }

  deliver(bytes: Uint8Array): void {
    // The outbox keeps its own part under the cap; Deno's send buffer counts too.
    if (this.#held > 0 && super.queuedBytes + this.#held + bytes.length > this.maxQueue) {
      this.look();
      if (super.queuedBytes + this.#held + bytes.length > this.maxQueue) {
        this.discard();
        return this.overflowed();
      }
    }
    this.enqueue(bytes);
  }

  protected write(bytes: Uint8Array): void {
    const socket = this.socket;
    if (this.#shut || socket.readyState !== WebSocket.OPEN) return this.written();
    socket.send(this.transport.text(bytes));
    const buffered = socket.bufferedAmount;
    if (buffered - bytes.length > SEND_WINDOW) {
      // The peer reads slower than it is sent to: this write stays in flight (later
      // output waits in the outbox, where it can be dropped) until the buffer drains.
      this.#sending = bytes.length;
      this.#hold(buffered - bytes.length);
    } else {
      this.written();
      if (this.#shut) return;
      this.#hold(buffered);
    }
    this.transport.watch(this);
  }

  /**
   * Looks at Deno's send buffer: the write in flight is done once it holds no more
   * than a window; what it holds is counted in the budget. Says whether to look again.
   */
  look(): boolean {
    if (this.#shut) return false;
    const socket = this.socket;
    const buffered = socket.readyState === WebSocket.OPEN ? socket.bufferedAmount : 0;
    if (this.#sending > 0) {
      if (buffered > SEND_WINDOW) {
        this.#hold(Math.max(0, buffered - this.#sending));
        return true;
      }
      this.#sending = 0;
      this.written(); // may write what waited, or close once drained
      if (this.#shut) return false;
    }
    this.#hold(buffered);
    return this.#sending > 0 || buffered > 0;
  }

  /** Counts `bytes` in Deno's send buffer in the output budget, instead of what was counted. */
  #hold(bytes: number): void {
    const change = bytes - this.#held;
    if (change === 0) return;
    this.#held = bytes;
    this.scheduler.count(change); // last: past the budget, this very connection may be dropped
  }

  close(drain: boolean): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#inbox = null;
    this.#inboxBytes = 0;
    if (!drain) {
      // Cut by the hub: shed for its backlog (or turned away at shutdown).
      if (!this.transport.hub.closing && this.queuedBytes > 0) this.#dropped ??= reasons.tooSlow;
      this.cut();
      return;
    }
    this.#drainTimer = setTimeout(drainTimedOut, this.transport.options.drainTimeout, this);
    this.shutOutput();
  }

  /** Everything queued is written: the close frame follows it. */
  protected drained(): void {
    this.#closeSocket();
  }

  protected overflowed(): void {
    this.#dropped ??= reasons.tooSlow;
    this.#closing = true;
    this.cut();
    // Overflow happens inside a delivery, maybe in the middle of a broadcast: the member
    // leaves once the current work is done.
    const session = this.session;
    if (session !== null) queueMicrotask(() => session.ended(reasons.tooSlow));
  }

  /** Drops what is queued and closes the socket now (what Deno holds already still goes first). */
  cut(): void {
    this.#closing = true;
    this.#inbox = null;
    this.forget();
    this.#closeSocket();
  }

  #closeSocket(): void {
    clearTimeout(this.#drainTimer);
    if (this.#shut) return;
    this.#shut = true;
    this.#sending = 0;
    this.#hold(0); // what Deno still holds can be neither counted nor taken back
    this.transport.unwatch(this);
    const dropped = this.#dropped;
    const code = dropped === reasons.internal
      ? INTERNAL
      : dropped
      ? POLICY
      : this.transport.hub.closing
      ? GOING_AWAY
      : NORMAL;
    const reason = dropped ?? (code === GOING_AWAY ? say.shuttingDown : "");
    try {
      this.socket.close(code, reason);
    } catch {
      // not open yet, or closed already
    }
  }

  /** The socket's error event: the first reason is the one the room is told. */
  failed(message: string): void {
    this.#failure ??= reasonFor(message);
  }

  /**
   * The socket has closed. The session ends, if it has not already: after a clean
   * close, lines still held back by flood control are handled first, as after a
   * TCP client's half-close.
   */
  closed(clean: boolean): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#closing = true;
    clearTimeout(this.#drainTimer);
    this.forget();
    this.#hold(0);
    this.#shut = true;
    this.transport.unwatch(this);
    this.transport.untrack(this);
    const session = this.session;
    if (session === null || session.closed) return;
    const inbox = this.#inbox;
    this.#inbox = null;
    const reason = this.#failure ?? (clean ? undefined : reasons.reset);
    if (reason === undefined && inbox !== null) {
      for (const bytes of inbox) session.receive(bytes); // it is held back: they wait in order
    }
    session.ended(reason);
    // Unlike a half-closed TCP socket, a closed WebSocket can take nothing more, and its
    // slot at the door is free now: a member must not outlive it on lines held back.
    if (!session.closed) session.hub.leave(session, reason, false);
  }
}

/** A socket error as the room is told it, without internals. */
function reasonFor(message: string): string {
  if (/ping/i.test(message)) return reasons.timedOut; // no pong to the idle ping
  if (/reset|broken pipe|aborted|unexpected eof/i.test(message)) return reasons.reset;
  if (/invalid string|utf-?8/i.test(message)) return `${reasons.failed}: invalid UTF-8`;
  return reasons.failed;
}
