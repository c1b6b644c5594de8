/**
 * The servers under test, each run as a subprocess: ours (`server.ts`, on free ports for its
 * TCP, `--web` and, when asked, `--irc` listeners), ours-db (ours with `--db` on a new SQLite
 * file in a temporary directory, deleted afterwards), the original Go server (built into
 * `/tmp/seed-server` from `../shared/peers/seed-server` when missing; it listens on
 * 127.0.0.1:1801, which must be free), `ncat --chat`, and the relay (`bench/relay.ts`: a
 * `node:net` server that accepts, reads and discards, the runtime's memory floor in the idle
 * scenario). A target whose program is not installed is skipped with a note.
 *
 * @module
 */

import { decoder, encoder } from "./message.ts";
import { type Settings, sleep } from "./settings.ts";
import { isListening } from "./sample.ts";

/** The servers this bench can measure. */
export type TargetId = "ours" | "ours-db" | "go" | "ncat" | "relay";

/** What may precede a payload on a relayed line. */
export type PrefixKind = "name" | "none" | "ncat";

/**
 * When a client counts as connected: after `-- Hello, ` (it chose a name), when a probe sent by
 * client 0 reaches it (a server that relays everything), or when the server process holds an
 * open file for every client (a server that sends nothing).
 */
type Readiness = "hello" | "probe" | "accepted";

/** How a target behaves: names, what precedes a relayed payload, when a client is in. */
export interface TargetSpec {
  id: TargetId;
  label: string;
  /** Clients must choose a name before they are in the room. */
  named: boolean;
  prefix: PrefixKind;
  ready: Readiness;
  /** Runs in the idle scenario only (it relays nothing). */
  idleOnly?: boolean;
  /** Our server with --db: history in a SQLite file (a new temporary one per run). */
  db?: boolean;
  /** Keeps room history and replays it on joining: the only kind the replay scenario runs. */
  history?: boolean;
  /**
   * Serves the chat over a WebSocket too (`/ws` on its `--web` port): the only kind the
   * WebSocket scenarios (mixed, idle-ws) run.
   */
  web?: boolean;
}

/** Every target, by id. */
export const TARGETS: Record<TargetId, TargetSpec> = {
  ours: {
    id: "ours",
    label: "ours (server.ts)",
    named: true,
    prefix: "name",
    ready: "hello",
    history: true,
    web: true,
  },
  "ours-db": {
    id: "ours-db",
    label: "ours --db (SQLite)",
    named: true,
    prefix: "name",
    ready: "hello",
    history: true,
    db: true,
    web: true,
  },
  go: { id: "go", label: "Go original", named: false, prefix: "none", ready: "probe" },
  ncat: { id: "ncat", label: "ncat --chat", named: false, prefix: "ncat", ready: "probe" },
  relay: {
    id: "relay",
    label: "relay (node:net floor)",
    named: false,
    prefix: "none",
    ready: "accepted",
    idleOnly: true,
  },
};

/** The minimal server of the `relay` target: accepts, reads, discards. */
const RELAY_SCRIPT = new URL("./relay.ts", import.meta.url).pathname;

/** The Go server's port: fixed in its source. */
const GO_PORT = 1801;

/** A target's server process, started and listening. */
export interface RunningServer {
  pid: number;
  port: number;
  /**
   * Ours: the port of its web side (`--web`, a free one picked here), whose `/ws` WebSocket
   * the WebSocket scenarios use; null for the others (and for a server.ts without `--web`).
   */
  webPort: number | null;
  /** Ours: the port of its IRC listener (`--irc`, a free one) when a scenario asks for it. */
  ircPort: number | null;
  child: Deno.ChildProcess;
  /** Ends the server; waits for it (bounded). */
  stop(): Promise<void>;
}

/** Why `target` cannot run here, or null if it can. */
export async function unavailable(target: TargetId, settings: Settings): Promise<string | null> {
  if (target === "ours") return null;
  if (target === "ours-db") {
    return (await serverHelp(settings.server)).includes("--db")
      ? null
      : `${settings.server} has no --db option`;
  }
  if (target === "relay") {
    try {
      Deno.statSync(RELAY_SCRIPT);
      return null;
    } catch {
      return `${RELAY_SCRIPT} is missing`;
    }
  }
  if (target === "ncat") {
    try {
      const { success } = await new Deno.Command("ncat", { args: ["--version"], stderr: "null" })
        .output();
      return success ? null : "ncat --version failed";
    } catch {
      return "ncat is not installed (apt-get install -y ncat)";
    }
  }
  const built = await ensureGoBinary(settings.goBin);
  if (built) return built;
  try {
    Deno.listen({ hostname: "127.0.0.1", port: GO_PORT }).close();
  } catch {
    return `port ${GO_PORT} is in use; the Go server needs it`;
  }
  return null;
}

/** Builds the Go server into `bin` if it is missing; returns why it cannot, or null. */
async function ensureGoBinary(bin: string): Promise<string | null> {
  try {
    if (Deno.statSync(bin).isFile) return null;
  } catch {
    // not built yet
  }
  const source = new URL("../../shared/peers/seed-server/", import.meta.url);
  let work: string;
  try {
    work = Deno.makeTempDirSync({ prefix: "seed-server-" });
    for (const entry of Deno.readDirSync(source)) {
      if (entry.isFile) Deno.copyFileSync(new URL(entry.name, source), `${work}/${entry.name}`);
    }
  } catch {
    return `no ${bin} and no sources in ${source.pathname}`;
  }
  try {
    const { success, stderr } = await new Deno.Command("go", {
      args: ["build", "-o", bin, "."],
      cwd: work,
      env: { GOFLAGS: "-buildvcs=false" },
      stdout: "null",
    }).output();
    if (!success) return `go build failed: ${decoder.decode(stderr).trim()}`;
    return null;
  } catch {
    return "Go is not installed (apt-get install -y golang-go)";
  } finally {
    Deno.removeSync(work, { recursive: true });
  }
}

/**
 * Why our WebSocket (`/ws` on 127.0.0.1:`port`) does not speak the subprotocol `protocol`, or
 * null if it does: asked for it in a handshake, the server must answer 101 and echo it in
 * Sec-WebSocket-Protocol. The connection is closed right after the answer.
 */
export async function subprotocolRefusal(port: number, protocol: string): Promise<string | null> {
  const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  let conn: Deno.TcpConn | undefined;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    conn?.close();
  }, 5000);
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(encoder.encode(
      `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
        `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
        `Sec-WebSocket-Protocol: ${protocol}\r\n\r\n`,
    ));
    let head = "";
    const buf = new Uint8Array(4096);
    while (!head.includes("\r\n\r\n") && head.length < 16384) {
      const n = await conn.read(buf);
      if (n === null) break;
      head += decoder.decode(buf.subarray(0, n));
    }
    const [status, ...fields] = head.split("\r\n\r\n")[0].split("\r\n");
    if (!/^HTTP\/1\.1 101\b/.test(status)) {
      return `the server refused a WebSocket asking for ${protocol} (${status || "no answer"})`;
    }
    const echoed = fields.find((f) => /^sec-websocket-protocol\s*:/i.test(f));
    if (echoed?.slice(echoed.indexOf(":") + 1).trim() !== protocol) {
      return `the server does not speak the WebSocket subprotocol ${protocol} ` +
        `(${
          echoed
            ? `its 101 answer chose "${echoed}"`
            : "no Sec-WebSocket-Protocol in its 101 answer"
        })`;
    }
    return null;
  } catch (error) {
    if (timedOut) return `no answer to a WebSocket handshake on port ${port} within 5 s`;
    return `WebSocket handshake on port ${port} failed: ${
      error instanceof Error ? error.message : error
    }`;
  } finally {
    clearTimeout(timer);
    if (!timedOut) conn?.close();
  }
}

/** A port nothing listens on right now. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

const helps = new Map<string, Promise<string>>();

/** What a server.ts's --help says (once per file): which options it has. */
function serverHelp(server: string): Promise<string> {
  let help = helps.get(server);
  if (!help) {
    help = new Deno.Command(Deno.execPath(), {
      args: ["run", "-N", "-R", server, "--help"],
      stdin: "null",
      stderr: "null",
    }).output().then(({ stdout }) => decoder.decode(stdout), () => "");
    helps.set(server, help);
  }
  return help;
}

/**
 * The flags that lift a server.ts's per-address admission limits (every client of a run comes
 * from 127.0.0.1), if that server.ts has them: its --help says. Older ones reject the flags.
 */
async function admissionFlags(server: string): Promise<string[]> {
  const help = await serverHelp(server);
  return [
    ...(help.includes("--max-per-address") ? ["--max-per-address", "0"] : []),
    ...(help.includes("--connect-rate") ? ["--connect-rate", "0"] : []),
  ];
}

/**
 * Starts a target's server and waits until it listens. `extra` goes to ours only (ours-db too):
 * options a scenario needs. Ours-db keeps its history in a new SQLite file in a temporary
 * directory of its own (the file, its -wal and -shm), which stop() deletes.
 */
export async function startServer(
  target: TargetId,
  settings: Settings,
  extra: string[] = [],
): Promise<RunningServer> {
  let command: Deno.Command;
  let port: number;
  let webPort: number | null = null;
  let ircPort: number | null = null;
  let dbDir: string | undefined;
  if (target === "ours" || target === "ours-db") {
    port = freePort();
    // Its web side gets a free port too (it would take 1802 by default, which may be in use):
    // the WebSocket scenarios connect there.
    const web: string[] = [];
    if ((await serverHelp(settings.server)).includes("--web PORT")) {
      do webPort = freePort(); while (webPort === port);
      web.push("--web", String(webPort));
    }
    // `--irc` among the extra options asks for an IRC listener: it gets a free port here.
    const irc = extra.indexOf("--irc");
    if (irc !== -1) {
      do ircPort = freePort(); while (ircPort === port || ircPort === webPort);
      extra = extra.toSpliced(irc + 1, 0, String(ircPort));
    }
    const profile = settings.profileDir
      ? ["--cpu-prof", `--cpu-prof-dir=${settings.profileDir}`]
      : [];
    if (settings.v8Flags) profile.push(`--v8-flags=${settings.v8Flags}`);
    const db: string[] = [];
    if (TARGETS[target].db) {
      dbDir = Deno.makeTempDirSync({ prefix: "chat-bench-db-" });
      profile.push(`-R=${dbDir}`, `-W=${dbDir}`);
      db.push("--db", `${dbDir}/history.db`);
    }
    command = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-N",
        ...profile,
        settings.server,
        "--port",
        String(port),
        "--rate",
        "0",
        "--max-clients",
        "20000",
        ...await admissionFlags(settings.server),
        ...web,
        ...db,
        ...extra,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "inherit",
    });
  } else if (target === "go") {
    port = GO_PORT;
    command = new Deno.Command(settings.goBin, { stdin: "null", stdout: "null", stderr: "null" });
  } else if (target === "relay") {
    port = freePort();
    command = new Deno.Command(Deno.execPath(), {
      args: ["run", "-N", RELAY_SCRIPT, "--port", String(port)],
      stdin: "null",
      stdout: "null",
      stderr: "inherit",
    });
  } else {
    port = freePort();
    command = new Deno.Command("ncat", {
      args: ["-l", "--chat", "127.0.0.1", String(port), "-m", "20000"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    });
  }
  const removeDb = () => {
    if (dbDir) Deno.removeSync(dbDir, { recursive: true });
    dbDir = undefined;
  };
  let child: Deno.ChildProcess;
  try {
    child = command.spawn();
  } catch (error) {
    removeDb();
    throw error;
  }
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const deadline = performance.now() + 10_000;
  while (
    !isListening(port) || (webPort !== null && !isListening(webPort)) ||
    (ircPort !== null && !isListening(ircPort))
  ) {
    if (exited) {
      removeDb();
      throw new Error(`${target} server exited before listening`);
    }
    if (performance.now() > deadline) {
      child.kill("SIGKILL");
      await status;
      removeDb();
      throw new Error(
        `${target} server did not listen on ${port}${
          webPort === null ? "" : ` and ${webPort}`
        } within 10 s`,
      );
    }
    await sleep(20);
  }
  const stop = async () => {
    if (!exited) {
      // The Go server spins at full CPU once a client leaves; it gets no grace.
      child.kill(target === "go" ? "SIGKILL" : "SIGTERM");
      const timer = setTimeout(() => {
        if (!exited) child.kill("SIGKILL");
      }, 4000);
      await status;
      clearTimeout(timer);
    }
    removeDb();
  };
  return { pid: child.pid, port, webPort, ircPort, child, stop };
}
