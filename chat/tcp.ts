/**
 * The TCP and TLS transport, on `node:net` and `node:tls`: inside Deno their
 * socket writes cost about half of `Deno.Conn.write` per delivery, which is
 * what a big room's fan-out is made of (see README, "Architecture").
 *
 * Each socket becomes a {@linkcode TcpConnection}: bytes read go to its
 * session, bytes the hub delivers wait in its outbox for one write per batch.
 *
 * @module
 */

import net from "node:net";
import tls from "node:tls";
import type { Hub } from "./hub.ts";
import { FlushScheduler, Outbox } from "./outbox.ts";
import { reasons } from "./protocol.ts";
import type { Connection, Session } from "./session.ts";

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
}

/** How long an idle connection waits before TCP keepalive probes check that its peer is there. */
const KEEPALIVE_DELAY = 60_000;

/** A listening TCP or TLS socket that lets every connection into `hub`. */
export class TcpTransport {
  readonly scheduler = new FlushScheduler();
  /** Every accepted socket, through its TLS handshake and until it closes. */
  readonly #sockets = new Set<net.Socket>();
  #allClosed: (() => void) | null = null;

  private constructor(
    readonly hub: Hub,
    readonly options: TcpOptions,
    readonly server: net.Server,
  ) {}

  /** Listens; resolves once the port is open, rejects if it cannot be. */
  static listen(hub: Hub, options: TcpOptions): Promise<TcpTransport> {
    const secure = options.cert !== undefined && options.key !== undefined;
    const server = secure
      ? tls.createServer({
        cert: options.cert,
        key: options.key,
        allowHalfOpen: true,
        handshakeTimeout: options.handshakeTimeout,
      })
      : net.createServer({ allowHalfOpen: true });
    const transport = new TcpTransport(hub, options, server);
    server.on("connection", (socket: net.Socket) => transport.#track(socket));
    server.on(secure ? "secureConnection" : "connection", (socket: net.Socket) => {
      try {
        transport.#accept(socket);
      } catch (error) {
        hub.internalError(null, error);
        socket.destroy();
      }
    });
    // A failed TLS handshake ends only that connection.
    server.on("tlsClientError", (_error: Error, socket: net.Socket) => socket.destroy());
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: options.hostname, port: options.port }, () => {
        server.off("error", reject);
        // Out of file descriptors, say: keep serving those already in.
        server.on("error", (error) => hub.log(`accept failed: ${error.message}`));
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
    this.server.close();
  }

  /** Settles once every connection has closed; those still open after `ms` are cut. */
  async closed(ms: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const allClosed = new Promise<void>((resolve) => {
      this.#allClosed = resolve;
      if (this.#sockets.size === 0) resolve();
    });
    await Promise.race([allClosed, new Promise((resolve) => timer = setTimeout(resolve, ms))]);
    clearTimeout(timer);
    for (const socket of this.#sockets) socket.destroy();
    await allClosed;
  }

  #track(socket: net.Socket): void {
    this.#sockets.add(socket);
    socket.once("close", () => {
      this.#sockets.delete(socket);
      if (this.#sockets.size === 0) this.#allClosed?.();
    });
  }

  #accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_DELAY);
    const conn = new TcpConnection(this, socket);
    socket.on("error", conn.onError);
    socket.on("close", conn.onClose);
    const session = this.hub.connect(conn);
    if (!session) return;
    conn.session = session;
    socket.on("data", conn.onData);
    socket.on("end", conn.onEnd);
  }
}

/** One TCP or TLS socket behind the {@linkcode Connection} interface. */
class TcpConnection extends Outbox implements Connection {
  session: Session | null = null;
  readonly remote: string;
  /** Why the socket failed, once it has (the first reason wins). */
  #reason: string | undefined;
  #closing = false;
  #drainTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly transport: TcpTransport, readonly socket: net.Socket) {
    super(transport.scheduler, transport.options.maxQueue);
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
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
      this.discard();
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

  #onWritten = (error?: Error | null): void => {
    if (!error) this.written(); // a failed write also fails the socket: see onError
  };

  protected drained(): void {
    // Close once the last byte is handed to the kernel; a peer that half-closed, or
    // never closes, must not hold its connection open.
    this.socket.end(this.#destroy);
  }

  #destroy = (): void => {
    this.socket.destroy();
  };

  protected overflowed(): void {
    this.#reason ??= reasons.tooSlow;
    this.socket.destroy();
  }

  onData = (chunk: Uint8Array): void => {
    this.session!.receive(chunk);
  };

  /** The peer sent its last byte (it may still read): what it sent is handled, then it leaves. */
  onEnd = (): void => {
    this.session!.ended();
  };

  onError = (error: Error & { code?: string }): void => {
    this.#reason ??= reasonFor(error);
  };

  onClose = (): void => {
    this.#closing = true;
    clearTimeout(this.#drainTimer);
    this.discard();
    this.session?.ended(this.#reason);
  };
}

/** A socket error as the room is told it, without internals. */
function reasonFor(error: Error & { code?: string }): string {
  switch (error.code) {
    case "ECONNRESET":
    case "EPIPE":
      return reasons.reset;
    case "ETIMEDOUT":
      return "connection timed out";
    default:
      return error.message.split("\n")[0];
  }
}
