/**
 * The web side of the server, on its own HTTP/1.1 server (`src/web/http.ts`): the page (`/`, `/app.js`,
 * `/app.css` …, the files of `src/web/page/`), the WebSocket at `/ws` (see
 * `src/transport/websocket.ts`), `/healthz` and `/metrics`. Every response carries a
 * strict Content-Security-Policy and the other security headers; a WebSocket
 * upgrade from a foreign page (its `Origin`) is refused.
 *
 * @module
 */

import { HOOK_PREFIX, hookRequest } from "./webhook_http.ts";
import { timingSafeEqual } from "node:crypto";
import type { Admission } from "../core/admission.ts";
import { type HttpExchange, type HttpRequest, type HttpResponse, HttpServer } from "./http.ts";
import type { Hub } from "../core/hub.ts";
import { hostPort } from "../ops/log.ts";
import { type MetricType, renderReading } from "../ops/metrics.ts";
import type { FlushScheduler } from "../transport/outbox.ts";
import { PAGE_FILES } from "./page.ts";
import { handshakeError, WS_LISTENER, WsTransport } from "../transport/websocket.ts";
import { JSON_PROTOCOL } from "../json/render.ts";
import { jsonSession, type WebLogin } from "../json/session.ts";
import type { WebSessions } from "../core/web_sessions.ts";

/** Where and how the web side listens. */
export interface WebOptions {
  hostname: string;
  port: number;
  /** PEM certificate chain and key: serve HTTPS (and `wss:`). */
  cert?: string;
  key?: string;
  /**
   * Origins (`https://chat.example.org`) whose pages may open the WebSocket; by
   * default only the page's own (the scheme and the request's `Host`).
   */
  origins?: readonly string[];
  maxLine: number;
  maxQueue: number;
  drainTimeout: number;
  scheduler: FlushScheduler;
  admission: Admission;
  /** If set, `/metrics` asks for `Authorization: Bearer` this token. */
  metricsToken?: string;
  /** Milliseconds a client has to send a request head (default 10 s). */
  headerTimeout?: number;
  /** Milliseconds a keep-alive connection may wait for its next request (default 10 s). */
  idleTimeout?: number;
  /** Milliseconds a TLS client has to finish its handshake. */
  handshakeTimeout?: number;
  /** Milliseconds of silence after which a WebSocket client is pinged (twice that drops it). */
  wsPing?: number;
  /** What `/metrics` reports besides the hub's counters: the output budget, the cluster. */
  gauges: () => Gauges;
}

/** What the server tells `/metrics` about the parts the web side does not own. */
export interface Gauges {
  queuedBytes: number;
  peakBufferedBytes: number;
  /** The cluster link (`--redis`), or `null` for a lone server. */
  cluster?: {
    connected: boolean;
    backlog: number;
    dropped: number;
    outages: number;
    remoteMembers: number;
  } | null;
}

/** Thrown when the web side cannot listen; the message says where and why. */
export class WebListenError extends Error {
  override name = "WebListenError";
}

/** The HTTP server: the page, the socket, health and metrics. */
export class WebServer {
  readonly ws: WsTransport;
  /** The origins allowed to open the socket, or `null` for the page's own only. */
  readonly #origins: ReadonlySet<string> | null;
  #http!: HttpServer;
  #stopping = false;
  /** Whether it listens on a loopback address: then it answers loopback names only. */
  #loopback = false;

  private constructor(readonly hub: Hub, readonly options: WebOptions, readonly secure: boolean) {
    this.ws = new WsTransport(hub, {
      ...options,
      sessions: {
        [JSON_PROTOCOL]: (conn, hub, request) => jsonSession(conn, hub, this.#login(request)),
      },
    });
    this.#origins = options.origins?.length ? new Set(options.origins.map(parseOrigin)) : null;
  }

  /** Listens; resolves once the port is open, rejects with a {@linkcode WebListenError} if not. */
  static async listen(hub: Hub, options: WebOptions): Promise<WebServer> {
    const secure = options.cert !== undefined && options.key !== undefined;
    const web = new WebServer(hub, options, secure);
    const { hostname, port } = options;
    try {
      web.#http = await HttpServer.listen({
        ...options,
        log: hub.log,
        metrics: hub.metrics,
        internalError: (error) => web.#internalError(error),
        // A webhook's post is the one request whose body is read (see webhook_http.ts).
        readsBody: (request) => request.path.startsWith(HOOK_PREFIX) && request.method === "POST",
      }, (request, exchange) => web.#handle(request, exchange));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new WebListenError(`cannot listen on ${hostPort(hostname, port)} (web): ${message}`);
    }
    web.#loopback = /^(127\.|::1$|localhost$)/.test(web.addr.hostname);
    return web;
  }

  /** The address it listens on (the real port when 0 was asked for). */
  get addr(): Deno.NetAddr {
    return this.#http.addr;
  }

  /** The page's address, as a browser opens it. */
  get url(): string {
    const { hostname, port } = this.addr;
    const host = hostname.includes(":") ? `[${hostname}]` : hostname;
    return `${this.secure ? "https" : "http"}://${host}:${port}/`;
  }

  /** WebSocket clients connected now (named or not). */
  get connections(): number {
    return this.ws.connections;
  }

  /** Plain HTTP connections open now (not WebSockets). */
  get httpConnections(): number {
    return this.#http.connections;
  }

  /** From now on `/healthz` answers 503 and no socket is opened; the rest is still served. */
  stopAccepting(): void {
    this.#stopping = true;
  }

  /**
   * Settles once every WebSocket has closed (those still open after `ms` are
   * cut) and the HTTP server has stopped.
   */
  async closed(ms: number): Promise<void> {
    this.#stopping = true;
    await this.ws.closed(ms);
    await this.#http.close(0);
  }

  /**
   * A bug met while answering: logged with its stack the first time in a while,
   * then counted in the log's summary (a request repeated in a loop must not
   * flood the log).
   */
  #internalError(error: unknown): void {
    const text = error instanceof Error ? error.stack ?? error.message : String(error);
    this.hub.log.repeated({ event: "internal-error", reason: "web", text });
  }

  #handle(
    request: HttpRequest,
    exchange: HttpExchange,
  ): HttpResponse | null | Promise<HttpResponse> {
    const hostHeader = request.headers.get("host");
    const host = validHost(hostHeader);
    if (host === null && (hostHeader !== undefined || this.#loopback)) {
      // Without a valid name the rebinding check below cannot be made, nor the policy written.
      return this.#respond(400, "a valid Host header is expected\n", TEXT, null);
    }
    if (!this.#hostAllowed(host)) {
      // DNS rebinding: a foreign name pointed at this server would make its page "same
      // origin" with the chat. A server on loopback answers loopback names only.
      return this.#respond(421, "this server is not known by that name\n", TEXT, null);
    }
    const { path } = request;
    if (path === "/ws") return this.#upgrade(request, exchange, host);
    if (path === SESSION_PATH) return this.#session(request, host);
    if (path.startsWith(HOOK_PREFIX)) return this.#hook(request, host);
    const asset = ASSETS.get(path);
    if (asset === undefined && path !== "/healthz" && path !== "/metrics") {
      return this.#respond(404, "not found\n", TEXT, host);
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      const response = this.#respond(405, "method not allowed\n", TEXT, host);
      response.headers["allow"] = "GET, HEAD";
      return response;
    }
    if (asset !== undefined) return this.#respond(200, asset.body, asset.type, host);
    if (path === "/healthz") {
      return this.#stopping
        ? this.#respond(503, "shutting down\n", TEXT, host)
        : this.#respond(200, "ok\n", TEXT, host);
    }
    if (!this.#authorized(request.headers.get("authorization"))) {
      const response = this.#respond(401, "a metrics token is expected\n", TEXT, host);
      response.headers["www-authenticate"] = 'Bearer realm="metrics"';
      return response;
    }
    return this.#respond(200, this.#metrics(), METRICS_TYPE, host);
  }

  /** A webhook's post: JSON in, JSON out (see `webhook_http.ts`). */
  #hook(request: HttpRequest, host: string | null): HttpResponse {
    const answer = hookRequest(this.hub, request);
    const response = this.#respond(
      answer.status,
      JSON.stringify(answer.body) + "\n",
      JSON_TYPE,
      host,
    );
    if (answer.retryAfter !== undefined) {
      response.headers["retry-after"] = String(answer.retryAfter);
    }
    if (answer.allow !== undefined) response.headers["allow"] = answer.allow;
    return response;
  }

  /** The page's login sessions (kept with the accounts). */
  get #sessions(): WebSessions {
    return this.hub.accounts.sessions;
  }

  /** The cookie that carries the session token (`__Host-`: the browser keeps it Secure, host-only). */
  get #cookieName(): string {
    return this.secure ? "__Host-chat_session" : "chat_session";
  }

  /** What a socket's session knows of its login cookie: its account, checked for its `Host`. */
  #login(request: HttpRequest): WebLogin | null {
    const host = validHost(request.headers.get("host"));
    if (host === null) return null; // a ticket must name the host its cookie is for
    const token = cookieValue(request.headers.get("cookie"), this.#cookieName);
    const sessions = this.#sessions;
    return { sessions, host, cookie: token === null ? null : sessions.lookup(token, host) };
  }

  /**
   * `/session`: `POST` with `X-Chat-Ticket` trades a login's one-time ticket for the
   * session cookie; `DELETE` ends the session of the cookie sent and clears it. Only the
   * page's own origin may (as for the socket); the custom header also keeps another
   * site's form or script from sending it without a CORS preflight this server refuses.
   */
  #session(request: HttpRequest, host: string | null): HttpResponse | Promise<HttpResponse> {
    const { method } = request;
    if (method !== "POST" && method !== "DELETE") {
      const response = this.#respond(405, "method not allowed\n", TEXT, host);
      response.headers["allow"] = "POST, DELETE";
      return response;
    }
    if (host === null) return this.#respond(400, "a valid Host header is expected\n", TEXT, null);
    if (!this.#originAllowed(request.headers.get("origin"), host)) {
      const address = hostPort(request.remote.hostname, request.remote.port);
      this.hub.log.repeated({ event: "refused", address, reason: FOREIGN_ORIGIN, code: "origin" });
      return this.#respond(403, "this origin may not log in here\n", TEXT, host);
    }
    const sessions = this.#sessions;
    if (method === "DELETE") {
      const token = cookieValue(request.headers.get("cookie"), this.#cookieName);
      const ended = token === null ? Promise.resolve() : sessions.end(token);
      return ended.then(() => {
        const response = this.#respond(200, "logged out\n", TEXT, host);
        response.headers["set-cookie"] = this.#cookie("", 0);
        return response;
      });
    }
    const ticket = request.headers.get("x-chat-ticket");
    if (ticket === undefined) {
      return this.#respond(400, "an X-Chat-Ticket header is expected\n", TEXT, host);
    }
    return sessions.redeem(ticket, host).then((session) => {
      if (session === null) return this.#respond(403, "no such ticket\n", TEXT, host);
      const response = this.#respond(200, "logged in\n", TEXT, host);
      // Rounded up: a millisecond gone since the token was made must not cost a second.
      const seconds = Math.ceil((session.expires - sessions.options.now()) / 1000);
      response.headers["set-cookie"] = this.#cookie(session.token, seconds);
      return response;
    });
  }

  /** The session cookie (`Max-Age` 0: cleared): never for script, never sent by another site. */
  #cookie(token: string, maxAge: number): string {
    return `${this.#cookieName}=${token}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Strict` +
      (this.secure ? "; Secure" : "");
  }

  /** Whether `/metrics` may be read with `authorization`: always, without `--metrics-token`. */
  #authorized(authorization: string | undefined): boolean {
    const token = this.options.metricsToken;
    if (token === undefined) return true;
    const expected = encoder.encode(`Bearer ${token}`);
    const given = encoder.encode(authorization ?? "");
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  #upgrade(
    request: HttpRequest,
    exchange: HttpExchange,
    host: string | null,
  ): HttpResponse | null {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      const response = this.#respond(426, "a WebSocket handshake is expected here\n", TEXT, host);
      response.headers["upgrade"] = "websocket";
      return response;
    }
    const origin = request.headers.get("origin");
    if (!this.#originAllowed(origin, host)) {
      const address = hostPort(request.remote.hostname, request.remote.port);
      this.hub.log.repeated({ event: "refused", address, reason: FOREIGN_ORIGIN, code: "origin" });
      this.hub.metrics.refused.with(WS_LISTENER, "origin").inc();
      return this.#respond(403, "this origin may not open the chat socket\n", TEXT, host);
    }
    if (this.#stopping || this.hub.closing) {
      return this.#respond(503, "shutting down\n", TEXT, host);
    }
    const invalid = handshakeError(request);
    if (invalid !== null) return this.#respond(400, `${invalid}\n`, TEXT, host);
    this.ws.open(request, exchange);
    return null;
  }

  /**
   * Whether the `Host` a request names may be this server: on a loopback address,
   * only loopback names (or the hosts of `--web-origin`); elsewhere any name, as the
   * server cannot know the names it is reached by.
   */
  #hostAllowed(host: string | null): boolean {
    if (!this.#loopback) return true;
    if (host === null) return false;
    const name = host.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1").toLowerCase();
    if (name === "localhost" || name === "::1" || /^127\./.test(name)) return true;
    if (this.#origins === null) return false;
    for (const origin of this.#origins) {
      if (new URL(origin).hostname.replace(/^\[(.*)\]$/, "$1") === name) return true;
    }
    return false;
  }

  /**
   * A browser always sends the `Origin` of the page that opens a socket: it must
   * be an allowed one (by default, the page's own). Without an `Origin` the
   * client is no browser page (a program), and no visitor's browser is misused.
   */
  #originAllowed(origin: string | undefined, host: string | null): boolean {
    if (origin === undefined) return true;
    const normalized = origin.toLowerCase();
    if (this.#origins !== null) return this.#origins.has(normalized);
    return host !== null && normalized === `${this.secure ? "https" : "http"}://${host}`;
  }

  #respond(
    status: number,
    body: string | Uint8Array,
    type: string,
    host: string | null,
  ): HttpResponse {
    return {
      status,
      headers: {
        ...SECURITY_HEADERS,
        "content-type": type,
        "cache-control": "no-cache",
        "content-security-policy": this.#policy(host),
      },
      body,
    };
  }

  /** The Content-Security-Policy: this server's script and style, and its socket, nothing else. */
  #policy(host: string | null): string {
    const where = host ?? hostPort(this.addr.hostname, this.addr.port);
    const sockets = [`${this.secure ? "wss" : "ws"}://${where}/ws`];
    // Behind a proxy that rewrites Host, the page's origin is one of --web-origin.
    for (const origin of this.#origins ?? []) sockets.push(`${origin.replace(/^http/, "ws")}/ws`);
    return `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; ` +
      `connect-src 'self' ${sockets.join(" ")}; base-uri 'none'; form-action 'none'; ` +
      `frame-ancestors 'none'`;
  }

  /**
   * `/metrics`: the Prometheus text format (version 0.0.4). The hub's counters are
   * bumped where things happen; the levels below are read now.
   */
  #metrics(): string {
    const { hub, options } = this;
    const gauges = options.gauges();
    const history = hub.history.size?.();
    let out = hub.metrics.render();
    const reading = (
      name: string,
      type: MetricType,
      help: string,
      value: Parameters<typeof renderReading>[3],
    ) => out += renderReading(name, type, help, value);
    reading("chat_members", "gauge", "Clients that have chosen a name.", hub.members.size);
    reading("chat_rooms", "gauge", "Rooms with someone in them.", hub.rooms.size);
    reading(
      "chat_deliveries_total",
      "counter",
      "Messages delivered, counted per recipient.",
      hub.deliveries,
    );
    reading(
      "chat_relayed_bytes_total",
      "counter",
      "Bytes of messages delivered, counted per recipient.",
      hub.relayedBytes,
    );
    reading(
      "chat_output_queued_bytes",
      "gauge",
      "Output waiting for all clients together.",
      gauges.queuedBytes,
    );
    reading(
      "chat_output_queued_bytes_peak",
      "gauge",
      "The most output that ever waited for all clients together.",
      gauges.peakBufferedBytes,
    );
    if (history) {
      reading(
        "chat_history_lines",
        "gauge",
        "Lines of room history held in memory.",
        history.lines,
      );
      reading("chat_history_rooms", "gauge", "Rooms with history in memory.", history.rooms);
    }
    const { cluster } = gauges;
    if (cluster) {
      reading(
        "chat_cluster_connected",
        "gauge",
        "1 while Redis is reachable, 0 during an outage.",
        cluster.connected ? 1 : 0,
      );
      reading(
        "chat_cluster_outages_total",
        "counter",
        "Times Redis became unreachable.",
        cluster.outages,
      );
      reading(
        "chat_cluster_backlog_events",
        "gauge",
        "Events waiting to be sent to Redis.",
        cluster.backlog,
      );
      reading(
        "chat_cluster_dropped_events_total",
        "counter",
        "Events dropped because Redis stayed unreachable past the backlog bound.",
        cluster.dropped,
      );
      reading(
        "chat_cluster_remote_members",
        "gauge",
        "Members held by the other instances of the cluster.",
        cluster.remoteMembers,
      );
    }
    reading(
      "process_resident_memory_bytes",
      "gauge",
      "Resident memory of the server process.",
      Deno.memoryUsage().rss,
    );
    return out;
  }
}

const TEXT = "text/plain; charset=utf-8";
const JSON_TYPE = "application/json";
const METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const encoder = new TextEncoder();

/** The page's files, by path, encoded once. */
const ASSETS = new Map<string, { body: Uint8Array; type: string }>(
  [...PAGE_FILES].map(([path, { text, type }]) => [path, { body: encoder.encode(text), type }]),
);

/** Where the page trades a login ticket for its session cookie, and logs out. */
const SESSION_PATH = "/session";

/** Why an upgrade from another site's page is refused, as the log says it. */
const FOREIGN_ORIGIN = "a page from another origin";

/** Headers on every response, besides the Content-Security-Policy. */
const SECURITY_HEADERS: Record<string, string> = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

/** A `Host` header fit to be written into a header of ours, or `null`. */
function validHost(host: string | undefined): string | null {
  if (host === undefined) return null;
  const valid = /^(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i.test(host);
  return valid ? host.toLowerCase() : null;
}

/** The value of the cookie `name` in a `Cookie` header, or `null`. */
export function cookieValue(header: string | undefined, name: string): string | null {
  if (header === undefined) return null;
  for (const pair of header.split(";")) {
    const equals = pair.indexOf("=");
    if (equals !== -1 && pair.slice(0, equals).trim() === name) {
      return pair.slice(equals + 1).trim();
    }
  }
  return null;
}

/** An origin as a browser sends it (`https://host[:port]`); throws on anything else. */
export function parseOrigin(origin: string): string {
  let url: URL;
  try {
    url = new URL(origin.trim());
  } catch {
    throw new Error(`not an origin: "${origin}" (expected e.g. https://chat.example.org)`);
  }
  if (
    (url.protocol !== "http:" && url.protocol !== "https:") || url.origin !== url.href.slice(0, -1)
  ) {
    throw new Error(`not an origin: "${origin}" (expected e.g. https://chat.example.org)`);
  }
  return url.origin.toLowerCase();
}
