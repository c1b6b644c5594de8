/**
 * One run: one scenario against one target. Start the server, connect, send (or hold), drain,
 * stop, and fill in a Result; crowdgen's runs and the replay scenario have their own modules.
 *
 * @module
 */

import type net from "node:net";
import { encoder, lineTemplate } from "./message.ts";
import { Histogram } from "./histogram.ts";
import { fmtInt, fmtMs, fmtNum } from "./fmt.ts";
import { type GeneratorKind, progress, type Settings, sleep } from "./settings.ts";
import {
  busyPct,
  CORES,
  cpuTimes,
  MACHINE_MAX_PCT,
  machineJiffies,
  monitorQueues,
  openFileLimit,
  openFiles,
  otherPct,
  overloaded,
  RssMonitor,
  slowClientState,
  softirqPct,
} from "./sample.ts";
import { type RunningServer, startServer, type TargetId, TARGETS } from "./targets.ts";
import type { Scenario } from "./scenarios.ts";
import { emptyResult, type Result } from "./result.ts";
import { type Client, Meter } from "./clients.ts";
import { connectClients, openSlowClient, whenConnected } from "./connect.ts";
import { pump, runSenders, type Sender, type SendPlan } from "./send.ts";
import { runWithCrowdgen } from "./crowdgen.ts";
import { runReplay } from "./replay.ts";

/** Runs one scenario against one target: start the server, connect, send, drain, stop. */
export async function runScenario(
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
