/**
 * Helpers shared by the tests: one `test` wrapper with the sanitizers on, a
 * hub driven in memory, a raw line client over TCP or TLS, a server started
 * on port 0 that is closed when the test is done, and a free port.
 *
 * @module
 */

import net from "node:net";
import { Hub, type HubOptions } from "../src/core/hub.ts";
import type { Command } from "../src/core/commands.ts";
import { helloName, NAME_PROMPT, say } from "../src/text/protocol.ts";
import { ServerLog } from "../src/ops/log.ts";
import type { Connection, Session } from "../src/core/session.ts";
import { TextSession } from "../src/text/session.ts";
import { type ChatServer, type ServerOptions, startServer } from "../server.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Test options for every test: Deno 2.8+ turns the sanitizers off by default. */
export const sanitized = { sanitizeResources: true, sanitizeOps: true, sanitizeExit: true };

/** Registers a test with every sanitizer on. */
export function test(name: string, fn: () => Promise<void> | void): void {
  Deno.test({ name, fn, ...sanitized });
}

/** The longest any one wait in a test may take before it fails instead of hanging. */
export const WAIT_LIMIT = 10_000;

/**
 * Settles as `promise` does, or rejects once `ms` have passed; the timer is
 * always cleared, so a broken test fails instead of hanging.
 */
export async function within<T>(
  promise: Promise<T>,
  what: string | (() => string),
  ms = WAIT_LIMIT,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const waited = typeof what === "string" ? what : what();
      reject(new Error(`timed out after ${ms} ms waiting for ${waited}`));
    }, Math.max(0, ms));
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A port that was free a moment ago, for a server in another process. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------
// The hub in memory
// ---------------------------------------------------------------------------

/** A connection that keeps what the hub delivers as lines, for tests of the hub. */
export class MemoryConnection implements Connection {
  readonly remote: string = "memory";
  queuedBytes = 0;
  /** Lines delivered and not yet taken. */
  readonly lines: string[] = [];
  /** `true` (drained) or `false` (cut) once the hub has closed it. */
  closed: boolean | undefined;
  paused = false;
  session!: Session;
  #partial = "";
  #resumed: (() => void) | undefined;
  #closed!: () => void;
  /** Settles once the hub has closed the connection. */
  readonly whenClosed = new Promise<void>((resolve) => this.#closed = resolve);

  deliver(bytes: Uint8Array): void {
    if (this.closed !== undefined) return;
    const parts = (this.#partial + decoder.decode(bytes)).split("\n");
    this.#partial = parts.pop()!;
    this.lines.push(...parts);
  }

  close(drain: boolean): void {
    this.closed ??= drain;
    this.#closed();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.#resumed?.();
  }

  /** Settles the next time the hub resumes reading. */
  resumed(): Promise<void> {
    return new Promise((resolve) => this.#resumed = resolve);
  }

  /** Sends lines as if read from the socket, in one chunk. */
  say(...lines: string[]): void {
    this.session.receive(encoder.encode(lines.map((line) => line + "\n").join("")));
  }

  /** Takes every line delivered so far. */
  take(): string[] {
    return this.lines.splice(0);
  }
}

/** The defaults a test hub starts from: flood control off, notices never merged. */
export const TEST_HUB_OPTIONS: HubOptions = {
  maxLine: 4096,
  maxRooms: 100,
  rate: 0,
  burst: 30,
  nameTimeout: 60_000,
  noticeInterval: 0,
  joinGrace: 0,
  replay: 20,
  history: 1000,
  verbose: false,
};

/** A hub in memory whose log is kept; disposing it shuts it down (no timers left). */
export class MemoryHub extends Hub {
  readonly logged: string[] = [];

  constructor(options: Partial<HubOptions> = {}, commands?: readonly Command[]) {
    const logged: string[] = [];
    const log = new ServerLog((line) => logged.push(line));
    super({ ...TEST_HUB_OPTIONS, ...options }, log, undefined, commands);
    this.logged = logged;
  }

  /** A new connection, greeted; its greeting is taken. */
  open(): MemoryConnection {
    const conn = new MemoryConnection();
    const session = this.connect(conn, new TextSession(this, conn));
    if (!session) throw new Error(`refused: ${conn.lines.join(" | ")}`);
    conn.session = session;
    conn.take();
    return conn;
  }

  /** A new connection named `name`, with what it was sent so far taken. */
  member(name: string): MemoryConnection {
    const conn = this.open();
    conn.say(name);
    const [hello] = conn.take();
    if (helloName(hello ?? "") !== name) throw new Error(`${name} not welcomed: ${hello}`);
    return conn;
  }

  [Symbol.dispose](): void {
    this.shutdown();
    this.history.close();
    this.log.close();
  }
}

/** Flood control and the per-address limits off: every test client comes from 127.0.0.1. */
export const NO_LIMITS = { maxPerAddress: 0, connectRate: 0, rate: 0 } as const;

/**
 * Starts a quiet server on a free port. Flood control and the per-address limits
 * are off unless asked for (every test client comes from 127.0.0.1), every
 * notice goes out at once, unmerged, and no history is replayed on joining,
 * unless a test asks for them.
 */
export function quietServer(options: ServerOptions = {}): Promise<ChatServer> {
  return startServer({
    port: 0,
    ...NO_LIMITS,
    noticeInterval: 0,
    joinGrace: 0,
    replay: 0,
    log: () => {},
    ...options,
  });
}

/** Cheap password hashes: accounts cost milliseconds, not a second each. */
export const CHEAP = { n: 1 << 10, r: 8, p: 1, scramIterations: 16 };

/** Joins as `name` and registers it with a password. */
export async function registered(server: Listening, name: string): Promise<LineClient> {
  const client = await LineClient.join(server, name);
  await client.write("/register open sesame\n");
  await client.until((line) => line.startsWith(`-- ${name} is now your account`));
  return client;
}

/** Quits `client` (logged in as `name`) and waits until `server` no longer has it. */
export async function quitAndGone(server: ChatServer, client: LineClient, name: string) {
  await client.write("/quit\n");
  await client.until((line) => line === say.bye);
  await eventually(() => server.hub.memberName(name) === undefined);
}

/** Anything with an address to connect to, such as a {@linkcode ChatServer}. */
export type Listening = { addr: Deno.NetAddr };

/**
 * A plain line client, as `nc` would be: it reads only when asked to. Every
 * wait (`line`, `until`, `through`, `message`, `rest`) throws once `limit`
 * milliseconds pass, naming the lines it read, instead of hanging the test.
 */
export class LineClient {
  #buffer = new Uint8Array(0);
  #lines: string[] = [];
  #eof = false;
  /** The read in flight; it outlives a wait that timed out, for the next one. */
  #reading: Promise<Uint8Array | null> | undefined;
  /** The last lines taken, for the message of a wait that timed out. */
  #recent: string[] = [];
  /** Milliseconds one wait may take. */
  limit = WAIT_LIMIT;
  /** Called by tests with lines they skip, to watch for a notice. */
  onNotice?: (line: string) => void;

  constructor(readonly conn: Deno.Conn) {}

  /** Connects to `server` (TCP, or TLS when `caCerts` is given). */
  static async connect(server: Listening, caCerts?: string[]): Promise<LineClient> {
    const { hostname, port } = server.addr;
    const conn = caCerts
      ? await Deno.connectTls({ hostname, port, caCerts })
      : await Deno.connect({ hostname, port });
    return new LineClient(conn);
  }

  /** Connects and joins as `name`, reading up to and including the welcome line. */
  static async join(server: Listening, name: string, caCerts?: string[]): Promise<LineClient> {
    const client = await LineClient.connect(server, caCerts);
    try {
      await client.until((line) => line === NAME_PROMPT);
      await client.write(`${name}\n`);
      const welcome = await client.line();
      if (helloName(welcome) !== name) throw new Error(`${name} was not welcomed: ${welcome}`);
      return client;
    } catch (error) {
      client.close();
      throw error;
    }
  }

  /** Writes text (or bytes) in full. */
  async write(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    for (let off = 0; off < bytes.length;) off += await this.conn.write(bytes.subarray(off));
  }

  /** The next line from the server, without its newline; throws at end of input. */
  async line(): Promise<string> {
    const line = await this.maybeLine();
    if (line === null) throw new Error("connection closed while a line was expected");
    return line;
  }

  /** The next line, or `null` once the server has closed the connection. */
  maybeLine(): Promise<string | null> {
    return this.#next(Date.now() + this.limit, "a line");
  }

  /** Reads lines until one matches, and returns it. */
  async until(match: (line: string) => boolean): Promise<string> {
    return (await this.through(match)).at(-1)!;
  }

  /** Reads lines up to and including the first that matches, and returns them all. */
  async through(match: (line: string) => boolean): Promise<string[]> {
    const deadline = Date.now() + this.limit;
    const lines: string[] = [];
    for (;;) {
      const line = await this.#next(deadline, "a matching line");
      if (line === null) {
        throw new Error(`connection closed before a matching line; got ${JSON.stringify(lines)}`);
      }
      lines.push(line);
      if (match(line)) return lines;
    }
  }

  /** Reads the next line that is not a join/leave notice. */
  async message(): Promise<string> {
    return await this.until((line) => !/^-- .* (joined|left)( \(.*\))?$/.test(line));
  }

  /** Reads until the server closes the connection; returns the lines seen. */
  async rest(): Promise<string[]> {
    const deadline = Date.now() + this.limit;
    const lines: string[] = [];
    for (;;) {
      const line = await this.#next(deadline, "the server to close");
      if (line === null) return lines;
      lines.push(line);
    }
  }

  /** The next line, or `null` at end of input; throws once `deadline` has passed. */
  async #next(deadline: number, what: string): Promise<string | null> {
    while (this.#lines.length === 0) {
      if (this.#eof) return null;
      const data = await within(
        this.#read(),
        () => `${what}; the last lines read: ${JSON.stringify(this.#recent)}`,
        deadline - Date.now(),
      );
      this.#reading = undefined;
      if (data === null) {
        this.#eof = true;
        continue;
      }
      const joined = new Uint8Array(this.#buffer.length + data.length);
      joined.set(this.#buffer);
      joined.set(data, this.#buffer.length);
      let start = 0;
      for (let nl = joined.indexOf(10); nl !== -1; nl = joined.indexOf(10, start)) {
        this.#lines.push(decoder.decode(joined.subarray(start, nl)));
        start = nl + 1;
      }
      this.#buffer = joined.slice(start);
    }
    const line = this.#lines.shift()!;
    this.#recent.push(line);
    if (this.#recent.length > 20) this.#recent.shift();
    return line;
  }

  /** The next chunk from the socket, or `null` at its end; one read at a time. */
  #read(): Promise<Uint8Array | null> {
    if (this.#reading) return this.#reading;
    const reading = (async () => {
      const chunk = new Uint8Array(64 * 1024);
      try {
        const n = await this.conn.read(chunk);
        return n === null ? null : chunk.subarray(0, n);
      } catch (error) {
        if (error instanceof Deno.errors.ConnectionReset) return null;
        throw error;
      }
    })();
    // A read left behind by a timed-out wait fails when the client is closed; nobody awaits it.
    reading.catch(() => {});
    return this.#reading = reading;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** Closes the connection (idempotent). */
  close(): void {
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }
}

/**
 * The host the IRC listener of `server` shows for a user from here (the cloak of
 * 127.0.0.1), read from the 311 of a WHOIS on a connection registered as `nick`.
 */
export async function ircHost(server: { ircAddr: Deno.NetAddr | null }, nick: string) {
  using client = await LineClient.connect({ addr: server.ircAddr! });
  await client.write(`NICK ${nick}\r\nUSER ${nick} 0 * :${nick}\r\nWHOIS ${nick}\r\n`);
  const whois = await client.until((line) => / 311 /.test(line));
  return whois.split(" ")[5];
}

/** Polls `condition` every few milliseconds until it holds or `ms` pass. */
export async function eventually(
  condition: () => boolean | Promise<boolean>,
  ms = 5000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const SERVER_FILE = new URL("../server.ts", import.meta.url).pathname;

/**
 * A server.ts process under `ulimit -n 200` whose death during a test is a clear
 * failure, settled once it listens.
 */
export async function spawnLimited(port: number, web: number) {
  const child = new Deno.Command("sh", {
    args: [
      "-c",
      `ulimit -n 200 && exec "${Deno.execPath()}" run -A "${SERVER_FILE}" --port ${port} --web ${web} ` +
      "--exempt 127.0.0.0/8",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Read to the end, so that a panic can be shown.
  const stderr = new Response(child.stderr).text();
  let ended: Deno.CommandStatus | null = null;
  const status = child.status.then((status) => ended = status);
  const died = (status: Deno.CommandStatus, output: string) =>
    new Error(
      `the server exited during the test (code ${status.code}, signal ${status.signal}):\n` +
        output.trim().split("\n").slice(-8).join("\n"),
    );
  const log = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const server = {
    child,
    /** Throws if the server has exited (`stop` then says how, with its last stderr lines). */
    assertRunning(): void {
      if (ended !== null) throw died(ended, "(its stderr follows from stop)");
    },
    /** Kills the server; throws, with its last stderr lines, if it had exited by itself. */
    async stop(): Promise<void> {
      await log.cancel();
      let exitedByItself = ended !== null;
      if (!exitedByItself) {
        try {
          child.kill("SIGKILL");
        } catch {
          exitedByItself = true; // it ended between the look and the kill
        }
      }
      const final = await status;
      const output = await stderr;
      // An exit not by our SIGKILL (a panic, say) may not have been seen before the kill.
      if (exitedByItself || final.signal !== "SIGKILL") throw died(final, output);
    },
  };
  try {
    let output = "";
    while (!output.includes("page at")) {
      const { done, value } = await within(log.read(), "the log");
      if (done) throw new Error(`the server ended before listening: ${output}`);
      output += value;
    }
  } catch (error) {
    await server.stop().catch(() => {}); // it is gone or going: the wait's error says why
    throw error;
  }
  return server;
}

/** A server.ts process started by {@linkcode spawnServer}. */
export interface SpawnedServer extends Listening, AsyncDisposable {
  /** Sends `signal` (SIGTERM by default) and settles with the exit code once it has ended. */
  stop(signal?: Deno.Signal): Promise<number>;
}

/**
 * Starts server.ts in its own process on a free port with `flags`, and settles
 * once it listens. Only its log lines up to "listening" are read: the rest of
 * its stdout is left in the pipe (a test of a stalled reader needs exactly that).
 */
export async function spawnServer(...flags: string[]): Promise<SpawnedServer> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-N", "-R", "-W", SERVER_FILE, "--port", "0", ...flags],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const stdout = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let output = "";
  const listening = /listening on [\d.]+:(\d+)/;
  while (!listening.test(output)) {
    const { value, done } = await stdout.read();
    if (done) throw new Error(`server.ts ended before listening: ${output}`);
    output += value;
  }
  const port = Number(listening.exec(output)![1]);
  let stopping: Promise<number> | null = null;
  const stop = (signal: Deno.Signal = "SIGTERM"): Promise<number> =>
    stopping ??= (async () => {
      child.kill(signal);
      const { code } = await child.status;
      await stdout.cancel();
      return code;
    })();
  return {
    addr: { hostname: "127.0.0.1", port, transport: "tcp" },
    stop,
    async [Symbol.asyncDispose]() {
      await stop("SIGKILL");
    },
  };
}

/** A `redis-server` of the tests' own, on a free port. */
export interface TestRedis extends AsyncDisposable {
  readonly url: string;
  readonly port: number;
  /** Stops it (SIGTERM: it saves first when `persist`) and settles once it has ended. */
  stop(): Promise<void>;
  /** Starts it again on the same port (empty, unless it persists). */
  start(): Promise<void>;
  /** Runs a command with `redis-cli` and gives its output. */
  cli(...args: string[]): Promise<string>;
}

/** Whether Debian's `redis-server` is installed (`.ci/run` installs it). */
export const HAVE_REDIS = (() => {
  try {
    return new Deno.Command("redis-server", { args: ["--version"] }).outputSync().success;
  } catch {
    return false;
  }
})();

/**
 * Starts `redis-server` on a free port, saving nothing to disk unless
 * `persist` (then it keeps an append-only file in a temporary directory, so
 * that a restart finds what it had). With `tls`, it speaks TLS only, with the
 * certificate in `testdata/` (`url` is then `rediss://`).
 */
export async function startRedis(
  { persist = false, tls = false } = {},
): Promise<TestRedis> {
  const port = await freePort();
  const dir = await Deno.makeTempDir({ prefix: "chat-redis-" });
  const args = ["--bind", "127.0.0.1", "--dir", dir, "--save", ""];
  args.push("--appendonly", persist ? "yes" : "no", "--appendfsync", "always");
  if (tls) {
    const file = (name: string) => new URL(`./testdata/${name}`, import.meta.url).pathname;
    args.push("--port", "0", "--tls-port", String(port), "--tls-auth-clients", "no");
    args.push("--tls-cert-file", file("cert.pem"), "--tls-key-file", file("key.pem"));
  } else {
    args.push("--port", String(port));
  }
  let child: Deno.ChildProcess | null = null;
  const cli = async (...command: string[]) => {
    const cert = new URL("./testdata/ca.pem", import.meta.url).pathname;
    const { stdout } = await new Deno.Command("redis-cli", {
      args: ["-p", String(port), ...(tls ? ["--tls", "--cacert", cert] : []), ...command],
      stderr: "null",
    }).output();
    return new TextDecoder().decode(stdout).trim();
  };
  const start = async () => {
    child = new Deno.Command("redis-server", { args, stdout: "null", stderr: "null" }).spawn();
    // Ready once it answers: a PING refused or unanswered is tried again.
    const deadline = Date.now() + 10_000;
    while ((await cli("PING")) !== "PONG") {
      if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not start`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const stop = async () => {
    if (!child) return;
    const running = child;
    child = null;
    running.kill("SIGTERM");
    await running.status;
  };
  await start();
  return {
    url: `${tls ? "rediss" : "redis"}://127.0.0.1:${port}`,
    port,
    stop,
    start,
    cli,
    async [Symbol.asyncDispose]() {
      await stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}
