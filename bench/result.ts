/**
 * What one target did in one scenario (a row of the report and of `--json`), and the choice of
 * the median run among repeats.
 *
 * @module
 */

import { fmtLoss, fmtMs, fmtNum } from "./fmt.ts";
import type { GeneratorKind } from "./settings.ts";
import type { TargetId } from "./targets.ts";
import type { Scenario } from "./scenarios.ts";

/** What one target did in one scenario. */
export interface Result {
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
export interface ReceiverStats {
  /** "ws-json": WebSocket clients that speak chat.v1.json. */
  transport: "tcp" | "ws" | "ws-json" | "irc";
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
export function emptyResult(scenario: Scenario, target: TargetId, duration: number): Result {
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

/** Of repeated runs, the one with the median p99, noting what the others measured. */
export function medianRun(runs: Result[]): Result {
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
