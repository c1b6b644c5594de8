/**
 * What the attack scripts in tools/ share: a server.ts subprocess on a free
 * port (`CHAT_SERVER=PATH` attacks another checkout's server, for "before"
 * figures), named clients, a canary pair measuring what bystanders feel.
 *
 * @module
 */

import net from "node:net";

/** The server under attack: `CHAT_SERVER` (for "before" figures from an older checkout) or ours. */
const SERVER = Deno.env.get("CHAT_SERVER") ?? new URL("../server.ts", import.meta.url).pathname;
/** The test certificates. */
export const TESTDATA = new URL("../tests/testdata/", import.meta.url).pathname;
export const encoder = new TextEncoder();

/** A server.ts subprocess, its port and pid. */
export async function startServer(...flags: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SERVER, "--port", "0", ...flags],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let output = "";
  while (!output.includes("\n")) output += (await reader.read()).value ?? "";
  const port = Number(/listening on [\d.]+:(\d+)/.exec(output)![1]);
  // Keep reading the log, so that it never stalls the server (the stalled case is a test).
  const logLines: string[] = [];
  (async () => {
    for (let r = await reader.read(); !r.done; r = await reader.read()) logLines.push(r.value);
  })();
  return {
    port,
    pid: child.pid,
    logLines,
    rssMiB: () => statusField(child.pid, "VmRSS") / 1024,
    peakMiB: () => statusField(child.pid, "VmHWM") / 1024,
    fds: () => [...Deno.readDirSync(`/proc/${child.pid}/fd`)].length,
    async stop() {
      child.kill("SIGKILL");
      await child.status;
    },
  };
}

export function statusField(pid: number, field: string): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)![1]);
}

/** A named client over node:net that collects lines; `pause()` makes it stop reading. */
export function join(port: number, name: string): Promise<net.Socket & { lines: string[] }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port }) as net.Socket & { lines: string[] };
    socket.lines = [];
    let buffer = "";
    let joined = false;
    socket.on("error", () => {});
    socket.on("close", () => reject(new Error(`${name} closed: ${buffer}`)));
    socket.on("data", (chunk: Uint8Array) => {
      buffer += new TextDecoder().decode(chunk);
      let newline;
      while ((newline = buffer.indexOf("\n")) !== -1) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (!joined && line === "-- What should we call you?") socket.write(`${name}\n`);
        if (!joined && line.startsWith(`-- Hello, ${name}!`)) {
          joined = true;
          resolve(socket);
        }
        socket.lines.push(line);
        if (socket.lines.length > 10_000) socket.lines.splice(0, 5_000);
      }
    });
  });
}

/** Percentile `q` of `values` (sorted in place). */
export function percentile(values: number[], q: number): number {
  values.sort((a, b) => a - b);
  return values[Math.min(values.length - 1, Math.floor(q * values.length))] ?? NaN;
}

/** A canary pair: `ping` sends a timestamped line every 200 ms, `pong` measures its latency. */
export async function canary(port: number) {
  const ping = await join(port, "canaryping");
  const pong = await join(port, "canarypong");
  const latencies: number[] = [];
  let sent = 0;
  pong.on("data", () => {
    for (const line of pong.lines.splice(0)) {
      const match = /^canaryping: t(\d+(\.\d+)?)$/.exec(line);
      if (match) latencies.push(performance.now() - Number(match[1]));
    }
  });
  const timer = setInterval(() => {
    ping.write(`t${performance.now()}\n`);
    sent++;
  }, 200);
  return {
    stop() {
      clearInterval(timer);
      ping.destroy();
      pong.destroy();
      return {
        sent,
        received: latencies.length,
        p90: percentile(latencies, 0.9),
        p99: percentile(latencies, 0.99),
      };
    },
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs the attacks named in `args` (every one without), printing each one's figures,
 * and exits: the command line of every attack script.
 */
export async function runAttacks(
  attacks: Record<string, () => Promise<string>>,
  args: readonly string[],
): Promise<never> {
  const chosen = args.length > 0 ? args : Object.keys(attacks);
  for (const name of chosen) {
    if (!attacks[name]) {
      throw new Error(`no attack ${name}; try ${Object.keys(attacks).join(", ")}`);
    }
    console.log(await attacks[name]());
  }
  Deno.exit(0);
}
