/**
 * Sampling from /proc: CPU time of a process and of the machine, RSS, open files, the kernel's
 * receive and accept queues; and the load limits a measurement must stay within.
 *
 * Whether the generator kept up is measured, not assumed: its CPU time over wall time in the
 * measured window (of one core and of the machine), how busy the whole machine was and how much
 * of it other processes took (/proc/stat; on 2 cores, server, generator and the kernel's
 * loopback work compete), its read round (CPU per read × receivers: what it adds to a fan-out's
 * latency at worst), and, from a worker thread, the clients' unread bytes in /proc/net/tcp.
 * A window where the generator used more than GENERATOR_MAX_PCT of one core, the machine was
 * busier than MACHINE_MAX_PCT or others took more than OTHER_MAX_PCT of it is overloaded: the
 * goals that rest on it are judged "invalid" (see judge.ts).
 *
 * @module
 */

import type net from "node:net";
import { decoder } from "./message.ts";
import { fmtNum } from "./fmt.ts";

/**
 * A run is invalid for the goals when the generator used more than this share of one core
 * during the measured window: past it, on a 2-core machine that also runs the server and the
 * kernel's loopback work, the generator's own queueing shows up in the latencies it reports.
 */
export const GENERATOR_MAX_PCT = 60;

/** …or when all cores together were busier than this (threads then wait for a core)… */
export const MACHINE_MAX_PCT = 90;

/** …or when other processes took more than this share of the machine (a shared machine). */
export const OTHER_MAX_PCT = 15;

/** Why a window with this load does not count for the goals, or undefined if it does. */
export function overloaded(
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

/** User and system CPU seconds of a process (all its threads), from /proc/PID/stat. */
export function cpuTimes(pid: number | "self"): [number, number] {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return [Number(fields[11]) / 100, Number(fields[12]) / 100];
  } catch {
    return [NaN, NaN];
  }
}

/** CPU seconds (user + system) between two cpuTimes() readings. */
export function cpuDelta(before: [number, number], after: [number, number]): number {
  return after[0] + after[1] - before[0] - before[1];
}

/** Cores of this machine. */
export const CORES = navigator.hardwareConcurrency || 1;

/** Share of all cores' time that was busy between two machineJiffies() readings, in %. */
export function busyPct(before: [number, number, number], after: [number, number, number]): number {
  const busy = after[0] - before[0];
  return 100 * busy / (busy + after[1] - before[1]);
}

/** Share of all cores' time in softirq (mostly loopback TCP) between two readings, in %. */
export function softirqPct(
  before: [number, number, number],
  after: [number, number, number],
): number {
  return 100 * (after[2] - before[2]) / (after[0] - before[0] + after[1] - before[1]);
}

/**
 * What other processes used, in % of the machine: busy time less softirq, this process and
 * the server (each in % of one core).
 */
export function otherPct(busy: number, softirq: number, generator: number, server: number): number {
  return Math.max(0, busy - softirq - (generator + server) / CORES);
}

/** Machine-wide CPU jiffies from /proc/stat: [busy, idle, softirq], all cores together. */
export function machineJiffies(): [number, number, number] {
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
export class RssMonitor {
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
export function monitorQueues(port: number): () => Promise<QueueStats> {
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
export function openFileLimit(): number {
  try {
    const text = Deno.readTextFileSync("/proc/self/limits");
    const match = text.match(/^Max open files\s+(\d+|unlimited)/m);
    return !match || match[1] === "unlimited" ? Infinity : Number(match[1]);
  } catch {
    return Infinity;
  }
}

/**
 * Number of open files of a process (its sockets, for a server), or NaN once it is gone.
 * Listing 10,000 of them takes about 20 ms: not for polling.
 */
export function openFiles(pid: number): number {
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
export function acceptQueue(port: number): number {
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

/** Whether something listens on 127.0.0.1:`port` (read from /proc, so no connection is made). */
export function isListening(port: number): boolean {
  return !Number.isNaN(acceptQueue(port));
}

/** What the kernel holds for the client that never reads: unread bytes and TCP state. */
export function slowClientState(socket: net.Socket, serverPort: number): string {
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
