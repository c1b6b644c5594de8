/**
 * Connecting the bench's own clients, a bounded number at a time, and knowing when each is in
 * the room: named (ours), reached by a probe (a server that relays everything), or accepted (a
 * server that sends nothing).
 *
 * @module
 */

import net from "node:net";
import { PROBE } from "./message.ts";
import { type Settings, sleep } from "./settings.ts";
import { acceptQueue, openFiles } from "./sample.ts";
import { type Client, markReady, Meter, newClient, openClient } from "./clients.ts";

interface Connected {
  clients: Client[];
  /** Until the last TCP connect completed, ms. */
  tcpMs: number;
  /** Until every client was in the room (named, or reached by a probe), ms. */
  readyMs: number;
  failed: number;
  firstFailure: string;
  timedOut: boolean;
}

/** Connects a client that never reads: paused before it connects, it never starts reading. */
export function openSlowClient(port: number): net.Socket {
  const socket = net.connect({ host: "127.0.0.1", port });
  socket.pause();
  socket.on("error", () => {});
  return socket;
}

/** Resolves once `socket` is connected (with Nagle off), rejects on its first error. */
export function whenConnected(socket: net.Socket): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const fail = (error: Error) => reject(error);
    socket.once("error", fail);
    socket.once("connect", () => {
      socket.off("error", fail);
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}

/** The server under test as connecting sees it. */
interface Listener {
  pid: number;
  port: number;
  /** Open files of the server before the first client. */
  files0: number;
}

/**
 * Resolves once the server has accepted every connected client: its accept queue is empty on
 * two looks 20 ms apart, and, if `confirm`, it holds `count` more open files than before.
 */
async function allAccepted(
  server: Listener,
  count: number,
  confirm: boolean,
  expired: Promise<unknown>,
  timedOut: () => boolean,
): Promise<void> {
  for (let empty = 0; empty < 2 && !timedOut();) {
    const queue = acceptQueue(server.port);
    empty = queue === 0 ? empty + 1 : Number.isNaN(queue) ? 2 : 0;
    await Promise.race([sleep(20), expired]);
  }
  while (confirm && !timedOut() && !(openFiles(server.pid) - server.files0 >= count)) {
    await Promise.race([sleep(250), expired]);
  }
}

/**
 * Connects `count` clients, `concurrency` at a time, and waits until all are in the room. Their
 * indices start at `first`; with `awaitReplay` each is in only once its replay has ended.
 */
export async function connectClients(
  m: Meter,
  server: Listener,
  count: number,
  settings: Settings,
  first = 0,
  awaitReplay = false,
): Promise<Connected> {
  const { port } = server;
  const ready0 = m.ready;
  const clients: Client[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timedOut = false;
  const expired = new Promise<"expired">((resolve) => {
    timer = setTimeout(() => {
      timedOut = true;
      resolve("expired");
    }, settings.connectTimeoutMs);
  });
  const start = performance.now();
  let tcpAt = start;
  let next = 0;
  let failed = 0;
  let firstFailure = "";
  const ready = m.spec.ready;
  const worker = async () => {
    while (next < count && !timedOut) {
      const index = next++;
      const client = newClient(first + index, m.spec.named, awaitReplay);
      const socket = client.socket = openClient(m, client, port);
      // Errors after the connect (a reset when the server stops) end the socket; that is all.
      socket.on("error", () => {});
      socket.once("close", () => m.closed++);
      const inRoom = new Promise<void>((resolve) => client.onReady = resolve);
      const outcome = await Promise.race([whenConnected(socket), expired]).catch((error: Error) => {
        failed++;
        firstFailure ||= error.message;
        return null;
      });
      if (outcome !== socket) {
        socket.destroy();
        if (outcome === "expired") break;
        continue;
      }
      tcpAt = performance.now();
      clients[index] = client;
      if (ready === "hello") await Promise.race([inRoom, expired]);
    }
  };
  // ncat listens with a backlog of 10; parallel connects overflow it, and a dropped SYN is
  // retried only after 1 s, 3 s, 7 s…, so it gets one connect at a time.
  const concurrency = m.spec.id === "ncat" ? 1 : settings.concurrency;
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  const present = clients.filter((c) => c !== undefined);
  if (ready === "probe" && present.length === count && !timedOut) {
    // Accepted is not connected: a probe from client 0 must reach everyone else. It goes out
    // once the server holds every connection: the Go server iterates its client map while
    // its accept loop writes to it, and a fan-out during the connect burst can crash it.
    await allAccepted(server, count, false, expired, () => timedOut);
    markReady(m, present[0]);
    for (let i = 0; m.ready - ready0 < count && !timedOut; i++) {
      if (i % 50 === 0) present[0].socket.write(PROBE); // again every 250 ms
      await Promise.race([sleep(5), expired]);
    }
  } else if (ready === "accepted" && present.length === count && !timedOut) {
    // Connected is not accepted either: the server must hold an open file for each client.
    await allAccepted(server, count, true, expired, () => timedOut);
    if (!timedOut) { for (const c of present) markReady(m, c); }
  }
  clearTimeout(timer);
  return {
    clients: present,
    tcpMs: tcpAt - start,
    readyMs: performance.now() - start,
    failed,
    firstFailure,
    timedOut: timedOut || m.ready - ready0 < count,
  };
}
