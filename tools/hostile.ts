/**
 * Hostile load against server.ts, as an attacker would try it, with a canary
 * pair of clients measuring what everyone else would feel. Each attack starts
 * its own server (a subprocess on a free port), runs for a bounded time
 * against 127.0.0.1, and prints what it measured; docs/operations.md's limits section
 * quotes these figures.
 *
 * ```sh
 * deno run -A tools/hostile.ts                 # every attack
 * deno run -A tools/hostile.ts slow tls storm  # some of them
 * ```
 *
 * @module
 */

import net from "node:net";
import {
  canary,
  encoder,
  join,
  percentile,
  runAttacks,
  sleep,
  startServer,
  TESTDATA,
} from "./attack_util.ts";

/** 1,500 clients that stop reading while 25 posters stay inside --rate with 4 KB lines. */
async function slowReaders(): Promise<string> {
  const server = await startServer("--exempt", "127.0.0.0/8");
  const readers: net.Socket[] = [];
  for (let i = 0; i < 1500; i++) {
    const client = await join(server.port, `r${i}`);
    client.pause();
    readers.push(client);
  }
  const posters: net.Socket[] = [];
  for (let i = 0; i < 25; i++) posters.push(await join(server.port, `p${i}`));
  const bird = await canary(server.port);
  // 4 KB lines cost 8 tokens: inside --rate 10 that is 1.25 lines a second each.
  const line = encoder.encode("x".repeat(4000) + "\n");
  const timer = setInterval(() => posters.forEach((poster) => poster.write(line)), 800);
  let peakRss = 0;
  for (let second = 0; second < 20; second++) {
    await sleep(1000);
    peakRss = Math.max(peakRss, server.rssMiB());
  }
  clearInterval(timer);
  const result = bird.stop();
  const dropped = server.logLines.join("").split("too slow").length - 1;
  for (const client of [...readers, ...posters]) client.destroy();
  const peak = server.peakMiB();
  await server.stop();
  return `slow readers: 1,500 not reading, 25 posters × 4 KB inside --rate for 20 s: ` +
    `server RSS peak ${peak.toFixed(0)} MiB (sampled ${peakRss.toFixed(0)}; budget 256 + 150), ` +
    `${dropped} dropped as too slow; canary ${result.received}/${result.sent}, ` +
    `p90 ${result.p90.toFixed(1)} ms`;
}

/** 200 TCP connections to the TLS port that never send a byte. */
async function silentTls(): Promise<string> {
  const server = await startServer(
    "--cert",
    `${TESTDATA}cert.pem`,
    "--key",
    `${TESTDATA}key.pem`,
    "--max-per-address",
    "0",
  );
  const baseline = server.fds();
  const started = performance.now();
  const closedAt: number[] = [];
  await Promise.all(Array.from({ length: 200 }, () =>
    new Promise<void>((resolve) => {
      const socket = net.connect({ host: "127.0.0.1", port: server.port }, () => resolve());
      socket.on("error", () => {});
      socket.on("close", () => closedAt.push(performance.now() - started));
    })));
  await sleep(1000); // accepted, and waiting for a handshake that never comes
  const during = server.fds();
  while (closedAt.length < 200 && performance.now() - started < 30_000) await sleep(100);
  await sleep(200);
  const after = server.fds();
  await server.stop();
  return `silent TLS: 200 connections that never handshake: server fds ${baseline} → ${during} → ` +
    `${after}; all ${closedAt.length} closed by ${(percentile(closedAt, 1) / 1000).toFixed(1)} s ` +
    `(handshake timeout 10 s)`;
}

/** Connect, name, /quit as fast as possible from one address, while a watcher counts notices. */
async function storm(limits: boolean): Promise<string> {
  const server = await startServer(
    ...(limits ? [] : ["--max-per-address", "0", "--connect-rate", "0"]),
  );
  const watcher = await join(server.port, "watcher");
  watcher.lines.length = 0;
  const started = performance.now();
  let cycles = 0;
  let refused = 0;
  const greetings: number[] = [];
  const prober = setInterval(() => {
    const t = performance.now();
    const socket = net.connect({ host: "127.0.0.1", port: server.port });
    socket.on("error", () => {});
    socket.once("data", () => {
      greetings.push(performance.now() - t);
      socket.destroy();
    });
  }, 250);
  while (performance.now() - started < 10_000) {
    await Promise.all(Array.from({ length: 10 }, async (_, i) => {
      try {
        const client = await join(server.port, `s${cycles}x${i}`);
        client.write("/quit\n");
        client.destroy();
        cycles++;
      } catch {
        refused++;
      }
    }));
  }
  clearInterval(prober);
  await sleep(3500); // let the last notices (a join waits up to 3 s) come out
  const seconds = (performance.now() - started) / 1000;
  const notices = watcher.lines.filter((line) => line.startsWith("-- ")).length;
  watcher.destroy();
  await server.stop();
  return `storm (${limits ? "default limits" : "per-address limits off"}): ${cycles} join/quit ` +
    `cycles and ${refused} refused in 10 s: the watcher got ${notices} notice lines in ` +
    `${seconds.toFixed(1)} s; greetings p90 ${percentile(greetings, 0.9).toFixed(1)} ms, ` +
    `max ${percentile(greetings, 1).toFixed(1)} ms (${greetings.length} probes)`;
}

/** One client sending 4 KB lines as fast as it can; what the others receive per second. */
async function bigLines(): Promise<string> {
  const server = await startServer();
  const sender = await join(server.port, "sender");
  const receiver = await join(server.port, "receiver");
  let bytes = 0;
  receiver.on("data", (chunk: Uint8Array) => bytes += chunk.length);
  const line = encoder.encode("y".repeat(4000) + "\n");
  const timer = setInterval(() => {
    for (let i = 0; i < 50; i++) sender.write(line);
  }, 10);
  await sleep(3000); // the burst goes first
  const from = bytes;
  await sleep(10_000);
  const perSecond = (bytes - from) / 10;
  clearInterval(timer);
  sender.destroy();
  receiver.destroy();
  await server.stop();
  return `big lines: one client writing 4 KB lines flat out (20 MB/s offered): relayed ` +
    `${(perSecond / 1024).toFixed(1)} KiB/s after the burst (--rate 10 × 512 B = 5 KiB/s)`;
}

const attacks: Record<string, () => Promise<string>> = {
  slow: slowReaders,
  tls: silentTls,
  storm: () => storm(false),
  "storm-limits": () => storm(true),
  big: bigLines,
};

if (import.meta.main) await runAttacks(attacks, Deno.args);
