/**
 * Keeps a `node:net` listener accepting. In Deno 2.9 a listener that meets
 * EMFILE (a burst of connections near the open-file limit) stops accepting for
 * good, without an error: the kernel still completes handshakes into its
 * backlog, but no connection is handed over again. A {@linkcode ListenerWatch}
 * looks at its listener when nothing has come for a while: it connects to it,
 * and if the listener does not accept that connection in time, closes it and
 * listens again on the same address. TCP, IRC and the web side share it.
 *
 * @module
 */

import net from "node:net";
import tls from "node:tls";

/** The accept queue of every listener: a crowd arriving at once must not overflow it. */
export const BACKLOG = 4096;
/** What the log says, after the listener's name, when a listener is reopened. */
export const REOPENED = "the listener stopped accepting (out of file descriptors?); reopened";
/** Milliseconds between two looks at the listener, made only if nothing came meanwhile. */
const WATCH_INTERVAL = 5_000;
/** Milliseconds the listener has to accept the probe before it is reopened. */
const PROBE_TIMEOUT = 1_000;

/** Looks after one listening server; see the module documentation. */
export class ListenerWatch {
  /** Whether a connection came since the last look. */
  #accepted = false;
  /** A connection of our own, made to see whether the listener still accepts. */
  #probe: net.Socket | null = null;
  #probeTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #timer: ReturnType<typeof setInterval>;
  #stopped = false;

  /**
   * Starts watching `server`, which listens on `hostname`:`port` (TLS if `secure`);
   * `reopened` is called each time the listener had stopped accepting and is opened again.
   */
  constructor(
    readonly server: net.Server,
    readonly hostname: string,
    readonly port: number,
    readonly secure: boolean,
    readonly reopened: () => void,
  ) {
    this.#timer = setInterval(() => this.#look(), WATCH_INTERVAL);
  }

  /**
   * Notes a connection the listener accepted. Returns `true` if it is the watch's own
   * probe, which is then closed: the caller neither counts nor serves it. A probe accepted
   * before its own side knows its port, or a TLS one (closed before its handshake, it
   * would be logged as failed), is served like any connection, and leaves at once.
   */
  accepted(socket: net.Socket): boolean {
    this.#accepted = true;
    const probe = this.#probe;
    if (probe === null || this.secure || probe.localPort === undefined) return false;
    if (socket.remotePort !== probe.localPort || socket.remoteAddress !== probe.localAddress) {
      return false;
    }
    socket.destroy();
    return true;
  }

  /** Stops looking (the listener is being closed). */
  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
    clearTimeout(this.#probeTimer);
    this.#probe?.destroy();
    this.#probe = null;
  }

  /** Probes the listener if nothing came since the last look. */
  #look(): void {
    if (this.#accepted || this.#probe !== null || this.#stopped) {
      this.#accepted = false;
      return;
    }
    const host = this.hostname === "0.0.0.0"
      ? "127.0.0.1"
      : this.hostname === "::"
      ? "::1"
      : this.hostname;
    const probe = this.secure
      ? tls.connect({ host, port: this.port, rejectUnauthorized: false })
      : net.connect({ host, port: this.port });
    this.#probe = probe;
    // Only an accepted connection completes a handshake: then the probe has its answer.
    probe.once("secureConnect", () => probe.destroy());
    // Out of descriptors itself, say: no verdict, the next look tries again. Refused is
    // one: nobody listens there (a reopen failed).
    let failed = false;
    probe.on("error", (error: Error & { code?: string }) => {
      failed = error.code !== "ECONNREFUSED";
    });
    this.#probeTimer = setTimeout(() => {
      probe.destroy();
      this.#probe = null;
      if (!this.#stopped && !this.#accepted && !failed) this.#reopen();
    }, PROBE_TIMEOUT);
  }

  /** Closes the listener and opens it again on the same address. */
  #reopen(): void {
    this.reopened();
    this.server.close();
    this.server.listen({ host: this.hostname, port: this.port, backlog: BACKLOG });
  }
}
