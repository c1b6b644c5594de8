/**
 * Attacks on the web side (HTTP and WebSocket) of server.ts, each against its
 * own server subprocess on 127.0.0.1, bounded in count and time; each prints
 * one line of figures. `CHAT_SERVER=/work/before/server.ts` runs them against
 * an older checkout, for "before" figures.
 *
 * ```sh
 * deno run -A tools/attack_web.ts                          # every attack
 * deno run -A tools/attack_web.ts upgrade-leak slowloris   # some of them
 * ```
 *
 * @module
 */

import net from "node:net";
import { encoder, join, runAttacks, sleep, startServer } from "./attack_util.ts";

/** A port that was free a moment ago, for the web side (`--web`). */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A server with its web side on a known port. */
async function webServer(...flags: string[]) {
  const web = await freePort();
  const server = await startServer("--web", String(web), ...flags);
  // The web side listens after the TCP port the log names first.
  while (!server.logLines.join("").includes("page at")) await sleep(20);
  return { ...server, web };
}

/** Opens a connection to `port`, sends `text`, and resolves with the socket once connected. */
function connect(port: number, text = ""): Promise<net.Socket & { got: string; gone: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port }) as net.Socket & {
      got: string;
      gone: boolean;
    };
    socket.got = "";
    socket.gone = false;
    socket.on("error", () => {});
    socket.on("data", (chunk: Uint8Array) => {
      // One character per byte: a WebSocket frame's header survives.
      if (socket.got.length < 4096) socket.got += String.fromCharCode(...chunk.subarray(0, 4096));
    });
    socket.on("close", () => socket.gone = true);
    socket.once("connect", () => {
      if (text) socket.write(text);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

/** The status line of one answer to `request` on a fresh connection (or what went wrong). */
async function status(port: number, request: string, ms = 3_000): Promise<string> {
  let socket;
  try {
    socket = await connect(port, request);
  } catch (error) {
    return `connect failed (${(error as Error & { code?: string }).code})`;
  }
  const deadline = performance.now() + ms;
  while (!socket.got.includes("\r\n") && !socket.gone && performance.now() < deadline) {
    await sleep(10);
  }
  socket.destroy();
  return socket.got.split("\r\n")[0] || (socket.gone ? "closed" : "no answer");
}

/** Whether a chat client can join on the TCP port within `ms`, and how long it took. */
async function tcpJoins(port: number, name: string, ms = 3_000): Promise<string> {
  const started = performance.now();
  const joined = join(port, name).then((socket) => {
    socket.destroy();
    return `joined in ${(performance.now() - started).toFixed(0)} ms`;
  }, (error) => `refused ("${/closed: ([^\n]*)/.exec(String(error.message))?.[1] || "closed"}")`);
  return await Promise.race([joined, sleep(ms).then(() => `no answer in ${ms} ms`)]);
}

const wsHandshake = (port: number, extra = "Connection: Upgrade\r\n") =>
  `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n${extra}` +
  "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";

/** Bad upgrades (no `Connection: Upgrade`), then a normal client: is its place still there? */
async function upgradeLeak(): Promise<string> {
  // One address, 8 places: what a leak would use up first.
  const server = await webServer("--max-per-address", "8", "--connect-rate", "0");
  const bad = wsHandshake(server.web, "");
  const answers = new Map<string, number>();
  for (let i = 0; i < 8; i++) {
    const line = await status(server.web, bad);
    answers.set(line, (answers.get(line) ?? 0) + 1);
  }
  await sleep(200);
  const tcpAfter = await tcpJoins(server.port, "after");
  const httpAfter = await status(
    server.web,
    `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${server.web}\r\nConnection: close\r\n\r\n`,
  );
  await server.stop();
  // An exempt network: only --max-clients bounds it.
  const exempt = await webServer("--exempt", "127.0.0.0/8", "--max-clients", "1000");
  const started = performance.now();
  const badExempt = wsHandshake(exempt.web, "");
  for (let i = 0; i < 1_200; i += 50) {
    await Promise.all(Array.from({ length: 50 }, () => status(exempt.web, badExempt)));
  }
  const seconds = (performance.now() - started) / 1000;
  await sleep(200);
  const exemptAfter = await tcpJoins(exempt.port, "after");
  await exempt.stop();
  return `upgrade-leak: 8 bad upgrades (${[...answers].map(([k, v]) => `${v}× "${k}"`)}) ` +
    `with --max-per-address 8: then TCP ${tcpAfter}, HTTP "${httpAfter}"; ` +
    `1,200 from an exempt network (--max-clients 1000) in ${seconds.toFixed(1)} s: ` +
    `then TCP ${exemptAfter}`;
}

/** 2,000 half-sent HTTP requests from an exempt network: how long they stay, and the others. */
async function slowloris(): Promise<string> {
  const server = await webServer("--exempt", "127.0.0.0/8");
  const idleFds = server.fds();
  const sockets: Awaited<ReturnType<typeof connect>>[] = [];
  const started = performance.now();
  for (let i = 0; i < 2_000; i += 100) {
    const batch = await Promise.allSettled(
      Array.from(
        { length: 100 },
        () => connect(server.web, `GET / HTTP/1.1\r\nHost: 127.0.0.1:${server.web}\r\nX-a: b\r\n`),
      ),
    );
    for (const result of batch) if (result.status === "fulfilled") sockets.push(result.value);
  }
  await sleep(500);
  const peakFds = server.fds();
  const during = await tcpJoins(server.port, "during");
  // Keep trickling a header byte a second each, as slowloris does; wait up to 20 s.
  const closedAt: number[] = [];
  const trickle = setInterval(() => {
    for (const socket of sockets) if (!socket.gone) socket.write("X");
  }, 1_000);
  while (performance.now() - started < 20_000) {
    for (const socket of sockets) {
      if (socket.gone && !(socket as { at?: number }).at) {
        (socket as { at?: number }).at = performance.now() - started;
        closedAt.push((socket as { at?: number }).at!);
      }
    }
    if (closedAt.length === sockets.length) break;
    await sleep(100);
  }
  clearInterval(trickle);
  const open = sockets.filter((socket) => !socket.gone).length;
  const after = await tcpJoins(server.port, "after");
  const fdsAfter = server.fds();
  for (const socket of sockets) socket.destroy();
  await server.stop();
  closedAt.sort((a, b) => a - b);
  const at = (q: number) =>
    closedAt.length ? (closedAt[Math.floor(q * (closedAt.length - 1))] / 1000).toFixed(1) : "–";
  return `slowloris: ${sockets.length} half-sent requests (exempt network), trickling: ` +
    `${closedAt.length} closed by the server (p50 ${at(0.5)} s, max ${at(1)} s), ` +
    `${open} still open after ${((performance.now() - started) / 1000).toFixed(0)} s; ` +
    `server fds ${idleFds} idle → ${peakFds} → ${fdsAfter}; TCP join during: ${during}, ` +
    `after: ${after}`;
}

/** The server near its fd limit (ulimit -n 300): do the listeners survive and accept again? */
async function emfile(): Promise<string> {
  const web = await freePort();
  const tcpPort = await freePort();
  const server = Deno.env.get("CHAT_SERVER") ?? new URL("../server.ts", import.meta.url).pathname;
  const child = new Deno.Command("sh", {
    args: [
      "-c",
      `ulimit -n 300; exec "${Deno.execPath()}" run -A "${server}" --port ${tcpPort} ` +
      `--web ${web} --exempt 127.0.0.0/8`,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let log = "";
  const collect = async (stream: ReadableStream<Uint8Array<ArrayBuffer>>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) log += chunk;
  };
  const reading = Promise.all([collect(child.stdout), collect(child.stderr)]);
  while (!log.includes("page at")) await sleep(50);
  const sockets: Awaited<ReturnType<typeof connect>>[] = [];
  // All at once: the burst meets the limit inside one round of accepts.
  const burst = await Promise.allSettled(
    Array.from({ length: 400 }, () => connect(web, "GET / HTTP/1.1\r\n")),
  );
  for (const result of burst) if (result.status === "fulfilled") sockets.push(result.value);
  await sleep(1_000);
  const logBefore = log.length;
  for (const socket of sockets) socket.destroy();
  await sleep(500);
  const started = performance.now();
  let healthz = "";
  let tcp = "";
  while (performance.now() - started < 15_000) {
    healthz = await status(web, `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${web}\r\n\r\n`, 1_000);
    tcp = await tcpJoins(tcpPort, `after${Math.floor(performance.now())}`, 1_000);
    if (healthz.includes("200") && tcp.startsWith("joined")) break;
  }
  const recovered = ((performance.now() - started) / 1000).toFixed(1);
  let exited: number | null = null;
  child.status.then((status) => exited = status.code);
  await sleep(10_500); // the log's summary of repeated events
  const died = exited;
  if (died === null) child.kill("SIGKILL");
  await child.status;
  await reading;
  if (died !== null) {
    const last = log.trim().split("\n").filter((line) => /panicked|error/i.test(line)).slice(-3);
    return `emfile: ulimit -n 300, 400 half-sent requests at once: the server EXITED ` +
      `(code ${died}); its last lines: ${JSON.stringify(last)}`;
  }
  const acceptLines = log.split("\n").filter((line) => /accept|internal error/.test(line));
  return `emfile: ulimit -n 300, 400 half-sent requests then closed: server alive; ` +
    `after ${recovered} s: /healthz "${healthz}", TCP ${tcp}; ` +
    `${acceptLines.length} accept/internal-error log lines (${log.length - logBefore} bytes ` +
    `logged after the attack)`;
}

/** 48 WebSockets that never name themselves nor read, against --name-timeout 2. */
async function silentWs(): Promise<string> {
  const server = await webServer(
    "--exempt",
    "127.0.0.0/8",
    "--name-timeout",
    "2",
    "--max-clients",
    "50",
  );
  const sockets: Awaited<ReturnType<typeof connect>>[] = [];
  for (let i = 0; i < 48; i++) {
    const socket = await connect(server.web, wsHandshake(server.web));
    sockets.push(socket);
  }
  await sleep(300);
  // They never answer the close the server sends (reading it is all they do).
  const started = performance.now();
  let allGone = NaN;
  while (performance.now() - started < 15_000) {
    if (sockets.every((socket) => socket.gone)) {
      allGone = performance.now() - started;
      break;
    }
    await sleep(100);
  }
  const open = sockets.filter((socket) => !socket.gone).length;
  // Places at the door: 2 were left while they held theirs; 5 clients that stay try now.
  const late = await Promise.all(
    Array.from({ length: 5 }, (_, i) => join(server.port, `late${i}`).catch(() => null)),
  );
  const joined = late.filter((socket) => socket !== null).length;
  for (const socket of late) socket?.destroy();
  for (const socket of sockets) socket.destroy();
  await server.stop();
  return `silent-ws: 48 silent WebSockets, --name-timeout 2 --max-clients 50: ` +
    (isNaN(allGone)
      ? `${open} still open after 15 s`
      : `all closed by the server ${(allGone / 1000).toFixed(1)} s after the handshake`) +
    `; then ${joined}/5 TCP clients joined`;
}

/** `Host: x:1:2` in a loop on 8 keep-alive connections for 3 s: answers/s, log bytes/s. */
async function badHost(): Promise<string> {
  const server = await webServer("--exempt", "127.0.0.0/8");
  await sleep(200);
  const logBefore = server.logLines.join("").length;
  const request = encoder.encode("GET / HTTP/1.1\r\nHost: x:1:2\r\n\r\n");
  const statuses = new Map<string, number>();
  let answers = 0;
  const started = performance.now();
  const decoder = new TextDecoder();
  // Keep-alive: one request after the other, each once the last is answered; a connection
  // the server closes is opened again.
  const worker = () =>
    new Promise<void>((resolve) => {
      const open = () => {
        if (performance.now() - started >= 3_000) return resolve();
        const socket = net.connect({ host: "127.0.0.1", port: server.web });
        let buffer = "";
        socket.on("error", () => {});
        socket.on("connect", () => socket.write(request));
        socket.on("close", open);
        socket.on("data", (chunk: Uint8Array) => {
          buffer += decoder.decode(chunk);
          for (let end = buffer.indexOf("\r\n\r\n"); end !== -1; end = buffer.indexOf("\r\n\r\n")) {
            const head = buffer.slice(0, end);
            const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
            if (buffer.length < end + 4 + length) break;
            buffer = buffer.slice(end + 4 + length);
            answers++;
            const line = head.split("\r\n")[0];
            statuses.set(line, (statuses.get(line) ?? 0) + 1);
            if (performance.now() - started < 3_000) socket.write(request);
            else socket.destroy();
          }
        });
      };
      open();
    });
  const workers = Array.from({ length: 8 }, worker);
  await Promise.all(workers);
  const seconds = (performance.now() - started) / 1000;
  await sleep(500);
  const logged = server.logLines.join("").length - logBefore;
  const stacks = server.logLines.join("").split("internal error").length - 1;
  await server.stop();
  return `bad-host: ${(answers / seconds).toFixed(0)} answers/s (${[...statuses.keys()]}); ` +
    `log ${(logged / seconds / 1024).toFixed(1)} KiB/s, ${stacks} internal-error lines`;
}

/** 32 WebSockets each sending one 60 MiB frame: what the server holds meanwhile. */
async function bigFrames(): Promise<string> {
  const server = await webServer("--exempt", "127.0.0.0/8");
  const sockets: Awaited<ReturnType<typeof connect>>[] = [];
  for (let i = 0; i < 32; i++) sockets.push(await connect(server.web, wsHandshake(server.web)));
  await sleep(500);
  const idle = server.rssMiB();
  const size = 60 * 1024 * 1024;
  const header = new Uint8Array([0x82, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  new DataView(header.buffer).setUint32(6, size);
  const chunk = new Uint8Array(1024 * 1024); // zeros under a zero mask: the payload as is
  let peak = idle;
  const sampler = setInterval(() => peak = Math.max(peak, server.rssMiB()), 50);
  const started = performance.now();
  let sent = 0;
  await Promise.all(sockets.map(async (socket) => {
    socket.write(header);
    for (let i = 0; i < size / chunk.length && !socket.gone; i++) {
      // Each MiB once the last is taken by the kernel: the server sets the pace.
      const error = await new Promise((resolve) => socket.write(chunk, resolve));
      if (error || socket.gone || performance.now() - started > 30_000) break;
      sent += chunk.length;
    }
  }));
  await sleep(500);
  clearInterval(sampler);
  const seconds = (performance.now() - started) / 1000;
  const closed = sockets.filter((socket) => socket.gone).length;
  const closeCodes = new Map<string, number>();
  for (const socket of sockets) {
    const at = socket.got.lastIndexOf("\x88");
    const code = at === -1
      ? "none"
      : String((socket.got.charCodeAt(at + 2) << 8) | socket.got.charCodeAt(at + 3));
    closeCodes.set(code, (closeCodes.get(code) ?? 0) + 1);
  }
  const hwm = server.peakMiB();
  for (const socket of sockets) socket.destroy();
  await server.stop();
  return `big-frames: 32 WebSockets × one 60 MiB frame: ${(sent / 1024 / 1024).toFixed(0)} MiB ` +
    `taken by the kernel in ${seconds.toFixed(1)} s, ${closed} closed by the server ` +
    `(close codes ${[...closeCodes].map(([code, n]) => `${n}× ${code}`)}); server RSS idle ` +
    `${idle.toFixed(0)} MiB, sampled peak ${peak.toFixed(0)} MiB (+${(peak - idle).toFixed(0)}), ` +
    `VmHWM ${hwm.toFixed(0)} MiB`;
}

const ATTACKS: Record<string, () => Promise<string>> = {
  "upgrade-leak": upgradeLeak,
  slowloris,
  emfile,
  "silent-ws": silentWs,
  "bad-host": badHost,
  "big-frames": bigFrames,
};

if (import.meta.main) await runAttacks(ATTACKS, Deno.args);
