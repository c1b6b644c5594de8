/**
 * Attacks on what one client's input can make the server do (issue 23, items 5
 * and 7): an endless line, history paging, rooms kept with `--db`, rooms held
 * by one address. Each starts its own server, runs a bounded time against
 * 127.0.0.1, and prints its figures in one line; `CHAT_SERVER=PATH` runs the
 * same attack against another checkout's server.ts ("before" figures).
 *
 * ```sh
 * deno run -A tools/attack_input.ts endless-line history-amp db-rooms room-hog
 * ```
 *
 * @module
 */

import net from "node:net";
import { DatabaseSync } from "node:sqlite";
import { canary, encoder, join, runAttacks, sleep, startServer } from "./attack_util.ts";

/** Seconds of CPU (user + system) that process `pid` has used. */
function cpuSeconds(pid: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks
}

/**
 * Bytes the server on `port` has read from each of its connections (by the
 * peer's port), as the kernel counts them: received, less what waits unread.
 */
async function bytesRead(port: number): Promise<Map<string, number>> {
  const { stdout } = await new Deno.Command("ss", {
    args: ["-tinH", "state", "established", `( sport = :${port} )`],
  }).output();
  const read = new Map<string, number>();
  const lines = new TextDecoder().decode(stdout).split("\n");
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const [recvQ, , , peer] = lines[i].trim().split(/\s+/);
    const received = /bytes_received:(\d+)/.exec(lines[i + 1])?.[1] ?? "0";
    read.set(peer, Number(received) - Number(recvQ));
  }
  return read;
}

/** Writes `chunk` to `socket` whenever it can take more, until `stop()`. */
function flood(socket: net.Socket, chunk: Uint8Array): () => void {
  let stopped = false;
  const pump = () => {
    while (!stopped && !socket.destroyed && socket.write(chunk));
  };
  socket.on("drain", pump);
  pump();
  return () => stopped = true;
}

const MB = 1e6;

/** `connections` clients each send one line without a newline, flat out, for 10 s. */
async function endlessLine(connections: number): Promise<string> {
  const server = await startServer("--connect-rate", "0");
  const bird = await canary(server.port);
  const attackers: net.Socket[] = [];
  let dropped = 0;
  for (let i = 0; i < connections; i++) {
    const attacker = await join(server.port, `endless${i}`);
    attacker.on("close", () => dropped++);
    attackers.push(attacker);
  }
  const chunk = encoder.encode("a".repeat(64 * 1024));
  // What each connection had read before the flood, and the most seen since (a dropped
  // connection keeps its last figure).
  const before = await bytesRead(server.port);
  const seen = new Map(before);
  const cpu0 = cpuSeconds(server.pid);
  const started = performance.now();
  const stops = attackers.map((attacker) => flood(attacker, chunk));
  let peakRss = 0;
  while (performance.now() - started < 10_000) {
    await sleep(250);
    peakRss = Math.max(peakRss, server.rssMiB());
    for (const [peer, bytes] of await bytesRead(server.port)) seen.set(peer, bytes);
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = (cpuSeconds(server.pid) - cpu0) / seconds;
  stops.forEach((stop) => stop());
  const attackerDrops = dropped;
  let total = 0;
  for (const [peer, bytes] of seen) total += bytes - (before.get(peer) ?? 0);
  const read = total / seconds;
  const result = bird.stop();
  const reasons = server.logLines.join("").match(/too many over-long lines/g)?.length ?? 0;
  for (const attacker of attackers) attacker.destroy();
  await server.stop();
  return `endless line × ${connections}: server read ${(read / MB).toFixed(2)} MB/s for ` +
    `${seconds.toFixed(1)} s, CPU ${(cpu * 100).toFixed(0)} %, RSS peak ${peakRss.toFixed(0)} ` +
    `MiB; ${attackerDrops}/${connections} attackers dropped (${reasons} logged as over-long lines); ` +
    `canary ${result.received}/${result.sent}, p90 ${result.p90.toFixed(1)} ms, ` +
    `p99 ${result.p99.toFixed(1)} ms`;
}

/** A room filled with 2,000 lines of 3.9 KB kept in a --db file, then paged by 30 clients. */
async function historyAmp(): Promise<string> {
  const db = await Deno.makeTempFile({ suffix: ".db" });
  try {
    // Filling: flood control off, so that it takes a second; then the server is restarted.
    const filling = await startServer("--db", db, "--rate", "0");
    const filler = await join(filling.port, "filler");
    filler.write("/join amp\n");
    const text = "h".repeat(3900);
    for (let i = 0; i < 2000; i++) filler.write(`${i} ${text}\n`);
    filler.write("/who\n");
    while (!filler.lines.some((line) => line.startsWith("-- Online in amp"))) await sleep(50);
    await sleep(200); // written within 5 ms
    filler.destroy();
    await filling.stop();

    const server = await startServer("--db", db, "--connect-rate", "0");
    const bird = await canary(server.port);
    const pagers: (net.Socket & { lines: string[] })[] = [];
    for (let i = 0; i < 30; i++) pagers.push(await join(server.port, `pager${i}`));
    let answered = 0;
    let refusals = 0;
    for (const pager of pagers) {
      pager.lines.length = 0;
      pager.on("data", (chunk: Uint8Array) => answered += chunk.length);
    }
    const started = performance.now();
    let sent = 0;
    let tick = 0;
    // Each pager asks ten times a second (--rate 10): /history 500, and every tenth
    // time it goes out and back in, which starts its cursor at the newest line again.
    const timer = setInterval(() => {
      const command = tick++ % 10 === 9 ? "/join lobby\n/join amp\n" : "/history 500\n";
      for (const pager of pagers) {
        pager.write(command);
        sent += command.length;
      }
    }, 100);
    await sleep(10_000);
    clearInterval(timer);
    const seconds = (performance.now() - started) / 1000;
    for (const pager of pagers) {
      refusals += pager.lines.filter((line) => line.includes("too much history")).length;
    }
    const result = bird.stop();
    for (const pager of pagers) pager.destroy();
    await server.stop();
    return `history amplification: 30 clients of one address paging for ${seconds.toFixed(1)} s ` +
      `sent ${(sent / 1024).toFixed(0)} KiB and were answered ${(answered / MB).toFixed(1)} MB ` +
      `(${(answered / sent).toFixed(0)}×, ${(answered / seconds / MB).toFixed(2)} MB/s; ` +
      `${refusals} refusals seen); canary ${result.received}/${result.sent}, ` +
      `p99 ${result.p99.toFixed(1)} ms`;
  } finally {
    await Deno.remove(db).catch(() => {});
    await Deno.remove(db + "-wal").catch(() => {});
    await Deno.remove(db + "-shm").catch(() => {});
  }
}

/** 3,000 rooms, each made and said something in, with --db under --max-rooms 1000. */
async function dbRooms(): Promise<string> {
  const db = await Deno.makeTempFile({ suffix: ".db" });
  try {
    // Flood control off: what is measured is what the file keeps, not how fast it fills.
    const server = await startServer("--db", db, "--max-rooms", "1000", "--rate", "0");
    const makers: (net.Socket & { lines: string[] })[] = [];
    for (let i = 0; i < 10; i++) makers.push(await join(server.port, `maker${i}`));
    for (let room = 0; room < 3000; room++) {
      makers[room % 10].write(`/join r${room}\nsomething said in r${room}\n`);
    }
    for (const maker of makers) maker.write("/join done\n");
    for (const maker of makers) {
      while (!maker.lines.some((line) => line.startsWith("-- You are now in done"))) {
        await sleep(50);
      }
    }
    await sleep(300); // written within 5 ms
    const rss = server.rssMiB();
    for (const maker of makers) maker.destroy();
    await server.stop();
    const file = new DatabaseSync(db);
    const { rooms } = file.prepare("SELECT count(DISTINCT room) AS rooms FROM messages").get() as {
      rooms: number;
    };
    file.close();
    return `rooms in --db: 3,000 rooms made and spoken in under --max-rooms 1000: ` +
      `${rooms} rooms' history kept in the file; server RSS ${rss.toFixed(0)} MiB`;
  } finally {
    await Deno.remove(db).catch(() => {});
    await Deno.remove(db + "-wal").catch(() => {});
    await Deno.remove(db + "-shm").catch(() => {});
  }
}

/** One client from `localAddress`, named `name`, that answers whether it could make `room`. */
function makeRoom(port: number, localAddress: string, name: string, room: string) {
  return new Promise<{ made: boolean; socket: net.Socket }>((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port, localAddress });
    let buffer = "";
    socket.on("error", () => {});
    socket.on("close", () => resolve({ made: false, socket }));
    socket.on("data", (chunk: Uint8Array) => {
      buffer += new TextDecoder().decode(chunk);
      if (buffer.includes("What should we call you?\n")) {
        buffer = "";
        socket.write(`${name}\n/join ${room}\n`);
      }
      if (buffer.includes(`-- You are now in ${room}.`)) resolve({ made: true, socket });
      else if (buffer.includes("!! ")) resolve({ made: false, socket });
    });
  });
}

/** 32 clients of 127.0.0.1 each make a room under --max-rooms 30; then one of 127.0.0.2 tries. */
async function roomHog(): Promise<string> {
  const server = await startServer("--max-rooms", "30", "--connect-rate", "0");
  const tries = [];
  for (let i = 0; i < 32; i++) {
    tries.push(await makeRoom(server.port, "127.0.0.1", `hog${i}`, `h${i}`));
  }
  const held = tries.filter((attempt) => attempt.made).length;
  const other = await makeRoom(server.port, "127.0.0.2", "other", "mine");
  for (const { socket } of [...tries, other]) socket.destroy();
  await server.stop();
  return `room hog: 32 clients of one address under --max-rooms 30 made ${held} rooms; ` +
    `a client of another address ${other.made ? "could" : "could not"} make one`;
}

const attacks: Record<string, () => Promise<string>> = {
  "endless-line": async () => `${await endlessLine(1)}\n${await endlessLine(10)}`,
  "history-amp": historyAmp,
  "db-rooms": dbRooms,
  "room-hog": roomHog,
};

if (import.meta.main) await runAttacks(attacks, Deno.args);
