/**
 * The Go generator (crowdgen): thousands of clients for the price of a few hundred. It is
 * `bench/crowdgen/` (Go, standard library only), built offline into /tmp/chat-crowdgen with
 * Debian's Go when it is missing or older than its sources, and run as a subprocess on one
 * thread that costs a fraction of `node:net` per connect and per read. It takes the kernel's
 * receive timestamp of every message, so it reports the latency to the message's arrival in the
 * receiver's socket as well as to its read. It speaks the same message format and applies the
 * same checks; this process still starts and stops the servers, samples them, and judges its
 * load by the CPU it reports. Crowdgen alone plays WebSocket clients (`bench/crowdgen/ws.go`: a
 * small RFC 6455 client with the key check, masked frames and fragments, sending no `Origin`,
 * as a program does; `bench/crowdgen/wsjson.go` adds the subprotocol chat.v1.json) and IRC ones
 * (`bench/crowdgen/irc.go`).
 *
 * @module
 */

import type net from "node:net";
import { decoder, encoder, JSON_SUBPROTOCOL } from "./message.ts";
import { fmtInt, fmtMs, fmtNum } from "./fmt.ts";
import { progress, type Settings, sleep } from "./settings.ts";
import {
  busyPct,
  CORES,
  cpuDelta,
  cpuTimes,
  MACHINE_MAX_PCT,
  machineJiffies,
  otherPct,
  overloaded,
  RssMonitor,
  slowClientState,
  softirqPct,
} from "./sample.ts";
import { startServer, subprotocolRefusal, type TargetId, TARGETS } from "./targets.ts";
import type { Scenario } from "./scenarios.ts";
import type { ReceiverStats, Result } from "./result.ts";
import { openSlowClient, whenConnected } from "./connect.ts";
import { SEND_GRACE_MS } from "./send.ts";

/** Where crowdgen is built. */
export const CROWDGEN_BIN = "/tmp/chat-crowdgen";

/** Crowdgen's sources: its Go files (main.go, ws.go), standard library only, its own go.mod. */
const CROWDGEN_DIR = new URL("./crowdgen/", import.meta.url).pathname;

/** What keeps `go build` offline and on the installed toolchain. */
const GO_OFFLINE_ENV = {
  GOTOOLCHAIN: "local",
  GOPROXY: "off",
  GOFLAGS: "-mod=mod -buildvcs=false",
};

let crowdgenBuild: Promise<string | null> | undefined;

/** Builds crowdgen into `bin` if it is missing or older than its sources (once per run). */
export function ensureCrowdgen(bin: string): Promise<string | null> {
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
export interface CrowdgenTraffic {
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
  /** chat.v1.json senders' own messages come back to them: neither deliveries nor loss. */
  echoes: number;
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
export interface CrowdgenReport {
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
export class Crowdgen {
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

/**
 * Runs one scenario against one target with crowdgen playing the clients: this process starts
 * and stops the server, samples its RSS and CPU and the machine's, and judges the load as for
 * its own clients, from the CPU crowdgen reports (getrusage: all its threads, user + system).
 */
export async function runWithCrowdgen(
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
      if (scenario.wsJson) {
        // A server that does not agree to the subprotocol would fail every handshake: skipped.
        const refused = await subprotocolRefusal(server.webPort, JSON_SUBPROTOCOL);
        if (refused) {
          result.skipped = `skipped: ${refused}`;
          return result;
        }
        args.push("-ws-json");
      }
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
    if (t.echoes > 0) {
      result.notes.push(
        `${fmtInt(t.echoes)} own messages echoed back to JSON senders (not counted)`,
      );
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
