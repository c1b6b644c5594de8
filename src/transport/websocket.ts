/**
 * The WebSocket transport: a browser page (or any WebSocket client) is a
 * member like any other. `src/web/web.ts` checks an upgrade at `/ws` and hands the
 * socket over (`src/web/http.ts` reads the request); from then on this module
 * speaks RFC 6455 on it itself, server side: each socket becomes a
 * {@linkcode WsConnection} behind the same `Connection` interface as a TCP one,
 * so names, rooms, commands, history, notices and limits are the hub's.
 *
 * Framing: a text frame is one line, or several separated by `\n` (a `\n` at
 * its end is optional); each message goes to the session as bytes ending in
 * `\n`, so messages never run into each other and `--max-line` holds per line.
 * A message over {@linkcode WsTransport.maxFrame} bytes is skipped as it
 * arrives, never held, and refused as an over-long line; one whose frame header
 * announces more than {@linkcode WsTransport.maxAnnounced} is no chat at all:
 * the socket is closed with 1009 at once. Text must be UTF-8 (else 1007). No
 * extension is negotiated. Output: whatever the hub delivers in one batch goes
 * out as one text frame of `\n`-terminated lines, framed once however many
 * recipients share it.
 *
 * Backpressure: while flood control holds a session back, messages wait in a
 * bounded inbox (64 KiB, 100 messages); past it the client is told and dropped
 * (`too fast: input queue full`). Writes go through the outbox like TCP's: one
 * in flight, the rest counted in the shared budget and held to `--max-queue`.
 *
 * @module
 */

import { createHash } from "node:crypto";
import type net from "node:net";
import type { HttpExchange, HttpRequest } from "../web/http.ts";
import type { Hub } from "../core/hub.ts";
import { hostPort } from "../ops/log.ts";
import { concat, type FlushScheduler, Outbox } from "./outbox.ts";
import { reasons } from "../core/protocol.ts";
import { failed } from "../core/events.ts";
import { TextSession } from "../text/session.ts";
import { TOO_LONG } from "../core/input.ts";
import type { Connection, Session } from "../core/session.ts";
import { reasonFor } from "./tcp.ts";
import { withTimeout } from "../core/timeout.ts";

/** What the transport needs to know and share with the others. */
export interface WsOptions {
  /** Longest line a client may send, in bytes, without its newline. */
  maxLine: number;
  /** Bytes that may wait to be written to one client before it is dropped. */
  maxQueue: number;
  /** Milliseconds a closing connection has to take its last output (and answer the close). */
  drainTimeout: number;
  /** Writes outboxes once per batch and keeps the server's output budget (shared by transports). */
  scheduler: FlushScheduler;
  /**
   * Milliseconds between two looks for silent clients: one silent since the last
   * look is pinged, and dropped if still silent at the next (default 60 s).
   */
  wsPing?: number;
  /** Subprotocols this server speaks, best first: the first a client offers is echoed. */
  protocols?: readonly string[];
  /**
   * The session made for a client that chose a subprotocol, by subprotocol (they are
   * spoken too); without one, the text protocol's.
   */
  sessions?: Readonly<
    Record<string, (conn: WsConnection, hub: Hub, request: HttpRequest) => Session>
  >;
}

/** Bytes of input that may wait while flood control holds a client back (and the largest message). */
export const INPUT_MAX_BYTES = 64 * 1024;
/** Messages that may wait while flood control holds a client back. */
export const INPUT_MAX_FRAMES = 100;
/** How many times the largest message a frame header may announce before the socket is closed. */
const ANNOUNCED_FACTOR = 16;
/** Bytes of pongs the socket may have waiting: past them a ping is not answered. */
const MAX_PONG_BACKLOG = 64 * 1024;
/** Milliseconds between two looks for silent clients, by default (see `WsOptions.wsPing`). */
const PING_INTERVAL = 60_000;
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** The WebSocket clients' listener, as `/metrics` labels it. */
export const WS_LISTENER = "ws";

/** Close codes (RFC 6455, section 7.4.1). */
const NORMAL = 1000;
const GOING_AWAY = 1001;
const PROTOCOL_ERROR = 1002;
const INVALID_DATA = 1007;
const POLICY = 1008;
const TOO_BIG = 1009;
const INTERNAL = 1011;

/** Opcodes. */
const CONTINUATION = 0;
const TEXT = 1;
const BINARY = 2;
const CLOSE = 8;
const PING = 9;
const PONG = 10;

const encoder = new TextEncoder();
const utf8 = new TextDecoder("utf-8", { fatal: true });
const EMPTY = new Uint8Array(0);

/**
 * Why a WebSocket handshake cannot be answered (a line for a 400), or `null`
 * if it is a valid one. The caller has checked `Upgrade: websocket`.
 */
export function handshakeError(request: HttpRequest): string | null {
  const { headers } = request;
  if (request.method !== "GET") return "a WebSocket handshake is a GET";
  if (!/(^|,)\s*upgrade\s*(,|$)/i.test(headers.get("connection") ?? "")) {
    return "a WebSocket handshake says Connection: Upgrade";
  }
  if (headers.get("sec-websocket-version") !== "13") return "WebSocket version 13 only";
  if (!/^[A-Za-z0-9+/]{22}==$/.test(headers.get("sec-websocket-key") ?? "")) {
    return "not a valid Sec-WebSocket-Key";
  }
  return null;
}

/** Every WebSocket client of a server, from its upgrade until its socket has closed. */
export class WsTransport {
  /** The largest message taken as it is; a larger one is refused as an over-long line. */
  readonly maxFrame: number;
  /** The largest frame a header may announce; past it the socket is closed (1009). */
  readonly maxAnnounced: number;
  /** What a refused message is handed to the session as: one line over `--max-line`. */
  readonly tooLong: Uint8Array;
  readonly #connections = new Set<WsConnection>();
  #allClosed: (() => void) | null = null;
  #idleTimer: ReturnType<typeof setInterval> | undefined;
  // A broadcast hands the very same bytes to every recipient's write: frame them once.
  #lastBytes: Uint8Array | null = null;
  #lastFrame: Uint8Array = EMPTY;

  constructor(readonly hub: Hub, readonly options: WsOptions) {
    hub.metrics.listen(WS_LISTENER, () => this.#connections.size);
    this.maxFrame = Math.max(INPUT_MAX_BYTES, options.maxLine + 1);
    this.maxAnnounced = this.maxFrame * ANNOUNCED_FACTOR;
    this.tooLong = new Uint8Array(options.maxLine + 2).fill(0x78);
    this.tooLong[options.maxLine + 1] = 10;
  }

  /** Connections open now (named or not). */
  get connections(): number {
    return this.#connections.size;
  }

  /**
   * Completes the handshake of `request` (checked with {@linkcode handshakeError})
   * on the socket `exchange` hands over, and lets the client into the hub.
   */
  open(request: HttpRequest, exchange: HttpExchange): void {
    const key = request.headers.get("sec-websocket-key")!;
    const accept = createHash("sha1").update(key + GUID).digest("base64");
    const offered = request.headers.get("sec-websocket-protocol")?.split(",").map((p) => p.trim());
    const spoken = this.options.protocols ?? Object.keys(this.options.sessions ?? {});
    const protocol = offered && spoken.find((p) => offered.includes(p));
    const { socket, rest } = exchange.takeOver();
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n" +
        `sec-websocket-accept: ${accept}\r\n` +
        (protocol ? `sec-websocket-protocol: ${protocol}\r\n` : "") + "\r\n",
    );
    const conn = new WsConnection(this, socket as TaggedSocket, request.remote);
    this.#connections.add(conn);
    this.hub.metrics.accepted.with(WS_LISTENER).inc();
    this.#idleTimer ??= setInterval(
      this.#lookForSilence,
      this.options.wsPing ?? PING_INTERVAL,
    );
    const make = protocol ? this.options.sessions?.[protocol] : undefined;
    conn.session = this.hub.connect(
      conn,
      make?.(conn, this.hub, request) ?? new TextSession(this.hub, conn),
    );
    if (rest.length > 0) conn.data(rest);
  }

  /** Settles once every connection has closed; those still open after `ms` are cut off. */
  async closed(ms: number): Promise<void> {
    const allClosed = new Promise<void>((resolve) => {
      this.#allClosed = resolve;
      if (this.#connections.size === 0) resolve();
    });
    await withTimeout(allClosed, ms);
    for (const conn of this.#connections) conn.socket.destroy();
    await allClosed;
  }

  /** A connection's socket has closed. */
  untrack(conn: WsConnection): void {
    this.#connections.delete(conn);
    if (this.#connections.size > 0) return;
    clearInterval(this.#idleTimer);
    this.#idleTimer = undefined;
    this.#allClosed?.();
  }

  #lookForSilence = (): void => {
    for (const conn of this.#connections) conn.lookForSilence();
  };

  /** `bytes` (whole UTF-8 lines) as one text frame, made once however many recipients share it. */
  frame(bytes: Uint8Array): Uint8Array {
    if (bytes !== this.#lastBytes) {
      this.#lastBytes = bytes;
      this.#lastFrame = frame(TEXT, bytes);
    }
    return this.#lastFrame;
  }
}

/** A text frame (a server's) carrying `payload`, for sessions that frame their own messages. */
export function textFrame(payload: Uint8Array): Uint8Array {
  return frame(TEXT, payload);
}

/** An unmasked frame (a server's) carrying `payload`. */
function frame(opcode: number, payload: Uint8Array): Uint8Array {
  const length = payload.length;
  const header = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const out = new Uint8Array(header + length);
  out[0] = 0x80 | opcode;
  if (header === 2) {
    out[1] = length;
  } else if (header === 4) {
    out[1] = 126;
    out[2] = length >> 8;
    out[3] = length & 0xff;
  } else {
    out[1] = 127;
    new DataView(out.buffer).setUint32(6, length);
  }
  out.set(payload, header);
  return out;
}

/** A close frame: its code and a reason (cut to fit a control frame's 125 bytes). */
function closeFrame(code: number, reason: string): Uint8Array {
  let text = encoder.encode(reason);
  if (text.length > 123) text = encoder.encode(reason.slice(0, 60));
  const payload = new Uint8Array(2 + text.length);
  payload[0] = code >> 8;
  payload[1] = code & 0xff;
  payload.set(text, 2);
  return frame(CLOSE, payload);
}

const PING_FRAME = frame(PING, EMPTY);

const CONNECTION = Symbol("connection");
/** A socket that knows its {@linkcode WsConnection}. */
type TaggedSocket = net.Socket & { [CONNECTION]: WsConnection };

// Listeners are shared functions that find their connection on the socket, not
// closures: thousands of idle pages would otherwise carry thousands of each.
function onData(this: TaggedSocket, chunk: Uint8Array): void {
  this[CONNECTION].data(chunk);
}

function onEnd(this: TaggedSocket): void {
  this[CONNECTION].peerEnded();
}

function onError(this: TaggedSocket, error: Error & { code?: string }): void {
  this[CONNECTION].failed(reasonFor(error));
}

function onClose(this: TaggedSocket): void {
  this[CONNECTION].closed();
}

function destroyConnection(conn: WsConnection): void {
  conn.socket.destroy();
}

/** One WebSocket behind the {@linkcode Connection} interface. */
export class WsConnection extends Outbox implements Connection {
  session: Session | null = null;
  /**
   * Set by a session that takes each message whole and delivers whole frames (JSON):
   * no newline is added to a message, and what it delivers is written as it is.
   */
  wholeMessages = false;
  readonly remote: string;
  /** Bytes read and not yet parsed: at most a frame header and one message's payload. */
  #pending: Uint8Array = EMPTY;
  /** The fragments of a message whose last frame has not come yet. */
  #fragments: Uint8Array[] = [];
  #fragmentBytes = 0;
  /** The opcode of the message being assembled (0: none). */
  #messageType = 0;
  /** Set while the message being read is over the limit: its frames are skipped. */
  #messageTooLong = false;
  /** Payload bytes of an over-long frame still to skip, and whether it ends its message. */
  #skip = 0;
  #skipEnds = false;
  /** Set while flood control holds the session back: messages wait in the inbox. */
  #paused = false;
  #inbox: Uint8Array[] | null = null;
  #inboxBytes = 0;
  /** Set once the hub (or the server) has closed it: nothing more is handed to the session. */
  #closing = false;
  /** Set once the close frame is sent: nothing more is written. */
  #closeSent = false;
  /** Set once the peer's close frame came: nothing more is read. */
  #closeReceived = false;
  #ended = false;
  /** Why the server dropped it (the close frame's reason), if it did. */
  #dropped: string | undefined;
  /** The close code for a protocol error of the peer's, if any. */
  #errorCode = 0;
  /** Why the socket failed (the first reason wins). */
  #failure: string | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Whether anything came since the last look for silence, and whether it was pinged then. */
  #heard = true;
  #pinged = false;
  readonly #onWritten: (error?: Error | null) => void;
  /** The listener it came by, for `/metrics`. */
  get listener(): string {
    return WS_LISTENER;
  }

  constructor(readonly transport: WsTransport, readonly socket: TaggedSocket, remote: {
    hostname: string;
    port: number;
  }) {
    super(transport.options.scheduler, transport.options.maxQueue);
    this.remote = hostPort(remote.hostname, remote.port);
    socket[CONNECTION] = this;
    socket.on("data", onData);
    socket.on("end", onEnd);
    socket.on("error", onError);
    socket.on("close", onClose);
    // The one closure a connection needs: a write callback gets no `this`.
    this.#onWritten = (error?: Error | null) => {
      if (!error) this.written(); // a failed write also fails the socket: see failed()
    };
  }

  /** Bytes read: frames parsed as far as they go; a partial one waits for the rest. */
  data(chunk: Uint8Array): void {
    this.#heard = true;
    if (this.#closeReceived || this.#errorCode !== 0) return; // read and dropped
    if (this.#skip > 0) {
      const skipped = Math.min(this.#skip, chunk.length);
      this.#skip -= skipped;
      chunk = chunk.subarray(skipped);
      if (this.#skip === 0 && this.#skipEnds) this.#messageDone();
      if (chunk.length === 0) return;
    }
    let bytes = chunk;
    if (this.#pending.length > 0) {
      bytes = new Uint8Array(this.#pending.length + chunk.length);
      bytes.set(this.#pending);
      bytes.set(chunk, this.#pending.length);
    }
    const offset = this.#frames(bytes);
    this.#pending = offset >= bytes.length ? EMPTY : bytes.slice(offset);
  }

  /** Parses whole frames from `bytes`; returns where the first incomplete one starts. */
  #frames(bytes: Uint8Array): number {
    let offset = 0;
    while (bytes.length - offset >= 2 && !this.#closeReceived && this.#errorCode === 0) {
      const first = bytes[offset];
      const second = bytes[offset + 1];
      const fin = (first & 0x80) !== 0;
      const opcode = first & 0x0f;
      let length = second & 0x7f;
      let header = 6;
      if (length === 126) header = 8;
      else if (length === 127) header = 14;
      if (bytes.length - offset < header) break;
      if (length === 126) {
        length = (bytes[offset + 2] << 8) | bytes[offset + 3];
      } else if (length === 127) {
        const view = new DataView(bytes.buffer, bytes.byteOffset + offset + 2, 8);
        const high = view.getUint32(0);
        length = high > 0x1fffff ? Infinity : high * 2 ** 32 + view.getUint32(4);
      }
      const control = opcode >= 8;
      if ((first & 0x70) !== 0 || (second & 0x80) === 0) {
        this.#protocolError(PROTOCOL_ERROR, "unmasked frame or unknown extension");
        break;
      }
      if (control ? opcode > PONG || !fin || length > 125 : opcode > BINARY) {
        this.#protocolError(PROTOCOL_ERROR, "bad frame");
        break;
      }
      if (!control && (opcode === CONTINUATION) !== (this.#messageType !== 0)) {
        this.#protocolError(PROTOCOL_ERROR, "bad fragmentation");
        break;
      }
      if (!control && this.#fragmentBytes + length > this.transport.maxAnnounced) {
        // Never read: the announced size alone says it is no chat.
        this.#protocolError(TOO_BIG, "message too big");
        break;
      }
      if (
        !control && (this.#messageTooLong || this.#fragmentBytes + length > this.transport.maxFrame)
      ) {
        // Over the limit: skipped as it comes, and refused as one over-long line.
        if (opcode !== CONTINUATION) this.#messageType = opcode;
        this.#messageTooLong = true;
        this.#fragments = [];
        this.#fragmentBytes = 0;
        const here = Math.min(length, bytes.length - offset - header);
        offset += header + here;
        if (here < length) {
          this.#skip = length - here;
          this.#skipEnds = fin;
          return bytes.length;
        }
        if (fin) this.#messageDone();
        continue;
      }
      if (bytes.length - offset - header < length) break;
      const start = offset + header;
      const payload = bytes.subarray(start, start + length);
      for (let i = 0; i < length; i++) payload[i] ^= bytes[start - 4 + (i & 3)];
      offset = start + length;
      if (control) {
        this.#control(opcode, payload);
        continue;
      }
      if (opcode !== CONTINUATION) this.#messageType = opcode;
      this.#fragments.push(payload);
      this.#fragmentBytes += length;
      if (fin) this.#messageDone();
    }
    return offset;
  }

  /** A periodic look: a client silent since the last one is pinged; still silent, it is dropped. */
  lookForSilence(): void {
    if (this.#heard) {
      this.#heard = false;
      this.#pinged = false;
    } else if (!this.#pinged) {
      this.#pinged = true;
      if (!this.#closeSent) this.socket.write(PING_FRAME);
    } else {
      this.#failure ??= reasons.timedOut;
      this.socket.destroy();
    }
  }

  /** A ping, a pong or a close came. */
  #control(opcode: number, payload: Uint8Array): void {
    if (opcode === PING) {
      if (!this.#closeSent && this.socket.writableLength < MAX_PONG_BACKLOG) {
        this.socket.write(frame(PONG, payload.slice()));
      }
      return;
    }
    if (opcode !== CLOSE) return;
    this.#closeReceived = true;
    if (this.#closeSent) {
      this.socket.destroy(); // both sides said it: done
      return;
    }
    // Answered at once, as a WebSocket must; what the hub had queued is not sent.
    const code = payload.length >= 2 ? (payload[0] << 8) | payload[1] : NORMAL;
    this.#sendClose(isSendableCode(code) ? code : NORMAL, "");
  }

  /** The last frame of a message came: the message goes to the session (or waits in the inbox). */
  #messageDone(): void {
    const type = this.#messageType;
    const fragments = this.#fragments;
    const tooLong = this.#messageTooLong;
    this.#messageType = 0;
    this.#messageTooLong = false;
    this.#fragments = [];
    const total = this.#fragmentBytes;
    this.#fragmentBytes = 0;
    if (tooLong) return this.#message(this.wholeMessages ? TOO_LONG : this.transport.tooLong);
    let bytes = fragments.length === 1 ? fragments[0] : concat(fragments, total);
    if (type === TEXT) {
      try {
        utf8.decode(bytes);
      } catch {
        this.#protocolError(INVALID_DATA, "invalid UTF-8");
        return;
      }
    }
    if (this.wholeMessages) {
      if (fragments.length === 1) bytes = bytes.slice(); // not a view of a larger read
    } else if (bytes.at(-1) !== 10) {
      const line = new Uint8Array(bytes.length + 1);
      line.set(bytes);
      line[bytes.length] = 10;
      bytes = line;
    } else if (fragments.length === 1) {
      bytes = bytes.slice(); // not a view of a larger read
    }
    this.#message(bytes);
  }

  /** One or more lines for the session, or for the inbox while it is held back. */
  #message(bytes: Uint8Array): void {
    const session = this.session;
    if (session === null || this.#closing) return;
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
    session.tell(failed({ code: "tooFast" }));
    session.hub.leave(session, reasons.tooFast, true);
  }

  /** The peer broke the protocol: it is told with `code`, and its socket closed. */
  #protocolError(code: number, why: string): void {
    this.#errorCode = code;
    this.#pending = EMPTY;
    this.#fragments = [];
    this.#failure ??= `${reasons.failed}: ${why}`;
    this.#closing = true;
    this.#inbox = null;
    this.forget();
    // Nothing more is read: what it sends meanwhile waits in the kernel, not here.
    this.socket.pause();
    this.#sendClose(code, why);
  }

  pause(): void {
    this.#paused = true;
  }

  /** Flood control lets the session go on: messages that waited are handed over, in order. */
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
    this.enqueue(bytes);
  }

  protected write(bytes: Uint8Array): void {
    if (this.#closeSent) return this.written();
    const out = this.wholeMessages ? bytes : this.transport.frame(bytes);
    this.socket.write(out, this.#onWritten);
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
    if (this.#closeSent) return;
    this.#timer = setTimeout(destroyConnection, this.transport.options.drainTimeout, this);
    this.shutOutput();
  }

  /** Everything queued is written: the close frame follows it. */
  protected drained(): void {
    this.#sendClose(this.#closeCode(), this.#closeReason());
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

  /** Drops what is queued and sends the close frame now (after the write in flight). */
  cut(): void {
    this.#closing = true;
    this.#inbox = null;
    this.forget();
    this.#sendClose(this.#closeCode(), this.#closeReason());
  }

  #closeCode(): number {
    const dropped = this.#dropped;
    return dropped === reasons.internal
      ? INTERNAL
      : dropped
      ? POLICY
      : this.transport.hub.closing
      ? GOING_AWAY
      : NORMAL;
  }

  #closeReason(): string {
    return this.#dropped ?? (this.transport.hub.closing ? reasons.serverStopped : "");
  }

  /**
   * Sends the close frame, then the end of the stream; the socket is destroyed
   * once the peer answers, ends, or the drain timeout passes.
   */
  #sendClose(code: number, reason: string): void {
    if (this.#closeSent) return;
    this.#closeSent = true;
    clearTimeout(this.#timer);
    if (this.socket.destroyed) return;
    this.socket.end(closeFrame(code, reason));
    this.#timer = setTimeout(destroyConnection, this.transport.options.drainTimeout, this);
  }

  /** The peer ended its stream: with no close frame first, that is a reset. */
  peerEnded(): void {
    if (this.#closeSent) {
      this.socket.destroy();
      return;
    }
    this.#closeSent = true;
    this.socket.end();
  }

  /** The socket failed; the first reason is the one the room is told. */
  failed(reason: string): void {
    this.#failure ??= reason;
  }

  /**
   * The socket has closed. The session ends, if it has not already: after a clean
   * close, lines still held back by flood control are handled first, as after a
   * TCP client's half-close.
   */
  closed(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#closing = true;
    this.#closeSent = true;
    clearTimeout(this.#timer);
    this.forget();
    this.transport.untrack(this);
    const session = this.session;
    if (session === null || session.closed) return;
    const inbox = this.#inbox;
    this.#inbox = null;
    const reason = this.#failure ?? (this.#closeReceived ? undefined : reasons.reset);
    if (reason === undefined && inbox !== null) {
      for (const bytes of inbox) session.receive(bytes); // it is held back: they wait in order
    }
    session.ended(reason);
    // Unlike a half-closed TCP socket, a closed WebSocket can take nothing more, and its
    // slot at the door is free now: a member must not outlive it on lines held back.
    if (!session.closed) session.hub.leave(session, reason, false);
  }
}

/** Whether a close code received may be sent back (RFC 6455, section 7.4). */
function isSendableCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999);
}
