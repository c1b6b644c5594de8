/**
 * A TCP chat room: every line one client sends goes to every other client.
 *
 * Run it, then talk to it with `client.ts`, `nc`, `telnet` or `socat`:
 *
 * ```sh
 * deno run -A server.ts            # listens on 127.0.0.1:1801
 * nc 127.0.0.1 1801                # in two or more other terminals
 * ```
 *
 * The protocol is UTF-8 text, one line per message, `\n` or `\r\n` at the end.
 * The server greets a new connection and asks for a name; the first line the
 * client sends is its name. After that each line is a message for everyone
 * else, or a command (`/help` lists them). Lines from the server start so a
 * program can tell them apart:
 *
 * ```text
 * NAME: TEXT            a message from NAME
 * * NAME TEXT           an action (/me)
 * NAME (private): TEXT  a private message to you (/msg)
 * -- TEXT               a notice: joins, leaves, renames, who is online
 * !! TEXT               an error about something you sent
 * ```
 *
 * The file is also a library: {@linkcode startServer} runs a server in the
 * calling process and returns its address and a `close()` that shuts it down.
 *
 * @module
 */

import { parseArgs } from "node:util";

// ---------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------

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
  /** Connections served at once; more are told `!! server full`. Default 10000. */
  maxClients?: number;
  /** Lines per second one client may send on average; 0 turns flood control off. Default 10. */
  rate?: number;
  /** Lines one client may send at once before `rate` applies. Default 30. */
  burst?: number;
  /** Milliseconds a new connection has to choose a name. Default 30000. */
  nameTimeout?: number;
  /** Milliseconds between two join or leave notices; more are merged into one line. Default 250. */
  noticeInterval?: number;
  /** Milliseconds shutdown waits for queued output to drain. Default 2000. */
  drainTimeout?: number;
  /** PEM certificate chain; with `key`, the server speaks TLS. */
  cert?: string;
  /** PEM private key for `cert`. */
  key?: string;
  /** Log every message as well as joins and leaves. Default false. */
  verbose?: boolean;
  /** Where log lines go. Default: stdout with a timestamp. */
  log?: (line: string) => void;
}

/** A running chat server. */
export interface ChatServer {
  /** The address the server listens on (the real port when 0 was asked for). */
  readonly addr: Deno.NetAddr;
  /** Counters for tests and monitoring. */
  stats(): ServerStats;
  /** Stops accepting, tells every client, drains output (bounded) and closes everything. */
  close(reason?: string): Promise<void>;
  /** Settles when the server has shut down. */
  readonly finished: Promise<void>;
  /** `await using server = startServer(...)` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** What {@linkcode ChatServer.stats} reports. */
export interface ServerStats {
  /** Open client connections, named or not. */
  connections: number;
  /** Clients that have chosen a name. */
  members: number;
  /** The most bytes ever queued for one client at once. */
  peakQueuedBytes: number;
  /** Lines relayed since start (each counted once, not per recipient). */
  messages: number;
}

const DEFAULTS = {
  hostname: "127.0.0.1",
  port: 1801,
  maxLine: 4096,
  maxQueue: 1 << 20,
  maxClients: 10_000,
  rate: 10,
  burst: 30,
  nameTimeout: 30_000,
  noticeInterval: 250,
  drainTimeout: 2_000,
  verbose: false,
};

/** The line that asks a new connection for its name; clients wait for it. */
export const NAME_PROMPT = "-- What should we call you?";

const NAME_MAX = 24;
const NAME_PATTERN = /^[\p{L}\p{N}][\p{L}\p{N}_.\-]*$/u;
/** Names listed in one notice before the rest are only counted. */
const NAMES_IN_NOTICE = 20;

type Timer = ReturnType<typeof setTimeout>;

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);
const decoder = new TextDecoder(); // not fatal: bad bytes become U+FFFD

// ---------------------------------------------------------------------------
// Peer: one connection, its outbound queue and its flood-control bucket
// ---------------------------------------------------------------------------

/** Read buffers start small (idle clients are cheap) and grow for busy ones. */
const READ_MIN = 256;
const READ_MAX = 64 * 1024;
/** Chunks an outbox may hold before they are joined into one. */
const OUTBOX_CHUNKS = 256;

class Peer {
  name: string | null = null;
  /** Set once the peer has left the room; nothing more is read or queued. */
  left = false;
  /** Set once the socket is closed. */
  socketClosed = false;
  nameTimer: Timer | undefined;

  // Output: chunks wait here while one write is in flight; the next write
  // sends all of them at once. `queuedBytes` counts the in-flight chunk too.
  #outbox: Uint8Array[] = [];
  queuedBytes = 0;
  #writing = false;
  #inFlight: Uint8Array = EMPTY;
  #written = 0;
  #flushScheduled = false;
  #drained: (() => void) | null = null;

  // Flood control: a token bucket refilled `rate` times a second.
  #tokens: number;
  #refilledAt = performance.now();
  #wake: { timer: Timer; resolve: () => void } | null = null;

  constructor(readonly conn: Deno.Conn, readonly room: Room) {
    this.#tokens = room.options.burst;
  }

  /** The client's address, for the log. */
  get remote(): string {
    const { hostname, port } = this.conn.remoteAddr as Deno.NetAddr;
    return `${hostname}:${port}`;
  }

  /** Queues bytes for this peer; never waits. Drops the peer past the queue cap. */
  send(bytes: Uint8Array): void {
    if (this.left || this.socketClosed) return;
    const queued = this.queuedBytes + bytes.length;
    if (queued > this.room.options.maxQueue) {
      this.room.leave(this, "too slow: output queue full", false);
      return;
    }
    this.queuedBytes = queued;
    if (queued > this.room.peakQueuedBytes) this.room.peakQueuedBytes = queued;
    this.#outbox.push(bytes);
    // A peer that is not reading collects one object per line (~5× the line's bytes);
    // join them now and then, so what `maxQueue` lets it hold costs about `maxQueue`.
    if (this.#outbox.length >= OUTBOX_CHUNKS) this.#compactOutbox();
    if (!this.#writing && !this.#flushScheduled) {
      this.#flushScheduled = true;
      this.room.scheduleFlush(this);
    }
  }

  #compactOutbox(): void {
    let total = 0;
    for (const chunk of this.#outbox) total += chunk.length;
    this.#outbox = [concat(this.#outbox, total)];
  }

  /** Queues one line of text. */
  sendLine(text: string): void {
    this.send(encoder.encode(text + "\n"));
  }

  /**
   * Starts writing everything queued as one chunk, unless a write is in flight.
   * Callbacks rather than an async loop: this runs per recipient per batch, and
   * an async function would allocate a generator and closures every time.
   */
  flush(): void {
    this.#flushScheduled = false;
    if (this.#writing || this.socketClosed || this.#outbox.length === 0) return;
    const outbox = this.#outbox;
    this.#inFlight = outbox.length === 1
      ? outbox[0]
      : this.room.joinChunks(outbox, this.queuedBytes);
    outbox.length = 0;
    this.#written = 0;
    this.#writing = true;
    this.conn.write(this.#inFlight).then(this.#onWritten, this.#onWriteFailed);
  }

  #onWritten = (n: number): void => {
    const chunk = this.#inFlight;
    this.#written += n;
    if (this.socketClosed) {
      this.#inFlight = EMPTY;
      this.#writing = false;
      return this.#notifyDrained();
    }
    if (this.#written < chunk.length) {
      this.conn.write(chunk.subarray(this.#written)).then(this.#onWritten, this.#onWriteFailed);
      return;
    }
    this.queuedBytes -= chunk.length;
    this.#inFlight = EMPTY;
    this.#writing = false;
    if (this.#outbox.length > 0) this.flush();
    else this.#notifyDrained();
  };

  #onWriteFailed = (error: unknown): void => {
    this.#inFlight = EMPTY;
    this.#writing = false;
    this.room.leave(this, errorReason(error), false);
    this.#notifyDrained();
  };

  #notifyDrained(): void {
    const drained = this.#drained;
    this.#drained = null;
    drained?.();
  }

  /** Settles when the outbox is empty (or the connection broke). */
  drained(): Promise<void> {
    if (!this.#writing && this.#outbox.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const previous = this.#drained;
      this.#drained = () => {
        previous?.();
        resolve();
      };
    });
  }

  /** Takes one token; returns how many milliseconds to wait until the bucket is out of debt. */
  takeToken(): number {
    const { rate, burst } = this.room.options;
    if (rate <= 0) return 0;
    const now = performance.now();
    this.#tokens = Math.min(burst, this.#tokens + (now - this.#refilledAt) * rate / 1000) - 1;
    this.#refilledAt = now;
    return this.#tokens >= 0 ? 0 : Math.ceil(-this.#tokens * 1000 / rate);
  }

  /** Sleeps without reading from the socket, so TCP pushes back on a flooder. */
  pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = null;
        resolve();
      }, ms);
      this.#wake = { timer, resolve };
    });
  }

  /** Closes the socket now (idempotent); a pending read or write then fails. */
  closeSocket(): void {
    if (this.socketClosed) return;
    this.socketClosed = true;
    this.room.peers.delete(this);
    clearTimeout(this.nameTimer);
    if (this.#wake) {
      clearTimeout(this.#wake.timer);
      this.#wake.resolve();
      this.#wake = null;
    }
    this.#outbox.length = 0;
    this.queuedBytes = 0;
    if (!this.#writing) this.#notifyDrained(); // else the failing write does it
    closeQuietly(this.conn);
  }
}

/** Closes a socket or listener that may already be closed. */
function closeQuietly(resource: { close(): void }): void {
  try {
    resource.close();
  } catch {
    // already closed
  }
}

/** Joins chunks whose lengths add up to `total` into one array. */
function concat(chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Framing: bytes in, lines out
// ---------------------------------------------------------------------------

/** Returned by {@linkcode LineFramer.next} for a line longer than the limit. */
export const LINE_TOO_LONG: Uint8Array = new Uint8Array(0);

/**
 * Splits a byte stream into lines at `\n`, dropping a `\r` before it.
 *
 * Feed it each chunk read from a socket, then call `next()` until it returns
 * `undefined`. Lines may be split across chunks anywhere; the unfinished tail
 * is kept (copied) until its newline arrives, and dropped if it never does. A line longer than `maxLine`
 * bytes is reported once as {@linkcode LINE_TOO_LONG} and skipped up to its
 * newline, so memory per connection stays bounded.
 */
export class LineFramer {
  #chunk: Uint8Array = EMPTY;
  #pos = 0;
  #tail: Uint8Array | null = null;
  #skipping = false;

  /** Makes a framer that refuses lines longer than `maxLine` bytes. */
  constructor(readonly maxLine: number) {}

  /** Starts on a new chunk; it must stay unchanged until `next()` returns `undefined`. */
  feed(chunk: Uint8Array): void {
    this.#chunk = chunk;
    this.#pos = 0;
  }

  /** The next complete line (a view, valid until the next `feed`), or `undefined`. */
  next(): Uint8Array | undefined {
    const chunk = this.#chunk;
    while (this.#pos < chunk.length) {
      const start = this.#pos;
      const newline = chunk.indexOf(10, start);
      if (newline === -1) {
        this.#release();
        return this.#keepTail(chunk.subarray(start));
      }
      this.#pos = newline + 1;
      if (this.#skipping) {
        this.#skipping = false;
        continue;
      }
      let line = chunk.subarray(start, newline);
      if (this.#tail) {
        line = joinBytes(this.#tail, line);
        this.#tail = null;
      }
      if (line.length > 0 && line[line.length - 1] === 13) line = line.subarray(0, -1);
      if (line.length > this.maxLine) return LINE_TOO_LONG;
      return line;
    }
    this.#release();
    return undefined;
  }

  /** Forgets the chunk, so an idle connection does not keep a view of its read buffer. */
  #release(): void {
    this.#chunk = EMPTY;
    this.#pos = 0;
  }

  #keepTail(rest: Uint8Array): Uint8Array | undefined {
    if (this.#skipping || rest.length === 0) return undefined;
    const kept = this.#tail ? this.#tail.length : 0;
    // One extra byte allows for the `\r` of a `\r\n` split across reads.
    if (kept + rest.length > this.maxLine + 1) {
      this.#tail = null;
      this.#skipping = true;
      return LINE_TOO_LONG;
    }
    this.#tail = this.#tail ? joinBytes(this.#tail, rest) : rest.slice();
    return undefined;
  }
}

function joinBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

// C0 and C1 controls, DEL, and the bidirectional overrides that can make text
// display in an order other than the one it was sent in.
// deno-lint-ignore no-control-regex
const UNSAFE_CHARS = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;
const HAS_UNSAFE_CHAR = new RegExp(UNSAFE_CHARS.source);

/** Decodes a line (bad bytes become U+FFFD), turns tabs into spaces and drops control characters. */
export function cleanLine(bytes: Uint8Array): string {
  let text = decoder.decode(bytes);
  if (text.includes("\t")) text = text.replaceAll("\t", " ");
  return HAS_UNSAFE_CHAR.test(text) ? text.replace(UNSAFE_CHARS, "") : text;
}

/**
 * The key that makes names unique: case and compatibility forms folded, so
 * that neither `ALICE` nor a fullwidth `ａｌｉｃｅ` can pass for `alice`.
 */
export function nameKey(name: string): string {
  return name.normalize("NFKC").toLowerCase();
}

/** Why `name` cannot be a name, or `null` if it can. */
export function checkName(name: string): string | null {
  if (name.length === 0) return "a name cannot be empty";
  if ([...name].length > NAME_MAX) return `a name is at most ${NAME_MAX} characters`;
  if (!NAME_PATTERN.test(name)) {
    return "a name is letters and digits, with _ - . allowed after the first";
  }
  return null;
}

// ---------------------------------------------------------------------------
// Registry: the room, its members, fan-out and coalesced notices
// ---------------------------------------------------------------------------

type RoomOptions = Required<Omit<ServerOptions, "cert" | "key" | "log" | "hostname" | "port">>;

/** A join or leave, waiting to be announced. */
interface RoomEvent {
  peer: Peer;
  joined: boolean;
  name: string;
  reason?: string;
}

class Room {
  /** Every open socket, named or not (a peer leaves the set when its socket closes). */
  readonly peers = new Set<Peer>();
  /** Named peers by {@linkcode nameKey}. */
  readonly members = new Map<string, Peer>();
  /** The most bytes ever queued for one peer (see {@linkcode ServerStats}). */
  peakQueuedBytes = 0;
  /** Messages relayed, each counted once. */
  messages = 0;
  /** Set by shutdown: nothing more is accepted, and leaving peers are not announced. */
  closing = false;
  /** Read loops still running, and who waits for them to end (shutdown). */
  serving = 0;
  onAllServed: (() => void) | null = null;

  // Peers with output queued and no write in flight; flushed once the current
  // batch of lines has been handled, so a burst of lines goes out as one write.
  #dirty: Peer[] = [];
  // Peers flushed in one batch mostly hold the very same chunks (a broadcast queues one
  // Uint8Array for every member), so one joined copy can serve all of them.
  #lastJoin: { chunks: Uint8Array[]; out: Uint8Array } | null = null;

  // Join and leave notices: the first goes out at once, the ones that follow
  // within `noticeInterval` are merged, so N joins cost O(N) lines, not O(N²).
  #pendingNotices: RoomEvent[] = [];
  #noticeTimer: Timer | undefined;

  constructor(readonly options: RoomOptions, readonly log: (line: string) => void) {}

  /** Marks `peer` to be flushed once the lines being handled now are done. */
  scheduleFlush(peer: Peer): void {
    if (this.#dirty.push(peer) === 1) queueMicrotask(this.#flushDirty);
  }

  #flushDirty = (): void => {
    const dirty = this.#dirty;
    this.#dirty = [];
    for (const peer of dirty) peer.flush();
    this.#lastJoin = null; // at most one joined buffer is ever kept
  };

  /** Joins an outbox into one buffer, reusing the previous one if it holds the same chunks. */
  joinChunks(chunks: Uint8Array[], total: number): Uint8Array {
    const last = this.#lastJoin;
    if (last && last.out.length === total && last.chunks.length === chunks.length) {
      let same = true;
      for (let i = 0; same && i < chunks.length; i++) same = chunks[i] === last.chunks[i];
      if (same) return last.out;
    }
    const out = concat(chunks, total);
    this.#lastJoin = { chunks: chunks.slice(), out };
    return out;
  }

  /** Sends `bytes` to every member except `sender`. */
  broadcast(sender: Peer | null, bytes: Uint8Array): void {
    if (this.#pendingNotices.length > 0) this.#flushNotices();
    for (const peer of this.members.values()) {
      if (peer !== sender) peer.send(bytes);
    }
  }

  /** Sends a private line to one member, after any join notice it has not seen yet. */
  whisper(target: Peer, text: string): void {
    if (this.#pendingNotices.length > 0) this.#flushNotices();
    target.sendLine(text);
  }

  /** Sends a notice line to every member except `sender`. */
  notice(sender: Peer | null, text: string): void {
    this.broadcast(sender, encoder.encode(`-- ${text}\n`));
  }

  /** Makes a named member of `peer` and tells the room. */
  join(peer: Peer, name: string): void {
    peer.name = name;
    this.members.set(nameKey(name), peer);
    clearTimeout(peer.nameTimer);
    peer.nameTimer = undefined;
    // List a few of the others, not all: N joins must not cost O(N²) bytes.
    const others: string[] = [];
    for (const member of this.members.values()) {
      if (others.length === NAMES_IN_NOTICE) break;
      if (member !== peer) others.push(member.name!);
    }
    const count = this.members.size - 1;
    peer.sendLine(
      `-- Hello, ${name}! ` +
        (count === 0
          ? "You are the first one here."
          : `Also here (${count}): ${listNames(others, count)}.`) +
        " Type /help for commands.",
    );
    this.log(`+ ${name} joined from ${peer.remote}`);
    this.#queueNotice({ peer, joined: true, name });
  }

  /** Ends a peer: tells the room if it was named, then closes its socket. */
  leave(peer: Peer, reason: string | undefined, drain: boolean): void {
    if (peer.left) return;
    peer.left = true;
    const name = peer.name;
    if (name !== null) this.members.delete(nameKey(name));
    if (name !== null && !this.closing) {
      this.log(`- ${name} left from ${peer.remote}${reason ? ` (${reason})` : ""}`);
      this.#queueNotice({ peer, joined: false, name, reason });
    }
    if (drain) {
      // Let what was queued for the peer (a goodbye, say) reach it first.
      const timer = setTimeout(() => peer.closeSocket(), this.options.drainTimeout);
      peer.drained().then(() => {
        clearTimeout(timer);
        peer.closeSocket();
      });
    } else {
      peer.closeSocket();
    }
  }

  #queueNotice(event: RoomEvent): void {
    this.#pendingNotices.push(event);
    if (this.#noticeTimer === undefined) this.#flushNotices();
  }

  /** Sends the pending join/leave notices, one line per run of joins or leaves. */
  #flushNotices(): void {
    const events = this.#pendingNotices;
    if (events.length === 0) {
      this.#noticeTimer = undefined;
      return;
    }
    this.#pendingNotices = [];
    clearTimeout(this.#noticeTimer);
    this.#noticeTimer = setTimeout(() => this.#flushNotices(), this.options.noticeInterval);
    for (let i = 0; i < events.length;) {
      let j = i + 1;
      while (j < events.length && events[j].joined === events[i].joined) j++;
      const run = events.slice(i, j);
      if (run.length === 1) {
        const { peer, joined, name, reason } = run[0];
        this.notice(
          peer,
          joined ? `${name} joined` : `${name} left${reason ? ` (${reason})` : ""}`,
        );
      } else {
        const names = run.map((event) => event.name);
        this.notice(null, `${listNames(names)} ${run[0].joined ? "joined" : "left"}`);
      }
      i = j;
    }
  }

  /** Settles once every read loop has ended. */
  allServed(): Promise<void> {
    if (this.serving === 0) return Promise.resolve();
    return new Promise((resolve) => this.onAllServed = resolve);
  }

  /** Marks the room as shutting down: no more accepting, and no more join or leave notices. */
  beginShutdown(): void {
    this.closing = true;
    clearTimeout(this.#noticeTimer);
    this.#noticeTimer = undefined;
    this.#pendingNotices = [];
  }
}

/** "a, b and c", or "a, b, … and 180 more" when `total` is more than the names given. */
function listNames(names: string[], total = names.length): string {
  if (total > NAMES_IN_NOTICE) {
    return `${names.slice(0, NAMES_IN_NOTICE).join(", ")} and ${total - NAMES_IN_NOTICE} more`;
  }
  if (names.length === 1) return names[0];
  return `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}

// ---------------------------------------------------------------------------
// Commands: what a line from a peer does
// ---------------------------------------------------------------------------

const HELP = [
  "-- Commands:",
  "--   /who              who is online",
  "--   /nick NEW         change your name",
  "--   /me TEXT          an action: * you TEXT",
  "--   /msg NAME TEXT    a private message to NAME",
  "--   /quit [REASON]    leave",
  "--   //TEXT            send a message that starts with /",
  "--   /help             this list",
].join("\n") + "\n";
const HELP_BYTES = encoder.encode(HELP);

const BLANK = /^\s*$/;

/** Handles one line from `peer`: its name while it has none, then messages and commands. */
function handleLine(room: Room, peer: Peer, bytes: Uint8Array): void {
  const text = cleanLine(bytes);
  if (BLANK.test(text)) return;

  if (peer.name === null) {
    if (/^\/quit\b/i.test(text)) return room.leave(peer, undefined, true);
    const name = text.trim().normalize("NFC");
    const error = nameError(room, name);
    if (error) {
      peer.sendLine(`!! ${error}`);
      peer.sendLine(NAME_PROMPT);
    } else {
      room.join(peer, name);
    }
    return;
  }

  if (text[0] !== "/" || text.startsWith("//")) {
    const message = text[0] === "/" ? text.slice(1) : text;
    room.messages++;
    if (room.options.verbose) room.log(`${peer.name}: ${message}`);
    room.broadcast(peer, encoder.encode(`${peer.name}: ${message}\n`));
    return;
  }

  const space = text.indexOf(" ");
  const command = (space === -1 ? text : text.slice(0, space)).toLowerCase();
  const rest = space === -1 ? "" : text.slice(space + 1).trim();
  switch (command) {
    case "/help":
      return peer.send(HELP_BYTES);
    case "/who": {
      const names = [...room.members.values()].map((p) => p.name!).sort();
      return peer.sendLine(`-- Online (${names.length}): ${names.join(", ")}`);
    }
    case "/nick": {
      const name = rest.normalize("NFC");
      const error = name === "" ? "usage: /nick NEW" : nameError(room, name, peer);
      if (error) return peer.sendLine(`!! ${error}`);
      const old = peer.name;
      if (name === old) return peer.sendLine(`-- You are already ${name}`);
      room.members.delete(nameKey(old));
      room.members.set(nameKey(name), peer);
      peer.name = name;
      room.log(`~ ${old} is now ${name}`);
      peer.sendLine(`-- You are now known as ${name}`);
      return room.notice(peer, `${old} is now known as ${name}`);
    }
    case "/me":
      if (rest === "") return peer.sendLine("!! usage: /me TEXT");
      room.messages++;
      if (room.options.verbose) room.log(`* ${peer.name} ${rest}`);
      return room.broadcast(peer, encoder.encode(`* ${peer.name} ${rest}\n`));
    case "/msg": {
      const gap = rest.indexOf(" ");
      const to = gap === -1 ? rest : rest.slice(0, gap);
      const message = gap === -1 ? "" : rest.slice(gap + 1).trim();
      if (to === "" || message === "") return peer.sendLine("!! usage: /msg NAME TEXT");
      const target = room.members.get(nameKey(to));
      if (!target) return peer.sendLine(`!! no one called ${to} is here`);
      if (target === peer) return peer.sendLine("!! that is you");
      room.messages++;
      return room.whisper(target, `${peer.name} (private): ${message}`);
    }
    case "/quit":
      peer.sendLine("-- Bye!");
      return room.leave(peer, rest ? `quit: ${rest}` : undefined, true);
    default:
      return peer.sendLine(`!! unknown command ${command}; /help lists them`);
  }
}

/** Why `name` cannot be used (bad or taken), or `null`. */
function nameError(room: Room, name: string, self?: Peer): string | null {
  const bad = checkName(name);
  if (bad) return bad;
  const holder = room.members.get(nameKey(name));
  if (holder && holder !== self) return `the name ${name} is taken`;
  return null;
}

// ---------------------------------------------------------------------------
// Connection: one async loop per client
// ---------------------------------------------------------------------------

/** Reads a peer's lines until it leaves; the only `await`s are the read and flood-control pauses. */
async function serveConn(room: Room, peer: Peer): Promise<void> {
  const { conn } = peer;
  const framer = new LineFramer(room.options.maxLine);
  let buffer = new Uint8Array(READ_MIN);
  let reason: string | undefined;
  room.serving++;
  try {
    while (!peer.left && !peer.socketClosed) {
      const n = await conn.read(buffer);
      if (n === null) break;
      framer.feed(buffer.subarray(0, n));
      for (let line = framer.next(); line !== undefined; line = framer.next()) {
        if (line === LINE_TOO_LONG) {
          peer.sendLine(`!! line too long (max ${room.options.maxLine} bytes); it was not sent`);
          continue;
        }
        const wait = peer.takeToken();
        if (wait > 0) await peer.pause(wait);
        if (peer.left || peer.socketClosed) break;
        handleLine(room, peer, line);
        if (peer.left) break;
      }
      // A full read means a busy client: read more at a time.
      if (n === buffer.length && buffer.length < READ_MAX) {
        buffer = new Uint8Array(buffer.length * 2);
      }
    }
  } catch (error) {
    reason = errorReason(error);
  }
  room.leave(peer, reason, true);
  if (--room.serving === 0) room.onAllServed?.();
}

function errorReason(error: unknown): string {
  if (error instanceof Deno.errors.ConnectionReset) return "connection reset";
  if (error instanceof Deno.errors.InvalidData) return "bad TLS handshake";
  return error instanceof Error ? error.message.split("\n")[0] : String(error);
}

/** Sets up a new connection: limits, keepalive, greeting, name timeout. */
function accept(room: Room, conn: Deno.Conn): void {
  if (room.peers.size >= room.options.maxClients) return refuse(conn);
  if ("setKeepAlive" in conn) {
    const tcp = conn as Deno.TcpConn;
    tcp.setNoDelay(true);
    tcp.setKeepAlive(true);
  }
  const peer = new Peer(conn, room);
  room.peers.add(peer);
  peer.send(GREETING);
  peer.nameTimer = setTimeout(() => {
    if (peer.name !== null) return;
    peer.sendLine("!! no name given in time; goodbye");
    room.leave(peer, undefined, true);
  }, room.options.nameTimeout);
  serveConn(room, peer);
}

const GREETING = encoder.encode(
  `-- Welcome to the chat room! Type /help for commands.\n${NAME_PROMPT}\n`,
);
const SERVER_FULL = encoder.encode("!! server full; try again later\n");

/** Tells a connection over `maxClients` why it is closed, without waiting on it. */
function refuse(conn: Deno.Conn): void {
  const timer = setTimeout(() => closeQuietly(conn), 1000);
  conn.write(SERVER_FULL).catch(() => {}).finally(() => {
    clearTimeout(timer);
    closeQuietly(conn);
  });
}

// ---------------------------------------------------------------------------
// Server: listen, accept, shut down
// ---------------------------------------------------------------------------

/** Starts a chat server; it listens before this returns. */
export function startServer(options: ServerOptions = {}): ChatServer {
  const settings = { ...DEFAULTS, ...withoutUndefined(options) };
  const log = options.log ?? ((line: string) => console.log(`${timestamp()} ${line}`));
  const room = new Room(settings, log);
  const listener: Deno.Listener = options.cert && options.key
    ? Deno.listenTls({
      hostname: settings.hostname,
      port: settings.port,
      cert: options.cert,
      key: options.key,
    })
    : Deno.listen({ hostname: settings.hostname, port: settings.port });
  const addr = listener.addr as Deno.NetAddr;

  const acceptLoop = (async () => {
    while (!room.closing) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (room.closing || error instanceof Deno.errors.BadResource) break;
        // Out of file descriptors, say: keep serving those already in, and retry shortly.
        log(`accept failed: ${errorReason(error)}; retrying`);
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      try {
        accept(room, conn);
      } catch (error) {
        log(`could not set up a connection: ${errorReason(error)}`);
        closeQuietly(conn);
      }
    }
  })();

  let closing: Promise<void> | null = null;
  const close = (reason = "server shutting down"): Promise<void> => {
    closing ??= (async () => {
      room.beginShutdown();
      closeQuietly(listener);
      await acceptLoop;
      const notice = encoder.encode(`-- ${reason}\n`);
      const peers = [...room.peers];
      for (const peer of peers) peer.send(notice); // (not to those already leaving)
      // Give queued output a bounded time to drain, then close everything.
      let timer: Timer | undefined;
      await Promise.race([
        Promise.all(peers.map((peer) => peer.drained())),
        new Promise((resolve) => timer = setTimeout(resolve, settings.drainTimeout)),
      ]);
      clearTimeout(timer);
      for (const peer of peers) peer.closeSocket();
      await room.allServed();
      // A write in flight when its socket closed settles (fails) only now.
      for (const peer of peers) await peer.drained();
    })();
    return closing;
  };

  let finish: () => void;
  const finished = new Promise<void>((resolve) => finish = resolve);
  return {
    addr,
    stats: () => ({
      connections: room.peers.size,
      members: room.members.size,
      peakQueuedBytes: room.peakQueuedBytes,
      messages: room.messages,
    }),
    close: (reason) => close(reason).then(finish),
    finished,
    [Symbol.asyncDispose]: () => close().then(finish),
  };
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
  console.log(`Chat room server: relays each line a client sends to every other client.

USAGE:
  deno run -A server.ts [OPTIONS]

OPTIONS:
  --host HOST           address to listen on (default ${DEFAULTS.hostname})
  --port PORT           port to listen on; 0 picks a free one (default ${DEFAULTS.port})
  --max-line BYTES      longest line a client may send (default ${DEFAULTS.maxLine})
  --max-queue BYTES     output queued for one client before it is dropped (default ${DEFAULTS.maxQueue})
  --max-clients N       connections served at once (default ${DEFAULTS.maxClients})
  --rate N              lines per second per client, on average; 0 = no limit (default ${DEFAULTS.rate})
  --burst N             lines a client may send at once before --rate applies (default ${DEFAULTS.burst})
  --name-timeout SECS   time a new connection has to choose a name (default ${
    DEFAULTS.nameTimeout / 1000
  })
  --cert FILE           PEM certificate: speak TLS (needs --key)
  --key FILE            PEM private key for --cert
  -v, --verbose         log every message, not only joins and leaves
  -h, --help            show this help

Try it: nc 127.0.0.1 ${DEFAULTS.port}`);
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
  let options: ServerOptions;
  try {
    const { values } = parseArgs({
      args: Deno.args,
      options: {
        host: { type: "string" },
        port: { type: "string" },
        "max-line": { type: "string" },
        "max-queue": { type: "string" },
        "max-clients": { type: "string" },
        rate: { type: "string" },
        burst: { type: "string" },
        "name-timeout": { type: "string" },
        cert: { type: "string" },
        key: { type: "string" },
        verbose: { type: "boolean", short: "v" },
        help: { type: "boolean", short: "h" },
      },
    });
    if (values.help) return printUsage();
    if (!values.cert !== !values.key) throw new Error("--cert and --key go together");
    // setTimeout holds at most 2^31 - 1 ms (about 24.8 days).
    const nameTimeout = intFlag("name-timeout", values["name-timeout"], 1, 2_147_483);
    options = {
      hostname: values.host,
      port: intFlag("port", values.port, 0, 65535),
      maxLine: intFlag("max-line", values["max-line"], 1),
      maxQueue: intFlag("max-queue", values["max-queue"], 1),
      maxClients: intFlag("max-clients", values["max-clients"], 1),
      rate: intFlag("rate", values.rate, 0),
      burst: intFlag("burst", values.burst, 1),
      nameTimeout: nameTimeout && nameTimeout * 1000,
      cert: values.cert ? Deno.readTextFileSync(values.cert) : undefined,
      key: values.key ? Deno.readTextFileSync(values.key) : undefined,
      verbose: values.verbose,
    };
  } catch (error) {
    console.error(`server: ${error instanceof Error ? error.message : error}`);
    console.error("Run with --help for usage.");
    Deno.exit(2);
  }

  let server: ChatServer;
  try {
    server = startServer(options);
  } catch (error) {
    const where = `${options.hostname ?? DEFAULTS.hostname}:${options.port ?? DEFAULTS.port}`;
    console.error(
      `server: cannot listen on ${where}: ${error instanceof Error ? error.message : error}`,
    );
    Deno.exit(1);
  }
  const { hostname, port } = server.addr;
  console.log(`listening on ${hostname}:${port}${options.cert ? " (TLS)" : ""}`);

  // SIGINT and SIGTERM shut down gracefully; a second signal exits at once.
  let stopping = false;
  const stop = () => {
    if (stopping) Deno.exit(1);
    stopping = true;
    console.log(`${timestamp()} shutting down`);
    server.close().then(() => Deno.exit(0));
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await server.finished;
}

if (import.meta.main) main();
