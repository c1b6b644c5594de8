/**
 * The replay scenario (ours and ours-db only): fill a room with 1,000 lines, then let 1,000
 * clients join at once while one client goes on sending. Every joiner must get its replay
 * whole, and every message once, live or replayed; a replayed line is never a delivery, a loss,
 * corruption or an error, for these clients and crowdgen's alike.
 *
 * @module
 */

import type net from "node:net";
import { lineTemplate, stampLine } from "./message.ts";
import { fmtInt, fmtMs, fmtNum } from "./fmt.ts";
import { type GeneratorKind, type Settings, sleep } from "./settings.ts";
import {
  busyPct,
  CORES,
  cpuDelta,
  cpuTimes,
  machineJiffies,
  openFiles,
  otherPct,
  overloaded,
  RssMonitor,
  softirqPct,
} from "./sample.ts";
import { type RunningServer, startServer, type TargetId, TARGETS } from "./targets.ts";
import { REPLAY_MIN_MESSAGES, type Scenario } from "./scenarios.ts";
import type { Result } from "./result.ts";
import { type Client, Meter } from "./clients.ts";
import { connectClients } from "./connect.ts";
import { Crowdgen, type CrowdgenReport, type CrowdgenTraffic } from "./crowdgen.ts";

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
        echoes: 0,
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
export async function runReplay(
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
