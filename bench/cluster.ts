/**
 * The cluster benchmark: two servers sharing one Redis (`--redis`), with the
 * clients split evenly between them, against one server alone, on this
 * machine. It needs Go (the load generator, `bench/crowdgen`) and Debian's
 * `redis-server`.
 *
 * ```sh
 * deno run -A bench/cluster.ts                    # the goal run, then the rate sweep
 * deno run -A bench/cluster.ts --rates 100,400 --duration 3
 * ```
 *
 * The goal run: `--clients` clients (default 100), 10 of them sending 100
 * messages a second each, for `--duration` seconds, against one server and
 * then against the cluster; crowdgen reports every delivery's latency (in the
 * cluster, within one server and across the two), and checks loss, order and
 * duplicates (a message seen twice counts as reordered). The sweep then raises the rate per
 * sender for one server and for the cluster, to find the highest each holds
 * with zero loss. A run counts only if the generator used under 60% of a core
 * and the machine under 90% of all cores; otherwise it is marked invalid.
 *
 * @module
 */

import { parseArgs } from "node:util";

const ROOT = new URL("..", import.meta.url).pathname;
const CROWDGEN_DIR = `${ROOT}bench/crowdgen`;
const GENERATOR_MAX_PCT = 60;
const MACHINE_MAX_PCT = 90;

interface Traffic {
  sent: number;
  expected: number;
  lost: number;
  reordered: number;
  corrupted: number;
  p50Ms: number;
  p99Ms: number;
  sameP50Ms?: number;
  sameP99Ms?: number;
  crossP50Ms?: number;
  crossP99Ms?: number;
  trafficCpuPct: number;
  trafficWallS: number;
}

interface Run {
  setup: "one server" | "two servers + Redis";
  rate: number;
  traffic: Traffic;
  /** CPU of each server and of Redis, in % of one core, over the whole run. */
  serverPct: number[];
  redisPct: number;
  machinePct: number;
  /** What processes other than the servers, Redis and the generator took, in % of the machine. */
  othersPct: number;
  valid: boolean;
}

/** User + system CPU seconds of a process. */
function cpuSeconds(pid: number): number {
  const text = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** [busy, all] jiffies of the whole machine. */
function machineJiffies(): [number, number] {
  const fields = Deno.readTextFileSync("/proc/stat").split("\n")[0].trim().split(/\s+/).slice(1)
    .map(Number);
  const all = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  return [all - fields[3] - fields[4], all];
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Waits until something accepts connections on `port`. */
async function listening(port: number, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`${what} did not start on port ${port}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** Starts server.ts on a free port (in the cluster at `redis`, if given). */
async function startServer(
  redis?: string,
): Promise<{ pid: number; port: number; stop(): Promise<void> }> {
  const port = freePort();
  const args = [
    "run",
    "-A",
    `${ROOT}server.ts`,
    "--port",
    String(port),
    "--no-web",
    "--replay",
    "0",
  ];
  args.push("--rate", "0", "--max-per-address", "0", "--connect-rate", "0");
  if (redis) args.push("--redis", redis);
  const child = new Deno.Command(Deno.execPath(), { args, stdout: "null", stderr: "inherit" })
    .spawn();
  await listening(port, "server.ts");
  return {
    pid: child.pid,
    port,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

async function startRedis(): Promise<{ pid: number; url: string; stop(): Promise<void> }> {
  const port = freePort();
  const child = new Deno.Command("redis-server", {
    args: ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  await listening(port, "redis-server");
  return {
    pid: child.pid,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

/** One run of crowdgen against one server, or two of a cluster. */
async function run(
  crowdgen: string,
  setup: Run["setup"],
  rate: number,
  clients: number,
  duration: number,
): Promise<Run> {
  const redis = setup === "one server" ? null : await startRedis();
  const servers = [await startServer(redis?.url)];
  if (redis) servers.push(await startServer(redis.url));
  const pids = [...servers.map((server) => server.pid), ...(redis ? [redis.pid] : [])];
  try {
    const args = ["-addr", `127.0.0.1:${servers[0].port}`, "-clients", String(clients)];
    if (servers[1]) args.push("-addr2", `127.0.0.1:${servers[1].port}`);
    args.push("-senders", "10", "-rate", String(rate), "-duration", String(duration));
    args.push("-ready", "hello");
    const cpu0 = pids.map(cpuSeconds);
    const machine0 = machineJiffies();
    const started = performance.now();
    const { stdout, success } = await new Deno.Command(crowdgen, { args, stderr: "inherit" })
      .output();
    const wall = (performance.now() - started) / 1000;
    const machine1 = machineJiffies();
    const pct = pids.map((pid, i) => 100 * (cpuSeconds(pid) - cpu0[i]) / wall);
    if (!success) throw new Error(`crowdgen failed (${setup}, rate ${rate})`);
    const lines = new TextDecoder().decode(stdout).trim().split("\n");
    const traffic = JSON.parse(lines.at(-1)!).traffic as Traffic;
    const machinePct = 100 * (machine1[0] - machine0[0]) / (machine1[1] - machine0[1]);
    const ours = pct.reduce((a, b) => a + b, 0) + traffic.trafficCpuPct;
    const othersPct = Math.max(0, machinePct - ours / navigator.hardwareConcurrency);
    return {
      setup,
      rate,
      traffic,
      serverPct: pct.slice(0, servers.length),
      redisPct: redis ? pct.at(-1)! : 0,
      machinePct,
      othersPct,
      valid: traffic.trafficCpuPct < GENERATOR_MAX_PCT && machinePct < MACHINE_MAX_PCT,
    };
  } finally {
    for (const server of servers) await server.stop();
    await redis?.stop();
  }
}

const ms = (value: number | undefined) => value === undefined ? "–" : value.toFixed(2);

function row(r: Run): string {
  const t = r.traffic;
  return [
    r.setup,
    `${r.rate * 10} (${(t.sent / t.trafficWallS).toFixed(0)} sent/s)`,
    `${t.lost}`,
    `${t.reordered}`,
    `${ms(t.p50Ms)} / ${ms(t.p99Ms)}`,
    `${ms(t.sameP50Ms)} / ${ms(t.sameP99Ms)}`,
    `${ms(t.crossP50Ms)} / ${ms(t.crossP99Ms)}`,
    r.serverPct.map((pct) => pct.toFixed(0)).join(" + "),
    r.redisPct ? r.redisPct.toFixed(0) : "–",
    t.trafficCpuPct.toFixed(0),
    `${r.machinePct.toFixed(0)} (others ${r.othersPct.toFixed(0)})`,
    r.valid ? "valid" : "invalid",
  ].join(" | ");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      rates: { type: "string", default: "100,200,400,800,1600" },
      duration: { type: "string", default: "5" },
      clients: { type: "string", default: "100" },
      "goal-only": { type: "boolean" },
    },
  });
  const crowdgen = await Deno.makeTempFile({ prefix: "crowdgen-" });
  const build = await new Deno.Command("go", {
    args: ["build", "-o", crowdgen, "."],
    cwd: CROWDGEN_DIR,
    env: { GOTOOLCHAIN: "local", GOPROXY: "off", GOFLAGS: "-mod=mod -buildvcs=false" },
  }).output();
  if (!build.success) throw new Error(new TextDecoder().decode(build.stderr));
  const duration = Number(values.duration);
  const clients = Number(values.clients);
  console.log(
    "setup | messages/s | lost | reordered | p50 / p99 ms | same server | across servers | " +
      "server CPU % | Redis CPU % | generator CPU % | machine CPU % | run",
  );
  try {
    // The goal: the cluster's p99 across servers against one server's p99, same load.
    const single = await run(crowdgen, "one server", 100, clients, duration);
    console.log(row(single));
    const goal = await run(crowdgen, "two servers + Redis", 100, clients, duration);
    console.log(row(goal));
    const { sameP99Ms = NaN, crossP99Ms = NaN, lost, reordered } = goal.traffic;
    const met = lost === 0 && reordered === 0 && crossP99Ms <= 2 * single.traffic.p99Ms;
    const valid = goal.valid && single.valid;
    console.log(
      `goal (zero loss, reordering and duplicates; p99 across servers ≤ 2× one server's p99): ` +
        `${valid ? (met ? "met" : "missed") : "invalid run"}: across ${ms(crossP99Ms)} ms = ` +
        `${(crossP99Ms / single.traffic.p99Ms).toFixed(2)}× one server's ` +
        `${ms(single.traffic.p99Ms)} ms (within one server of the cluster: ${ms(sameP99Ms)} ms)`,
    );
    if (values["goal-only"]) return;
    for (const rate of values.rates.split(",").map(Number)) {
      for (const setup of ["one server", "two servers + Redis"] as const) {
        console.log(row(await run(crowdgen, setup, rate, clients, duration)));
      }
    }
  } finally {
    await Deno.remove(crowdgen);
  }
}

if (import.meta.main) await main();
