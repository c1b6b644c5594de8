/**
 * Judgement: the goals, checked against whatever results a run has. A verdict is met, missed or
 * invalid. A goal whose runs were loaded past the limits (see sample.ts) in the phase it rests
 * on is invalid, and so is a p99 comparison closer than the generator's read round; the report
 * then says how to get a valid run. One exception: load only ever lengthens a time, so a loaded
 * run's latency or connect time is an upper bound, and a goal that ours still meets although
 * only its own run was loaded, or still misses although only the reference's was, is judged.
 * With crowdgen, the p99s compared are those to arrival, which no read round affects.
 *
 * @module
 */

import { fmtInt, fmtLoss, fmtMs, fmtNum } from "./fmt.ts";
import { GENERATOR_MAX_PCT, MACHINE_MAX_PCT } from "./sample.ts";
import type { TargetId } from "./targets.ts";
import type { ReceiverStats, Result } from "./result.ts";

/** A goal's verdict: it holds, it does not, or this run cannot tell. */
type Verdict = "met" | "missed" | "invalid";

/** One goal: what it asks, what was measured, and whether it holds. */
export interface Goal {
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
export function evaluateGoals(results: Result[]): Goal[] {
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

  // TCP clients in one room with WebSocket ones (issue 11; in json-ws, speaking chat.v1.json) or
  // IRC ones (issue 14): each transport's receivers counted apart, the other's p99 against the
  // TCP ones' of the same run.
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
  judgeMixed("json-ws", "ws-json", "JSON WebSocket", 2);
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
export function goalsTable(goals: Goal[]): string {
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
export function validityAdvice(goals: Goal[]): string[] {
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
