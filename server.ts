/**
 * A chat server: every line one client sends goes to everyone else in its
 * room. Clients speak plain text over TCP (or TLS), one line per message.
 *
 * Run it, then talk to it with `client.ts`, `nc`, `telnet` or `socat`:
 *
 * ```sh
 * deno run -A server.ts            # listens on 127.0.0.1:1801
 * nc 127.0.0.1 1801                # in two or more other terminals
 * ```
 *
 * The server greets a new connection and asks for a name; the first line the
 * client sends is its name, and it starts in the room `lobby`. After that each
 * line is a message for the others in its room, or a command (`/help` lists
 * them). The line classes and every wording are in `src/core/protocol.ts`.
 *
 * A line's way through the server: `src/transport/tcp.ts` reads bytes from a socket and
 * hands them to the client's `Session` (`src/core/session.ts`), which frames lines
 * and applies flood control; the `Hub` (`src/core/hub.ts`) runs a command
 * (`src/core/commands.ts`) or posts a message, which its `Room` (`src/core/room.ts`)
 * fans out to each member's outbox (`src/transport/outbox.ts`), written once per batch.
 *
 * The file is also a library: {@linkcode startServer} runs a server in the
 * calling process and returns its address and a `close()` that shuts it down.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Admission, parseCidr } from "./src/core/admission.ts";
import { Cluster } from "./src/cluster/cluster.ts";
import { Hub } from "./src/core/hub.ts";
import { AsyncLog, hostPort, type LogEvent, type LogFormat, ServerLog } from "./src/ops/log.ts";
import { primeStackLimit } from "./src/ops/stack_limit.ts";
import { IrcFront, ircRefusal } from "./src/irc/irc.ts";
import { CLOAK_SECRET_MIN, Cloaks, newCloakSecret } from "./src/core/cloak.ts";
import { FlushScheduler } from "./src/transport/outbox.ts";
import { TcpTransport } from "./src/transport/tcp.ts";
import { withTimeout } from "./src/core/timeout.ts";
import {
  Accounts,
  type AccountStore,
  DEFAULT_POLICY,
  MemoryAccountStore,
} from "./src/core/accounts.ts";
import { MemorySessionStore, WebSessions } from "./src/core/web_sessions.ts";
import { Webhooks } from "./src/core/webhooks.ts";
import type { HashCost } from "./src/core/passwords.ts";
import { parseOrigin, WebServer } from "./src/web/web.ts";

/** How a server is set up; every field has a default. */
export interface ServerOptions {
  /** Address to listen on. Default `127.0.0.1`. */
  hostname?: string;
  /** Port to listen on; 0 picks a free one. Default 1801. */
  port?: number;
  /** Longest line a client may send, in bytes, without its newline. Default 4096. */
  maxLine?: number;
  /** Bytes that may wait to be written to one client before it is dropped. Default 1 MiB. */
  maxQueue?: number;
  /**
   * Bytes that may wait for all clients together; past it, those with the largest
   * backlogs are dropped. Default 256 MiB.
   */
  maxBuffered?: number;
  /** Connections served at once; more are told `!! server full`. Default 10000. */
  maxClients?: number;
  /** Connections at once from one address (IPv6: one /64); 0 turns it off. Default 32. */
  maxPerAddress?: number;
  /**
   * New connections per minute from one address, after a burst of 10; 0 turns it
   * off. Default 30.
   */
  connectRate?: number;
  /** Networks (CIDRs) exempt from the per-address limits. Default none. */
  exempt?: string[];
  /** Rooms that may exist at once. Default 1000. */
  maxRooms?: number;
  /** Tokens per second one client gets (a line costs one per started 512 bytes); 0: off. Default 10. */
  rate?: number;
  /** Tokens one client may spend at once before `rate` applies. Default 30. */
  burst?: number;
  /** Milliseconds a new connection has to choose a name. Default 30000. */
  nameTimeout?: number;
  /** Milliseconds between two notice lines in a room; more are merged. Default 250. */
  noticeInterval?: number;
  /** Milliseconds a join waits to be announced; leaving sooner costs no notice. Default 3000. */
  joinGrace?: number;
  /** Milliseconds shutdown (and a leaving client) waits for queued output to drain. Default 2000. */
  drainTimeout?: number;
  /** Lines of a room's history replayed to whoever enters it. Default 20. */
  replay?: number;
  /** Lines of history kept in memory per room. Default 1000. */
  history?: number;
  /** A SQLite file where history and topics are kept across restarts. Default none. */
  db?: string;
  /** Lines kept per room in the `db` file; older ones are pruned. Default 100000. */
  keep?: number;
  /**
   * A Redis URL (`redis://[user:pass@]host:port[/db]`, `rediss://` for TLS): every
   * server with the same one is one chat, sharing rooms, names and history. Default none.
   */
  redis?: string;
  /** PEM certificates to trust for a `rediss://` URL, besides the system's. */
  redisCa?: string;
  /** PEM certificate chain; with `key`, the server speaks TLS. */
  cert?: string;
  /** PEM private key for `cert`. */
  key?: string;
  /**
   * Port for the web page, its WebSocket, `/healthz` and `/metrics` (on the same
   * `hostname`; 0 picks a free one). Default: no web side (`server.ts` itself
   * turns it on, at 1802 unless told otherwise).
   */
  web?: number | false;
  /** Origins whose pages may open the WebSocket. Default: the page's own only. */
  webOrigins?: string[];
  /** If set, `/metrics` asks for `Authorization: Bearer` this token. Default: open. */
  metricsToken?: string;
  /** Milliseconds the page's login cookie lasts after a login. Default 30 days. */
  webSessionLifetime?: number;
  /** Milliseconds a web client has to send a request's head. Default 10000. */
  webHeaderTimeout?: number;
  /** Milliseconds an idle keep-alive web connection is kept. Default 10000. */
  webIdleTimeout?: number;
  /** Port for IRC clients (on the same `hostname`, TLS with `cert`; 0 picks a free one). Default none. */
  irc?: number | false;
  /** The IRC server name in replies. Default the host name (`localhost` without `--allow-sys`). */
  ircName?: string;
  /** Milliseconds of silence after which a WebSocket client is pinged (twice that drops it). Default 60000. */
  wsPing?: number;
  /**
   * The key of IRC cloaks (what IRC shows for addresses), at least 16 characters.
   * Default: one made at the first start and kept with the data (in the `db` file, or
   * in Redis for the whole cluster), or one per process without either.
   */
  cloakSecret?: string;
  /** Milliseconds of silence after which an IRC client is pinged (twice that drops it). Default 60000. */
  ircPing?: number;
  /** IRC's REGISTER (draft/account-registration) may come before registration completes. Default false. */
  ircRegisterBeforeConnect?: boolean;
  /** Milliseconds an IRC user may hold a registered nick without logging in to it. Default 30000. */
  nickTimeout?: number;
  /** Who may make accounts: `open` (anyone, `/register`) or `closed` (the operator). Default open. */
  registration?: "open" | "closed";
  /** Only those logged in to an account may chat; guests are refused. Default false. */
  requireAccount?: boolean;
  /** Names of the accounts that are server operators while logged in (`--admins`). Default none. */
  admins?: readonly string[];
  /** How costly new password hashes are. Default scrypt N=2^15, r=8, p=1 (tests lower it). */
  hashCost?: HashCost;
  /** Log every message as well as joins and leaves. Default false. */
  verbose?: boolean;
  /** Log lines as text or as JSON objects (one per line). Default text. */
  logFormat?: LogFormat;
  /** Where log lines go. Default: stdout, through a queue that never blocks, text timestamped. */
  log?: (line: string) => void;
}

/** A running chat server. */
export interface ChatServer {
  /** The address the server listens on (the real port when 0 was asked for). */
  readonly addr: Deno.NetAddr;
  /** The web side's address (the real port when 0 was asked for), or `null` without one. */
  readonly webAddr: Deno.NetAddr | null;
  /** The IRC listener's address, or `null` without one. */
  readonly ircAddr: Deno.NetAddr | null;
  /** The hub: members, rooms, and the post hook that history and clusters use. */
  readonly hub: Hub;
  /** Counters for tests and monitoring. */
  stats(): ServerStats;
  /** Stops accepting, tells every client, drains output (bounded) and closes everything. */
  close(reason?: string): Promise<void>;
  /** Settles when the server has shut down. */
  readonly finished: Promise<void>;
  /** `await using server = await startServer(...)` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** What {@linkcode ChatServer.stats} reports. */
export interface ServerStats {
  /** Open client connections, named or not, over every transport. */
  connections: number;
  /** Of them, WebSocket connections. */
  webConnections: number;
  /** Connections counted at the door now, every transport's (plain HTTP ones included). */
  admitted: number;
  /** Clients that have chosen a name. */
  members: number;
  /** Rooms with someone in them. */
  rooms: number;
  /** The most bytes ever queued for one client at once. */
  peakQueuedBytes: number;
  /** Bytes queued for all clients together now. */
  queuedBytes: number;
  /** The most bytes ever queued for all clients together. */
  peakBufferedBytes: number;
  /** Messages posted since start (each counted once, not per recipient). */
  messages: number;
}

const DEFAULTS = {
  hostname: "127.0.0.1",
  port: 1801,
  maxLine: 4096,
  maxQueue: 1 << 20,
  maxBuffered: 256 << 20,
  maxClients: 10_000,
  maxPerAddress: 32,
  connectRate: 30,
  exempt: [] as string[],
  maxRooms: 1_000,
  rate: 10,
  burst: 30,
  nameTimeout: 30_000,
  noticeInterval: 250,
  replay: 20,
  history: 1_000,
  keep: 100_000,
  joinGrace: 3_000,
  drainTimeout: 2_000,
  verbose: false,
  logFormat: "text" as LogFormat,
};

/** The web side's port when `server.ts` is not told one (the library's default is none). */
const WEB_PORT = 1802;
/** The longest a TLS client may take over its handshake, in milliseconds. */
const MAX_HANDSHAKE = 10_000;
/** Where the IRC cloak key is kept: a `meta` row of the `--db` file, or a Redis key. */
const CLOAK_KEY = "chat:cloak-key";
/** New connections one address may open at once before `connectRate` applies. */
const CONNECT_BURST = 10;

/** File descriptors kept for what is no client's: listeners, files, the log, Redis. */
const FD_RESERVE = 128;

/**
 * `maxClients`, or fewer if the process may not open that many files: a listener
 * that meets EMFILE in Deno stops accepting for good, without an error, so the
 * door must refuse before the limit is met.
 */
function withinOpenFileLimit(maxClients: number): number {
  let limits: string;
  try {
    limits = Deno.readTextFileSync("/proc/self/limits");
  } catch {
    return maxClients; // not Linux, or not allowed to read it: nothing known
  }
  const soft = /^Max open files\s+(\d+)/m.exec(limits);
  if (soft === null) return maxClients;
  return Math.max(1, Math.min(maxClients, Number(soft[1]) - FD_RESERVE));
}

/** Starts a chat server; it resolves once the server listens. */
export async function startServer(options: ServerOptions = {}): Promise<ChatServer> {
  const settings = { ...DEFAULTS, ...withoutUndefined(options) };
  // Log lines never wait on stdout: a reader that stalls costs dropped lines, not the chat.
  const stdout = options.log ? null : new AsyncLog((bytes) => Deno.stdout.write(bytes));
  const json = settings.logFormat === "json";
  const sink = options.log ??
    (json ? (line: string) => stdout!.line(line) : (line: string) => {
      stdout!.line(`${timestamp()} ${line}`);
    });
  const log = new ServerLog(sink, settings.logFormat);
  const admission = new Admission({
    ...settings,
    maxClients: withinOpenFileLimit(settings.maxClients),
    connectBurst: CONNECT_BURST,
  });
  // The SQLite module is loaded only when a file is asked for: nothing else needs it.
  const history = settings.db
    ? new (await import("./src/storage/sqlite_history.ts")).SqliteHistory(
      settings.db,
      settings.history,
      settings.maxRooms,
      settings.keep,
      log,
    )
    : undefined;
  const hub = new Hub(settings, log, history);
  if (history) {
    // Private conversations live in the --db file too (in memory otherwise).
    const { SqlitePrivates } = await import("./src/storage/sqlite_privates.ts");
    // Searched there too, through its own index (the memory store the hub made searched itself;
    // with --redis, each server's memory copy is searched).
    hub.privates = hub.privateSearch = new SqlitePrivates(
      history.database,
      settings.keep,
      PRIVATE_LINES,
      log,
    );
  }
  hub.admission = admission; // rooms made per address count under its keys and exemptions
  // The Redis client is loaded only for a cluster: a lone server downloads nothing.
  let bus: import("./src/cluster/redis_bus.ts").RedisBus | null = null;
  if (settings.redis) {
    const cluster = hub.cluster = new Cluster(hub);
    const { RedisBus } = await import("./src/cluster/redis_bus.ts");
    bus = await RedisBus.join(
      {
        url: settings.redis,
        ca: settings.redisCa,
        history: settings.history,
        rooms: settings.maxRooms,
      },
      cluster,
      hub.history,
      log,
      hub.privates,
    );
  }
  // Accounts live where history lives: the --db file, Redis, or memory (until the server stops).
  const accountStore: AccountStore = history
    ? new (await import("./src/storage/sqlite_accounts.ts")).SqliteAccountStore(history.database)
    : bus
    ? new (await import("./src/storage/redis_accounts.ts")).RedisAccountStore(bus)
    : new MemoryAccountStore();
  hub.accounts = new Accounts(hub, accountStore, {
    ...DEFAULT_POLICY,
    registration: settings.registration ?? DEFAULT_POLICY.registration,
    requireAccount: settings.requireAccount ?? false,
    cost: settings.hashCost ?? DEFAULT_POLICY.cost,
  });
  // The page's login sessions (cookies) live beside the accounts.
  hub.accounts.sessions = new WebSessions(
    history
      ? new (await import("./src/storage/sqlite_sessions.ts")).SqliteSessionStore(history.database)
      : bus
      ? new (await import("./src/storage/redis_sessions.ts")).RedisSessionStore(bus)
      : new MemorySessionStore(),
    { lifetime: settings.webSessionLifetime },
  );
  // Read markers live beside the accounts too (in memory without either; see docs/protocol.md).
  let redisMarkers: import("./src/storage/redis_markers.ts").RedisMarkerStore | null = null;
  if (history) {
    const { SqliteMarkerStore } = await import("./src/storage/sqlite_markers.ts");
    hub.readMarkers.store = new SqliteMarkerStore(history.database);
  } else if (bus) {
    const { RedisMarkerStore } = await import("./src/storage/redis_markers.ts");
    hub.readMarkers.store = redisMarkers = new RedisMarkerStore(bus, (error) => {
      log.event({ event: "internal-error", text: `read markers: ${error.message}` });
    });
  }
  if (hub.cluster !== null) {
    const cluster = hub.cluster;
    hub.readMarkers.publish = (a, m) => cluster.publish({ t: "mark", a, m });
  }
  try {
    await hub.accounts.load();
    // Webhooks: in the --db file (below), or in Redis for a cluster, or in memory.
    if (!history && bus) {
      const { RedisWebhookStore } = await import("./src/storage/redis_webhooks.ts");
      hub.webhooks = new Webhooks(await RedisWebhookStore.load(bus));
    }
    await redisMarkers?.load();
    // Founded rooms' roles, modes and bans live in the --db file too (in memory otherwise).
    if (history) {
      const { SqliteRulesStore } = await import("./src/storage/sqlite_rooms.ts");
      hub.loadRules(new SqliteRulesStore(history.database));
      // Klines too (with --redis, Redis keeps them and the bus loads them).
      const { SqliteKlineStore } = await import("./src/storage/sqlite_klines.ts");
      hub.loadKlines(new SqliteKlineStore(history.database));
      const { SqliteWebhookStore } = await import("./src/storage/sqlite_webhooks.ts");
      hub.webhooks = new Webhooks(new SqliteWebhookStore(history.database));
    }
  } catch (error) {
    await bus?.close(0);
    await closeStores(hub);
    throw error;
  }
  // The key of IRC cloaks: given, or kept with the data so that a restart (or another server
  // of the cluster) cloaks every address alike.
  let cloakSecret = settings.cloakSecret;
  if (typeof settings.irc === "number" && cloakSecret === undefined) {
    const fresh = newCloakSecret();
    try {
      cloakSecret = bus
        ? await bus.kept(CLOAK_KEY, fresh)
        : history?.kept(CLOAK_KEY, fresh) ?? fresh;
    } catch (error) {
      await bus?.close(0);
      await closeStores(hub);
      throw error; // a HistoryFileError or a ClusterError: one line for the operator
    }
  }
  // One output budget for every transport; past it, shed down to three quarters.
  const scheduler: FlushScheduler = new FlushScheduler(
    settings.maxBuffered,
    () => hub.shed(scheduler.queuedBytes - settings.maxBuffered * 0.75),
  );
  let tcp: TcpTransport;
  try {
    tcp = await TcpTransport.listen(hub, {
      ...settings,
      scheduler,
      admission,
      handshakeTimeout: Math.min(settings.nameTimeout, MAX_HANDSHAKE),
    });
  } catch (error) {
    await bus?.close(0);
    await closeStores(hub);
    throw error;
  }

  // "listening on" is said once every listener is up: a busy port is the only line then.
  const listening: LogEvent[] = [{
    event: "listening",
    address: hostPort(tcp.addr.hostname, tcp.addr.port),
    text: tcp.secure ? "TLS" : "",
  }];

  let web: WebServer | null = null;
  if (typeof settings.web === "number") {
    try {
      web = await WebServer.listen(hub, {
        ...settings,
        port: settings.web,
        origins: settings.webOrigins,
        headerTimeout: settings.webHeaderTimeout,
        idleTimeout: settings.webIdleTimeout,
        handshakeTimeout: Math.min(settings.nameTimeout, MAX_HANDSHAKE),
        scheduler,
        admission,
        gauges: () => ({
          queuedBytes: scheduler.queuedBytes,
          peakBufferedBytes: scheduler.peakBufferedBytes,
          cluster: bus && {
            connected: bus.connected,
            backlog: bus.backlog,
            dropped: bus.dropped,
            outages: bus.outages,
            remoteMembers: hub.cluster!.remote.size,
          },
        }),
      });
    } catch (error) {
      tcp.stopAccepting();
      hub.shutdown();
      await tcp.closed(0);
      await bus?.close(0);
      await closeStores(hub);
      log.close();
      throw error;
    }
    listening.push({
      event: "listening",
      address: hostPort(web.addr.hostname, web.addr.port),
      text: `page at ${web.url}`,
    });
    // A webhook is shown with its whole URL (behind a proxy, the address seen from outside differs).
    hub.webhookBase = web.url.replace(/\/$/, "");
  }

  // IRC clients come by a second TCP listener whose sessions speak IRC (see src/irc/irc.ts).
  let irc: { front: IrcFront; tcp: TcpTransport } | null = null;
  if (typeof settings.irc === "number") {
    const front = new IrcFront(hub, {
      serverName: settings.ircName ?? hostName(),
      pingInterval: settings.ircPing ?? 60_000,
      registerBeforeConnect: settings.ircRegisterBeforeConnect ?? false,
      nickTimeout: settings.nickTimeout ?? 30_000,
      cloaks: new Cloaks(cloakSecret),
    });
    try {
      const listener = await TcpTransport.listen(hub, {
        ...settings,
        port: settings.irc,
        scheduler,
        admission,
        handshakeTimeout: Math.min(settings.nameTimeout, MAX_HANDSHAKE),
        session: (conn) => front.session(conn),
        refusal: ircRefusal,
        listener: settings.cert !== undefined && settings.key !== undefined ? "ircs" : "irc",
      });
      irc = { front, tcp: listener };
    } catch (cause) {
      const where = hostPort(settings.hostname, settings.irc);
      const message = cause instanceof Error ? cause.message : String(cause);
      const error = new ListenError(`cannot listen on ${where} (IRC): ${message}`);
      front.close();
      tcp.stopAccepting();
      web?.stopAccepting();
      hub.shutdown();
      await Promise.all([tcp.closed(0), web?.closed(0), bus?.close(0)]);
      await closeStores(hub);
      log.close();
      throw error;
    }
    const { hostname, port } = irc.tcp.addr;
    listening.push({
      event: "listening",
      address: hostPort(hostname, port),
      text: irc.tcp.secure ? "IRC, TLS" : "IRC",
    });
  }
  for (const event of listening) log.event(event);
  if (!accountStore.persistent) {
    log.event({
      event: "accounts",
      text: "kept in memory: they last until the server stops (--db FILE keeps them)",
    });
  }

  let closing: Promise<void> | null = null;
  const close = (reason?: string): Promise<void> => {
    closing ??= (async () => {
      tcp.stopAccepting();
      irc?.tcp.stopAccepting();
      irc?.front.close();
      web?.stopAccepting(); // /healthz says so at once; the page is told like everyone
      log.event({ event: "shutdown", count: hub.sessions.size });
      hub.shutdown(reason);
      // An account being made or changed is written before the store goes (a hash: ~150 ms).
      await withTimeout(hub.accounts.idle(), settings.drainTimeout);
      await Promise.all([
        tcp.closed(settings.drainTimeout),
        web?.closed(settings.drainTimeout),
        bus?.close(settings.drainTimeout), // the other instances hear who left
        irc?.tcp.closed(settings.drainTimeout),
      ]);
      await hub.accounts.store.close();
      await closeStores(hub);
      log.close();
      if (stdout) await withTimeout(stdout.flush(), settings.drainTimeout);
    })();
    return closing;
  };

  let finish: () => void;
  const finished = new Promise<void>((resolve) => finish = resolve);
  return {
    addr: tcp.addr,
    webAddr: web?.addr ?? null,
    ircAddr: irc?.tcp.addr ?? null,
    hub,
    stats: () => ({
      connections: tcp.connections + (web?.connections ?? 0) + (irc?.tcp.connections ?? 0),
      webConnections: web?.connections ?? 0,
      admitted: admission.open,
      members: hub.members.size,
      rooms: hub.rooms.size,
      peakQueuedBytes: scheduler.peakQueuedBytes,
      queuedBytes: scheduler.queuedBytes,
      peakBufferedBytes: scheduler.peakBufferedBytes,
      messages: hub.messages,
    }),
    close: (reason) => close(reason).then(finish),
    finished,
    [Symbol.asyncDispose]: () => close().then(finish),
  };
}

/** Thrown when a listener other than the chat port cannot listen; the message says which. */
export class ListenError extends Error {
  override name = "ListenError";
}

/** The exit code of a server ended by a bug (EX_SOFTWARE): a supervisor restarts it. */
export const CRASH_EXIT = 70;

/**
 * Ends the process when an error escapes every handler. Errors of one session are
 * contained where they happen; one that reaches the top leaves state nobody can vouch
 * for, so it is logged with its stack, clients are told the server is going down (within
 * the drain timeout), and the process exits {@linkcode CRASH_EXIT}. Returns a function
 * that removes the handlers.
 */
export function exitOnUncaught(server: ChatServer, exit: (code: number) => void): () => void {
  let crashing = false;
  const crash = (event: Event, error: unknown) => {
    event.preventDefault();
    server.hub.internalError(null, error);
    if (crashing) return;
    crashing = true;
    server.close().catch(() => {}).finally(() => exit(CRASH_EXIT));
  };
  const onError = (event: ErrorEvent) => crash(event, event.error ?? event.message);
  const onRejection = (event: PromiseRejectionEvent) => crash(event, event.reason);
  globalThis.addEventListener("error", onError);
  globalThis.addEventListener("unhandledrejection", onRejection);
  return () => {
    globalThis.removeEventListener("error", onError);
    globalThis.removeEventListener("unhandledrejection", onRejection);
  };
}

/** This machine's name, for the IRC server name; `localhost` without the permission to ask. */
function hostName(): string {
  try {
    return Deno.hostname();
  } catch {
    return "localhost";
  }
}

/** `object` without its undefined fields, so that they do not override the defaults. */
function withoutUndefined<T extends object>(object: T): Partial<T> {
  const entries = Object.entries(object).filter(([, value]) => value !== undefined);
  return Object.fromEntries(entries) as Partial<T>;
}

function timestamp(): string {
  return new Date().toISOString().slice(0, 19).replace("T", " ");
}

// ---------------------------------------------------------------------------
// Main: the command line
// ---------------------------------------------------------------------------

function printUsage(): void {
  console.log(`Chat server: relays each line a client sends to everyone else in its room.

USAGE:
  deno run -A server.ts [OPTIONS]
  deno run -A server.ts account add|password|remove NAME --db FILE
  deno run -A server.ts account list --db FILE

OPTIONS:
  --host HOST           address to listen on (default ${DEFAULTS.hostname})
  --port PORT           port to listen on; 0 picks a free one (default ${DEFAULTS.port})
  --max-line BYTES      longest line a client may send (default ${DEFAULTS.maxLine})
  --max-queue SIZE      output queued for one client before it is dropped (default 1MiB)
  --max-buffered SIZE   output queued for all clients together; past it the largest
                        backlogs are dropped (default 256MiB)
  --max-clients N       connections served at once (default ${DEFAULTS.maxClients}; at most the
                        open-file limit less ${FD_RESERVE}, ulimit -n)
  --max-per-address N   connections at once from one address, IPv6 by /64; 0 = no limit
                        (default ${DEFAULTS.maxPerAddress})
  --connect-rate N      new connections per minute from one address, after a burst of
                        ${CONNECT_BURST}; 0 = no limit (default ${DEFAULTS.connectRate})
  --exempt CIDR,...     networks exempt from the per-address limits (e.g. 10.0.0.0/8)
  --max-rooms N         rooms that may exist at once, besides the lobby (default ${DEFAULTS.maxRooms})
  --rate N              tokens per second per client (a line costs one per started 512 bytes);
                        0 = no limit (default ${DEFAULTS.rate})
  --burst N             tokens a client may spend at once before --rate applies (default ${DEFAULTS.burst})
  --name-timeout SECS   time a new connection has to choose a name (default ${
    DEFAULTS.nameTimeout / 1000
  })
  --cert FILE           PEM certificate: speak TLS, and serve the page over HTTPS (needs --key)
  --key FILE            PEM private key for --cert
  --web PORT            port for the web page, its WebSocket, /healthz and /metrics, on
                        the same --host; 0 picks a free one (default ${WEB_PORT}, or 0 with --port 0)
  --no-web              no web page (and no WebSocket, /healthz or /metrics)
  --web-origin LIST     origins whose pages may open the WebSocket, comma-separated, e.g.
                        https://chat.example.org (default: the page's own origin only)
  --web-session-days N  days the page's login cookie lasts after a login (default 30)
  --metrics-token TOKEN /metrics asks for "Authorization: Bearer TOKEN" (default: open)
  --irc PORT            port for IRC clients (irssi, WeeChat…) on the same --host, TLS with
                        --cert; 0 picks a free one (default: no IRC)
  --irc-name NAME       the IRC server name (default the host name; localhost without
                        --allow-sys)
  --cloak-secret SECRET the key IRC cloaks addresses with (at least ${CLOAK_SECRET_MIN} characters;
                        default: made at the first start and kept in the --db file or in
                        Redis, or one per process without either)
  --cloak-secret-file FILE
                        the same, read from FILE (trimmed; out of sight of ps)
  --replay N            lines of a room's history shown to whoever enters it (default ${DEFAULTS.replay})
  --history N           lines of history kept in memory per room (default ${DEFAULTS.history})
  --db FILE             keep history and topics in this SQLite file, across restarts
                        (needs -R and -W for it)
  --keep N              lines kept per room in the --db file (default ${DEFAULTS.keep})
  --redis URL           join a cluster: every server with this Redis is one chat, sharing
                        rooms, names and history (redis://[user:pass@]host:port[/db],
                        rediss:// for TLS; not with --db)
  --redis-ca FILE       PEM certificate(s) to trust for a rediss:// Redis (a private CA)
  --registration MODE   open (default): anyone may /register the name they hold;
                        closed: only the operator makes accounts (server.ts account add)
  --admins NAME,...     accounts that are server operators while logged in to them: they
                        operate every room and may /kill, /kline, /announce (IRC: OPER,
                        KILL, KLINE, WALLOPS)
  --require-account     only those logged in to an account may chat (no guests; IRC
                        users log in with SASL before CAP END)
  --nick-timeout SECONDS
                        how long an IRC user may keep a registered nick without logging
                        in to it before it is renamed to a guest nick (default 30)
  --irc-register-before-connect
                        IRC's REGISTER (draft/account-registration) may come before
                        NICK, USER and CAP END are done (default: after)
  --log-format FORMAT   text (default) or json: one object per line for log shippers
  -v, --verbose         log public messages and actions too (never private ones)
  -h, --help            show this help

Try it: nc 127.0.0.1 ${DEFAULTS.port}, or open http://127.0.0.1:${WEB_PORT}/`);
}

const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kib: 1024,
  kb: 1000,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  mb: 1000 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  gb: 1000 ** 3,
};

/** Parses a size flag: bytes, or a number with a unit (`64MiB`, `512k`, `1GB`). */
export function sizeFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+)\s*([a-z]*)$/i.exec(value.trim());
  const unit = match ? UNITS[match[2].toLowerCase()] : undefined;
  const bytes = unit === undefined ? NaN : Number(match![1]) * unit;
  if (!(bytes >= 1 && bytes <= Number.MAX_SAFE_INTEGER)) {
    throw new Error(`--${name} must be a size such as 1048576, 512KiB or 64MiB, not "${value}"`);
  }
  return bytes;
}

/**
 * Joins a flag and a value that starts with `-` (`--port -1` → `--port=-1`), so that
 * `parseArgs` passes it on and the value gets the flag's own one-line error.
 */
function joinDashValues(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const next = args[i + 1];
    if (/^--[a-z-]+$/.test(args[i]) && next !== undefined && /^-\d/.test(next)) {
      out.push(`${args[i]}=${next}`);
      i++;
    } else {
      out.push(args[i]);
    }
  }
  return out;
}

/** Checks `--metrics-token`: what a header can carry, and long enough not to be guessed. */
function metricsToken(value: string | undefined): string | undefined {
  if (value === undefined || /^[A-Za-z0-9._~+/=-]{16,}$/.test(value)) return value;
  throw new Error(
    "--metrics-token is at least 16 letters, digits or ._~+/=- (e.g. openssl rand -hex 16)",
  );
}

/** Checks a cloak key: at least CLOAK_SECRET_MIN characters, or it could be guessed. */
function cloakSecret(where: string, value: string | undefined): string | undefined {
  if (value === undefined || [...value].length >= CLOAK_SECRET_MIN) return value;
  throw new Error(
    `${where} is at least ${CLOAK_SECRET_MIN} characters (a short key can be guessed)`,
  );
}

/** Checks `--irc-name`: one word of letters, digits, `.` and `-` (it is the source of every reply). */
function ircName(value: string | undefined): string | undefined {
  if (value === undefined || /^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(value)) return value;
  throw new Error(`--irc-name is letters, digits, . and -, not "${value}"`);
}

/** Checks `--exempt`: networks, comma-separated, each one a CIDR or a single address. */
function exemptFlag(value: string | undefined): string[] | undefined {
  return value?.split(",").map((cidr) => {
    try {
      parseCidr(cidr);
    } catch {
      throw new Error(`--exempt must be networks such as 10.0.0.0/8,fd00::/8, not "${cidr}"`);
    }
    return cidr.trim();
  });
}

/** Parses a flag that must be a whole number from `min` to `max`. */
function intFlag(
  name: string,
  value: string | undefined,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!/^\d+$/.test(value) || number < min || number > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `from ${min} to ${max}`;
    throw new Error(`--${name} must be a whole number ${range}, not "${value}"`);
  }
  return number;
}

async function main(): Promise<void> {
  if (Deno.args[0] === "hook") {
    const { hookCommand } = await import("./src/ops/hook_command.ts");
    const io = {
      out: (line: string) => console.log(line),
      err: (line: string) => console.error(line),
    };
    Deno.exit(await hookCommand(Deno.args.slice(1), io));
  }
  if (Deno.args[0] === "account") {
    const { accountCommand, processIo } = await import("./src/ops/account_command.ts");
    Deno.exit(await accountCommand(Deno.args.slice(1), processIo()));
  }
  // Before any client can use up the file descriptors: see src/ops/stack_limit.ts.
  primeStackLimit();
  let options: ServerOptions;
  let secretFile: string | undefined;
  try {
    const { values } = parseArgs({
      args: joinDashValues(Deno.args),
      options: {
        host: { type: "string" },
        port: { type: "string" },
        "max-line": { type: "string" },
        "max-queue": { type: "string" },
        "max-buffered": { type: "string" },
        "max-clients": { type: "string" },
        "max-per-address": { type: "string" },
        "connect-rate": { type: "string" },
        exempt: { type: "string" },
        "max-rooms": { type: "string" },
        rate: { type: "string" },
        burst: { type: "string" },
        "name-timeout": { type: "string" },
        cert: { type: "string" },
        key: { type: "string" },
        web: { type: "string" },
        "no-web": { type: "boolean" },
        "web-origin": { type: "string" },
        "metrics-token": { type: "string" },
        "web-session-days": { type: "string" },
        irc: { type: "string" },
        "irc-name": { type: "string" },
        "cloak-secret": { type: "string" },
        "cloak-secret-file": { type: "string" },
        "log-format": { type: "string" },
        replay: { type: "string" },
        history: { type: "string" },
        db: { type: "string" },
        keep: { type: "string" },
        redis: { type: "string" },
        "redis-ca": { type: "string" },
        registration: { type: "string" },
        admins: { type: "string" },
        "require-account": { type: "boolean" },
        "nick-timeout": { type: "string" },
        "irc-register-before-connect": { type: "boolean" },
        verbose: { type: "boolean", short: "v" },
        help: { type: "boolean", short: "h" },
      },
    });
    if (values.help) return printUsage();
    if (!values.cert !== !values.key) throw new Error("--cert and --key go together");
    if (values.redis !== undefined) {
      if (values.db !== undefined) {
        throw new Error("--redis keeps history in Redis; it does not go with --db");
      }
      if (!/^rediss?:\/\/[^/]/.test(values.redis)) {
        throw new Error(`--redis is a URL such as redis://127.0.0.1:6379, not "${values.redis}"`);
      }
    }
    if (values["redis-ca"] !== undefined && !values.redis?.startsWith("rediss:")) {
      throw new Error("--redis-ca goes with a rediss:// --redis URL");
    }
    secretFile = values["cloak-secret-file"];
    if (values["cloak-secret"] !== undefined && secretFile !== undefined) {
      throw new Error("--cloak-secret and --cloak-secret-file: one or the other");
    }
    const registration = values.registration;
    if (registration !== undefined && registration !== "open" && registration !== "closed") {
      throw new Error(`--registration is open or closed, not "${registration}"`);
    }
    const logFormat = values["log-format"];
    if (logFormat !== undefined && logFormat !== "text" && logFormat !== "json") {
      throw new Error(`--log-format is text or json, not "${logFormat}"`);
    }
    // setTimeout holds at most 2^31 - 1 ms (about 24.8 days).
    const nameTimeout = intFlag("name-timeout", values["name-timeout"], 1, 2_147_483);
    const sessionDays = intFlag("web-session-days", values["web-session-days"], 1, 3650);
    const port = intFlag("port", values.port, 0, 65535);
    const nickTimeout = intFlag("nick-timeout", values["nick-timeout"], 1, 2_147_483);
    if (values["no-web"] && (values.web !== undefined || values["web-origin"] !== undefined)) {
      throw new Error("--no-web goes with neither --web nor --web-origin");
    }
    if (values["no-web"] && values["metrics-token"] !== undefined) {
      throw new Error("--metrics-token is for the web side's /metrics: not with --no-web");
    }
    // `--port 0` asks for free ports: the web side then takes a free one too, so that
    // servers started for tests never contend for the same web port.
    const web = values["no-web"] ? false : intFlag("web", values.web, 0, 65535) ??
      (port === 0 ? 0 : WEB_PORT);
    options = {
      hostname: values.host,
      port,
      web,
      webOrigins: values["web-origin"]?.split(",").map(parseOrigin),
      metricsToken: metricsToken(values["metrics-token"]),
      webSessionLifetime: sessionDays && sessionDays * 24 * 3600 * 1000,
      irc: intFlag("irc", values.irc, 0, 65535),
      ircName: ircName(values["irc-name"]),
      cloakSecret: cloakSecret("--cloak-secret", values["cloak-secret"]),
      maxLine: intFlag("max-line", values["max-line"], 1),
      maxQueue: sizeFlag("max-queue", values["max-queue"]),
      maxBuffered: sizeFlag("max-buffered", values["max-buffered"]),
      maxClients: intFlag("max-clients", values["max-clients"], 1),
      maxPerAddress: intFlag("max-per-address", values["max-per-address"], 0),
      connectRate: intFlag("connect-rate", values["connect-rate"], 0),
      exempt: exemptFlag(values.exempt),
      maxRooms: intFlag("max-rooms", values["max-rooms"], 1),
      rate: intFlag("rate", values.rate, 0),
      burst: intFlag("burst", values.burst, 1),
      nameTimeout: nameTimeout && nameTimeout * 1000,
      cert: values.cert,
      key: values.key,
      verbose: values.verbose,
      logFormat,
      replay: intFlag("replay", values.replay, 0),
      history: intFlag("history", values.history, 1),
      db: values.db,
      keep: intFlag("keep", values.keep, 1),
      redis: values.redis,
      redisCa: values["redis-ca"],
      registration,
      requireAccount: values["require-account"],
      admins: values.admins?.split(",").map((name) => name.trim()).filter((name) => name !== ""),
      nickTimeout: nickTimeout === undefined ? undefined : nickTimeout * 1000,
      ircRegisterBeforeConnect: values["irc-register-before-connect"],
    };
  } catch (error) {
    console.error(`server: ${error instanceof Error ? error.message : error}`);
    console.error("Run with --help for usage.");
    Deno.exit(2);
  }
  // Reading the files is not a usage error: a missing one is exit 1, with no usage hint.
  if (secretFile !== undefined) {
    let text: string;
    try {
      text = Deno.readTextFileSync(secretFile);
    } catch (error) {
      console.error(
        `server: cannot read --cloak-secret-file ${secretFile}: ${(error as Error).message}`,
      );
      Deno.exit(1);
    }
    try {
      options.cloakSecret = cloakSecret(`--cloak-secret-file ${secretFile}`, text.trim());
    } catch (error) {
      console.error(`server: ${(error as Error).message}`);
      Deno.exit(2);
    }
  }
  for (
    const [flag, field] of [["cert", "cert"], ["key", "key"], ["redis-ca", "redisCa"]] as const
  ) {
    const file = options[field];
    if (file === undefined) continue;
    try {
      options[field] = Deno.readTextFileSync(file);
    } catch (error) {
      console.error(`server: cannot read --${flag} ${file}: ${(error as Error).message}`);
      Deno.exit(1);
    }
  }

  let server: ChatServer;
  try {
    server = await startServer(options);
  } catch (error) {
    if (
      error instanceof Error &&
      /^(HistoryFileError|WebListenError|ListenError|ClusterError)$/.test(error.name)
    ) {
      console.error(`server: ${error.message}`);
      Deno.exit(1);
    }
    const where = hostPort(options.hostname ?? DEFAULTS.hostname, options.port ?? DEFAULTS.port);
    console.error(
      `server: cannot listen on ${where}: ${error instanceof Error ? error.message : error}`,
    );
    Deno.exit(1);
  }

  // SIGINT and SIGTERM shut down gracefully; a second signal exits at once.
  let stopping = false;
  const stop = () => {
    if (stopping) Deno.exit(1);
    stopping = true;
    server.close().then(() => Deno.exit(0));
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  exitOnUncaught(server, (code) => Deno.exit(code));
  await server.finished;
}

if (import.meta.main) main();

/** Private lines the --db file keeps in all (the oldest go first): the disk stays bounded. */
const PRIVATE_LINES = 1_000_000;

/** Writes what the hub's stores hold pending and closes them (private ones first: same file). */
async function closeStores(hub: Hub): Promise<void> {
  await hub.privates.close();
  await hub.history.close();
}
