/**
 * Load generator for the chat room: measures `server.ts` side by side with the servers it is
 * compared with (the original Go server and `ncat --chat`), in one run, on one machine.
 *
 * ```sh
 * deno task bench                                  # quick set: room and saturation at 1600/s
 * deno run -A bench.ts --scenario all --duration 10 --json results.json
 * deno run -A bench.ts --scenario crowd,idle --targets ours,go,relay
 * deno run -A bench.ts --smoke                     # a few seconds, ours only; exits 1 on loss
 * deno run -A bench.ts --help                      # every option and scenario
 * ```
 *
 * Each server runs as a subprocess of this one (bench/targets.ts): the Go server is built into
 * `/tmp/seed-server` from `../shared/peers/seed-server` when missing and needs 127.0.0.1:1801
 * free; `ours-db` is ours with `--db` on a temporary SQLite file; `relay` (bench/relay.ts) is
 * the runtime's memory floor in the idle scenario. A target whose program is not installed is
 * skipped with a note. Senders send fixed-format lines open loop (bench/message.ts,
 * bench/send.ts); receivers count loss, reordering, corruption and latency. The crowd, idle,
 * replay and WebSocket scenarios are played by crowdgen (bench/crowdgen/, Go, standard library,
 * built offline with Debian's Go; `--generator go|deno` chooses, `--smoke` never uses it), the
 * others by `node:net` clients in this process (bench/clients.ts). The crowd and idle scenarios
 * need an open-file limit above 10,000 (`ulimit -n 20000`).
 *
 * The report is one markdown table per scenario, then the goals: met, missed or invalid. A run
 * where the generator or the machine was too busy to measure the server is invalid for the
 * goals, and the report says how to get a valid one (bench/sample.ts, bench/judge.ts). The
 * method and the results are in docs/benchmark.md.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { JSON_SUBPROTOCOL, MIN_PAYLOAD } from "./bench/message.ts";
import { type GeneratorKind, progress, type Settings } from "./bench/settings.ts";
import { GENERATOR_MAX_PCT, MACHINE_MAX_PCT, OTHER_MAX_PCT } from "./bench/sample.ts";
import { type TargetId, TARGETS, unavailable } from "./bench/targets.ts";
import { GO_SCENARIOS, GROUPS, type Scenario, SCENARIOS } from "./bench/scenarios.ts";
import { emptyResult, medianRun, type Result } from "./bench/result.ts";
import { CROWDGEN_BIN, ensureCrowdgen } from "./bench/crowdgen.ts";
import { runScenario } from "./bench/run.ts";
import { machineInfo, scenarioHeading, scenarioTable, serverRevision } from "./bench/report.ts";
import { evaluateGoals, goalsTable, validityAdvice } from "./bench/judge.ts";

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
                         saturation-1600, saturation-3200, crowd, idle, slow, replay, mixed, json-ws,
                         mixed-irc, idle-ws, quick, all (default quick = room,saturation-1600)
  --targets LIST         comma-separated: ours, ours-db, go, ncat, relay (default
                         ours,go,ncat,relay; ours-db is ours with --db on a new temporary
                         SQLite file, deleted afterwards; relay, a node:net server that
                         only reads and discards, runs in idle only, as the runtime's
                         memory floor; replay, mixed, json-ws and idle-ws run on ours and
                         ours-db only)
  --duration SECS        timed sending per run (default 5)
  --clients N            clients per scenario instead of the scenario's own number (mixed,
                         json-ws and idle-ws keep their share of WebSocket clients)
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
                         mixed, json-ws, mixed-irc and idle-ws when it builds, node:net
                         otherwise; --smoke always uses node:net; WebSocket and IRC clients
                         are crowdgen's only: without it, those scenarios are skipped)
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
counted apart; json-ws = mixed with WebSocket clients that speak the subprotocol
${JSON_SUBPROTOCOL} (JSON objects; skipped on a server that does not agree to it); mixed-irc =
the same as mixed with every second one an IRC client of ours' --irc
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
