/**
 * The TCP and TLS transport, on `node:net` and `node:tls`: inside Deno their
 * socket writes cost about half of `Deno.Conn.write` per delivery, which is
 * what a big room's fan-out is made of (see docs/architecture.md).
 *
 * Each socket becomes a {@linkcode TcpConnection}: bytes read go to its
 * session, bytes the hub delivers wait in its outbox for one write per batch.
 *
 * @module
 */

import net from "node:net";
import tls from "node:tls";
import type { Admission, Refusal } from "../core/admission.ts";
import type { Hub } from "../core/hub.ts";
import { hostPort } from "../ops/log.ts";
import { REFUSAL_LABELS, type Series } from "../ops/metrics.ts";
import { FlushScheduler, Outbox } from "./outbox.ts";
import { reasons } from "../core/protocol.ts";
import { say } from "../text/protocol.ts";
import { filterTelnet, hasTelnet, type TelnetState } from "./telnet.ts";
import { withTimeout } from "../core/timeout.ts";
import { BACKLOG, ListenerWatch, REOPENED } from "./listener_watch.ts";
import type { Connection, Session } from "../core/session.ts";
import { textSession } from "../text/session.ts";

/** Where and how the transport listens, and its per-connection limits. */
export interface TcpOptions {
  hostname: string;
  port: number;
  /** PEM certificate chain and key: speak TLS. */
  cert?: string;
  key?: string;
  /** Bytes that may wait to be written to one client before it is dropped. */
  maxQueue: number;
  /** Milliseconds a closing connection has to take its last output. */
  drainTimeout: number;
  /** Milliseconds a TLS client has to finish its handshake. */
  handshakeTimeout: number;
  /** Writes outboxes once per batch and keeps the server's output budget (shared by transports). */
  scheduler: FlushScheduler;
  /** Counts connections in all and by address (shared by transports). */
  admission: Admission;
  /** Makes the session of a new connection (default: the text protocol's; IRC's for IRC). */
  session?: (conn: Connection, hub: Hub) => Session;
  /** How a refusal at the door is written, for such a front-end (default: the chat's line). */
  refusal?: (code: Refusal) => string;
  /** The listener's name in `/metrics` (default: `tcp`, or `tls` with a certificate). */
  listener?: string;
}

/** How long an idle connection waits before TCP keepalive probes check that its peer is there. */
const KEEPALIVE_DELAY = 60_000;

/** A listening TCP or TLS socket that lets every connection into `hub`. */
export class TcpTransport {
  readonly scheduler: FlushScheduler;
  /** Its name in `/metrics`, and its connections'. */
  readonly listener: string;
  /** Connections let in at the door (`/metrics`). */
  readonly #accepted: Series;
  /**
   * Every accepted socket, from the moment it is accepted (before any TLS
   * handshake) until it closes, with the address it was admitted under, or
   * `null` if it was refused at the door.
   */
  readonly #sockets = new Map<net.Socket, string | null>();
  #allClosed: (() => void) | null = null;
  /** The `close` listener of every socket: one function for all, `this` is the socket. */
  readonly #untrack: (this: net.Socket) => void;
  /** Reopens the listener if it stops accepting (see `listener_watch.ts`). */
  #watch: ListenerWatch | null = null;

  private constructor(
    readonly hub: Hub,
    readonly options: TcpOptions,
    readonly server: net.Server,
    readonly secure: boolean,
  ) {
    this.scheduler = options.scheduler;
    this.listener = options.listener ?? (secure ? "tls" : "tcp");
    hub.metrics.listen(this.listener, () => this.#sockets.size);
    this.#accepted = hub.metrics.accepted.with(this.listener);
    const sockets = this.#sockets;
    const { admission } = options;
    const lastClosed = () => this.#allClosed?.();
    this.#untrack = function (this: net.Socket) {
      const address = sockets.get(this);
      sockets.delete(this);
      if (address != null) admission.release(address);
      if (sockets.size === 0) lastClosed();
    };
  }

  /** Listens; resolves once the port is open, rejects if it cannot be. */
  static listen(hub: Hub, options: TcpOptions): Promise<TcpTransport> {
    const secure = options.cert !== undefined && options.key !== undefined;
    const server = createListener(options.cert, options.key, options.handshakeTimeout);
    const transport = new TcpTransport(hub, options, server, secure);
    server.on("connection", (socket: net.Socket) => {
      if (!transport.#watch?.accepted(socket)) transport.#admit(socket); // else its own probe
    });
    server.on(secure ? "secureConnection" : "connection", (socket: net.Socket) => {
      try {
        transport.#accept(socket);
      } catch (error) {
        hub.internalError(null, error);
        socket.destroy();
      }
    });
    // A failed TLS handshake (plain TCP on the TLS port, say) ends only that connection.
    server.on("tlsClientError", (error: Error, socket: net.Socket) => {
      const address = hostPort(socket.remoteAddress, socket.remotePort);
      hub.log.repeated({ event: "tls-failed", address, reason: error.message.split("\n")[0] });
      hub.metrics.refused.with(transport.listener, "tls_handshake").inc();
      socket.destroy();
    });
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      // A deep accept queue: a crowd arriving at once must not overflow it (the kernel
      // caps it at net.core.somaxconn).
      server.listen({ host: options.hostname, port: options.port, backlog: BACKLOG }, () => {
        server.off("error", reject);
        // Out of file descriptors, say: keep serving those already in.
        server.on(
          "error",
          (error) => hub.log.event({ event: "accept-failed", reason: error.message }),
        );
        // Deno 2.9 reports no error at EMFILE: the listener just stops accepting.
        const { hostname, port } = transport.addr;
        transport.#watch = new ListenerWatch(server, hostname, port, secure, () => {
          const where = hostPort(hostname, port);
          hub.log.repeated({ event: "accept-failed", reason: `${where}: ${REOPENED}` });
        });
        resolve(transport);
      });
    });
  }

  /** The address it listens on (the real port when 0 was asked for). */
  get addr(): Deno.NetAddr {
    const { address, port } = this.server.address() as net.AddressInfo;
    return { transport: "tcp", hostname: address, port };
  }

  /** Connections open now, named or not, including those still in their TLS handshake. */
  get connections(): number {
    return this.#sockets.size;
  }

  /** Stops accepting new connections. */
  stopAccepting(): void {
    this.#watch?.stop();
    this.server.close();
  }

  /** Settles once every connection has closed; those still open after `ms` are cut. */
  async closed(ms: number): Promise<void> {
    const allClosed = new Promise<void>((resolve) => {
      this.#allClosed = resolve;
      if (this.#sockets.size === 0) resolve();
    });
    await withTimeout(allClosed, ms);
    for (const socket of this.#sockets.keys()) socket.destroy();
    await allClosed;
  }

  /** Counts a new socket at the door, before any handshake, and refuses it past the limits. */
  #admit(socket: net.Socket): void {
    const address = socket.remoteAddress ?? "";
    const refusal = this.options.admission.admit(address);
    this.#sockets.set(socket, refusal === null ? address : null);
    socket.on("close", this.#untrack);
    if (refusal === null) {
      this.#accepted.inc();
      return;
    }
    const line = say[refusal];
    const where = hostPort(address, socket.remotePort);
    this.hub.log.repeated({
      event: "refused",
      address: where,
      reason: line.slice(3),
      code: refusal,
    });
    this.hub.metrics.refused.with(this.listener, REFUSAL_LABELS[refusal]).inc();
    socket.on("error", ignore);
    if (this.secure) {
      socket.destroy(); // it expects a handshake, not a line of text
    } else {
      socket.on("finish", destroySocket);
      socket.end(encoder.encode(this.options.refusal?.(refusal) ?? line + "\n"));
    }
  }

  // Listeners are shared functions that find their connection on the socket, not
  // closures: ten thousand idle connections would otherwise carry ten thousand of each.
  #accept(socket: net.Socket): void {
    if (!this.secure && this.#sockets.get(socket) == null) return; // refused at the door
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_DELAY);
    const conn = new TcpConnection(this, socket as TaggedSocket);
    socket.on("error", onError);
    socket.on("close", onClose);
    const session = this.hub.connect(conn, (this.options.session ?? textSession)(conn, this.hub));
    if (!session) return;
    conn.session = session;
    socket.on("data", onData);
    socket.on("end", onEnd);
  }
}

const CONNECTION = Symbol("connection");
/** A socket that knows its {@linkcode TcpConnection}. */
type TaggedSocket = net.Socket & { [CONNECTION]: TcpConnection };

function onData(this: TaggedSocket, chunk: Uint8Array): void {
  const conn = this[CONNECTION];
  const session = conn.session!;
  try {
    if (hasTelnet(chunk, conn.telnet)) {
      const { data, state, answer } = filterTelnet(chunk, conn.telnet);
      conn.telnet = state;
      if (answer) conn.deliver(answer);
      chunk = data;
    }
    session.receive(chunk);
  } catch (error) {
    // A bug outside any one line's handling: end this client, keep serving the rest.
    session.hub.internalError(session, error);
    session.hub.leave(session, reasons.internal, false);
  }
}

/** The peer sent its last byte (it may still read): what it sent is handled, then it leaves. */
function onEnd(this: TaggedSocket): void {
  this[CONNECTION].session!.ended();
}

function onError(this: TaggedSocket, error: Error & { code?: string }): void {
  this[CONNECTION].failed(reasonFor(error));
}

function onClose(this: TaggedSocket): void {
  this[CONNECTION].closed();
}

function destroySocket(this: net.Socket): void {
  this.destroy();
}

function ignore(): void {}

const encoder = new TextEncoder();

/** One TCP or TLS socket behind the {@linkcode Connection} interface. */
class TcpConnection extends Outbox implements Connection {
  session: Session | null = null;
  readonly remote: string;
  /** Where the telnet filter stopped in the last read (0: plain data). */
  telnet: TelnetState = 0;
  /** Why the socket failed, once it has (the first reason wins). */
  #reason: string | undefined;
  #closing = false;
  #drainTimer: ReturnType<typeof setTimeout> | undefined;

  /** The listener it came by, for `/metrics`. */
  get listener(): string {
    return this.transport.listener;
  }

  constructor(readonly transport: TcpTransport, readonly socket: TaggedSocket) {
    super(transport.scheduler, transport.options.maxQueue);
    socket[CONNECTION] = this;
    this.remote = hostPort(socket.remoteAddress, socket.remotePort);
    // The one closure a connection needs: a write callback gets no `this`.
    this.#onWritten = (error?: Error | null) => {
      if (!error) this.written(); // a failed write also fails the socket: see failed()
    };
  }

  deliver(bytes: Uint8Array): void {
    this.enqueue(bytes);
  }

  close(drain: boolean): void {
    if (this.#closing) return;
    this.#closing = true;
    // Keep reading (and ignoring) so the peer's own close is seen.
    this.socket.resume();
    if (!drain) {
      this.forget(); // the write in flight too: it fails with the socket
      this.socket.destroy();
      return;
    }
    this.#drainTimer = setTimeout(() => this.socket.destroy(), this.transport.options.drainTimeout);
    this.shutOutput();
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  protected write(bytes: Uint8Array): void {
    this.socket.write(bytes, this.#onWritten);
  }

  readonly #onWritten: (error?: Error | null) => void;

  protected drained(): void {
    // Close once the last byte is handed to the kernel; a peer that half-closed, or
    // never closes, must not hold its connection open.
    this.socket.on("finish", destroySocket);
    this.socket.end();
  }

  protected overflowed(): void {
    this.#reason ??= reasons.tooSlow;
    this.socket.destroy();
  }

  /** The socket failed; the first reason is the one the room is told. */
  failed(reason: string): void {
    this.#reason ??= reason;
  }

  /** The socket is closed: the session ends, if it has not already. */
  closed(): void {
    this.#closing = true;
    clearTimeout(this.#drainTimer);
    this.forget();
    this.session?.ended(this.#reason);
  }
}

/**
 * A listening socket's server: TLS with `cert` and `key`, plain TCP without; half-open
 * connections are kept, so that a peer's last lines are handled after its EOF.
 */
export function createListener(
  cert: string | undefined,
  key: string | undefined,
  handshakeTimeout?: number,
): net.Server {
  return cert !== undefined && key !== undefined
    ? tls.createServer({ cert, key, allowHalfOpen: true, handshakeTimeout })
    : net.createServer({ allowHalfOpen: true });
}

/** A socket error as the room is told it, without internals (TCP and WebSocket alike). */
export function reasonFor(error: Error & { code?: string }): string {
  switch (error.code) {
    case "ECONNRESET":
    case "EPIPE":
      return reasons.reset;
    case "ETIMEDOUT":
      return reasons.timedOut;
    default:
      // An error code says enough; the runtime's message may carry internals.
      return error.code ? `${reasons.failed}: ${error.code}` : reasons.failed;
  }
}
