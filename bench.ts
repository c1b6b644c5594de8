/**
 * Load generator for the chat room: measures `server.ts` side by side with the servers it is
 * compared with (the original Go server and `ncat --chat`), in one run, on one machine.
 *
 * ```sh
 * deno task bench                                  # quick set: room and saturation at 1600/s
 * deno run -A bench.ts --scenario all --duration 10 --json results.json
 * deno run -A bench.ts --scenario crowd,idle --targets ours,go,relay
 * deno run -A bench.ts --smoke                     # a few seconds, ours only; exits 1 on loss
 * ```
 *
 * Each server runs as a subprocess of this one. In most scenarios every client lives in this
 * process, in one event loop, on `node:net` sockets (in Deno 2.9 a `node:net` read or write
 * costs about half of a `Deno.Conn` one, and the generator must stay well under one core to
 * measure the server rather than itself). The crowd and idle scenarios (thousands of clients)
 * are played by crowdgen instead (`bench/crowdgen/main.go`: Go, standard library only, built
 * offline into /tmp/chat-crowdgen with Debian's Go when it is missing or older than its
 * source; `--generator go|deno` chooses for every scenario, `--smoke` never uses it), a
 * subprocess on one thread that costs a fraction of `node:net` per connect and per read, and
 * takes the kernel's receive timestamp of every message, so it reports the latency to the
 * message's arrival in the receiver's socket as well as to its read. It speaks the same
 * message format and applies the same checks; this process still starts and stops the
 * servers, samples them, and judges its load by the CPU it reports. Without Go, those
 * scenarios fall back to `node:net`, with a note. Senders are open loop: each one has a fixed schedule by wall clock, and
 * whatever is due (the backlog, if it fell behind) goes out in one write; a slow server never
 * slows the schedule down. Every message is one fixed-format line,
 *
 * ```text
 * ~SSSS QQQQQQQQQ TTTTTTTTTTTT xxxx…xxxx CCCCC
 * ```
 *
 * (sender, sequence number, send time in microseconds, padding, checksum), so receivers parse
 * it by byte offsets, and a line cut and spliced with another one (the Go server relays raw
 * 2048-byte chunks) is caught by its length, digits or checksum and counted as corrupted.
 *
 * The Go server is built into `/tmp/seed-server` from `../shared/peers/seed-server` when it is
 * missing; it listens on 127.0.0.1:1801, which must be free. The `relay` target
 * (`bench_relay.ts`: a `node:net` server in the same Deno that accepts, reads and discards) is
 * the runtime's memory floor in the idle scenario, and runs in no other. The `ours-db` target is
 * ours with `--db` on a new SQLite file in a temporary directory (deleted afterwards), to
 * compare with `ours` in the same run. The replay scenario (ours and ours-db only) fills a room
 * with 1,000 lines, then lets 1,000 clients join at once while one client goes on sending: every
 * joiner must get its replay whole, and every message once, live or replayed. A replayed line
 * (`[TIME] NAME: TEXT`, after the welcome) is never a delivery, a loss, corruption or an error,
 * for these clients and crowdgen's alike. A target whose program is not installed is skipped
 * with a note.
 *
 * Ours also serves the chat over a WebSocket (`/ws` on its `--web` port, which this bench picks
 * free and passes, as the default 1802 may be taken). The mixed scenario puts 100 TCP and 100
 * WebSocket clients in one room (every second client, so 5 of the 10 senders on each), and
 * counts loss, reordering, corruption and latency for each transport's receivers apart; the
 * idle-ws scenario holds 1,000 WebSocket clients, then 1,000 TCP ones in a second row, for
 * their peak RSS side by side. Crowdgen plays those clients (`bench/crowdgen/ws.go`: a small
 * RFC 6455 client with the key check, masked frames and fragments), sending no `Origin`, as a
 * program does; with `node:net` clients these two scenarios are skipped. The crowd and idle scenarios need an open-file limit
 * above 10,000 (`ulimit -n 20000`).
 *
 * Whether the generator kept up is measured, not assumed: its CPU time over wall time in the
 * measured window (of one core and of the machine), how busy the whole machine was and how much
 * of it other processes took (/proc/stat; on 2 cores, server, generator and the kernel's
 * loopback work compete), its read round (CPU per read × receivers: what it adds to a fan-out's
 * latency at worst), and, from a worker thread, the clients' unread bytes in /proc/net/tcp.
 * A run where the generator used more than GENERATOR_MAX_PCT of one core, the machine was
 * busier than MACHINE_MAX_PCT or others took more than OTHER_MAX_PCT of it is invalid, and so is
 * a p99 comparison closer than the read round: those goal verdicts are "invalid", never "met"
 * or "missed", and the report says how to get a valid run. One exception: load only ever
 * lengthens a time, so a loaded run's latency or connect time is an upper bound, and a goal
 * that ours still meets although only its own run was loaded, or still misses although only
 * the reference's was, is judged. With crowdgen, the crowd p99s compared are those to arrival,
 * which no read round affects.
 *
 * @module
 */

import net from "node:net";
import { parseArgs } from "node:util";

// ---------------------------------------------------------------------------
// Message format
// ---------------------------------------------------------------------------

const MAGIC = 0x7e; // "~": starts every payload; in no name and no prefix
const NEWLINE = 10;
const SPACE = 32;
/** Offsets inside a payload. */
const SENDER_AT = 1;
const SENDER_WIDTH = 4;
const SEQ_AT = 6;
const SEQ_WIDTH = 9;
const TS_AT = 16;
const TS_WIDTH = 12;
const PAD_AT = 29;
const CHECK_WIDTH = 5;
/** The smallest payload: the fields, one padding byte and the checksum. */
const MIN_PAYLOAD = PAD_AT + 1 + 1 + CHECK_WIDTH;
/** A payload must start within this many bytes of the line start (after a name or `<userN> `). */
const PREFIX_MAX = 48;
/** Longest line kept whole across reads; longer ones are only classified by their start. */
const CARRY_MAX = 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const PROMPT = encoder.encode("-- What should we call you?");
const HELLO = encoder.encode("-- Hello, ");
const DASHES = encoder.encode("-- ");
const ANNOUNCE = encoder.encode("<announce>");
const ERROR_MARK = encoder.encode("!! ");
const PROBE = encoder.encode("?probe\n");
const QUESTION = 63;
/** Starts every replayed history line (`[2026-11-29T04:51:50Z] NAME: TEXT`); no live one. */
const BRACKET = 91;
/** Opens a replay: `-- history of ROOM: N lines, oldest first`. */
const HISTORY_HEADER = encoder.encode("-- history of ");
/** Closes it. */
const HISTORY_END = encoder.encode("-- end of history");

/** The checksum that ends a payload; a spliced line almost never matches it. */
function checksum(sender: number, seq: number, ts: number): number {
  return (sender * 7919 + seq * 31 + ts) % 99991;
}

/** Writes `value` as `width` zero-padded decimal digits at `pos`. */
function putDigits(buf: Uint8Array, pos: number, width: number, value: number): void {
  for (let i = pos + width - 1; i >= pos; i--) {
    buf[i] = 48 + (value % 10);
    value = Math.floor(value / 10);
  }
}

/** Reads `width` decimal digits at `pos`, or -1 if any byte is not a digit. */
function readDigits(buf: Uint8Array, pos: number, width: number): number {
  let value = 0;
  for (let i = pos; i < pos + width; i++) {
    const d = buf[i] - 48;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

/** One payload line (with its newline) whose numeric fields are zeros, to be filled in. */
function lineTemplate(size: number): Uint8Array {
  const text = "~" + "0".repeat(SENDER_WIDTH) + " " + "0".repeat(SEQ_WIDTH) + " " +
    "0".repeat(TS_WIDTH) + " " + "x".repeat(size - MIN_PAYLOAD + 1) + " " +
    "0".repeat(CHECK_WIDTH) + "\n";
  return encoder.encode(text);
}

/** Whether `buf[start, end)` begins with `prefix`. */
function startsWith(buf: Uint8Array, start: number, end: number, prefix: Uint8Array): boolean {
  if (end - start < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (buf[start + i] !== prefix[i]) return false;
  return true;
}

// ---------------------------------------------------------------------------
// Histogram: log-linear buckets of microseconds, about 0.2% precision
// ---------------------------------------------------------------------------

const SUB = 512;
const HIST_SIZE = 2 * SUB + 22 * SUB;
const HIST_LIMIT = 2 ** 31 - 1;

/** Bucket index of a whole number of microseconds. */
function bucketOf(us: number): number {
  if (us < 2 * SUB) return us;
  const k = 31 - Math.clz32(us);
  return 2 * SUB + (k - 10) * SUB + ((us >>> (k - 9)) - SUB);
}

/** Middle value, in microseconds, of a bucket. */
function bucketValue(bucket: number): number {
  if (bucket < 2 * SUB) return bucket;
  const k = Math.floor((bucket - 2 * SUB) / SUB) + 10;
  const sub = (bucket - 2 * SUB) % SUB + SUB;
  return (sub + 0.5) * 2 ** (k - 9);
}

/** Counts of values in microseconds, with exact maximum. */
class Histogram {
  counts = new Uint32Array(HIST_SIZE);
  total = 0;
  max = 0;

  /** Adds one value in microseconds. */
  record(us: number): void {
    const v = us <= 0 ? 0 : us >= HIST_LIMIT ? HIST_LIMIT : Math.floor(us);
    this.counts[bucketOf(v)]++;
    this.total++;
    if (v > this.max) this.max = v;
  }

  /** The value below which a fraction `q` of the values fall, in microseconds. */
  quantile(q: number): number {
    if (this.total === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let b = 0; b < HIST_SIZE; b++) {
      seen += this.counts[b];
      if (seen >= rank) return Math.min(bucketValue(b), this.max);
    }
    return this.max;
  }
}

// ---------------------------------------------------------------------------
// Targets: the servers under test
// ---------------------------------------------------------------------------

type TargetId = "ours" | "ours-db" | "go" | "ncat" | "relay";
/** What may precede a payload on a relayed line. */
type PrefixKind = "name" | "none" | "ncat";
/**
 * When a client counts as connected: after `-- Hello, ` (it chose a name), when a probe sent by
 * client 0 reaches it (a server that relays everything), or when the server process holds an
 * open file for every client (a server that sends nothing).
 */
type Readiness = "hello" | "probe" | "accepted";

interface TargetSpec {
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

const TARGETS: Record<TargetId, TargetSpec> = {
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
const RELAY_SCRIPT = new URL("./bench_relay.ts", import.meta.url).pathname;

/**
 * A run is invalid for the goals when the generator used more than this share of one core
 * during the measured window: past it, on a 2-core machine that also runs the server and the
 * kernel's loopback work, the generator's own queueing shows up in the latencies it reports.
 */
const GENERATOR_MAX_PCT = 60;
/** …or when all cores together were busier than this (threads then wait for a core)… */
const MACHINE_MAX_PCT = 90;
/** …or when other processes took more than this share of the machine (a shared machine). */
const OTHER_MAX_PCT = 15;

const GO_PORT = 1801;

interface RunningServer {
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

interface Settings {
  duration: number;
  /** Runs of each scenario and target; the table shows the one with the median p99. */
  repeat: number;
  /** Seconds of sending before the timed part, whose latencies are not recorded. */
  warmup: number;
  connectTimeoutMs: number;
  concurrency: number;
  size: number;
  profileDir?: string;
  goBin: string;
  /** --v8-flags for our server. */
  v8Flags?: string;
  /** The server.ts to run as "ours" (another copy, to try a change). */
  server: string;
  verbose: boolean;
  /**
   * Who plays the clients: "go" (the crowdgen subprocess), "deno" (node:net in this process),
   * or undefined: crowdgen for the scenarios in GO_SCENARIOS when it builds, node:net otherwise.
   */
  generator?: GeneratorKind;
  /** Where crowdgen is built. */
  crowdgenBin: string;
  /** Lines of history each joiner is replayed in the replay scenario (ours' --replay). */
  replay: number;
}

/** Why `target` cannot run here, or null if it can. */
async function unavailable(target: TargetId, settings: Settings): Promise<string | null> {
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
  const source = new URL("../shared/peers/seed-server/", import.meta.url);
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
async function startServer(
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

/** Whether something listens on 127.0.0.1:`port` (read from /proc, so no connection is made). */
function isListening(port: number): boolean {
  return !Number.isNaN(acceptQueue(port));
}

/** User and system CPU seconds of a process (all its threads), from /proc/PID/stat. */
function cpuTimes(pid: number | "self"): [number, number] {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return [Number(fields[11]) / 100, Number(fields[12]) / 100];
  } catch {
    return [NaN, NaN];
  }
}

/** Cores of this machine. */
const CORES = navigator.hardwareConcurrency || 1;

/** Share of all cores' time that was busy between two machineJiffies() readings, in %. */
function busyPct(before: [number, number, number], after: [number, number, number]): number {
  const busy = after[0] - before[0];
  return 100 * busy / (busy + after[1] - before[1]);
}

/** Share of all cores' time in softirq (mostly loopback TCP) between two readings, in %. */
function softirqPct(before: [number, number, number], after: [number, number, number]): number {
  return 100 * (after[2] - before[2]) / (after[0] - before[0] + after[1] - before[1]);
}

/**
 * What other processes used, in % of the machine: busy time less softirq, this process and
 * the server (each in % of one core).
 */
function otherPct(busy: number, softirq: number, generator: number, server: number): number {
  return Math.max(0, busy - softirq - (generator + server) / CORES);
}

/** Machine-wide CPU jiffies from /proc/stat: [busy, idle, softirq], all cores together. */
function machineJiffies(): [number, number, number] {
  try {
    const fields = Deno.readTextFileSync("/proc/stat").split("\n")[0].trim().split(/\s+/)
      .slice(1).map(Number);
    const [user, nice, system, idle, iowait, irq, softirq, steal] = fields;
    return [user + nice + system + irq + softirq + steal, idle + iowait, softirq];
  } catch {
    return [NaN, NaN, NaN];
  }
}

/** A field of /proc/PID/status in MiB (VmRSS, VmHWM), or NaN once the process is gone. */
function statusMiB(pid: number, field: string): number {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/status`);
    const match = text.match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"));
    return match ? Number(match[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Polls a process's RSS every 100 ms and keeps the peak. */
class RssMonitor {
  peak = 0;
  #timer: ReturnType<typeof setInterval>;

  constructor(readonly pid: number) {
    this.sample();
    this.#timer = setInterval(() => this.sample(), 100);
  }

  /** Reads VmRSS now; returns it in MiB. */
  sample(): number {
    const rss = statusMiB(this.pid, "VmRSS");
    if (rss > this.peak) this.peak = rss;
    return rss;
  }

  /** Stops polling; folds in the kernel's own high-water mark. */
  stop(): void {
    clearInterval(this.#timer);
    const hwm = statusMiB(this.pid, "VmHWM");
    if (hwm > this.peak) this.peak = hwm;
  }
}

/** Kernel receive-queue totals on a port: bytes no one has read yet. */
interface QueueStats {
  samples: number;
  /** Unread by the clients (this process), summed over sockets: total over samples and peak. */
  clientSum: number;
  clientMax: number;
  /** Unread by the server. */
  serverSum: number;
  serverMax: number;
  /** CPU seconds the sampling thread used (user, system): not the generator's load. */
  cpuUser: number;
  cpuSystem: number;
}

/**
 * Samples /proc/net/tcp every 100 ms in a worker thread, so a sample lands at a random moment
 * rather than at one when this busy event loop happens to run timers (and so is not reading).
 * The file lists every socket, TIME_WAIT ones of earlier runs too: with 10,000 of those one
 * read costs over 20 ms of kernel time, so the interval grows to keep sampling under 5 % of a
 * core, and the thread reports its own CPU time, which is taken off the generator's.
 */
const QUEUE_WORKER = `
const stats = {
  samples: 0, clientSum: 0, clientMax: 0, serverSum: 0, serverMax: 0, cpuUser: 0, cpuSystem: 0,
};
let timer;
self.onmessage = (event) => {
  if (event.data.stop) {
    clearTimeout(timer);
    const text = Deno.readTextFileSync("/proc/thread-self/stat");
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    stats.cpuUser = Number(fields[11]) / 100;
    stats.cpuSystem = Number(fields[12]) / 100;
    self.postMessage(stats);
    return;
  }
  // Lines look like "  3: 0100007F:1F90 0100007F:C350 01 00000000:00000010 ...": local
  // address, remote address, state, tx and rx queues. Only lines with the port are parsed,
  // found by indexOf, since TIME_WAIT sockets of earlier runs can make the file long.
  const needle = ":" + event.data.port.toString(16).toUpperCase().padStart(4, "0") + " ";
  const sample = () => {
    const started = performance.now();
    const text = Deno.readTextFileSync("/proc/net/tcp");
    let client = 0, server = 0;
    for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at)) {
      const start = text.lastIndexOf("\\n", at) + 1;
      const end = text.indexOf("\\n", at);
      at = end === -1 ? text.length : end;
      const f = text.slice(start, at).trim().split(/\\s+/);
      if (f[3] !== "01") continue;
      const unread = parseInt(f[4].slice(9), 16);
      if (f[1].endsWith(needle.trimEnd())) server += unread;
      else client += unread;
    }
    stats.samples++;
    stats.clientSum += client;
    stats.serverSum += server;
    stats.clientMax = Math.max(stats.clientMax, client);
    stats.serverMax = Math.max(stats.serverMax, server);
    timer = setTimeout(sample, Math.max(100, 20 * (performance.now() - started)));
  };
  timer = setTimeout(sample, 100);
};
`;

/** Starts sampling the receive queues on `port`; the returned function stops and reports. */
function monitorQueues(port: number): () => Promise<QueueStats> {
  const url = URL.createObjectURL(new Blob([QUEUE_WORKER], { type: "application/javascript" }));
  const worker = new Worker(url, { type: "module" });
  worker.postMessage({ port });
  return () =>
    new Promise((resolve) => {
      worker.onmessage = (event: MessageEvent<QueueStats>) => {
        worker.terminate();
        URL.revokeObjectURL(url);
        resolve(event.data);
      };
      worker.postMessage({ stop: true });
    });
}

/** The soft limit on open files of this process. */
function openFileLimit(): number {
  try {
    const text = Deno.readTextFileSync("/proc/self/limits");
    const match = text.match(/^Max open files\s+(\d+|unlimited)/m);
    return !match || match[1] === "unlimited" ? Infinity : Number(match[1]);
  } catch {
    return Infinity;
  }
}

// ---------------------------------------------------------------------------
// Clients and the receive path (the hot loop: bytes only, no strings)
// ---------------------------------------------------------------------------

/** Connection states: waiting for the name prompt, for the welcome (or probe), in the room. */
const WAIT_PROMPT = 0;
const WAIT_READY = 1;
const READY = 2;

interface Client {
  index: number;
  socket: net.Socket;
  /** The unfinished end of the last chunk; allocated on first use. */
  carry: Uint8Array | null;
  carryLen: number;
  state: number;
  onReady: (() => void) | null;
  /**
   * A joiner of the replay scenario: in the room (READY) at the welcome, but counted as in
   * only once its replay ended (`-- end of history`).
   */
  awaitReplay: boolean;
  /** Lines the replay header announced (-1 before one), lines replayed, and whether it ended. */
  historyWant: number;
  historyGot: number;
  historyDone: boolean;
  /** Sender 0's highest sequence number when the replay ended (the newest line it held). */
  replayHigh: number;
}

/** A client record before its socket is opened. */
function newClient(index: number, named: boolean, awaitReplay = false): Client {
  return {
    index,
    socket: null!,
    carry: null,
    carryLen: 0,
    state: named ? WAIT_PROMPT : WAIT_READY,
    onReady: null,
    awaitReplay,
    historyWant: -1,
    historyGot: 0,
    historyDone: false,
    replayHigh: -1,
  };
}

/** Everything counted during one run; shared by all clients of the run. */
class Meter {
  latency = new Histogram();
  delivered = 0;
  corrupted = 0;
  reordered = 0;
  errors = 0;
  firstError = "";
  reads = 0;
  /** Bytes read, all clients. */
  bytes = 0;
  ready = 0;
  /** Clients whose connection closed (by the server, or at the end of a run). */
  closed = 0;
  /** Messages sent before this time (performance.now() in µs) are not timed: warm-up. */
  timedFromUs = 0;
  /** Bytes in a payload, without prefix and newline. */
  payloadSize = 64;
  /** performance.now() in µs of the last read that delivered a message. */
  lastDeliveryUs = 0;
  /**
   * Called from the read path at most every PUMP_EVERY_US: it runs the senders' schedules, so
   * a long run of reads (one event-loop turn can parse megabytes) does not hold them back
   * until the next timer.
   */
  onTick: (() => void) | null = null;
  lastTickUs = 0;
  /** Per receiver and sender, the highest sequence number seen. */
  lastSeq: Int32Array;
  /**
   * Replayed history lines read (after the welcome, starting with `[`): never deliveries, loss,
   * corruption or errors. Those that carry a payload with a sequence number of at least
   * `liveFromSeq` (a message sent during the replay scenario's join) are counted in
   * `replayedLive`, and move the receiver's last sequence number on, so that a live copy of
   * the same message afterwards counts as reordered (a duplicate).
   */
  historyLines = 0;
  replayedLive = 0;
  liveFromSeq = Infinity;

  constructor(readonly spec: TargetSpec, readonly clients: number, readonly senders: number) {
    this.lastSeq = new Int32Array(clients * senders).fill(-1);
  }

  /** Forgets what the connect phase counted. */
  reset(): void {
    this.latency = new Histogram();
    this.delivered =
      this.corrupted =
      this.reordered =
      this.errors =
      this.reads =
        0;
    this.firstError = "";
  }
}

/**
 * The buffer every client reads into: a chunk is parsed before the next read, and the
 * unfinished end of one is copied to the client's carry, so one buffer serves all.
 */
const READ_BUFFER = new Uint8Array(64 * 1024);

/**
 * Connects a client whose socket hands each chunk it reads to the parser. The `onread` form
 * of `node:net` reads into READ_BUFFER and calls back with the byte count: no Buffer per
 * chunk and no stream machinery, which takes about a third off the generator's CPU per read
 * (measured on Deno 2.9.6 against `socket.on("data")`).
 */
function openClient(m: Meter, c: Client, port: number): net.Socket {
  return net.connect({
    host: "127.0.0.1",
    port,
    onread: {
      buffer: READ_BUFFER,
      callback: (n: number, buf: Uint8Array) => {
        m.reads++;
        m.bytes += n;
        // A plain view, so indexOf and subarray are the typed array's own, not Buffer's.
        processChunk(m, c, new Uint8Array(buf.buffer, buf.byteOffset, n));
        return true;
      },
    },
  });
}

/** How often the read path runs the senders' schedules, µs. */
const PUMP_EVERY_US = 500;

/** Splits a chunk at newlines, joining a line cut by the previous read. */
function processChunk(m: Meter, c: Client, data: Uint8Array): void {
  const nowUs = performance.now() * 1000;
  if (m.onTick !== null && nowUs - m.lastTickUs >= PUMP_EVERY_US) {
    m.lastTickUs = nowUs;
    m.onTick();
  }
  const before = m.delivered;
  const end = data.length;
  let start = 0;
  if (c.carryLen > 0) {
    const nl = data.indexOf(NEWLINE);
    appendCarry(c, data, 0, nl === -1 ? end : nl);
    if (nl === -1) return;
    handleLine(m, c, c.carry!, 0, Math.min(c.carryLen, CARRY_MAX), nowUs, c.carryLen > CARRY_MAX);
    c.carryLen = 0;
    start = nl + 1;
  }
  while (start < end) {
    const nl = data.indexOf(NEWLINE, start);
    if (nl === -1) {
      appendCarry(c, data, start, end);
      break;
    }
    handleLine(m, c, data, start, nl, nowUs, false);
    start = nl + 1;
  }
  if (m.delivered !== before) m.lastDeliveryUs = nowUs;
}

/** Keeps the unfinished end of a chunk (its first CARRY_MAX bytes; the length counts all). */
function appendCarry(c: Client, data: Uint8Array, start: number, end: number): void {
  const room = CARRY_MAX - c.carryLen;
  c.carry ??= new Uint8Array(CARRY_MAX);
  if (room > 0) c.carry.set(data.subarray(start, start + Math.min(room, end - start)), c.carryLen);
  c.carryLen += end - start;
}

/** Parses one line `b[s, e)`: a payload is counted, checked for order and timed. */
function handleLine(
  m: Meter,
  c: Client,
  b: Uint8Array,
  s: number,
  e: number,
  nowUs: number,
  truncated: boolean,
): void {
  const limit = e - s < PREFIX_MAX ? e : s + PREFIX_MAX;
  let p = s;
  if (b[s] === BRACKET && c.state === READY && m.spec.named) {
    return handleHistoryLine(m, c, b, s, e);
  }
  while (p < limit && b[p] !== MAGIC) p++;
  if (p === limit || truncated) return handleOtherLine(m, c, b, s, e);
  const size = e - p;
  if (
    b[p + SENDER_AT + SENDER_WIDTH] !== SPACE || b[p + SEQ_AT + SEQ_WIDTH] !== SPACE ||
    b[p + TS_AT + TS_WIDTH] !== SPACE || b[e - CHECK_WIDTH - 1] !== SPACE ||
    size < MIN_PAYLOAD || (p !== s && !prefixOk(m.spec.prefix, b, s, p))
  ) {
    m.corrupted++;
    return;
  }
  const sender = readDigits(b, p + SENDER_AT, SENDER_WIDTH);
  const seq = readDigits(b, p + SEQ_AT, SEQ_WIDTH);
  const ts = readDigits(b, p + TS_AT, TS_WIDTH);
  const check = readDigits(b, e - CHECK_WIDTH, CHECK_WIDTH);
  if (
    sender < 0 || seq < 0 || ts < 0 || check < 0 || sender >= m.senders ||
    checksum(sender, seq, ts) !== check || size !== m.payloadSize
  ) {
    m.corrupted++;
    return;
  }
  m.delivered++;
  if (ts >= m.timedFromUs) m.latency.record(nowUs - ts);
  const slot = c.index * m.senders + sender;
  if (seq <= m.lastSeq[slot]) m.reordered++;
  else m.lastSeq[slot] = seq;
}

/** Whether the bytes before a payload are what this target puts there. */
function prefixOk(kind: PrefixKind, b: Uint8Array, s: number, p: number): boolean {
  if (kind === "name") return p - s >= 3 && b[p - 1] === SPACE && b[p - 2] === 58; // "NAME: "
  if (kind === "ncat") return b[s] === 60 && b[p - 1] === SPACE && b[p - 2] === 62; // "<userN> "
  return false;
}

/**
 * A replayed line (`[TIME] NAME: TEXT`, after the welcome): counted, never a delivery. If it
 * carries a well-formed payload of a message sent live in this run, the receiver has that
 * message (see Meter.replayedLive).
 */
function handleHistoryLine(m: Meter, c: Client, b: Uint8Array, s: number, e: number): void {
  c.historyGot++;
  m.historyLines++;
  const limit = e - s < PREFIX_MAX ? e : s + PREFIX_MAX;
  let p = s;
  while (p < limit && b[p] !== MAGIC) p++;
  if (
    p === limit || e - p !== m.payloadSize || b[p + SENDER_AT + SENDER_WIDTH] !== SPACE ||
    b[p + SEQ_AT + SEQ_WIDTH] !== SPACE || b[p + TS_AT + TS_WIDTH] !== SPACE ||
    b[e - CHECK_WIDTH - 1] !== SPACE || !prefixOk("name", b, s, p)
  ) return;
  const sender = readDigits(b, p + SENDER_AT, SENDER_WIDTH);
  const seq = readDigits(b, p + SEQ_AT, SEQ_WIDTH);
  const ts = readDigits(b, p + TS_AT, TS_WIDTH);
  const check = readDigits(b, e - CHECK_WIDTH, CHECK_WIDTH);
  if (
    sender < 0 || seq < 0 || ts < 0 || sender >= m.senders ||
    checksum(sender, seq, ts) !== check || seq < m.liveFromSeq
  ) return;
  m.replayedLive++;
  const slot = c.index * m.senders + sender;
  if (seq > m.lastSeq[slot]) m.lastSeq[slot] = seq;
}

/** A line without a payload: the name handshake, notices, the readiness probe, or garbage. */
function handleOtherLine(m: Meter, c: Client, b: Uint8Array, s: number, e: number): void {
  if (e === s) return;
  if (b[s] === BRACKET && c.state === READY && m.spec.named) {
    return handleHistoryLine(m, c, b, s, e);
  }
  if (startsWith(b, s, e, DASHES)) {
    if (c.state === WAIT_PROMPT && e - s === PROMPT.length && startsWith(b, s, e, PROMPT)) {
      c.state = WAIT_READY;
      c.socket.write(encoder.encode(`c${c.index}\n`));
    } else if (c.state === WAIT_READY && m.spec.named && startsWith(b, s, e, HELLO)) {
      // Replayed lines follow the welcome; a joiner waiting for its replay is in at its end.
      c.state = READY;
      if (!c.awaitReplay) markReady(m, c);
    } else if (c.state === READY && startsWith(b, s, e, HISTORY_HEADER)) {
      const count = /: (\d+) lines?, oldest first$/.exec(decoder.decode(b.subarray(s, e)));
      c.historyWant = count ? Number(count[1]) : 0;
    } else if (
      c.state === READY && e - s === HISTORY_END.length && startsWith(b, s, e, HISTORY_END)
    ) {
      c.historyDone = true;
      c.replayHigh = m.lastSeq[c.index * m.senders];
      if (c.awaitReplay) {
        c.awaitReplay = false;
        markReady(m, c);
      }
    }
    return;
  }
  if (startsWith(b, s, e, ANNOUNCE)) return;
  if (startsWith(b, s, e, ERROR_MARK)) {
    m.errors++;
    if (!m.firstError) m.firstError = decoder.decode(b.subarray(s, Math.min(e, s + 200)));
    return;
  }
  if (!m.spec.named && b.subarray(s, e).includes(QUESTION)) {
    if (c.state !== READY) markReady(m, c);
    return;
  }
  m.corrupted++;
}

/** Marks a client as in the room. */
function markReady(m: Meter, c: Client): void {
  c.state = READY;
  m.ready++;
  const resolve = c.onReady;
  c.onReady = null;
  resolve?.();
}

// ---------------------------------------------------------------------------
// Connecting
// ---------------------------------------------------------------------------

interface Connected {
  clients: Client[];
  /** Until the last TCP connect completed, ms. */
  tcpMs: number;
  /** Until every client was in the room (named, or reached by a probe), ms. */
  readyMs: number;
  failed: number;
  firstFailure: string;
  timedOut: boolean;
}

/** Connects a client that never reads: paused before it connects, it never starts reading. */
function openSlowClient(port: number): net.Socket {
  const socket = net.connect({ host: "127.0.0.1", port });
  socket.pause();
  socket.on("error", () => {});
  return socket;
}

/** Resolves once `socket` is connected (with Nagle off), rejects on its first error. */
function whenConnected(socket: net.Socket): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const fail = (error: Error) => reject(error);
    socket.once("error", fail);
    socket.once("connect", () => {
      socket.off("error", fail);
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}

/**
 * Number of open files of a process (its sockets, for a server), or NaN once it is gone.
 * Listing 10,000 of them takes about 20 ms: not for polling.
 */
function openFiles(pid: number): number {
  try {
    let n = 0;
    for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) n++;
    return n;
  } catch {
    return NaN;
  }
}

/**
 * Connections in the accept queue of the listener on 127.0.0.1:`port`, or NaN if not found.
 * /proc/net/tcp lists listening sockets first, with the accept queue's length as rx_queue,
 * so the first pages suffice (the whole file can take 20 ms to read).
 */
function acceptQueue(port: number): number {
  const needle = `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")} 00000000:0000 0A `;
  let file: Deno.FsFile | undefined;
  try {
    file = Deno.openSync("/proc/net/tcp");
    const buf = new Uint8Array(16384);
    let len = 0;
    while (len < buf.length) {
      const n = file.readSync(buf.subarray(len));
      if (!n) break;
      len += n;
    }
    const text = decoder.decode(buf.subarray(0, len));
    const at = text.indexOf(needle);
    return at === -1
      ? NaN
      : parseInt(text.slice(at + needle.length + 9, at + needle.length + 17), 16);
  } catch {
    return NaN;
  } finally {
    file?.close();
  }
}

/** The server under test as connecting sees it. */
interface Listener {
  pid: number;
  port: number;
  /** Open files of the server before the first client. */
  files0: number;
}

/**
 * Resolves once the server has accepted every connected client: its accept queue is empty on
 * two looks 20 ms apart, and, if `confirm`, it holds `count` more open files than before.
 */
async function allAccepted(
  server: Listener,
  count: number,
  confirm: boolean,
  expired: Promise<unknown>,
  timedOut: () => boolean,
): Promise<void> {
  for (let empty = 0; empty < 2 && !timedOut();) {
    const queue = acceptQueue(server.port);
    empty = queue === 0 ? empty + 1 : Number.isNaN(queue) ? 2 : 0;
    await Promise.race([sleep(20), expired]);
  }
  while (confirm && !timedOut() && !(openFiles(server.pid) - server.files0 >= count)) {
    await Promise.race([sleep(250), expired]);
  }
}

/**
 * Connects `count` clients, `concurrency` at a time, and waits until all are in the room. Their
 * indices start at `first`; with `awaitReplay` each is in only once its replay has ended.
 */
async function connectClients(
  m: Meter,
  server: Listener,
  count: number,
  settings: Settings,
  first = 0,
  awaitReplay = false,
): Promise<Connected> {
  const { port } = server;
  const ready0 = m.ready;
  const clients: Client[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timedOut = false;
  const expired = new Promise<"expired">((resolve) => {
    timer = setTimeout(() => {
      timedOut = true;
      resolve("expired");
    }, settings.connectTimeoutMs);
  });
  const start = performance.now();
  let tcpAt = start;
  let next = 0;
  let failed = 0;
  let firstFailure = "";
  const ready = m.spec.ready;
  const worker = async () => {
    while (next < count && !timedOut) {
      const index = next++;
      const client = newClient(first + index, m.spec.named, awaitReplay);
      const socket = client.socket = openClient(m, client, port);
      // Errors after the connect (a reset when the server stops) end the socket; that is all.
      socket.on("error", () => {});
      socket.once("close", () => m.closed++);
      const inRoom = new Promise<void>((resolve) => client.onReady = resolve);
      const outcome = await Promise.race([whenConnected(socket), expired]).catch((error: Error) => {
        failed++;
        firstFailure ||= error.message;
        return null;
      });
      if (outcome !== socket) {
        socket.destroy();
        if (outcome === "expired") break;
        continue;
      }
      tcpAt = performance.now();
      clients[index] = client;
      if (ready === "hello") await Promise.race([inRoom, expired]);
    }
  };
  // ncat listens with a backlog of 10; parallel connects overflow it, and a dropped SYN is
  // retried only after 1 s, 3 s, 7 s…, so it gets one connect at a time.
  const concurrency = m.spec.id === "ncat" ? 1 : settings.concurrency;
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  const present = clients.filter((c) => c !== undefined);
  if (ready === "probe" && present.length === count && !timedOut) {
    // Accepted is not connected: a probe from client 0 must reach everyone else. It goes out
    // once the server holds every connection: the Go server iterates its client map while
    // its accept loop writes to it, and a fan-out during the connect burst can crash it.
    await allAccepted(server, count, false, expired, () => timedOut);
    markReady(m, present[0]);
    for (let i = 0; m.ready - ready0 < count && !timedOut; i++) {
      if (i % 50 === 0) present[0].socket.write(PROBE); // again every 250 ms
      await Promise.race([sleep(5), expired]);
    }
  } else if (ready === "accepted" && present.length === count && !timedOut) {
    // Connected is not accepted either: the server must hold an open file for each client.
    await allAccepted(server, count, true, expired, () => timedOut);
    if (!timedOut) { for (const c of present) markReady(m, c); }
  }
  clearTimeout(timer);
  return {
    clients: present,
    tcpMs: tcpAt - start,
    readyMs: performance.now() - start,
    failed,
    firstFailure,
    timedOut: timedOut || m.ready - ready0 < count,
  };
}

// ---------------------------------------------------------------------------
// Sending: open loop, by wall clock
// ---------------------------------------------------------------------------

interface Sender {
  id: number;
  socket: net.Socket;
  /** Messages handed to a completed write. */
  sent: number;
  /** Messages put into writes so far (written or in flight). */
  queued: number;
  /** A write is in flight; its callback sends what fell due meanwhile. */
  busy: boolean;
  /** The server closed the sender's connection: the rest of its schedule is lost. */
  dead: boolean;
  /** When the last write completed (ms); messages due before that waited for the socket. */
  freeSince: number;
  buf: Uint8Array;
}

interface SendPlan {
  t0: number;
  total: number;
  intervalMs: number;
  senders: number;
  template: Uint8Array;
  lag: Histogram;
}

/** Index of the first message not yet due at `now` (ms) for sender `id`. */
function dueCount(plan: SendPlan, id: number, now: number): number {
  const k = Math.floor((now - plan.t0) / plan.intervalMs - id / plan.senders) + 1;
  return k < 0 ? 0 : k > plan.total ? plan.total : k;
}

/** When message `k` of sender `id` is due, ms. */
function dueAt(plan: SendPlan, id: number, k: number): number {
  return plan.t0 + (k + id / plan.senders) * plan.intervalMs;
}

/** Writes everything due for one sender in one write, unless a write is in flight. */
function pump(plan: SendPlan, s: Sender): void {
  if (s.busy) return;
  const now = performance.now();
  const due = dueCount(plan, s.id, now);
  const count = due - s.queued;
  if (count <= 0) return;
  const lineSize = plan.template.length;
  if (s.buf.length < count * lineSize) {
    s.buf = new Uint8Array(Math.max(count * 2, 16) * lineSize);
    for (let off = 0; off < s.buf.length; off += lineSize) s.buf.set(plan.template, off);
  }
  const nowUs = Math.round(now * 1000);
  const buf = s.buf;
  for (let i = 0; i < count; i++) {
    const k = s.queued + i;
    const intended = dueAt(plan, s.id, k);
    // A message that fell due while the socket was blocked carries its due time, so the
    // server's backpressure counts as latency; otherwise it carries the real send time.
    const ts = intended < s.freeSince ? Math.round(intended * 1000) : nowUs;
    if (i === 0) plan.lag.record((now - Math.max(intended, s.freeSince)) * 1000);
    const off = i * lineSize;
    putDigits(buf, off + SENDER_AT, SENDER_WIDTH, s.id);
    putDigits(buf, off + SEQ_AT, SEQ_WIDTH, k);
    putDigits(buf, off + TS_AT, TS_WIDTH, ts);
    putDigits(buf, off + lineSize - 1 - CHECK_WIDTH, CHECK_WIDTH, checksum(s.id, k, ts));
  }
  s.queued += count;
  s.busy = true;
  // The callback runs once the kernel took every byte; until then `buf` is not touched.
  s.socket.write(buf.subarray(0, count * lineSize), (error) => {
    // If the server closed the sender, it stays busy, and what it did not send is lost.
    if (error) {
      s.dead = true;
      return;
    }
    s.busy = false;
    s.sent += count;
    s.freeSince = performance.now();
    pump(plan, s);
  });
}

/** Runs the senders' schedules for the whole duration; resolves when all is due and queued. */
async function runSenders(plan: SendPlan, senders: Sender[]): Promise<void> {
  const endAt = dueAt(plan, senders.length - 1, plan.total - 1);
  while (true) {
    for (const s of senders) pump(plan, s);
    const now = performance.now();
    // Done when every schedule is queued or dead; a write the server never lets finish (it
    // stopped reading) is waited for SEND_GRACE_MS, then what it holds back counts as unsent.
    const done = senders.every((s) => s.queued === plan.total || s.dead);
    if (now > endAt && (done || now > endAt + SEND_GRACE_MS)) return;
    // A busy sender is pumped by its write's callback when that comes; if the write is still
    // in flight when its next message falls due, this loop looks again 1 ms later.
    let next = Infinity;
    for (const s of senders) {
      if (s.queued === plan.total) continue;
      const due = dueAt(plan, s.id, s.queued);
      next = Math.min(next, s.busy ? Math.max(due, now + 1) : due);
    }
    await sleep(Math.max(0, Math.min(next, now + 50) - now));
  }
}

/** How long, after the schedule ends, a sender whose write is blocked is waited for. */
const SEND_GRACE_MS = 10_000;

// ---------------------------------------------------------------------------
// Scenarios and runs
// ---------------------------------------------------------------------------

interface Scenario {
  name: string;
  title: string;
  clients: number;
  senders: number;
  /** Messages per second per sender. */
  rate: number;
  /** One more client, in the room, that never reads. */
  slowReader?: boolean;
  /** No messages: only connect and measure memory. */
  idle?: boolean;
  /**
   * The replay scenario: one client sends this many lines into the room (history) while a
   * witness checks they were relayed; then `clients` join at once, each replayed the room's
   * last lines, while the sender goes on at `rate` until all are in.
   */
  fill?: number;
  /**
   * Clients (of `clients`) that connect over our WebSocket (`/ws` on the `--web` port)
   * instead of TCP, spread evenly among them, so among the senders too (see wsAmong()).
   * Played by crowdgen only; run on targets with `web` only.
   */
  ws?: number;
  /**
   * Clients (of `clients`) that are IRC clients of ours' IRC listener (`--irc`), spread as the
   * WebSocket ones are. Played by crowdgen only; run on ours only.
   */
  irc?: number;
  /** Runs again with every client on TCP, as a second row of the same table (idle-ws). */
  tcpRow?: boolean;
}

const SCENARIOS: Scenario[] = [
  { name: "room", title: "room", clients: 100, senders: 10, rate: 100 },
  { name: "saturation-1600", title: "saturation", clients: 100, senders: 10, rate: 1600 },
  { name: "saturation-3200", title: "saturation", clients: 100, senders: 10, rate: 3200 },
  {
    name: "slow",
    title: "slow reader",
    clients: 100,
    senders: 10,
    rate: 1600,
    slowReader: true,
  },
  { name: "crowd", title: "crowd", clients: 5000, senders: 1, rate: 10 },
  { name: "idle", title: "idle", clients: 10000, senders: 0, rate: 0, idle: true },
  { name: "replay", title: "replay", clients: 1000, senders: 1, rate: 20, fill: 1000 },
  { name: "mixed", title: "mixed", clients: 200, senders: 10, rate: 100, ws: 100 },
  { name: "mixed-irc", title: "mixed IRC", clients: 200, senders: 10, rate: 100, irc: 100 },
  {
    name: "idle-ws",
    title: "idle WebSocket",
    clients: 1000,
    senders: 0,
    rate: 0,
    idle: true,
    ws: 1000,
    tcpRow: true,
  },
];

/**
 * How many of the first `m` of `n` clients speak WebSocket when `k` of them do (the senders are
 * the first ones): by crowdgen's rule (isWS in bench/crowdgen/ws.go), client i does if
 * ⌊(i+1)k/n⌋ > ⌊ik/n⌋, so with k = n/2 every second one, and ⌊mk/n⌋ of the first m.
 */
function wsAmong(m: number, k: number, n: number): number {
  return Math.floor(m * k / Math.max(n, 1));
}

/** Messages the replay scenario's sender sends during the join even if it ends sooner. */
const REPLAY_MIN_MESSAGES = 3;

const GROUPS: Record<string, string[]> = {
  quick: ["room", "saturation-1600"],
  saturation: ["saturation-1600", "saturation-3200"],
  all: SCENARIOS.map((s) => s.name),
};

/** What one target did in one scenario. */
interface Result {
  scenario: string;
  /** Which repeat this was, from 1. */
  run: number;
  target: TargetId;
  /** Who played the clients: crowdgen (Go, a subprocess) or node:net in this process. */
  generator: GeneratorKind;
  skipped?: string;
  clients: number;
  /** Of them, clients on our WebSocket (the others on TCP). */
  ws: number;
  connected: number;
  tcpMs: number;
  connectMs: number;
  /** CPU use while connecting, of this process and of the server (% of one core). */
  connectGeneratorCpuPct: number;
  connectServerCpuPct: number;
  /** All cores together, share of time busy while connecting, and other processes' share. */
  connectMachineBusyPct: number;
  connectOtherPct: number;
  /** Why the connect time does not count for the goals (the generator was loaded), if so. */
  connectInvalid?: string;
  senders: number;
  rate: number;
  durationS: number;
  sent: number;
  expected: number;
  delivered: number;
  lost: number;
  reordered: number;
  corrupted: number;
  serverErrors: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  deliveriesPerSec: number;
  serverRssConnectedMiB: number;
  serverPeakRssMiB: number;
  /** Idle only: RSS at the end of the idle time. */
  serverRssEndMiB: number;
  serverCpuS: number;
  serverCpuPct: number;
  /** The part of serverCpuPct spent in the kernel. */
  serverSystemPct: number;
  serverCpuSPerMDeliveries: number;
  /** This process's CPU time over wall time in the measured window, % of one core. */
  generatorCpuPct: number;
  /** The same, as a share of the whole machine (all cores). */
  generatorMachinePct: number;
  /** The part of generatorCpuPct spent in the kernel. */
  generatorSystemPct: number;
  generatorLagP99Ms: number;
  /**
   * The generator's CPU per read times the receivers: how long it needs, at its measured cost,
   * to read one fan-out at every receiver. A message's latency at the last receiver read
   * includes up to this much of the generator's own work, whatever the server does.
   */
  generatorRoundMs: number;
  generatorLagMaxMs: number;
  /**
   * Crowdgen only: latency from the send to the message's arrival in the receiver's socket
   * (the kernel's receive timestamp), which leaves out when the generator got round to reading
   * it; and that reading delay, measured per delivery.
   */
  arrivalP50Ms: number;
  arrivalP99Ms: number;
  arrivalMaxMs: number;
  readDelayP50Ms: number;
  readDelayP99Ms: number;
  readsPerSec: number;
  /** All cores together: share of time busy (anyone), and in softirq (mostly loopback TCP). */
  machineBusyPct: number;
  /** Share of the machine other processes used (see otherPct()). */
  otherPct: number;
  machineSoftirqPct: number;
  /** Bytes waiting in the clients' receive queues, on average and at most (sampled). */
  generatorUnreadKiB: number;
  generatorUnreadMaxKiB: number;
  /** What that backlog adds to latency on average: unread bytes / bytes read per second. */
  generatorDelayMs: number;
  /** Bytes the server has not read yet, on average and at most (sampled). */
  serverUnreadKiB: number;
  serverUnreadMaxKiB: number;
  /** Why the message phase does not count for the goals (the generator was loaded), if so. */
  invalid?: string;
  /** With WebSocket clients among TCP ones: the message phase as each kind of receiver saw it. */
  receivers?: ReceiverStats[];
  notes: string[];
}

/** What the receivers on one transport got in a message phase (crowdgen counts them apart). */
interface ReceiverStats {
  transport: "tcp" | "ws" | "irc";
  receivers: number;
  expected: number;
  delivered: number;
  lost: number;
  reordered: number;
  corrupted: number;
  serverErrors: number;
  firstError: string;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** To the message's arrival in the receiver's socket (kernel timestamp). */
  arrivalP50Ms: number;
  arrivalP99Ms: number;
  arrivalMaxMs: number;
  readDelayP50Ms: number;
  readDelayP99Ms: number;
}

/** A result with nothing measured. */
function emptyResult(scenario: Scenario, target: TargetId, duration: number): Result {
  return {
    scenario: scenario.name,
    run: 1,
    target,
    generator: "deno",
    clients: scenario.clients,
    ws: scenario.ws ?? 0,
    connected: 0,
    tcpMs: NaN,
    connectMs: NaN,
    connectGeneratorCpuPct: NaN,
    connectServerCpuPct: NaN,
    connectMachineBusyPct: NaN,
    connectOtherPct: NaN,
    senders: scenario.senders,
    rate: scenario.rate,
    durationS: scenario.idle ? 0 : duration,
    sent: 0,
    expected: 0,
    delivered: 0,
    lost: 0,
    reordered: 0,
    corrupted: 0,
    serverErrors: 0,
    p50Ms: NaN,
    p99Ms: NaN,
    maxMs: NaN,
    deliveriesPerSec: NaN,
    serverRssConnectedMiB: NaN,
    serverPeakRssMiB: NaN,
    serverRssEndMiB: NaN,
    serverCpuS: NaN,
    serverCpuPct: NaN,
    serverSystemPct: NaN,
    serverCpuSPerMDeliveries: NaN,
    generatorCpuPct: NaN,
    generatorMachinePct: NaN,
    generatorSystemPct: NaN,
    generatorLagP99Ms: NaN,
    generatorLagMaxMs: NaN,
    arrivalP50Ms: NaN,
    arrivalP99Ms: NaN,
    arrivalMaxMs: NaN,
    readDelayP50Ms: NaN,
    readDelayP99Ms: NaN,
    readsPerSec: NaN,
    generatorRoundMs: NaN,
    machineBusyPct: NaN,
    otherPct: NaN,
    machineSoftirqPct: NaN,
    generatorUnreadKiB: NaN,
    generatorUnreadMaxKiB: NaN,
    generatorDelayMs: NaN,
    serverUnreadKiB: NaN,
    serverUnreadMaxKiB: NaN,
    notes: [],
  };
}

/** Runs one scenario against one target: start the server, connect, send, drain, stop. */
async function runScenario(
  scenario: Scenario,
  target: TargetId,
  settings: Settings,
  generator: GeneratorKind,
): Promise<Result> {
  const result = emptyResult(scenario, target, settings.duration);
  const spec = TARGETS[target];
  const needed = scenario.clients + (scenario.slowReader ? 1 : 0) + 64;
  if (openFileLimit() < needed) {
    result.skipped =
      `open-file limit ${openFileLimit()} < ${needed}; run \`ulimit -n 20000\` first`;
    return result;
  }
  if (scenario.fill) return await runReplay(scenario, target, settings, generator, result);
  if ((result.ws > 0 || scenario.irc) && generator !== "go") {
    result.skipped = "skipped: its WebSocket and IRC clients are crowdgen's (Go), not node:net's";
    return result;
  }
  if (generator === "go") return await runWithCrowdgen(scenario, target, settings, result);
  const server = await startServer(target, settings);
  const rss = new RssMonitor(server.pid);
  const m = new Meter(spec, scenario.clients, scenario.senders);
  m.payloadSize = settings.size;
  let clients: Client[] = [];
  let slow: net.Socket | null = null;
  try {
    const listener = { pid: server.pid, port: server.port, files0: openFiles(server.pid) };
    const [user0, system0] = cpuTimes("self");
    const serverCpu0 = cpuTimes(server.pid);
    const machine0 = machineJiffies();
    const connected = await connectClients(m, listener, scenario.clients, settings);
    const [user1, system1] = cpuTimes("self");
    const serverCpu1 = cpuTimes(server.pid);
    const machine1 = machineJiffies();
    const connectS = connected.readyMs / 1000;
    result.connectGeneratorCpuPct = 100 * (user1 + system1 - user0 - system0) / connectS;
    result.connectServerCpuPct = 100 *
      (serverCpu1[0] + serverCpu1[1] - serverCpu0[0] - serverCpu0[1]) / connectS;
    result.connectMachineBusyPct = busyPct(machine0, machine1);
    result.connectOtherPct = otherPct(
      result.connectMachineBusyPct,
      softirqPct(machine0, machine1),
      result.connectGeneratorCpuPct,
      result.connectServerCpuPct,
    );
    result.connectInvalid = overloaded(
      result.connectGeneratorCpuPct,
      result.connectMachineBusyPct,
      result.connectOtherPct,
    );
    if (result.connectInvalid && scenario.clients >= 1000) {
      result.notes.push(`connect time invalid: ${result.connectInvalid}`);
    }
    clients = connected.clients;
    result.connected = m.ready;
    result.tcpMs = connected.tcpMs;
    result.connectMs = connected.readyMs;
    if (connected.failed > 0) {
      result.notes.push(`${connected.failed} connects failed (${connected.firstFailure})`);
    }
    if (connected.timedOut) {
      result.notes.push(
        `gave up after ${settings.connectTimeoutMs / 1000} s: ${clients.length}/` +
          `${scenario.clients} connected, ${m.ready} in the room`,
      );
      result.serverPeakRssMiB = rss.peak;
      return result;
    }
    progress(settings, `  ${target}: ${m.ready} clients in ${result.connectMs.toFixed(0)} ms`);
    if (scenario.slowReader) {
      slow = openSlowClient(server.port);
      await whenConnected(slow);
      if (spec.named) slow.write(encoder.encode("slow\n"));
      await sleep(target === "ncat" ? 500 : 200);
    }
    await sleep(scenario.idle ? 1000 : 300); // let join notices settle
    result.serverRssConnectedMiB = rss.sample();
    if (scenario.idle) {
      // Stay connected for the duration: V8 gives back heap it grew during the connect storm
      // only after a while, so the RSS at the end is the settled one.
      await sleep(settings.duration * 1000);
      result.serverRssEndMiB = rss.sample();
      result.serverPeakRssMiB = rss.peak;
      result.notes.push(
        `RSS after ${settings.duration} s idle: ${fmtNum(result.serverRssEndMiB, 1, " MiB")}`,
      );
      return result;
    }
    await measureTraffic(scenario, settings, m, clients, server, rss, result);
    if (slow) result.notes.push(`slow client: ${slowClientState(slow, server.port)}`);
  } finally {
    rss.stop();
    result.serverPeakRssMiB = rss.peak;
    await server.stop();
    for (const c of clients) c.socket.destroy();
    slow?.destroy();
    await sleep(200);
  }
  return result;
}

/** Why a window with this load does not count for the goals, or undefined if it does. */
function overloaded(
  generatorPct: number,
  machineBusyPct: number,
  otherPct: number,
): string | undefined {
  const why: string[] = [];
  if (!(generatorPct <= GENERATOR_MAX_PCT)) {
    why.push(`generator ${fmtNum(generatorPct, 0, "%")} of a core > ${GENERATOR_MAX_PCT}%`);
  }
  if (!(machineBusyPct <= MACHINE_MAX_PCT)) {
    why.push(`cores ${fmtNum(machineBusyPct, 0, "%")} busy > ${MACHINE_MAX_PCT}%`);
  }
  if (otherPct > OTHER_MAX_PCT) {
    why.push(`other processes ${fmtNum(otherPct, 0, "%")} of the machine > ${OTHER_MAX_PCT}%`);
  }
  return why.length > 0 ? why.join(", ") : undefined;
}

/** What the kernel holds for the client that never reads: unread bytes and TCP state. */
function slowClientState(socket: net.Socket, serverPort: number): string {
  const hex = (port: number) => `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  const local = hex(socket.localPort ?? 0);
  const remote = hex(serverPort);
  const states: Record<string, string> = { "01": "connected", "08": "closed by the server" };
  try {
    for (const line of Deno.readTextFileSync("/proc/net/tcp").split("\n")) {
      const f = line.trim().split(/\s+/);
      if (!f[1]?.endsWith(local) || !f[2]?.endsWith(remote)) continue;
      const unread = parseInt(f[4].slice(9), 16);
      return `${fmtNum(unread / 1024, 0, " KiB")} unread in its kernel buffer, ` +
        `${states[f[3]] ?? `TCP state ${f[3]}`}`;
    }
  } catch {
    // not Linux
  }
  return "socket gone (reset by the server)";
}

/** The message phase: send for the duration, wait for the drain, fill in `result`. */
async function measureTraffic(
  scenario: Scenario,
  settings: Settings,
  m: Meter,
  clients: Client[],
  server: RunningServer,
  rss: RssMonitor,
  result: Result,
): Promise<void> {
  const total = Math.round((settings.warmup + settings.duration) * scenario.rate);
  const template = lineTemplate(settings.size);
  const senders: Sender[] = clients.slice(0, scenario.senders).map((c, id) => ({
    id,
    socket: c.socket,
    sent: 0,
    queued: 0,
    busy: false,
    dead: false,
    freeSince: 0,
    buf: new Uint8Array(0),
  }));
  for (const s of senders) s.socket.once("close", () => s.dead = true);
  const closed0 = m.closed;
  const expected = (clients.length - 1) * total * senders.length;
  m.reset();
  const lag = new Histogram();
  const serverCpu0 = cpuTimes(server.pid);
  const selfCpu0 = cpuTimes("self");
  const machine0 = machineJiffies();
  const stopQueues = clients.length <= 1000 ? monitorQueues(server.port) : null;
  const t0 = performance.now() + 20;
  m.timedFromUs = (t0 + settings.warmup * 1000) * 1000;
  const plan: SendPlan = {
    t0,
    total,
    intervalMs: 1000 / scenario.rate,
    senders: senders.length,
    template,
    lag,
  };
  m.onTick = () => {
    for (const s of senders) pump(plan, s);
  };
  await runSenders(plan, senders);
  m.onTick = null;
  // Drain: until everything arrived, or nothing moved for 2 s, or 30 s passed.
  const drainStart = performance.now();
  let lastProgress = drainStart;
  let lastCount = -1;
  while (m.delivered < expected) {
    const now = performance.now();
    const count = m.delivered + senders.reduce((sum, s) => sum + s.sent, 0);
    if (count !== lastCount) {
      lastCount = count;
      lastProgress = now;
    }
    if (now - lastProgress > 2000 || now - drainStart > 30_000) break;
    await sleep(20);
  }
  const end = performance.now();
  const queues = await stopQueues?.();
  const serverCpu1 = cpuTimes(server.pid);
  const serverSystem = serverCpu1[1] - serverCpu0[1];
  const serverCpu = serverCpu1[0] - serverCpu0[0] + serverSystem;
  const selfCpu1 = cpuTimes("self");
  const machine1 = machineJiffies();
  // The sampling thread is instrumentation, not load: its CPU is not the generator's.
  const selfUser = selfCpu1[0] - selfCpu0[0] - (queues?.cpuUser ?? 0);
  const selfSystem = selfCpu1[1] - selfCpu0[1] - (queues?.cpuSystem ?? 0);
  const selfCpu = selfUser + selfSystem;
  rss.sample();
  const sent = senders.reduce((sum, s) => sum + s.sent, 0);
  const wallS = (end - t0) / 1000;
  const deliveryS = Math.max(m.lastDeliveryUs / 1000 - t0, 1) / 1000;
  result.sent = sent;
  result.expected = expected;
  result.delivered = m.delivered;
  result.lost = expected - m.delivered;
  result.reordered = m.reordered;
  result.corrupted = m.corrupted;
  result.serverErrors = m.errors;
  result.p50Ms = m.latency.quantile(0.5) / 1000;
  result.p99Ms = m.latency.quantile(0.99) / 1000;
  result.maxMs = m.latency.max / 1000;
  result.deliveriesPerSec = m.delivered / deliveryS;
  result.serverCpuS = serverCpu;
  result.serverCpuPct = 100 * serverCpu / wallS;
  result.serverSystemPct = 100 * serverSystem / wallS;
  result.serverCpuSPerMDeliveries = m.delivered > 0 ? serverCpu / m.delivered * 1e6 : NaN;
  result.generatorCpuPct = 100 * selfCpu / wallS;
  result.generatorMachinePct = result.generatorCpuPct / CORES;
  result.generatorSystemPct = 100 * selfSystem / wallS;
  result.generatorLagP99Ms = lag.quantile(0.99) / 1000;
  result.generatorLagMaxMs = lag.max / 1000;
  result.readsPerSec = m.reads / wallS;
  result.generatorRoundMs = m.reads > 0 ? 1000 * selfCpu / m.reads * (clients.length - 1) : NaN;
  result.machineBusyPct = busyPct(machine0, machine1);
  result.machineSoftirqPct = softirqPct(machine0, machine1);
  result.otherPct = otherPct(
    result.machineBusyPct,
    result.machineSoftirqPct,
    100 * (selfCpu1[0] + selfCpu1[1] - selfCpu0[0] - selfCpu0[1]) / wallS,
    result.serverCpuPct,
  );
  result.invalid = overloaded(result.generatorCpuPct, result.machineBusyPct, result.otherPct);
  if (result.invalid) result.notes.push(`invalid: ${result.invalid}`);
  if (queues && queues.samples > 0) {
    const unread = queues.clientSum / queues.samples;
    result.generatorUnreadKiB = unread / 1024;
    result.generatorUnreadMaxKiB = queues.clientMax / 1024;
    result.generatorDelayMs = 1000 * unread / (m.bytes / wallS);
    result.serverUnreadKiB = queues.serverSum / queues.samples / 1024;
    result.serverUnreadMaxKiB = queues.serverMax / 1024;
  }
  const dropped = m.closed - closed0;
  if (dropped > 0) result.notes.push(`the server closed ${fmtInt(dropped)} clients' connections`);
  const unsent = total * senders.length - sent;
  if (unsent > 0) result.notes.push(`${unsent} messages never accepted by the server (blocked)`);
  if (m.errors > 0) result.notes.push(`${m.errors} error lines, e.g. "${m.firstError}"`);
  if (m.historyLines > 0) {
    result.notes.push(`${fmtInt(m.historyLines)} replayed history lines read (not counted)`);
  }
  if (result.generatorDelayMs > 0.5) {
    result.notes.push(
      `generator read late: its unread backlog (avg ${
        fmtNum(result.generatorUnreadKiB, 0, " KiB")
      }) adds ≈ ${fmtMs(result.generatorDelayMs)}`,
    );
  }
  if (result.machineBusyPct > MACHINE_MAX_PCT) {
    result.notes.push(
      `softirq ${fmtNum(result.machineSoftirqPct, 0, "%")} of all cores (mostly loopback TCP)`,
    );
  }
  if (result.generatorLagMaxMs > 20) {
    result.notes.push(`generator fell behind its schedule by up to ${fmtMs(lag.max / 1000)}`);
  }
}

// ---------------------------------------------------------------------------
// The Go generator (crowdgen): thousands of clients for the price of a few hundred
// ---------------------------------------------------------------------------

/** Who plays the clients: crowdgen (a Go subprocess) or node:net in this process. */
type GeneratorKind = "go" | "deno";

/**
 * Scenarios that run on crowdgen unless --generator says otherwise: with thousands of clients,
 * node:net in this process costs about 65 µs of CPU per connect and takes a fan-out's worth
 * of reads (its "read round") about as long as the latency it measures.
 */
const GO_SCENARIOS = new Set(["crowd", "idle", "replay", "mixed", "mixed-irc", "idle-ws"]);

/** Where crowdgen is built. */
const CROWDGEN_BIN = "/tmp/chat-crowdgen";

/** Crowdgen's sources: its Go files (main.go, ws.go), standard library only, its own go.mod. */
const CROWDGEN_DIR = new URL("./bench/crowdgen/", import.meta.url).pathname;

/** What keeps `go build` offline and on the installed toolchain. */
const GO_OFFLINE_ENV = {
  GOTOOLCHAIN: "local",
  GOPROXY: "off",
  GOFLAGS: "-mod=mod -buildvcs=false",
};

let crowdgenBuild: Promise<string | null> | undefined;

/** Builds crowdgen into `bin` if it is missing or older than its sources (once per run). */
function ensureCrowdgen(bin: string): Promise<string | null> {
  crowdgenBuild ??= buildCrowdgen(bin);
  return crowdgenBuild;
}

/** Why crowdgen cannot be built, or null once `bin` is up to date. */
async function buildCrowdgen(bin: string): Promise<string | null> {
  let sources = 0;
  try {
    const names = ["go.mod"];
    for (const entry of Deno.readDirSync(CROWDGEN_DIR)) {
      if (entry.isFile && entry.name.endsWith(".go")) names.push(entry.name);
    }
    for (const name of names) {
      sources = Math.max(sources, Deno.statSync(CROWDGEN_DIR + name).mtime?.getTime() ?? 0);
    }
  } catch {
    return `no crowdgen sources in ${CROWDGEN_DIR}`;
  }
  try {
    if ((Deno.statSync(bin).mtime?.getTime() ?? 0) >= sources) return null;
  } catch {
    // not built yet
  }
  try {
    const { success, stderr } = await new Deno.Command("go", {
      args: ["build", "-o", bin, "."],
      cwd: CROWDGEN_DIR,
      env: GO_OFFLINE_ENV,
      stdout: "null",
    }).output();
    return success ? null : `go build failed: ${decoder.decode(stderr).trim()}`;
  } catch {
    return "Go is not installed (apt-get install -y golang-go)";
  }
}

/** What crowdgen reports of its message phase (or idle hold); null where it measured nothing. */
interface CrowdgenTraffic {
  sent: number;
  expected: number;
  delivered: number;
  lost: number;
  reordered: number;
  corrupted: number;
  serverErrors: number;
  firstError: string;
  unsent: number;
  closedByServer: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  arrivalP50Ms: number | null;
  arrivalP99Ms: number | null;
  arrivalMaxMs: number | null;
  readDelayP50Ms: number | null;
  readDelayP99Ms: number | null;
  lagP99Ms: number | null;
  lagMaxMs: number | null;
  reads: number;
  /** Notice lines ("-- …": joins, leaves) read by clients in the room during the phase. */
  notices: number;
  /** Replayed history lines read during the phase: counted as nothing else. */
  historyLines: number;
  deliveriesPerSec: number | null;
  trafficCpuSysS: number;
  trafficWallS: number;
  trafficCpuPct: number;
  roundMs: number | null;
  /** With -ws: each transport's receivers apart (latencies null where none was timed). */
  receivers?: Nullable<ReceiverStats>[];
}

/** A record as crowdgen writes it: null where a number is not finite (NaN). */
type Nullable<T> = { [K in keyof T]: T[K] extends number ? number | null : T[K] };

/** A record crowdgen wrote, with its nulls back as NaN. */
function withNaN<T>(record: Nullable<T>): T {
  return Object.fromEntries(
    Object.entries(record).map(([key, value]) => [key, value ?? NaN]),
  ) as unknown as T;
}

/** What crowdgen reports of its connect phase, and at the end of the one after it. */
interface CrowdgenReport {
  event: string;
  connected: number;
  inRoom: number;
  failed: number;
  firstFailure: string;
  timedOut: boolean;
  tcpMs: number;
  connectMs: number;
  connectCpuPct: number;
  traffic?: CrowdgenTraffic;
}

/**
 * A running crowdgen, driven line by line: it prints {"event":"started"}, connects on "go",
 * prints {"event":"connected",…}, sends (or holds) on the next "go", prints
 * {"event":"done",…}, and keeps its connections until its stdin closes.
 */
class Crowdgen {
  #child: Deno.ChildProcess;
  #reader: ReadableStreamDefaultReader<string>;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #pending = "";

  constructor(bin: string, args: string[]) {
    this.#child = new Deno.Command(bin, {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#reader = this.#child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    this.#writer = this.#child.stdin.getWriter();
  }

  /** The next line, which must be the event `event`; throws after `timeoutMs` or at its exit. */
  async next(event: string, timeoutMs: number): Promise<CrowdgenReport> {
    const deadline = performance.now() + timeoutMs;
    while (true) {
      const nl = this.#pending.indexOf("\n");
      if (nl !== -1) {
        const line = this.#pending.slice(0, nl).trim();
        this.#pending = this.#pending.slice(nl + 1);
        if (!line) continue;
        const report = JSON.parse(line) as CrowdgenReport;
        if (report.event !== event) {
          throw new Error(`crowdgen said "${report.event}" where "${event}" was due`);
        }
        return report;
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const expired = new Promise<"expired">((resolve) => {
        timer = setTimeout(() => resolve("expired"), Math.max(0, deadline - performance.now()));
      });
      const read = await Promise.race([this.#reader.read(), expired]);
      clearTimeout(timer);
      if (read === "expired") {
        throw new Error(`crowdgen: no "${event}" within ${timeoutMs / 1000} s`);
      }
      if (read.done) throw new Error(`crowdgen exited before "${event}"`);
      this.#pending += read.value;
    }
  }

  /** Sends one line to it. */
  async send(line: string): Promise<void> {
    await this.#writer.write(encoder.encode(line + "\n"));
  }

  /** Closes its stdin, so it lets its connections go and exits; killed if it lingers. */
  async close(): Promise<void> {
    await this.#writer.close().catch(() => {});
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // gone already
      }
    }, 3000);
    await this.#child.status;
    clearTimeout(timer);
    await this.#reader.cancel().catch(() => {});
  }
}

/** CPU seconds (user + system) between two cpuTimes() readings. */
function cpuDelta(before: [number, number], after: [number, number]): number {
  return after[0] + after[1] - before[0] - before[1];
}

/**
 * Runs one scenario against one target with crowdgen playing the clients: this process starts
 * and stops the server, samples its RSS and CPU and the machine's, and judges the load as for
 * its own clients, from the CPU crowdgen reports (getrusage: all its threads, user + system).
 */
async function runWithCrowdgen(
  scenario: Scenario,
  target: TargetId,
  settings: Settings,
  result: Result,
): Promise<Result> {
  result.generator = "go";
  const spec = TARGETS[target];
  const server = await startServer(target, settings, scenario.irc ? ["--irc"] : []);
  const rss = new RssMonitor(server.pid);
  let gen: Crowdgen | undefined;
  let slow: net.Socket | null = null;
  try {
    const args = [
      "-control",
      "-addr",
      `127.0.0.1:${server.port}`,
      "-mode",
      spec.named ? "ours" : spec.prefix === "ncat" ? "ncat" : "raw",
      "-ready",
      spec.ready,
      "-clients",
      String(scenario.clients),
      "-size",
      String(settings.size),
      // ncat listens with a backlog of 10: one connect at a time (see connectClients()).
      "-concurrency",
      String(target === "ncat" ? 1 : settings.concurrency),
      "-connect-timeout",
      String(settings.connectTimeoutMs / 1000),
    ];
    if (spec.ready === "accepted") args.push("-server-pid", String(server.pid));
    if (result.ws > 0) {
      if (server.webPort === null) throw new Error(`${settings.server} has no --web option`);
      args.push("-ws", String(result.ws), "-ws-addr", `127.0.0.1:${server.webPort}`);
    }
    if (scenario.irc) {
      if (server.ircPort === null) throw new Error(`${settings.server} has no --irc option`);
      args.push("-irc", String(scenario.irc), "-irc-addr", `127.0.0.1:${server.ircPort}`);
    }
    if (scenario.idle) args.push("-idle", String(settings.duration));
    else {
      args.push("-senders", String(scenario.senders), "-rate", String(scenario.rate));
      args.push("-duration", String(settings.duration), "-warmup", String(settings.warmup));
    }
    gen = new Crowdgen(settings.crowdgenBin, args);
    await gen.next("started", 10_000);

    // Connect phase: the window is this process's, from "go" to "connected"; the generator's
    // CPU share is crowdgen's own, over its own (slightly shorter) window.
    const self0 = cpuTimes("self");
    const server0 = cpuTimes(server.pid);
    const machine0 = machineJiffies();
    const start = performance.now();
    await gen.send("go");
    const c = await gen.next("connected", settings.connectTimeoutMs + 30_000);
    const windowS = (performance.now() - start) / 1000;
    const self1 = cpuTimes("self");
    const server1 = cpuTimes(server.pid);
    const machine1 = machineJiffies();
    result.connectGeneratorCpuPct = c.connectCpuPct;
    result.connectServerCpuPct = 100 * cpuDelta(server0, server1) / windowS;
    result.connectMachineBusyPct = busyPct(machine0, machine1);
    result.connectOtherPct = otherPct(
      result.connectMachineBusyPct,
      softirqPct(machine0, machine1),
      c.connectCpuPct + 100 * cpuDelta(self0, self1) / windowS,
      result.connectServerCpuPct,
    );
    result.connectInvalid = overloaded(
      result.connectGeneratorCpuPct,
      result.connectMachineBusyPct,
      result.connectOtherPct,
    );
    if (result.connectInvalid && scenario.clients >= 1000) {
      result.notes.push(`connect time invalid: ${result.connectInvalid}`);
    }
    result.connected = c.inRoom;
    result.tcpMs = c.tcpMs;
    result.connectMs = c.connectMs;
    if (c.failed > 0) result.notes.push(`${c.failed} connects failed (${c.firstFailure})`);
    if (c.timedOut) {
      result.notes.push(
        `gave up after ${settings.connectTimeoutMs / 1000} s: ${c.connected}/` +
          `${scenario.clients} connected, ${c.inRoom} in the room`,
      );
      return result;
    }
    progress(settings, `  ${target}: ${c.inRoom} clients in ${c.connectMs.toFixed(0)} ms`);
    if (scenario.slowReader) {
      slow = openSlowClient(server.port);
      await whenConnected(slow);
      if (spec.named) slow.write(encoder.encode("slow\n"));
      await sleep(target === "ncat" ? 500 : 200);
    }
    await sleep(scenario.idle ? 1000 : 300); // let join notices settle
    result.serverRssConnectedMiB = rss.sample();

    // Message phase (or the idle hold).
    const trafficSelf0 = cpuTimes("self");
    const trafficServer0 = cpuTimes(server.pid);
    const trafficMachine0 = machineJiffies();
    const trafficStart = performance.now();
    await gen.send("go");
    const phaseMs = scenario.idle
      ? settings.duration * 1000
      : (settings.warmup + settings.duration) * 1000 + SEND_GRACE_MS + 30_000;
    const done = await gen.next("done", phaseMs + 30_000);
    const trafficWindowS = (performance.now() - trafficStart) / 1000;
    const trafficSelf1 = cpuTimes("self");
    const trafficServer1 = cpuTimes(server.pid);
    const trafficMachine1 = machineJiffies();
    const t = done.traffic;
    if (!t) throw new Error("crowdgen reported no message phase");
    if (scenario.idle) {
      result.serverRssEndMiB = rss.sample();
      result.notes.push(
        `RSS after ${settings.duration} s idle: ${fmtNum(result.serverRssEndMiB, 1, " MiB")}`,
      );
      return result;
    }
    const num = (v: number | null) => v ?? NaN;
    const wallS = t.trafficWallS;
    const serverSystem = trafficServer1[1] - trafficServer0[1];
    const serverCpu = cpuDelta(trafficServer0, trafficServer1);
    result.sent = t.sent;
    result.expected = t.expected;
    result.delivered = t.delivered;
    result.lost = t.lost;
    result.reordered = t.reordered;
    result.corrupted = t.corrupted;
    result.serverErrors = t.serverErrors;
    result.p50Ms = num(t.p50Ms);
    result.p99Ms = num(t.p99Ms);
    result.maxMs = num(t.maxMs);
    result.arrivalP50Ms = num(t.arrivalP50Ms);
    result.arrivalP99Ms = num(t.arrivalP99Ms);
    result.arrivalMaxMs = num(t.arrivalMaxMs);
    result.readDelayP50Ms = num(t.readDelayP50Ms);
    result.readDelayP99Ms = num(t.readDelayP99Ms);
    result.deliveriesPerSec = num(t.deliveriesPerSec);
    result.serverCpuS = serverCpu;
    result.serverCpuPct = 100 * serverCpu / wallS;
    result.serverSystemPct = 100 * serverSystem / wallS;
    result.serverCpuSPerMDeliveries = t.delivered > 0 ? serverCpu / t.delivered * 1e6 : NaN;
    result.generatorCpuPct = t.trafficCpuPct;
    result.generatorMachinePct = t.trafficCpuPct / CORES;
    result.generatorSystemPct = 100 * t.trafficCpuSysS / wallS;
    result.generatorLagP99Ms = num(t.lagP99Ms);
    result.generatorLagMaxMs = num(t.lagMaxMs);
    result.readsPerSec = t.reads / wallS;
    result.generatorRoundMs = num(t.roundMs);
    result.receivers = t.receivers?.map((r) => withNaN<ReceiverStats>(r));
    result.machineBusyPct = busyPct(trafficMachine0, trafficMachine1);
    result.machineSoftirqPct = softirqPct(trafficMachine0, trafficMachine1);
    result.otherPct = otherPct(
      result.machineBusyPct,
      result.machineSoftirqPct,
      t.trafficCpuPct + 100 * cpuDelta(trafficSelf0, trafficSelf1) / trafficWindowS,
      result.serverCpuPct,
    );
    result.invalid = overloaded(result.generatorCpuPct, result.machineBusyPct, result.otherPct);
    if (result.invalid) result.notes.push(`invalid: ${result.invalid}`);
    if (t.closedByServer > 0) {
      result.notes.push(`the server closed ${fmtInt(t.closedByServer)} clients' connections`);
    }
    if (t.unsent > 0) result.notes.push(`${t.unsent} messages never accepted by the server`);
    if (t.notices > 0) {
      result.notes.push(`${fmtInt(t.notices)} notice lines ("-- …") read during the phase`);
    }
    if (t.serverErrors > 0) {
      result.notes.push(`${t.serverErrors} error lines, e.g. "${t.firstError}"`);
    }
    if (t.historyLines > 0) {
      result.notes.push(`${fmtInt(t.historyLines)} replayed history lines read (not counted)`);
    }
    if (result.machineBusyPct > MACHINE_MAX_PCT) {
      result.notes.push(
        `softirq ${fmtNum(result.machineSoftirqPct, 0, "%")} of all cores (mostly loopback TCP)`,
      );
    }
    if (result.generatorLagMaxMs > 20) {
      result.notes.push(
        `generator fell behind its schedule by up to ${fmtMs(result.generatorLagMaxMs)}`,
      );
    }
    if (slow) result.notes.push(`slow client: ${slowClientState(slow, server.port)}`);
  } finally {
    rss.stop();
    result.serverPeakRssMiB = rss.peak;
    // The server goes first: the Go original spins once its clients leave.
    await server.stop();
    await gen?.close();
    slow?.destroy();
    await sleep(200);
  }
  return result;
}

// ---------------------------------------------------------------------------
// The replay scenario: a crowd joins a room with history while a sender goes on
// ---------------------------------------------------------------------------

/** What the replay scenario found of the replays and of the messages sent during the join. */
interface ReplayStats {
  /** Lines sent into the room before the join, and how long until the witness had them all. */
  fillLines: number;
  fillMs: number;
  joiners: number;
  /** Joiners whose replay ended and held as many lines as announced, and as expected. */
  fullReplays: number;
  /** Joiners in the room whose replay did not. */
  badReplays: number;
  firstBad: string;
  historyLines: number;
  /** Copies of the messages sent during the join: read live, found in a joiner's replay. */
  live: number;
  replayed: number;
  /**
   * Messages sent during the join before a joiner came in, but older than the lines its replay
   * holds: that joiner cannot have them, and they are not expected.
   */
  outOfWindow: number;
}

/** The replay scenario's join and drain, as crowdgen reports them (node:net fills the same). */
type ReplayTraffic = CrowdgenTraffic & { replay: ReplayStats };

/** Who plays the replay scenario's clients: node:net in this process, or crowdgen. */
interface ReplayDriver {
  /** Connects the sender and a witness and fills the history; why that failed, or null. */
  prefill(): Promise<string | null>;
  /** Connects the joiners while the sender sends; resolves once all are in with their replay. */
  join(): Promise<CrowdgenReport>;
  /** Stops the sender and waits until every copy arrived (or nothing moves for 2 s). */
  drain(): Promise<ReplayTraffic>;
  /** Lets the connections go. */
  close(): Promise<void>;
}

/** Fills in sender, sequence number, send time and checksum of the `size`-byte line at `off`. */
function stampLine(
  buf: Uint8Array,
  off: number,
  size: number,
  sender: number,
  seq: number,
  ts: number,
): void {
  putDigits(buf, off + SENDER_AT, SENDER_WIDTH, sender);
  putDigits(buf, off + SEQ_AT, SEQ_WIDTH, seq);
  putDigits(buf, off + TS_AT, TS_WIDTH, ts);
  putDigits(buf, off + size - 1 - CHECK_WIDTH, CHECK_WIDTH, checksum(sender, seq, ts));
}

/**
 * The replay scenario's sender, open loop: message k (sequence number `first + k`) is due
 * `k × intervalMs` after the start; it stops once `joined()` and at least `min` went out.
 * Resolves with the number sent.
 */
async function sendDuringJoin(
  socket: net.Socket,
  template: Uint8Array,
  first: number,
  intervalMs: number,
  min: number,
  joined: () => boolean,
): Promise<number> {
  const t0 = performance.now();
  for (let k = 0;; k++) {
    if (k >= min && joined()) return k;
    const wait = t0 + k * intervalMs - performance.now();
    if (wait > 0) await sleep(wait);
    if ((k >= min && joined()) || socket.destroyed) return k;
    const line = template.slice();
    stampLine(line, 0, line.length, 0, first + k, Math.round(performance.now() * 1000));
    socket.write(line);
  }
}

/**
 * Whether a joiner's replay is whole: it ended, and held the lines its header announced, as
 * many as expected; else what it got.
 */
function replayFault(c: Client, lines: number): string | null {
  if (c.historyDone && c.historyWant === lines && c.historyGot === lines) return null;
  return `c${c.index}: ${c.historyWant < 0 ? "no header" : `header said ${c.historyWant}`}, ` +
    `${c.historyGot} lines${c.historyDone ? "" : ", no end"}`;
}

/**
 * The replay scenario on node:net clients in this process: client 0 sends, client 1 witnesses
 * the fill, clients 2… join.
 */
function netReplay(
  scenario: Scenario,
  target: TargetId,
  settings: Settings,
  server: RunningServer,
  lines: number,
): ReplayDriver {
  const fill = scenario.fill!;
  const m = new Meter(TARGETS[target], scenario.clients + 2, 1);
  m.payloadSize = settings.size;
  const template = lineTemplate(settings.size);
  const listener = { pid: server.pid, port: server.port, files0: openFiles(server.pid) };
  let pre: Client[] = [];
  let joiners: Client[] = [];
  let fillMs = NaN;
  let joined = false;
  let sending: Promise<number> = Promise.resolve(0);
  let start = 0;
  let cpu0: [number, number] = [0, 0];
  let closed0 = 0;
  /** Copies of the join's messages each receiver has: live ones once, plus replayed ones. */
  const reached = () => m.delivered - m.reordered + m.replayedLive;
  return {
    async prefill() {
      const c = await connectClients(m, listener, 2, settings);
      pre = c.clients;
      if (c.timedOut) {
        return `the sender and the witness did not get in (${c.firstFailure || "timed out"})`;
      }
      const t0 = performance.now();
      const buf = new Uint8Array(fill * template.length);
      const ts = Math.round(t0 * 1000);
      for (let k = 0; k < fill; k++) {
        buf.set(template, k * template.length);
        stampLine(buf, k * template.length, template.length, 0, k, ts);
      }
      pre[0].socket.write(buf);
      while (m.delivered < fill && performance.now() - t0 < 30_000) await sleep(5);
      if (m.delivered < fill) return `the witness got ${m.delivered} of the ${fill} lines`;
      fillMs = performance.now() - t0;
      return null;
    },
    async join() {
      m.reset();
      m.timedFromUs = 0;
      m.liveFromSeq = fill;
      closed0 = m.closed;
      cpu0 = cpuTimes("self");
      start = performance.now();
      sending = sendDuringJoin(
        pre[0].socket,
        template,
        fill,
        1000 / scenario.rate,
        REPLAY_MIN_MESSAGES,
        () => joined,
      );
      const c = await connectClients(m, listener, scenario.clients, settings, 2, true);
      joined = true;
      joiners = c.clients;
      const cpu1 = cpuTimes("self");
      return {
        event: "joined",
        connected: c.clients.length,
        inRoom: m.ready - 2,
        failed: c.failed,
        firstFailure: c.firstFailure,
        timedOut: c.timedOut,
        tcpMs: c.tcpMs,
        connectMs: c.readyMs,
        connectCpuPct: 100 * cpuDelta(cpu0, cpu1) / (c.readyMs / 1000),
      };
    },
    async drain() {
      const sent = await sending;
      // Each joiner has every message, live or in its replay, but those its replay is too
      // short to hold: it came in after more of them than the replay's lines.
      const expected = () => {
        let outOfWindow = 0;
        for (const c of joiners) {
          const before = c.replayHigh - fill + 1;
          if (c.historyDone && before > c.historyWant) outOfWindow += before - c.historyWant;
        }
        return [sent * (joiners.length + 1) - outOfWindow, outOfWindow];
      };
      const drainStart = performance.now();
      let lastProgress = drainStart;
      let lastCount = -1;
      while (reached() < expected()[0]) {
        const now = performance.now();
        if (reached() !== lastCount) {
          lastCount = reached();
          lastProgress = now;
        }
        if (now - lastProgress > 2000 || now - drainStart > 30_000) break;
        await sleep(20);
      }
      const wallS = (performance.now() - start) / 1000;
      const cpu1 = cpuTimes("self");
      const [total, outOfWindow] = expected();
      let full = 0;
      let firstBad = "";
      for (const c of joiners) {
        const fault = replayFault(c, lines);
        if (fault === null) full++;
        else firstBad ||= fault;
      }
      const ms = (us: number) => Number.isFinite(us) ? us / 1000 : null;
      const cpu = cpuDelta(cpu0, cpu1);
      return {
        sent,
        expected: total,
        delivered: reached(),
        lost: total - reached(),
        reordered: m.reordered,
        corrupted: m.corrupted,
        serverErrors: m.errors,
        firstError: m.firstError,
        unsent: 0,
        closedByServer: m.closed - closed0,
        p50Ms: ms(m.latency.quantile(0.5)),
        p99Ms: ms(m.latency.quantile(0.99)),
        maxMs: m.latency.total > 0 ? m.latency.max / 1000 : null,
        arrivalP50Ms: null,
        arrivalP99Ms: null,
        arrivalMaxMs: null,
        readDelayP50Ms: null,
        readDelayP99Ms: null,
        lagP99Ms: null,
        lagMaxMs: null,
        reads: m.reads,
        notices: 0,
        historyLines: m.historyLines,
        deliveriesPerSec: null,
        trafficCpuSysS: cpu1[1] - cpu0[1],
        trafficWallS: wallS,
        trafficCpuPct: 100 * cpu / wallS,
        roundMs: m.reads > 0 ? 1000 * cpu / m.reads * joiners.length : null,
        replay: {
          fillLines: fill,
          fillMs,
          joiners: scenario.clients,
          fullReplays: full,
          badReplays: joiners.length - full,
          firstBad,
          historyLines: m.historyLines,
          live: m.delivered,
          replayed: m.replayedLive,
          outOfWindow,
        },
      };
    },
    close() {
      for (const c of [...pre, ...joiners]) c.socket.destroy();
      return Promise.resolve();
    },
  };
}

/** The replay scenario played by crowdgen (-replay-fill): the same steps, over its stdin. */
function crowdgenReplay(
  scenario: Scenario,
  settings: Settings,
  server: RunningServer,
  lines: number,
): ReplayDriver {
  const timeout = settings.connectTimeoutMs;
  const gen = new Crowdgen(settings.crowdgenBin, [
    "-control",
    "-addr",
    `127.0.0.1:${server.port}`,
    "-mode",
    "ours",
    "-ready",
    "hello",
    "-clients",
    String(scenario.clients),
    "-senders",
    "1",
    "-rate",
    String(scenario.rate),
    "-size",
    String(settings.size),
    "-concurrency",
    String(settings.concurrency),
    "-connect-timeout",
    String(timeout / 1000),
    "-replay-fill",
    String(scenario.fill),
    "-replay-lines",
    String(lines),
    "-replay-min",
    String(REPLAY_MIN_MESSAGES),
  ]);
  return {
    async prefill() {
      await gen.next("started", 10_000);
      await gen.send("go");
      const c = await gen.next("connected", 2 * timeout + 30_000);
      return c.timedOut
        ? `the sender and the witness did not get in, or the witness did not get the fill (${
          c.firstFailure || "timed out"
        })`
        : null;
    },
    async join() {
      await gen.send("go");
      return await gen.next("joined", timeout + 30_000);
    },
    async drain() {
      const done = await gen.next("done", 60_000);
      const t = done.traffic as ReplayTraffic | undefined;
      if (!t?.replay) throw new Error("crowdgen reported no replay");
      return t;
    },
    close: () => gen.close(),
  };
}

/**
 * Runs the replay scenario against ours (or ours-db), started with --replay: fill the room's
 * history, then let the crowd join at once while one message after another goes out. This
 * process samples the server's CPU and the machine's over the join, and over join and drain.
 */
async function runReplay(
  scenario: Scenario,
  target: TargetId,
  settings: Settings,
  generator: GeneratorKind,
  result: Result,
): Promise<Result> {
  result.generator = generator;
  result.durationS = 0;
  const lines = Math.min(settings.replay, scenario.fill!);
  const server = await startServer(target, settings, ["--replay", String(settings.replay)]);
  const rss = new RssMonitor(server.pid);
  let driver: ReplayDriver | undefined;
  try {
    driver = generator === "go"
      ? crowdgenReplay(scenario, settings, server, lines)
      : netReplay(scenario, target, settings, server, lines);
    const failed = await driver.prefill();
    if (failed) {
      result.notes.push(failed);
      return result;
    }
    await sleep(300); // let the fill's writes to a --db file settle
    const self0 = cpuTimes("self");
    const server0 = cpuTimes(server.pid);
    const machine0 = machineJiffies();
    const start = performance.now();
    const j = await driver.join();
    const joinS = (performance.now() - start) / 1000;
    const self1 = cpuTimes("self");
    const server1 = cpuTimes(server.pid);
    const machine1 = machineJiffies();
    result.serverRssConnectedMiB = rss.sample();
    const t = await driver.drain();
    const wallS = (performance.now() - start) / 1000;
    const self2 = cpuTimes("self");
    const server2 = cpuTimes(server.pid);
    const machine2 = machineJiffies();
    const r = t.replay;
    // This process's CPU is the generator's with node:net, and besides it with crowdgen.
    const besides = (genPct: number, selfPct: number) =>
      generator === "go" ? genPct + selfPct : selfPct;

    result.connectGeneratorCpuPct = j.connectCpuPct;
    result.connectServerCpuPct = 100 * cpuDelta(server0, server1) / joinS;
    result.connectMachineBusyPct = busyPct(machine0, machine1);
    result.connectOtherPct = otherPct(
      result.connectMachineBusyPct,
      softirqPct(machine0, machine1),
      besides(j.connectCpuPct, 100 * cpuDelta(self0, self1) / joinS),
      result.connectServerCpuPct,
    );
    result.connectInvalid = overloaded(
      result.connectGeneratorCpuPct,
      result.connectMachineBusyPct,
      result.connectOtherPct,
    );
    if (result.connectInvalid) result.notes.push(`join time invalid: ${result.connectInvalid}`);
    result.connected = r.fullReplays;
    result.tcpMs = j.tcpMs;
    result.connectMs = j.connectMs;
    if (j.failed > 0) result.notes.push(`${j.failed} connects failed (${j.firstFailure})`);
    if (j.timedOut) {
      result.notes.push(
        `gave up after ${settings.connectTimeoutMs / 1000} s: ${j.connected}/` +
          `${scenario.clients} connected, ${j.inRoom} in with their replay`,
      );
    }

    const num = (v: number | null) => v ?? NaN;
    const serverCpu = cpuDelta(server0, server2);
    result.sent = t.sent;
    result.expected = t.expected;
    result.delivered = t.delivered;
    result.lost = t.lost;
    result.reordered = t.reordered;
    result.corrupted = t.corrupted;
    result.serverErrors = t.serverErrors;
    result.p50Ms = num(t.p50Ms);
    result.p99Ms = num(t.p99Ms);
    result.maxMs = num(t.maxMs);
    result.arrivalP50Ms = num(t.arrivalP50Ms);
    result.arrivalP99Ms = num(t.arrivalP99Ms);
    result.arrivalMaxMs = num(t.arrivalMaxMs);
    result.readDelayP50Ms = num(t.readDelayP50Ms);
    result.readDelayP99Ms = num(t.readDelayP99Ms);
    result.serverCpuS = serverCpu;
    result.serverCpuPct = 100 * serverCpu / wallS;
    result.serverSystemPct = 100 * (server2[1] - server0[1]) / wallS;
    result.generatorCpuPct = t.trafficCpuPct;
    result.generatorMachinePct = t.trafficCpuPct / CORES;
    result.generatorSystemPct = 100 * t.trafficCpuSysS / t.trafficWallS;
    result.readsPerSec = t.reads / t.trafficWallS;
    result.generatorRoundMs = num(t.roundMs);
    result.machineBusyPct = busyPct(machine0, machine2);
    result.machineSoftirqPct = softirqPct(machine0, machine2);
    result.otherPct = otherPct(
      result.machineBusyPct,
      result.machineSoftirqPct,
      besides(t.trafficCpuPct, 100 * cpuDelta(self0, self2) / wallS),
      result.serverCpuPct,
    );
    result.invalid = overloaded(result.generatorCpuPct, result.machineBusyPct, result.otherPct);
    if (result.invalid) result.notes.push(`invalid: ${result.invalid}`);
    result.notes.push(
      `history: ${fmtInt(r.fillLines)} lines, relayed to the witness in ${fmtMs(r.fillMs)}`,
      `${fmtInt(r.fullReplays)}/${fmtInt(r.joiners)} joiners replayed all ${lines} lines ` +
        `(${fmtInt(r.historyLines)} history lines read); server CPU per join ${
          fmtNum(1e6 * cpuDelta(server0, server1) / Math.max(j.inRoom, 1), 0, " µs")
        }`,
      `${t.sent} messages sent during the join: ${fmtInt(r.live)} copies live, ` +
        `${fmtInt(r.replayed)} in replays` +
        (r.outOfWindow > 0 ? `, ${fmtInt(r.outOfWindow)} older than a late joiner's replay` : ""),
    );
    if (r.badReplays > 0) {
      result.notes.push(`${fmtInt(r.badReplays)} replays not whole, e.g. ${r.firstBad}`);
    }
    if (t.reordered > 0) result.notes.push(`${t.reordered} copies out of order or twice`);
    if (t.closedByServer > 0) {
      result.notes.push(`the server closed ${fmtInt(t.closedByServer)} clients' connections`);
    }
    if (t.serverErrors > 0) {
      result.notes.push(`${t.serverErrors} error lines, e.g. "${t.firstError}"`);
    }
  } finally {
    rss.stop();
    result.serverPeakRssMiB = rss.peak;
    await server.stop();
    await driver?.close();
    await sleep(200);
  }
  return result;
}

/** Of repeated runs, the one with the median p99, noting what the others measured. */
function medianRun(runs: Result[]): Result {
  const measured = runs.filter((r) => !r.skipped);
  if (runs.length === 1 || measured.length === 0) return runs[0];
  const key = (r: Result) => Number.isFinite(r.p99Ms) ? r.p99Ms : r.serverPeakRssMiB;
  const sorted = [...measured].sort((a, b) => (key(a) || 0) - (key(b) || 0));
  const median = { ...sorted[Math.floor((sorted.length - 1) / 2)] };
  median.notes = [...median.notes];
  if (measured.some((r) => Number.isFinite(r.p99Ms))) {
    median.notes.push(
      `p99 of ${measured.length} runs: ${measured.map((r) => fmtMs(r.p99Ms)).join(", ")}`,
    );
  } else {
    median.notes.push(
      `peak RSS of ${measured.length} runs: ${
        measured.map((r) => fmtNum(r.serverPeakRssMiB, 1)).join(", ")
      } MiB`,
    );
  }
  const worst = measured.reduce((a, b) => (b.lost + b.reordered + b.corrupted >
      a.lost + a.reordered + a.corrupted
    ? b
    : a)
  );
  if (
    worst !== sorted[Math.floor((sorted.length - 1) / 2)] &&
    worst.lost + worst.reordered + worst.corrupted > 0
  ) {
    median.notes.push(
      `worst run: loss ${
        fmtLoss(worst)
      }, ${worst.reordered} reordered, ${worst.corrupted} corrupted`,
    );
  }
  return median;
}

/** Resolves after `ms` milliseconds. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Prints a progress line on stderr when asked to. */
function progress(settings: Settings, line: string): void {
  if (settings.verbose) console.error(line);
}

// ---------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------

/** Milliseconds, with precision that suits the size. */
function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return "–";
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms.toFixed(1)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

/** A whole number with thousands separators, or a dash. */
function fmtInt(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "–";
}

/** A number with `digits` decimals, or a dash. */
function fmtNum(n: number, digits: number, unit = ""): string {
  return Number.isFinite(n) ? `${n.toFixed(digits)}${unit}` : "–";
}

/** Loss as a count and a share of what was expected. */
function fmtLoss(r: { lost: number; expected: number }): string {
  if (r.expected === 0) return "–";
  if (r.lost === 0) return "0";
  return `${fmtInt(r.lost)} (${(100 * r.lost / r.expected).toPrecision(2)}%)`;
}

/** The description of a scenario that heads its table. */
function scenarioHeading(s: Scenario, settings: Settings): string {
  const { duration, warmup } = settings;
  if (s.idle && s.ws) {
    return `### ${s.name}: ${fmtInt(s.clients)} connected clients, no traffic: ${
      s.ws === s.clients ? "all" : fmtInt(s.ws)
    } on our WebSocket${s.tcpRow ? `; then all on TCP (the row "TCP")` : ""}`;
  }
  if (s.idle) return `### ${s.name}: ${fmtInt(s.clients)} connected clients, no traffic`;
  if (s.fill) {
    return `### ${s.name}: ${fmtInt(s.clients)} clients join at once a room with ${
      fmtInt(s.fill)
    } lines of history (each replayed the last ${Math.min(settings.replay, s.fill)}), ` +
      `while 1 sender sends ${fmtInt(s.rate)}/s (at least ${REPLAY_MIN_MESSAGES}); ` +
      `--duration does not apply`;
  }
  const extra = s.slowReader
    ? " + 1 client that never reads"
    : s.ws
    ? ` (${fmtInt(s.clients - s.ws)} on TCP, ${fmtInt(s.ws)} on our WebSocket)`
    : s.irc
    ? ` (${fmtInt(s.clients - s.irc)} on TCP, ${fmtInt(s.irc)} on IRC)`
    : "";
  const wsSenders = s.ws ? wsAmong(s.senders, s.ws, s.clients) : 0;
  const split = s.ws ? ` (${s.senders - wsSenders} on TCP, ${wsSenders} on WebSocket)` : "";
  const fanout = (s.clients - 1) * s.senders * s.rate;
  return `### ${s.name}: ${fmtInt(s.clients)} clients${extra}, ${s.senders} sender${
    s.senders === 1 ? "" : "s"
  }${split} × ${fmtInt(s.rate)}/s for ${warmup ? `${warmup} s warm-up + ` : ""}${duration} s ` +
    `(offered ${fmtInt(fanout)} deliveries/s)`;
}

/**
 * The generator's CPU (of one core, and of the machine), the delay its unread backlog adds (if
 * sampled), and the machine's load.
 */
function generatorCell(r: Result): string {
  const cpu = `${r.generator === "go" ? "crowdgen " : ""}${
    fmtNum(r.generatorCpuPct, 0, "%")
  } of a core (${fmtNum(r.generatorMachinePct, 0, "%")} of machine)`;
  const delay = Number.isFinite(r.readDelayP99Ms)
    ? `, reads late by p50 ${fmtMs(r.readDelayP50Ms)} / p99 ${fmtMs(r.readDelayP99Ms)}`
    : Number.isFinite(r.generatorDelayMs)
    ? `, +${fmtMs(r.generatorDelayMs)}`
    : "";
  return `${cpu}${delay}; cores ${fmtNum(r.machineBusyPct, 0, "%")} busy (others ${
    fmtNum(r.otherPct, 0, "%")
  })`;
}

/** A markdown table of one scenario's results, one row per target. */
function scenarioTable(results: Result[]): string {
  const header = [
    "target",
    "in room",
    "connect all",
    "deliveries/s",
    "loss",
    "reordered",
    "corrupted",
    "p50",
    "p99",
    "max",
    "RSS connected",
    "RSS peak",
    "server CPU",
    "CPU s / M deliv.",
    "generator CPU; machine",
    "notes",
  ];
  const transports = results.some((r) => r.ws > 0);
  const rows = results.flatMap((r) => {
    const label = rowLabel(r, transports);
    if (r.skipped) return [[label, ...Array(header.length - 2).fill("–"), r.skipped]];
    return [[
      label,
      `${fmtInt(r.connected)}/${fmtInt(r.clients)}`,
      r.clients >= 1000
        ? `${fmtMs(r.connectMs)} (CPU: server ${fmtNum(r.connectServerCpuPct, 0, "%")}, generator ${
          fmtNum(r.connectGeneratorCpuPct, 0, "%")
        }; cores ${fmtNum(r.connectMachineBusyPct, 0, "%")} busy, others ${
          fmtNum(r.connectOtherPct, 0, "%")
        })`
        : fmtMs(r.connectMs),
      fmtInt(r.deliveriesPerSec),
      fmtLoss(r),
      r.expected ? fmtInt(r.reordered) : "–",
      r.expected ? fmtInt(r.corrupted) : "–",
      fmtMs(r.p50Ms),
      Number.isFinite(r.arrivalP99Ms)
        ? `${fmtMs(r.p99Ms)} (to arrival ${fmtMs(r.arrivalP99Ms)})`
        : fmtMs(r.p99Ms),
      fmtMs(r.maxMs),
      fmtNum(r.serverRssConnectedMiB, 1, " MiB"),
      fmtNum(r.serverPeakRssMiB, 1, " MiB"),
      r.expected ? `${fmtNum(r.serverCpuS, 2, " s")} (${fmtNum(r.serverCpuPct, 0, "%")})` : "–",
      fmtNum(r.serverCpuSPerMDeliveries, 2),
      r.expected ? generatorCell(r) : "–",
      r.notes.join("; "),
    ], ...(r.receivers ?? []).map((rs) => receiverRow(rs, header.length))];
  });
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

/** A row's target, and its clients' transport where the table has WebSocket clients. */
function rowLabel(r: Result, transports: boolean): string {
  const label = TARGETS[r.target].label;
  if (!transports) return label;
  if (r.ws === 0) return `${label}, TCP`;
  if (r.ws === r.clients) return `${label}, WebSocket`;
  return `${label}, ${fmtInt(r.clients - r.ws)} TCP + ${fmtInt(r.ws)} WebSocket`;
}

/** A sub-row of a run with both transports: what the receivers on one of them got. */
function receiverRow(rs: ReceiverStats, columns: number): string[] {
  const cells = [
    `↳ ${rs.transport === "ws" ? "WebSocket" : rs.transport === "irc" ? "IRC" : "TCP"} receivers`,
    fmtInt(rs.receivers),
    "–",
    "–",
    fmtLoss(rs),
    fmtInt(rs.reordered),
    fmtInt(rs.corrupted),
    fmtMs(rs.p50Ms),
    Number.isFinite(rs.arrivalP99Ms)
      ? `${fmtMs(rs.p99Ms)} (to arrival ${fmtMs(rs.arrivalP99Ms)})`
      : fmtMs(rs.p99Ms),
    fmtMs(rs.maxMs),
  ];
  while (cells.length < columns - 2) cells.push("–");
  cells.push(
    Number.isFinite(rs.readDelayP99Ms)
      ? `reads late by p50 ${fmtMs(rs.readDelayP50Ms)} / p99 ${fmtMs(rs.readDelayP99Ms)}`
      : "–",
    rs.serverErrors > 0 ? `${rs.serverErrors} error lines, e.g. "${rs.firstError}"` : "",
  );
  return cells;
}

/** A goal's verdict: it holds, it does not, or this run cannot tell. */
type Verdict = "met" | "missed" | "invalid";

/** One goal: what it asks, what was measured, and whether it holds. */
interface Goal {
  goal: string;
  measured: string;
  verdict: Verdict;
  /** Why the verdict is "invalid". */
  why?: string;
  /** Why a met or missed verdict stands although a run it rests on was loaded. */
  note?: string;
}

/** Which part of a run a goal rests on: the message phase, the connect phase, or neither. */
type Phase = "traffic" | "connect" | "memory";

/**
 * Checks the issue's goals against whatever results this run has. A goal is judged only on
 * runs that measured the server: if one of the runs it compares was loaded past the limits
 * (see overloaded()) in the phase the goal rests on, if a run it compares with is missing or
 * incomplete, or if two p99s are closer than the generator's read round, it is invalid.
 */
function evaluateGoals(results: Result[]): Goal[] {
  const find = (scenario: string, target: TargetId) =>
    results.find((r) => r.scenario === scenario && r.target === target);
  const complete = (r: Result) => !r.skipped && r.connected === r.clients;
  const goals: Goal[] = [];
  const judge = (
    goal: string,
    measured: string,
    phase: Phase,
    ours: Result,
    refs: [string, Result | undefined][],
    ok: () => boolean,
    undecided?: () => string | undefined,
    bound = false,
  ) => {
    const push = (verdict: Verdict, why?: string, note?: string) =>
      goals.push({ goal, measured, verdict, why, note });
    const loadOf = (r: Result) =>
      phase === "traffic" ? r.invalid : phase === "connect" ? r.connectInvalid : undefined;
    if (ours.skipped) return push("invalid", `ours ${ours.skipped}`);
    if (!complete(ours)) {
      // Ours could not take every client: a miss, unless the generator was the bottleneck.
      const load = ours.connectInvalid;
      return load ? push("invalid", `ours: ${load}`) : push("missed");
    }
    const why: string[] = [];
    for (const [id, r] of refs) {
      if (!r) why.push(`no ${id} run (add ${id} to --targets)`);
      else if (r.skipped) why.push(`${id} ${r.skipped}`);
      else if (!complete(r)) {
        why.push(`${id} connected ${fmtInt(r.connected)}/${fmtInt(r.clients)}`);
      }
    }
    if (why.length > 0) return push("invalid", why.join("; "));
    const loaded = [ours, ...refs.map(([, r]) => r!)].filter((r) => loadOf(r) !== undefined);
    const close = undecided?.();
    if (loaded.length > 0) {
      const loads = loaded.map((r) =>
        `${r.scenario === ours.scenario ? r.target : `${r.scenario} ${r.target}`}: ${loadOf(r)}`
      ).join("; ");
      // A loaded run (its generator or the machine too busy) measures a time that is too
      // long, never too short: it is an upper bound. If only ours was loaded and still meets
      // the goal, or only the reference was and ours still misses it, that stands.
      if (bound && !close) {
        const oursLoaded = loaded.includes(ours);
        const holds = ok();
        if (loaded.length === 1 && holds === oursLoaded) {
          return push(
            holds ? "met" : "missed",
            undefined,
            `${holds ? "met even though ours" : "missed even though the reference"} was ` +
              `loaded, which only makes its figure larger (${loads})`,
          );
        }
      }
      return push("invalid", loads);
    }
    if (close) return push("invalid", close);
    push(ok() ? "met" : "missed");
  };
  // The generator adds up to one read round (generatorRoundMs) to a latency: two p99s closer
  // than that are told apart by the generator, not by the servers.
  const p99Gap = (ours: Result, go: Result | undefined) => () => {
    const round = Math.max(ours.generatorRoundMs, go!.generatorRoundMs);
    const gap = Math.abs(ours.p99Ms - go!.p99Ms);
    return gap <= round
      ? `p99s ${fmtMs(gap)} apart, within the generator's own read round of ${fmtMs(round)}`
      : undefined;
  };

  // With crowdgen, both runs have the latency to each message's arrival in the receiver's
  // socket (the kernel's receive timestamp): the server's part, without the time the generator
  // took to get round to reading it, so no read round stands between the two; those are
  // compared. Otherwise the latencies to the read are, and the read round applies.
  const judgeP99 = (goal: string, ours: Result, go: Result | undefined) => {
    const arrival = Number.isFinite(ours.arrivalP99Ms) && Number.isFinite(go?.arrivalP99Ms);
    judge(
      goal,
      arrival
        ? `to arrival: ours ${fmtMs(ours.arrivalP99Ms)}, Go ${fmtMs(go!.arrivalP99Ms)} ` +
          `(to read: ours ${fmtMs(ours.p99Ms)}, Go ${fmtMs(go!.p99Ms)})`
        : `ours ${fmtMs(ours.p99Ms)}, Go ${fmtMs(go?.p99Ms ?? NaN)}`,
      "traffic",
      ours,
      [["go", go]],
      () =>
        arrival
          ? ours.arrivalP99Ms <= go!.arrivalP99Ms
          : ours.p99Ms <= go!.p99Ms || !Number.isFinite(go!.p99Ms),
      arrival ? undefined : p99Gap(ours, go),
      true,
    );
  };

  for (const name of ["room", "saturation-1600", "saturation-3200", "slow"]) {
    const ours = find(name, "ours");
    if (!ours) continue;
    const go = find(name, "go");
    judge(`${name}: zero loss`, fmtLoss(ours), "traffic", ours, [], () => ours.lost === 0);
    judge(
      `${name}: zero reordering`,
      fmtInt(ours.reordered),
      "traffic",
      ours,
      [],
      () => ours.reordered === 0,
    );
    judgeP99(`${name}: p99 ≤ Go's`, ours, go);
  }

  const crowd = find("crowd", "ours");
  if (crowd) {
    const go = find("crowd", "go");
    judgeP99("crowd: fan-out p99 ≤ Go's", crowd, go);
    judge(
      "crowd: server CPU per delivery ≤ Go's",
      `ours ${fmtNum(crowd.serverCpuSPerMDeliveries, 2)}, Go ${
        fmtNum(go?.serverCpuSPerMDeliveries ?? NaN, 2)
      } CPU s per million deliveries`,
      "traffic",
      crowd,
      [["go", go]],
      () => crowd.serverCpuSPerMDeliveries <= go!.serverCpuSPerMDeliveries,
    );
    judge(
      "crowd: time to connect all ≤ 1.5 × Go's",
      `ours ${fmtMs(crowd.connectMs)}, Go ${fmtMs(go?.connectMs ?? NaN)} (limit ${
        fmtMs(1.5 * (go?.connectMs ?? NaN))
      })`,
      "connect",
      crowd,
      [["go", go]],
      () => crowd.connectMs <= 1.5 * go!.connectMs,
      undefined,
      true,
    );
  }

  // With --db, against ours without it in the same run.
  const sat = find("saturation-1600", "ours");
  const satDb = find("saturation-1600", "ours-db");
  if (satDb) {
    const goal = "saturation-1600 with --db:";
    judge(`${goal} zero loss`, fmtLoss(satDb), "traffic", satDb, [], () => satDb.lost === 0);
    const arrival = Number.isFinite(satDb.arrivalP99Ms) && Number.isFinite(sat?.arrivalP99Ms);
    const p99 = (r: Result) => arrival ? r.arrivalP99Ms : r.p99Ms;
    const limit = 1.3 * (sat ? p99(sat) : NaN);
    judge(
      `${goal} p99 ≤ 1.3 × ours without --db`,
      `${arrival ? "to arrival: " : ""}ours-db ${fmtMs(p99(satDb))}, ours ${
        fmtMs(sat ? p99(sat) : NaN)
      } (limit ${fmtMs(limit)})`,
      "traffic",
      satDb,
      [["ours", sat]],
      () => p99(satDb) <= limit,
      () => {
        if (arrival) return undefined;
        const round = Math.max(satDb.generatorRoundMs, sat!.generatorRoundMs);
        const gap = Math.abs(p99(satDb) - limit);
        return gap <= round
          ? `p99 ${fmtMs(gap)} from the limit, within the generator's own read round of ${
            fmtMs(round)
          }`
          : undefined;
      },
      true,
    );
    const cpuLimit = 1.15 * (sat?.serverCpuSPerMDeliveries ?? NaN);
    judge(
      `${goal} server CPU per delivery ≤ 1.15 × ours without --db`,
      `ours-db ${fmtNum(satDb.serverCpuSPerMDeliveries, 2)}, ours ${
        fmtNum(sat?.serverCpuSPerMDeliveries ?? NaN, 2)
      } (limit ${fmtNum(cpuLimit, 2)}) CPU s per million deliveries`,
      "traffic",
      satDb,
      [["ours", sat]],
      () => satDb.serverCpuSPerMDeliveries <= cpuLimit,
    );
  }

  // A crowd joining a room with history: whole replays, and live messages no slower than
  // the crowd scenario's (of this run).
  for (const id of ["ours", "ours-db"] as const) {
    const replay = find("replay", id);
    if (!replay) continue;
    const goal = `replay${id === "ours" ? "" : ` (${id})`}:`;
    judge(
      `${goal} every joiner gets its replay`,
      `${fmtInt(replay.connected)}/${fmtInt(replay.clients)} joiners got it whole, all in after ${
        fmtMs(replay.connectMs)
      }`,
      "memory",
      replay,
      [],
      () => replay.connected === replay.clients,
    );
    const crowd = find("crowd", id);
    const arrival = Number.isFinite(replay.arrivalP99Ms) && Number.isFinite(crowd?.arrivalP99Ms);
    const p99 = (r: Result) => arrival ? r.arrivalP99Ms : r.p99Ms;
    const label = `${goal} a message sent meanwhile reaches all within the crowd scenario's p99`;
    const measured = `loss ${fmtLoss(replay)}; p99 ${arrival ? "to arrival " : ""}${
      fmtMs(p99(replay))
    }${
      Number.isFinite(replay.arrivalP99Ms) && !arrival
        ? ` (to arrival ${fmtMs(replay.arrivalP99Ms)})`
        : ""
    }, crowd ${crowd ? fmtMs(p99(crowd)) : "not in this run"}`;
    if (!crowd) {
      goals.push(
        replay.lost > 0 && replay.connected === replay.clients && !replay.invalid
          ? { goal: label, measured, verdict: "missed" }
          : {
            goal: label,
            measured,
            verdict: "invalid",
            why: "no crowd run to compare with (add crowd to --scenario)",
          },
      );
      continue;
    }
    judge(
      label,
      measured,
      "traffic",
      replay,
      [["crowd", crowd]],
      () => replay.lost === 0 && p99(replay) <= p99(crowd),
      arrival ? undefined : p99Gap(replay, crowd),
      true,
    );
  }

  const idle = find("idle", "ours");
  if (idle) {
    const relay = find("idle", "relay");
    const ratio = idle.serverPeakRssMiB / (relay?.serverPeakRssMiB ?? NaN);
    judge(
      "idle: peak RSS ≤ 1.25 × relay and ≤ 120 MiB",
      `ours ${fmtNum(idle.serverPeakRssMiB, 1, " MiB")}, relay ${
        fmtNum(relay?.serverPeakRssMiB ?? NaN, 1, " MiB")
      } (${fmtNum(ratio, 2, "×")}), ${fmtInt(idle.clients)} clients`,
      "memory",
      idle,
      [["relay", relay]],
      () => ratio <= 1.25 && idle.serverPeakRssMiB <= 120,
    );
  }

  // TCP clients in one room with WebSocket ones (issue 11) or IRC ones (issue 14): each
  // transport's receivers counted apart, the other's p99 against the TCP ones' of the same run.
  const judgeMixed = (scenario: string, transport: string, shown: string, factor: number) => {
    const mixed = find(scenario, "ours");
    if (!mixed) return;
    const tcp = mixed.receivers?.find((r) => r.transport === "tcp");
    const other = mixed.receivers?.find((r) => r.transport === transport);
    const each = (f: (r: ReceiverStats) => string) =>
      tcp && other ? ` (TCP receivers ${f(tcp)}, ${shown} ${f(other)})` : "";
    judge(
      `${scenario}: zero loss`,
      `${fmtLoss(mixed)}${each(fmtLoss)}`,
      "traffic",
      mixed,
      [],
      () => mixed.lost === 0,
    );
    judge(
      `${scenario}: zero reordering`,
      `${fmtInt(mixed.reordered)}${each((r) => fmtInt(r.reordered))}`,
      "traffic",
      mixed,
      [],
      () => mixed.reordered === 0,
    );
    const label = `${scenario}: ${shown} p99 ≤ ${factor}× TCP p99 in the same run`;
    if (!mixed.skipped && (!tcp || !other)) {
      goals.push({
        goal: label,
        measured: "–",
        verdict: "invalid",
        why: "no receivers of one transport, or not counted apart",
      });
      return;
    }
    // To arrival (crowdgen's kernel timestamps) where both have it: no read round between.
    const arrival = Number.isFinite(tcp?.arrivalP99Ms) && Number.isFinite(other?.arrivalP99Ms);
    const p99 = (r: ReceiverStats | undefined) => r ? arrival ? r.arrivalP99Ms : r.p99Ms : NaN;
    const limit = factor * p99(tcp);
    judge(
      label,
      `${arrival ? "to arrival: " : ""}${shown} ${fmtMs(p99(other))}, TCP ${fmtMs(p99(tcp))} ` +
        `(limit ${fmtMs(limit)})${
          arrival ? `; to read: ${shown} ${fmtMs(other!.p99Ms)}, TCP ${fmtMs(tcp!.p99Ms)}` : ""
        }`,
      "traffic",
      mixed,
      [],
      () => p99(other) <= limit,
      () => {
        if (arrival) return undefined;
        const gap = Math.abs(p99(other) - limit);
        return gap <= mixed.generatorRoundMs
          ? `p99 ${fmtMs(gap)} from the limit, within the generator's own read round of ${
            fmtMs(mixed.generatorRoundMs)
          }`
          : undefined;
      },
    );
  };
  judgeMixed("mixed", "ws", "WebSocket", 2);
  judgeMixed("mixed-irc", "irc", "IRC", 1.5);

  // Idle WebSocket clients: a report of their memory next to as many TCP ones, not a limit.
  const idleWs = results.find((r) => r.scenario === "idle-ws" && r.target === "ours" && r.ws > 0);
  if (idleWs) {
    const idleTcp = results.find((r) =>
      r.scenario === "idle-ws" && r.target === "ours" && r.ws === 0
    );
    const perClient = 1024 * (idleWs.serverPeakRssMiB - (idleTcp?.serverPeakRssMiB ?? NaN)) /
      idleWs.clients;
    judge(
      `${fmtInt(idleWs.ws)} WebSocket clients idle: peak RSS reported next to ${
        fmtInt(idleTcp?.clients ?? idleWs.clients)
      } TCP clients`,
      `peak RSS: WebSocket ${fmtNum(idleWs.serverPeakRssMiB, 1, " MiB")}, TCP ${
        fmtNum(idleTcp?.serverPeakRssMiB ?? NaN, 1, " MiB")
      } (${perClient >= 0 ? "+" : ""}${
        fmtNum(perClient, 1, " KiB")
      } per client on WebSocket); at the end of the idle time: WebSocket ${
        fmtNum(idleWs.serverRssEndMiB, 1, " MiB")
      }, TCP ${fmtNum(idleTcp?.serverRssEndMiB ?? NaN, 1, " MiB")}`,
      "memory",
      idleWs,
      [["the TCP row", idleTcp]],
      () => Number.isFinite(idleWs.serverPeakRssMiB) && Number.isFinite(idleTcp!.serverPeakRssMiB),
    );
  }
  return goals;
}

/** The goals as a markdown table. */
function goalsTable(goals: Goal[]): string {
  const lines = ["| goal | measured | verdict |", "| --- | --- | --- |"];
  for (const g of goals) {
    const verdict = g.verdict === "invalid"
      ? `invalid (${g.why})`
      : `${g.verdict === "met" ? "met" : "**missed**"}${g.note ? ` (${g.note})` : ""}`;
    lines.push(`| ${g.goal} | ${g.measured} | ${verdict} |`);
  }
  return lines.join("\n");
}

/** How to get a verdict for the goals this run found invalid, one line per cause. */
function validityAdvice(goals: Goal[]): string[] {
  const invalid = goals.filter((g) => g.verdict === "invalid");
  const has = (text: string, connect?: boolean) =>
    invalid.some((g) =>
      g.why!.includes(text) && (connect === undefined || g.goal.includes("connect") === connect)
    );
  const advice: string[] = [];
  if (has("of a core", false) || has("busy >", false)) {
    advice.push(
      `- The generator used more than ${GENERATOR_MAX_PCT}% of one core, or the cores were ` +
        `more than ${MACHINE_MAX_PCT}% busy, while measuring: it measured itself. Load it ` +
        `less: fewer clients (\`--clients N\`), a lower rate per sender (\`--rate N\`), one ` +
        `scenario at a time.`,
    );
  }
  if (has("of a core", true) || has("busy >", true)) {
    advice.push(
      `- Connecting is a closed loop that runs as fast as the slower side, and on loopback ` +
        `the kernel completes both ends of each handshake in the connecting thread: a ` +
        `connect costs crowdgen about 40 µs of CPU and \`node:net\` about 65 µs, so a server ` +
        `that only has to accept (the Go original) is timed at the generator's speed. Its ` +
        `time is then an upper bound: ours missing the goal even so is a verdict, meeting it ` +
        `is not. Fewer clients (\`--clients N\`) make it shorter, not valid; a valid time ` +
        `needs a generator on cores of its own.`,
    );
  }
  if (has("read round")) {
    advice.push(
      `- Two p99s closer than the generator's read round (the CPU it needs to read one ` +
        `message at every receiver) are not told apart: fewer clients (\`--clients N\`) ` +
        `shorten the round.`,
    );
  }
  if (has("other processes")) {
    advice.push(`- Other processes were busy: run again when the machine is otherwise idle.`);
  }
  return advice;
}

/** The commit of the server under test, and whether it has changes not committed. */
async function serverRevision(server: string): Promise<string> {
  try {
    const dir = server.slice(0, server.lastIndexOf("/") + 1) || ".";
    const git = (...args: string[]) =>
      new Deno.Command("git", { args: ["-C", dir, ...args], stderr: "null" }).output();
    const head = await git("log", "-1", "--format=%h", "--", server);
    const dirty = await git("status", "--porcelain", "--", server);
    const commit = decoder.decode(head.stdout).trim();
    if (!head.success || !commit) return "not in git";
    return decoder.decode(dirty.stdout).trim() ? `${commit} + uncommitted changes` : commit;
  } catch {
    return "unknown";
  }
}

/** What a result must be quoted with. */
interface MachineInfo {
  date: string;
  command: string;
  cpus: string;
  cpu: string;
  kernel: string;
  deno: string;
}

/** Date, command, CPU and versions: what a result must be quoted with. */
function machineInfo(): MachineInfo {
  let cpu = "unknown";
  try {
    cpu = Deno.readTextFileSync("/proc/cpuinfo").match(/^model name\s*:\s*(.*)$/m)?.[1] ?? cpu;
  } catch {
    // not Linux
  }
  return {
    date: new Date().toISOString(),
    command: `deno run -A bench.ts ${Deno.args.join(" ")}`.trim(),
    cpus: String(navigator.hardwareConcurrency),
    cpu,
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
  };
}

// ---------------------------------------------------------------------------
// Main: the command line
// ---------------------------------------------------------------------------

/** Prints the help text. */
function printUsage(): void {
  console.log(`Chat room load generator: runs each server as a subprocess and measures it.

USAGE:
  deno run -A bench.ts [OPTIONS]

OPTIONS:
  --scenario LIST        comma-separated: room, saturation (= saturation-1600,saturation-3200),
                         saturation-1600, saturation-3200, crowd, idle, slow, replay, mixed, mixed-irc,
                         idle-ws, quick, all (default quick = room,saturation-1600)
  --targets LIST         comma-separated: ours, ours-db, go, ncat, relay (default
                         ours,go,ncat,relay; ours-db is ours with --db on a new temporary
                         SQLite file, deleted afterwards; relay, a node:net server that
                         only reads and discards, runs in idle only, as the runtime's
                         memory floor; replay, mixed and idle-ws run on ours and ours-db only)
  --duration SECS        timed sending per run (default 5)
  --clients N            clients per scenario instead of the scenario's own number (mixed and
                         idle-ws keep their share of WebSocket clients)
  --rate N               messages per second per sender instead of the scenario's own rate
  --warmup SECS          sending before that, not timed but checked for loss (default 1)
  --repeat N             run each scenario N times per target, round robin; the table shows
                         the run with the median p99 and notes the others (default 1)
  --size BYTES           payload bytes per message, without name and newline (default 64)
  --connect-timeout SECS give up connecting a run's clients after this (default 30)
  --concurrency N        connects in flight at once (default 200)
  --replay N             lines replayed to each joiner in the replay scenario, given to our
                         server as --replay (default 20, the server's own default)
  --go-bin PATH          the Go server; built from ../shared/peers/seed-server if missing
                         (default /tmp/seed-server)
  --generator go|deno    who plays the clients in every scenario: crowdgen (Go, a subprocess;
                         bench/crowdgen, built into ${CROWDGEN_BIN} with Debian's Go) or
                         node:net in this process (default: crowdgen for crowd, idle, replay,
                         mixed and idle-ws when it builds, node:net otherwise; --smoke always
                         uses node:net; WebSocket clients are crowdgen's only: without it,
                         mixed and idle-ws are skipped)
  --server FILE          the server.ts run as "ours" (default ./server.ts; for trying a change)
  --profile DIR          run our server with --cpu-prof, writing profiles to DIR
  --v8-flags FLAGS       run our server with --v8-flags=FLAGS (e.g. --max-semi-space-size=1)
  --json FILE            also write every result as JSON to FILE
  --smoke                a few seconds against our server only: 20 clients, 4 senders × 200/s
                         for 2 s; exits 1 unless nothing is lost, reordered or corrupted
  -v, --verbose          progress on stderr
  -h, --help             show this help

Scenarios: room = 100 clients, 10 senders × 100/s; saturation = 100 clients, 10 senders
× 1600/s and × 3200/s; crowd = 5,000 clients, 1 sender × 10/s; idle = 10,000 clients;
slow = saturation at 1600/s plus one client that never reads; replay = one client sends
1,000 lines into the room, then 1,000 clients join at once, each replayed the last --replay
of them, while it sends 20/s until all are in (a replayed line, "[TIME] NAME: TEXT" after
the welcome, is never a delivery: each joiner must get every message once, live or replayed);
mixed = 200 clients, every second one on our WebSocket (ws://…/ws on the --web port this
bench gives ours), 10 senders (5 on each transport) × 100/s, each transport's receivers
counted apart; mixed-irc = the same with every second one an IRC client of ours' --irc
listener (ours only); idle-ws = 1,000 clients on our WebSocket, no traffic, then 1,000 on TCP as a
second row.

Goal verdicts are met, missed or invalid. Invalid: the generator used more than
${GENERATOR_MAX_PCT}% of one core, all cores were more than ${MACHINE_MAX_PCT}% busy, or other processes took more
than ${OTHER_MAX_PCT}% of the machine, in the phase the goal rests on; or two p99s are closer than the
generator's read round (its CPU per read × receivers). But a loaded run's time is an upper
bound: ours meeting a time goal with only its own run loaded, or missing it with only the
reference's loaded, is a verdict. The report says how to get a verdict.`);
}

/** Parses a number flag that must be at least `min`. */
function numberFlag(name: string, value: string | undefined, fallback: number, min: number) {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) {
    throw new Error(`--${name} must be a number of at least ${min}, not "${value}"`);
  }
  return n;
}

/** Turns --scenario into scenarios, expanding groups. */
function pickScenarios(list: string): Scenario[] {
  const names = list.split(",").flatMap((name) => GROUPS[name.trim()] ?? [name.trim()]);
  return [...new Set(names)].map((name) => {
    const scenario = SCENARIOS.find((s) => s.name === name);
    if (!scenario) throw new Error(`unknown scenario "${name}"`);
    return scenario;
  });
}

/** Turns --generator into a generator, or undefined for the default. */
function generatorFlag(value: string | undefined): GeneratorKind | undefined {
  if (value === undefined || value === "go" || value === "deno") return value;
  throw new Error(`--generator must be go or deno, not "${value}"`);
}

/** Turns --targets into target ids. */
function pickTargets(list: string): TargetId[] {
  return [...new Set(list.split(",").map((t) => t.trim()))].map((t) => {
    if (!(t in TARGETS)) {
      throw new Error(`unknown target "${t}" (ours, ours-db, go, ncat, relay)`);
    }
    return t as TargetId;
  });
}

/** Parses the command line, runs the scenarios and prints the report. */
async function main(): Promise<void> {
  let settings: Settings;
  let scenarios: Scenario[];
  let targets: TargetId[];
  let jsonFile: string | undefined;
  let smoke: boolean;
  try {
    const { values } = parseArgs({
      args: Deno.args,
      options: {
        scenario: { type: "string", default: "quick" },
        targets: { type: "string", default: "ours,go,ncat,relay" },
        duration: { type: "string" },
        clients: { type: "string" },
        rate: { type: "string" },
        warmup: { type: "string" },
        repeat: { type: "string" },
        size: { type: "string" },
        "connect-timeout": { type: "string" },
        concurrency: { type: "string" },
        replay: { type: "string" },
        "go-bin": { type: "string", default: "/tmp/seed-server" },
        generator: { type: "string" },
        server: { type: "string" },
        "v8-flags": { type: "string" },
        profile: { type: "string" },
        json: { type: "string" },
        smoke: { type: "boolean", default: false },
        verbose: { type: "boolean", short: "v", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
    if (values.help) return printUsage();
    smoke = values.smoke;
    settings = {
      duration: numberFlag("duration", values.duration, smoke ? 2 : 5, 0.1),
      warmup: numberFlag("warmup", values.warmup, smoke ? 0 : 1, 0),
      repeat: Math.round(numberFlag("repeat", values.repeat, 1, 1)),
      size: Math.round(numberFlag("size", values.size, 64, MIN_PAYLOAD)),
      connectTimeoutMs: 1000 * numberFlag("connect-timeout", values["connect-timeout"], 30, 1),
      concurrency: Math.round(numberFlag("concurrency", values.concurrency, 200, 1)),
      goBin: values["go-bin"],
      server: values.server ?? new URL("./server.ts", import.meta.url).pathname,
      profileDir: values.profile,
      v8Flags: values["v8-flags"],
      verbose: values.verbose,
      generator: generatorFlag(values.generator),
      crowdgenBin: CROWDGEN_BIN,
      replay: Math.round(numberFlag("replay", values.replay, 20, 1)),
    };
    if (settings.size > 1000) throw new Error("--size must be at most 1000");
    const clients = values.clients === undefined
      ? undefined
      : Math.round(numberFlag("clients", values.clients, 0, 2));
    const rate = values.rate === undefined ? undefined : numberFlag("rate", values.rate, 0, 0.1);
    scenarios = smoke
      ? [{ name: "smoke", title: "smoke", clients: 20, senders: 4, rate: 200 }]
      : pickScenarios(values.scenario).map((s) => {
        const n = clients ?? s.clients;
        return {
          ...s,
          clients: n,
          // --clients keeps the scenario's share of WebSocket and IRC clients.
          ws: s.ws === undefined ? undefined : Math.round(s.ws * n / s.clients),
          irc: s.irc === undefined ? undefined : Math.round(s.irc * n / s.clients),
          senders: s.fill ? s.senders : Math.min(s.senders, n - 1),
          rate: s.idle ? 0 : rate ?? s.rate,
        };
      });
    targets = smoke ? ["ours"] : pickTargets(values.targets);
    jsonFile = values.json;
  } catch (error) {
    console.error(`bench: ${error instanceof Error ? error.message : error}`);
    console.error("Run with --help for usage.");
    Deno.exit(2);
  }

  const info = { ...machineInfo(), server: await serverRevision(settings.server) };
  console.log(`## Chat server benchmark\n`);
  console.log(
    `${info.date} · \`${info.command}\` · ${info.cpus} × ${info.cpu} · Linux ${info.kernel} · ` +
      `Deno ${info.deno} · server.ts at ${info.server}\n`,
  );
  const skip = new Map<TargetId, string>();
  for (const target of targets) {
    const why = await unavailable(target, settings);
    if (why) skip.set(target, why);
  }
  // Crowdgen is built (or its absence noticed) only if a scenario wants it; --smoke never does.
  const wantsGo = (s: Scenario) =>
    !smoke && (settings.generator ?? (GO_SCENARIOS.has(s.name) ? "go" : "deno")) === "go";
  const noGo = scenarios.some(wantsGo) ? await ensureCrowdgen(settings.crowdgenBin) : null;
  const results: Result[] = [];
  const allRuns: Result[] = [];
  for (const scenario of scenarios) {
    progress(settings, `${scenario.name}:`);
    const generator: GeneratorKind = wantsGo(scenario) && !noGo ? "go" : "deno";
    const fallback = wantsGo(scenario) && noGo ? `crowdgen unavailable (${noGo})` : undefined;
    // A server that relays nothing is a target only where nothing is sent; one that keeps no
    // history, not where history is replayed; one without a WebSocket, not where one is used.
    const here = targets.filter((t) =>
      (scenario.idle || !TARGETS[t].idleOnly) && (!scenario.fill || TARGETS[t].history) &&
      (!scenario.ws || TARGETS[t].web) && (!scenario.irc || t === "ours")
    );
    // A scenario with a TCP row runs again on TCP only: each target, both ways, in turn.
    const variants = scenario.tcpRow ? [scenario, { ...scenario, ws: 0 }] : [scenario];
    const slots = here.flatMap((target) => variants.map((variant) => ({ target, variant })));
    const runs = new Map(slots.map((slot) => [slot, [] as Result[]]));
    // Repeats go round the targets, so a slow drift of the machine hits them alike.
    for (let run = 1; run <= settings.repeat; run++) {
      for (const slot of slots) {
        const { target, variant } = slot;
        let result: Result;
        if (skip.has(target)) {
          if (run > 1) continue;
          result = emptyResult(variant, target, settings.duration);
          result.skipped = `skipped: ${skip.get(target)}`;
        } else if ((variant.ws || variant.irc) && generator !== "go") {
          if (run > 1) continue;
          result = emptyResult(variant, target, settings.duration);
          result.skipped = `skipped: its WebSocket and IRC clients are crowdgen's (Go): ${
            fallback ?? "not with --generator deno"
          }`;
        } else {
          try {
            result = await runScenario(variant, target, settings, generator);
          } catch (error) {
            result = emptyResult(variant, target, settings.duration);
            result.skipped = `failed: ${error instanceof Error ? error.message : error}`;
          }
        }
        result.run = run;
        result.generator = generator;
        if (fallback && !result.skipped) result.notes.unshift(`node:net clients: ${fallback}`);
        runs.get(slot)!.push(result);
        allRuns.push(result);
      }
    }
    const rows = slots.map((slot) => medianRun(runs.get(slot)!));
    results.push(...rows);
    console.log(`${scenarioHeading(scenario, settings)}\n`);
    console.log(
      generator === "go"
        ? `Clients: crowdgen (Go, a subprocess, GOMAXPROCS 1; ${settings.crowdgenBin}).\n`
        : `Clients: node:net in this process${fallback ? `; ${fallback}` : ""}.\n`,
    );
    console.log(rows.length > 0 ? `${scenarioTable(rows)}\n` : "No target runs this scenario.\n");
  }
  if (!smoke) {
    const goals = evaluateGoals(results);
    if (goals.length > 0) console.log(`### Goals\n\n${goalsTable(goals)}\n`);
    const advice = validityAdvice(goals);
    if (advice.length > 0) {
      console.log(`How to get a verdict for those marked invalid:\n\n${advice.join("\n")}\n`);
    }
  }
  if (jsonFile) {
    const json = { ...info, repeat: settings.repeat, results, runs: allRuns };
    Deno.writeTextFileSync(jsonFile, JSON.stringify(json, null, 2) + "\n");
  }
  if (smoke) {
    const r = results[0];
    const ok = !r.skipped && r.connected === r.clients && r.expected > 0 && r.lost === 0 &&
      r.reordered === 0 && r.corrupted === 0 && r.serverErrors === 0;
    console.log(ok ? "smoke: ok" : "smoke: FAILED (see the table above)");
    if (!ok) Deno.exit(1);
  }
}

if (import.meta.main) main();
