/**
 * The report: the machine and revision a result must be quoted with, and one markdown table per
 * scenario, a row per target (and a sub-row per transport where clients mix them).
 *
 * @module
 */

import { decoder, JSON_SUBPROTOCOL } from "./message.ts";
import { fmtInt, fmtLoss, fmtMs, fmtNum } from "./fmt.ts";
import type { Settings } from "./settings.ts";
import { TARGETS } from "./targets.ts";
import { REPLAY_MIN_MESSAGES, type Scenario, wsAmong } from "./scenarios.ts";
import type { ReceiverStats, Result } from "./result.ts";

/** The description of a scenario that heads its table. */
export function scenarioHeading(s: Scenario, settings: Settings): string {
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
    ? ` (${fmtInt(s.clients - s.ws)} on TCP, ${fmtInt(s.ws)} on our WebSocket${
      s.wsJson ? ` speaking ${JSON_SUBPROTOCOL}` : ""
    })`
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
export function scenarioTable(results: Result[]): string {
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

/** How the report names each transport. */
const TRANSPORTS: Record<ReceiverStats["transport"], string> = {
  tcp: "TCP",
  ws: "WebSocket",
  "ws-json": `WebSocket (${JSON_SUBPROTOCOL})`,
  irc: "IRC",
};

/** A sub-row of a run with both transports: what the receivers on one of them got. */
function receiverRow(rs: ReceiverStats, columns: number): string[] {
  const cells = [
    `↳ ${TRANSPORTS[rs.transport]} receivers`,
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

/** The commit of the server under test, and whether it has changes not committed. */
export async function serverRevision(server: string): Promise<string> {
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
export interface MachineInfo {
  date: string;
  command: string;
  cpus: string;
  cpu: string;
  kernel: string;
  deno: string;
}

/** Date, command, CPU and versions: what a result must be quoted with. */
export function machineInfo(): MachineInfo {
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
