/**
 * A small, bounded HTTP/1.1 server on `node:net` and `node:tls`, for the web
 * side (`src/web/web.ts`): it reads a request line and headers (at most
 * {@linkcode MAX_HEAD} bytes, within the header timeout), hands them to a
 * handler, and writes its answer with a `Content-Length`; keep-alive
 * connections wait for their next request for the idle timeout at most.
 * Bodies are not wanted, but where `readsBody` says (a webhook's post: read whole
 * before the handler is called): a short one is skipped, a long one or a chunked
 * one is refused and the connection closed.
 *
 * Each accepted connection counts at the door (`src/core/admission.ts`, shared
 * with TCP and IRC) from its accept until its close, whatever it becomes: a
 * WebSocket takes the socket over ({@linkcode HttpExchange.takeOver}) and keeps
 * the same slot, released exactly once, when the socket closes.
 *
 * @module
 */

import net from "node:net";
import type { Admission } from "../core/admission.ts";
import { hostPort, type ServerLog } from "../ops/log.ts";
import { type ChatMetrics, REFUSAL_LABELS } from "../ops/metrics.ts";
import { say } from "../text/protocol.ts";
import { createListener } from "../transport/tcp.ts";
import { BACKLOG, ListenerWatch, REOPENED } from "../transport/listener_watch.ts";
import { withTimeout } from "../core/timeout.ts";

/** Where and how the server listens, and how long it waits for a client. */
export interface HttpOptions {
  hostname: string;
  port: number;
  /** PEM certificate chain and key: speak HTTPS. */
  cert?: string;
  key?: string;
  /** Counts connections in all and by address (shared by transports). */
  admission: Admission;
  log: ServerLog;
  /** Logs a bug met while answering (the client gets a 500). */
  internalError: (error: unknown) => void;
  /** Milliseconds a client has to send a whole request head (default 10 s). */
  headerTimeout?: number;
  /** Milliseconds a keep-alive connection may wait for its next request (default 10 s). */
  idleTimeout?: number;
  /** Milliseconds a TLS client has to finish its handshake (default 10 s). */
  handshakeTimeout?: number;
  /** Where its connections, accepted and refused, are counted (under the listener `web`). */
  metrics?: ChatMetrics;
  /**
   * Whether the handler wants the body of `request` (a webhook's `POST`): it is then read
   * whole (`Content-Length` only, at most 64 KiB) before the handler is called. Others are
   * skipped, as ever.
   */
  readsBody?: (request: HttpRequest) => boolean;
}

/** A request head, as read. */
export interface HttpRequest {
  method: string;
  /** The path of the target, without its query. */
  path: string;
  /** Header values by lower-case name (repeated headers joined with `, `). */
  headers: Map<string, string>;
  /** The peer. */
  remote: { hostname: string; port: number };
  /** The body, read whole, for a request the server's `readsBody` asked for. */
  body?: Uint8Array;
}

/** An answer: its body is sent with a `Content-Length` (and left out for `HEAD`). */
export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string | Uint8Array;
}

/** What a handler may do besides answering: take the socket over (a WebSocket upgrade). */
export interface HttpExchange {
  /**
   * Ends HTTP on this connection and hands its socket over, with the bytes that
   * came after the request head. The socket keeps its slot at the door until it closes.
   */
  takeOver(): { socket: net.Socket; rest: Uint8Array };
}

/**
 * Answers a request, or returns `null` once it has taken the socket over; an answer
 * that waits on something (a store) is a promise, and the connection reads nothing
 * more until it is written (within the header timeout).
 */
export type HttpHandler = (
  request: HttpRequest,
  exchange: HttpExchange,
) => HttpResponse | null | Promise<HttpResponse>;

/** The most bytes of a request line and headers together. */
export const MAX_HEAD = 16 * 1024;
/** The HTTP listener (`--web`), as `/metrics` labels it. */
export const WEB_LISTENER = "web";

/** The longest body that is read and skipped rather than refused. */
const MAX_SKIPPED_BODY = 64 * 1024;
const HEADER_TIMEOUT = 10_000;
const IDLE_TIMEOUT = 10_000;
const HANDSHAKE_TIMEOUT = 10_000;
/** Milliseconds a refused connection is kept to read its request, so that it reads the refusal. */
const LINGER = 1_000;
/** Refused connections that may linger at once; the others are closed once answered. */
const MAX_LINGERING = 16;

const REASON_PHRASES: Record<number, string> = {
  101: "Switching Protocols",
  200: "OK",
  401: "Unauthorized",
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  413: "Content Too Large",
  421: "Misdirected Request",
  426: "Upgrade Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
  505: "HTTP Version Not Supported",
};

const encoder = new TextEncoder();
const REQUEST_LINE = /^([A-Z]{1,20}) (\S+) HTTP\/1\.([01])$/;
const HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/;

/** The HTTP server: every connection admitted, read within its limits, and answered. */
export class HttpServer {
  /** Every accepted socket until it closes, with the address it was admitted under (`null`: refused). */
  readonly #sockets = new Map<net.Socket, string | null>();
  /** Connections still speaking HTTP (not refused, not taken over). */
  readonly #exchanges = new Set<Exchange>();
  #allClosed: (() => void) | null = null;
  readonly headerTimeout: number;
  readonly idleTimeout: number;
  #lingering = 0;
  /** Reopens the listener if it stops accepting (see `src/transport/listener_watch.ts`). */
  #watch: ListenerWatch | null = null;
  #listening = false;
  #closed = false;
  #addr: Deno.NetAddr | null = null;

  private constructor(
    readonly options: HttpOptions,
    readonly handler: HttpHandler,
    readonly server: net.Server,
    readonly secure: boolean,
  ) {
    this.headerTimeout = options.headerTimeout ?? HEADER_TIMEOUT;
    this.idleTimeout = options.idleTimeout ?? IDLE_TIMEOUT;
  }

  /** Listens; resolves once the port is open, rejects if it cannot be. */
  static listen(options: HttpOptions, handler: HttpHandler): Promise<HttpServer> {
    const secure = options.cert !== undefined && options.key !== undefined;
    const server = createListener(
      options.cert,
      options.key,
      options.handshakeTimeout ?? HANDSHAKE_TIMEOUT,
    );
    const http = new HttpServer(options, handler, server, secure);
    options.metrics?.listen(WEB_LISTENER, () => http.connections);
    server.on("connection", (socket: net.Socket) => http.#admit(socket));
    if (secure) {
      server.on("secureConnection", (socket: net.Socket) => http.#serve(socket));
      server.on("tlsClientError", (error: Error, socket: net.Socket) => {
        const address = hostPort(socket.remoteAddress, socket.remotePort);
        options.log.repeated({
          event: "tls-failed",
          address,
          reason: error.message.split("\n")[0],
        });
        options.metrics?.refused.with(WEB_LISTENER, "tls_handshake").inc();
        socket.destroy();
      });
    }
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: options.hostname, port: options.port, backlog: BACKLOG }, () => {
        server.off("error", reject);
        http.#listening = true;
        const { hostname, port } = http.addr;
        http.#watch = new ListenerWatch(server, hostname, port, secure, () => {
          options.log.repeated({ event: "accept-failed", reason: `web: ${REOPENED}` });
        });
        server.on("error", (error: Error) => http.#acceptFailed(error));
        resolve(http);
      });
    });
  }

  /** The address it listens on (the real port when 0 was asked for), kept across a reopen. */
  get addr(): Deno.NetAddr {
    if (this.#addr === null) {
      const { address, port } = this.server.address() as net.AddressInfo;
      this.#addr = { transport: "tcp", hostname: address, port };
    }
    return this.#addr;
  }

  /** Connections open now that speak HTTP (admitted, not taken over by a WebSocket). */
  get connections(): number {
    return this.#exchanges.size;
  }

  /** Stops listening, then settles once every connection has closed (those left after `ms` are cut). */
  async close(ms: number): Promise<void> {
    this.#closed = true;
    this.#watch?.stop();
    if (this.#listening) this.server.close();
    this.#listening = false;
    const allClosed = new Promise<void>((resolve) => {
      this.#allClosed = resolve;
      if (this.#sockets.size === 0) resolve();
    });
    // Idle keep-alive connections have nothing to finish.
    for (const exchange of this.#exchanges) {
      if (exchange.idle) exchange.socket.destroy();
    }
    await withTimeout(allClosed, ms);
    for (const socket of this.#sockets.keys()) socket.destroy();
    await allClosed;
  }

  /**
   * A failed accept (out of file descriptors, say), if the runtime reports it: logged
   * as a repeated event. (Deno 2.9's listener reports none and stops accepting: the
   * door keeps below the open-file limit, see `server.ts`, and the watch reopens it.)
   */
  #acceptFailed(error: Error & { code?: string }): void {
    this.options.log.repeated({
      event: "accept-failed",
      reason: `web: ${error.code ?? error.message.split("\n")[0]}`,
    });
  }

  /** Counts a new socket at the door, before any handshake, and refuses it past the limits. */
  #admit(socket: net.Socket): void {
    if (this.#watch?.accepted(socket)) return; // the watch's own probe
    const address = socket.remoteAddress ?? "";
    const refusal = this.options.admission.admit(address);
    this.#sockets.set(socket, refusal === null ? address : null);
    socket.on("close", () => this.#untrack(socket));
    socket.on("error", ignore);
    if (refusal === null) {
      this.options.metrics?.accepted.with(WEB_LISTENER).inc();
      if (!this.secure) this.#serve(socket);
      return;
    }
    const words = say[refusal].slice(3);
    const where = hostPort(address, socket.remotePort);
    this.options.log.repeated({ event: "refused", address: where, reason: words, code: refusal });
    this.options.metrics?.refused.with(WEB_LISTENER, REFUSAL_LABELS[refusal]).inc();
    if (this.secure) {
      socket.destroy(); // it expects a handshake first
      return;
    }
    // Answered at once, without its request; its request is read and dropped for a moment,
    // so that the answer is not lost to a reset. Only a few linger: refused connections are
    // not counted at the door, and must not use up the file descriptors.
    const status = refusal === "serverFull" ? 503 : 429;
    socket.end(responseBytes(
      { status, headers: { "retry-after": "60" }, body: words + "\n" },
      false,
      true,
    ));
    if (this.#lingering >= MAX_LINGERING) {
      socket.destroy(); // the answer goes if the kernel takes it at once; the fd is freed now
      return;
    }
    this.#lingering++;
    socket.on("data", ignore);
    socket.on("end", destroySocket);
    const linger = setTimeout(destroySocket.bind(socket), LINGER);
    socket.on("close", () => {
      this.#lingering--;
      clearTimeout(linger);
    });
  }

  #untrack(socket: net.Socket): void {
    if (!this.#sockets.has(socket)) return;
    const address = this.#sockets.get(socket);
    this.#sockets.delete(socket);
    if (address != null) this.options.admission.release(address);
    if (this.#sockets.size === 0) this.#allClosed?.();
  }

  #serve(socket: net.Socket): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const exchange = new Exchange(this, socket as TaggedSocket);
    this.#exchanges.add(exchange);
    socket.on("close", () => {
      this.#exchanges.delete(exchange);
      exchange.dispose();
    });
  }

  /** Called by an exchange whose socket is taken over: it is no HTTP connection any more. */
  tookOver(exchange: Exchange): void {
    this.#exchanges.delete(exchange);
  }
}

const EXCHANGE = Symbol("exchange");
type TaggedSocket = net.Socket & { [EXCHANGE]?: Exchange };

function ignore(): void {}

function destroySocket(this: net.Socket): void {
  this.destroy();
}

function onData(this: TaggedSocket, chunk: Uint8Array): void {
  this[EXCHANGE]!.data(chunk);
}

function onEnd(this: TaggedSocket): void {
  this[EXCHANGE]!.ended();
}

function onTimeout(exchange: Exchange): void {
  exchange.timedOut();
}

/** One HTTP connection: its requests read one at a time, each answered before the next. */
class Exchange implements HttpExchange {
  /** Bytes of the head being read (latin1: one character per byte). */
  #head = "";
  /** Bytes of a body still to skip. */
  #skip = 0;
  /** A body being read for its request (see `readsBody`), filled up to `#bodyAt`. */
  #body: Uint8Array | null = null;
  #bodyAt = 0;
  #bodyFor: { request: HttpRequest; keepAlive: boolean } | null = null;
  /** Set between requests: nothing of the next one has come yet. */
  idle = false;
  takenOver = false;
  #closing = false;
  #timer: ReturnType<typeof setTimeout>;
  /** Bytes after the head, kept while a request is handled (for a socket taken over). */
  #rest: Uint8Array = EMPTY;
  /** Set while an answer is awaited: input waits, in `#parked`. */
  #waiting = false;
  #parked: Uint8Array = EMPTY;

  constructor(readonly server: HttpServer, readonly socket: TaggedSocket) {
    socket[EXCHANGE] = this;
    socket.on("data", onData);
    socket.on("end", onEnd);
    this.#timer = setTimeout(onTimeout, server.headerTimeout, this);
  }

  data(chunk: Uint8Array): void {
    if (this.#waiting) {
      // A pipelined request behind one being answered: it waits (the socket is paused).
      if (this.#parked.length + chunk.length > MAX_HEAD) return this.#refuse(431, "too much\n");
      this.#parked = concat(this.#parked, chunk);
      return;
    }
    let offset = 0;
    while (offset < chunk.length && !this.#closing && !this.takenOver) {
      if (this.#waiting) {
        this.#parked = chunk.slice(offset);
        return;
      }
      if (this.#body !== null) {
        // The body of the request that wants it: its handler is called once it is whole.
        const body = this.#body;
        const taken = Math.min(body.length - this.#bodyAt, chunk.length - offset);
        body.set(chunk.subarray(offset, offset + taken), this.#bodyAt);
        this.#bodyAt += taken;
        offset += taken;
        if (this.#bodyAt === body.length) {
          const { request, keepAlive } = this.#bodyFor!;
          this.#body = this.#bodyFor = null;
          request.body = body;
          this.#dispatch(request, keepAlive);
        }
        continue;
      }
      if (this.#skip > 0) {
        // The body of the request answered last: read and dropped.
        const skipped = Math.min(this.#skip, chunk.length - offset);
        this.#skip -= skipped;
        offset += skipped;
        if (this.#skip === 0 && !this.#closing) this.#waitForNext();
        continue;
      }
      if (this.idle) {
        // The next request starts: it has the header timeout, from now.
        this.idle = false;
        clearTimeout(this.#timer);
        this.#timer = setTimeout(onTimeout, this.server.headerTimeout, this);
      }
      const start = this.#head.length;
      const take = Math.min(chunk.length - offset, MAX_HEAD + 4 - start);
      this.#head += latin1(chunk, offset, offset + take);
      let end = this.#head.indexOf("\r\n\r\n", Math.max(0, start - 3));
      let separator = 4;
      if (end === -1) {
        end = this.#head.indexOf("\n\n", Math.max(0, start - 1));
        separator = 2;
      }
      if (end === -1) {
        if (this.#head.length > MAX_HEAD) return this.#refuse(431, "request head too large\n");
        return;
      }
      if (end > MAX_HEAD) return this.#refuse(431, "request head too large\n");
      offset += end + separator - start;
      const head = this.#head.slice(0, end);
      this.#head = "";
      this.#rest = chunk.subarray(offset);
      this.#request(head);
      this.#rest = EMPTY;
    }
  }

  /** A request is answered and its body (if any) read: the connection waits for the next. */
  #waitForNext(): void {
    this.idle = true;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(onTimeout, this.server.idleTimeout, this);
  }

  /** The socket has closed. */
  dispose(): void {
    clearTimeout(this.#timer);
  }

  /** The peer sent its last byte: whatever it was in the middle of will not come. */
  ended(): void {
    if (this.takenOver || this.#closing) return;
    this.#closing = true;
    clearTimeout(this.#timer);
    // What is being written still goes (the peer may read after its half-close).
    this.socket.on("finish", destroySocket);
    this.socket.end();
    this.#timer = setTimeout(onTimeout, this.server.headerTimeout, this);
  }

  timedOut(): void {
    if (this.takenOver) return;
    if (this.#closing || this.idle) {
      this.#closing = true;
      this.socket.destroy();
      return;
    }
    this.#refuse(408, "request not received in time\n");
  }

  takeOver(): { socket: net.Socket; rest: Uint8Array } {
    this.takenOver = true;
    clearTimeout(this.#timer);
    this.socket.off("data", onData);
    this.socket.off("end", onEnd);
    this.server.tookOver(this);
    const rest = this.#rest;
    this.#rest = EMPTY;
    return { socket: this.socket, rest: rest.slice() };
  }

  #request(head: string): void {
    const lines = head.split(/\r?\n/);
    const requestLine = REQUEST_LINE.exec(lines[0]);
    if (requestLine === null) {
      const version = /HTTP\/(\d+(\.\d+)?)$/.exec(lines[0]);
      if (version && version[1] !== "1.0" && version[1] !== "1.1") {
        return this.#refuse(505, "only HTTP/1.1 is spoken here\n");
      }
      return this.#refuse(400, "not an HTTP/1.1 request\n");
    }
    const [, method, target, minor] = requestLine;
    const headers = new Map<string, string>();
    for (let i = 1; i < lines.length; i++) {
      const header = HEADER_LINE.exec(lines[i]);
      if (header === null) return this.#refuse(400, "malformed header\n");
      const name = header[1].toLowerCase();
      const before = headers.get(name);
      if (before !== undefined && name === "host") return this.#refuse(400, "two Host headers\n");
      headers.set(name, before === undefined ? header[2] : `${before}, ${header[2]}`);
    }
    const path = requestPath(target);
    if (path === null) return this.#refuse(400, "not a request target\n");
    if (headers.has("transfer-encoding")) return this.#refuse(501, "no request bodies here\n");
    const length = headers.get("content-length");
    if (length !== undefined) {
      if (!/^\d{1,15}$/.test(length)) return this.#refuse(400, "bad Content-Length\n");
      const bytes = Number(length);
      if (bytes > MAX_SKIPPED_BODY) return this.#refuse(413, "no request bodies here\n");
      this.#skip = bytes;
    }
    const connection = headers.get("connection")?.toLowerCase() ?? "";
    const keepAlive = minor === "1"
      ? !/\bclose\b/.test(connection)
      : /\bkeep-alive\b/.test(connection);
    const { remoteAddress, remotePort } = this.socket;
    const request: HttpRequest = {
      method,
      path,
      headers,
      remote: { hostname: remoteAddress ?? "", port: remotePort ?? 0 },
    };
    if (this.#skip > 0 && this.server.options.readsBody?.(request)) {
      // Read within the header timeout, which still runs: a slow body is a slow request.
      this.#body = new Uint8Array(this.#skip);
      this.#bodyAt = 0;
      this.#bodyFor = { request, keepAlive };
      this.#skip = 0;
      return;
    }
    this.#dispatch(request, keepAlive);
  }

  /** Calls the handler with `request` (its body read, if it wanted it), and answers. */
  #dispatch(request: HttpRequest, keepAlive: boolean): void {
    const { method } = request;
    clearTimeout(this.#timer);
    let response: HttpResponse | null | Promise<HttpResponse>;
    try {
      response = this.server.handler(request, this);
    } catch (error) {
      this.server.options.internalError(error);
      response = { status: 500, headers: {}, body: "internal error\n" };
    }
    if (response === null) return; // taken over
    if (response instanceof Promise) return this.#await(response, method === "HEAD", keepAlive);
    this.#answer(response, method === "HEAD", keepAlive);
  }

  /** Waits for an answer (reading nothing meanwhile), writes it, then reads on. */
  #await(pending: Promise<HttpResponse>, head: boolean, keepAlive: boolean): void {
    this.#waiting = true;
    this.socket.pause();
    this.#timer = setTimeout(onTimeout, this.server.headerTimeout, this);
    pending.catch((error): HttpResponse => {
      this.server.options.internalError(error);
      return { status: 500, headers: {}, body: "internal error\n" };
    }).then((response) => {
      this.#waiting = false;
      if (this.#closing || this.socket.destroyed) return;
      clearTimeout(this.#timer);
      this.#answer(response, head, keepAlive);
      if (this.#closing) return;
      this.socket.resume();
      const parked = this.#parked;
      this.#parked = EMPTY;
      if (parked.length > 0) this.data(parked);
    });
  }

  /** Writes an answer; then waits for the next request, or closes. */
  #answer(response: HttpResponse, head: boolean, keepAlive: boolean): void {
    const bytes = responseBytes(response, head, !keepAlive);
    if (!keepAlive) {
      this.#closing = true;
      this.socket.on("finish", destroySocket);
      this.socket.end(bytes);
      // A peer that never reads cannot keep it open past the header timeout.
      this.#timer = setTimeout(onTimeout, this.server.headerTimeout, this);
      return;
    }
    this.socket.write(bytes);
    if (this.#skip === 0) this.#waitForNext();
    else this.#timer = setTimeout(onTimeout, this.server.headerTimeout, this);
  }

  /** Answers a request that cannot be served here, and closes the connection. */
  #refuse(status: number, body: string): void {
    if (this.#closing) {
      this.socket.destroy();
      return;
    }
    clearTimeout(this.#timer);
    this.#answer({ status, headers: {}, body }, false, false);
  }
}

const EMPTY = new Uint8Array(0);

/** `a` then `b`, in one array. */
function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const both = new Uint8Array(a.length + b.length);
  both.set(a);
  both.set(b, a.length);
  return both;
}

/** `bytes[start..end)` as a string of one character per byte. */
function latin1(bytes: Uint8Array, start: number, end: number): string {
  let text = "";
  for (let i = start; i < end; i += 8192) {
    text += String.fromCharCode(...bytes.subarray(i, Math.min(end, i + 8192)));
  }
  return text;
}

/** The path of a request target (origin form, or absolute form), or `null`. */
function requestPath(target: string): string | null {
  if (target.startsWith("/")) {
    const query = target.indexOf("?");
    return query === -1 ? target : target.slice(0, query);
  }
  if (/^https?:\/\//i.test(target)) {
    try {
      return new URL(target).pathname;
    } catch {
      return null;
    }
  }
  return null;
}

/** A response as bytes: status line, headers, `Content-Length`, and the body unless `head`. */
export function responseBytes(response: HttpResponse, head: boolean, close: boolean): Uint8Array {
  const body = typeof response.body === "string" ? encoder.encode(response.body) : response.body;
  let text = `HTTP/1.1 ${response.status} ${REASON_PHRASES[response.status] ?? "Unknown"}\r\n`;
  for (const [name, value] of Object.entries(response.headers)) text += `${name}: ${value}\r\n`;
  text += `content-length: ${body.length}\r\n`;
  if (close) text += "connection: close\r\n";
  text += "\r\n";
  const headBytes = encoder.encode(text);
  if (head || body.length === 0) return headBytes;
  const bytes = new Uint8Array(headBytes.length + body.length);
  bytes.set(headBytes);
  bytes.set(body, headBytes.length);
  return bytes;
}
