/**
 * Attacks on the IRC listener (`--irc`), each against its own server on free
 * ports over 127.0.0.1, bounded in time, printing one line of figures.
 * `CHAT_SERVER=/work/before/server.ts` runs them against an older checkout.
 *
 * ```sh
 * deno run -A tools/attack_irc.ts                       # every attack
 * deno run -A tools/attack_irc.ts who-stars long-line   # some of them
 * ```
 *
 * - `who-stars`: `WHO ***…#` with 11 to 13 stars, which a regular expression
 *   backtracks on; how long the 315 and a `/healthz` sent meanwhile wait.
 * - `privmsg-dup`: copies delivered for `PRIVMSG x,x,x,x` (to a nick and a channel).
 * - `service-nick`: whether NickServ, ChanServ or the server's name can be taken.
 * - `long-line`: what an IRC recipient gets of a 3,050-byte line from an IRC user, and of
 *   a 512-byte one that the server's longer source pushes past 512 bytes.
 * - `ip-leak`: four IRC users from 127.0.0.1 to 127.0.0.4 (two from .1) in #lobby; how
 *   many times their real addresses appear in what an observer gets from their JOINs,
 *   `WHO *`, `WHO * %uhin`, `WHOIS`, `USERHOST` and `MONITOR`, and how many hosts it sees.
 * - `hash-room`: an nc user does `/join #dev` (the docs' example), an IRC user `JOIN #dev`:
 *   the channel IRC is shown, whether each gets the other's message, and `LIST`.
 *
 * @module
 */

import net from "node:net";
import { join, runAttacks, sleep, startServer } from "./attack_util.ts";

/** Longest an attack waits for an answer before it calls the server frozen. */
const BOUND_MS = 20_000;

/** A server with an IRC listener and the web page; its IRC port and web address. */
async function ircServer(...flags: string[]) {
  const server = await startServer("--irc", "0", "--web", "0", "--rate", "0", ...flags);
  const log = () => server.logLines.join("");
  const started = performance.now();
  while (!/\(IRC\)/.test(log())) {
    if (performance.now() - started > 10_000) throw new Error(`no IRC listener: ${log()}`);
    await sleep(20);
  }
  const irc = Number(/listening on [\d.]+:(\d+) \(IRC\)/.exec(log())![1]);
  const web = /\(page at (http:\/\/[^/)]+)/.exec(log())?.[1] ?? "";
  return { server, irc, web };
}

/** An IRC client: its lines (without CRLF), and a wait for a line that passes a test. */
interface IrcClient {
  socket: net.Socket;
  lines: string[];
  send(...lines: string[]): void;
  /** The first line (from `from` on) that `test` passes, or `null` after `ms`. */
  until(test: (line: string) => boolean, ms?: number, from?: number): Promise<string | null>;
}

/** An IRC connection to `port`, from `localAddress` (any of 127.0.0.0/8) if given. */
function ircClient(port: number, localAddress?: string): IrcClient {
  const socket = net.connect({ host: "127.0.0.1", port, localAddress });
  const lines: string[] = [];
  let buffer = "";
  let wake = () => {};
  socket.on("error", () => {});
  socket.on("data", (chunk: Uint8Array) => {
    buffer += new TextDecoder().decode(chunk);
    let end;
    while ((end = buffer.indexOf("\n")) !== -1) {
      lines.push(buffer.slice(0, end).replace(/\r$/, ""));
      buffer = buffer.slice(end + 1);
    }
    wake();
  });
  return {
    socket,
    lines,
    send: (...out) => socket.write(out.map((line) => `${line}\r\n`).join("")),
    async until(test, ms = BOUND_MS, from = 0) {
      const deadline = performance.now() + ms;
      for (;;) {
        const found = lines.slice(from).find(test);
        if (found !== undefined) return found;
        const left = deadline - performance.now();
        if (left <= 0) return null;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    },
  };
}

/** An IRC client registered as `nick` (welcome received), or the line that refused it. */
async function ircMember(port: number, nick: string, from?: string): Promise<IrcClient> {
  const client = ircClient(port, from);
  client.send(`NICK ${nick}`, `USER ${nick} 0 * :${nick}`);
  const answer = await client.until((line) => / (001|43\d) /.test(line), 5000);
  if (!answer?.includes(" 001 ")) throw new Error(`${nick} not registered: ${answer}`);
  return client;
}

const seconds = (ms: number) => ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(2)} s`;

/** WHO with 11, 12 and 13 stars and a `#` no nick has, on a fresh server each. */
async function whoStars(): Promise<string> {
  const results: string[] = [];
  for (const stars of [11, 12, 13]) {
    const { server, irc, web } = await ircServer();
    const member = await join(server.port, "x".repeat(24)); // the longest name: most to try
    const asker = await ircMember(irc, "asker");
    const sent = performance.now();
    asker.send(`WHO ${"*".repeat(stars)}#`);
    const reply = asker.until((line) => / 315 /.test(line), BOUND_MS)
      .then((line) => line === null ? null : performance.now() - sent);
    await sleep(50); // the WHO is being handled: what does everyone else wait?
    const asked = performance.now();
    const health = fetch(`${web}/healthz`, { signal: AbortSignal.timeout(BOUND_MS) })
      .then(async (response) => (await response.body?.cancel(), performance.now() - asked))
      .catch(() => null);
    const replyMs = await reply;
    const healthMs = await health;
    const show = (ms: number | null) => ms === null ? `>${BOUND_MS / 1000} s` : seconds(ms);
    results.push(
      `${stars} stars: 315 after ${show(replyMs)}, /healthz (asked 50 ms into it) waited ${
        show(healthMs)
      }`,
    );
    asker.socket.destroy();
    member.destroy();
    await server.stop(); // a frozen server is killed, not waited for
  }
  return `who-stars (one 24-character nick): ${results.join("; ")}`;
}

/** `PRIVMSG rcv,rcv,rcv,rcv` and `PRIVMSG #lobby,#lobby,#LOBBY,#Lobby`: copies delivered. */
async function privmsgDup(): Promise<string> {
  const { server, irc } = await ircServer();
  const sender = await ircMember(irc, "sender");
  const receiver = await ircMember(irc, "rcv");
  const chat = await join(server.port, "chatter"); // in the lobby, on the chat protocol
  sender.send("JOIN #lobby");
  receiver.send("JOIN #lobby");
  await receiver.until((line) => / 366 /.test(line), 5000);
  await sender.until((line) => / 366 /.test(line), 5000);
  sender.send(
    "PRIVMSG rcv,rcv,RCV,Rcv :private-dup",
    "PRIVMSG #lobby,#lobby,#LOBBY,#Lobby :room-dup",
    "PRIVMSG #lobby :end", // after the rest: once both have it, every copy is in
  );
  await receiver.until((line) => line.endsWith(" #lobby :end"), 5000);
  await chatUntil(chat, (line) => line === "sender: end");
  const count = (lines: string[], text: string) => lines.filter((l) => l.endsWith(text)).length;
  const result = `privmsg-dup: rcv,rcv,RCV,Rcv: ${count(receiver.lines, ":private-dup")} ` +
    `copies; #lobby 4 times: the IRC member got ${count(receiver.lines, ":room-dup")}, ` +
    `the chat member ${count(chat.lines, ": room-dup")}`;
  for (const client of [sender, receiver]) client.socket.destroy();
  chat.destroy();
  await server.stop();
  return result;
}

/** Waits (at most 5 s) for a chat client of `join` to have a line that passes `test`. */
async function chatUntil(chat: { lines: string[] }, test: (line: string) => boolean) {
  const started = performance.now();
  while (!chat.lines.some(test) && performance.now() - started < 5000) await sleep(10);
  return chat.lines.find(test);
}

/** Can NickServ, ChanServ or the server's own name be taken, on IRC and on the chat? */
async function serviceNick(): Promise<string> {
  const serverName = "irc.attack";
  const { server, irc } = await ircServer("--irc-name", serverName);
  const outcomes: string[] = [];
  for (const nick of ["NickServ", "ChanServ", "NS", serverName]) {
    const client = ircClient(irc);
    client.send(`NICK ${nick}`, `USER u 0 * :u`);
    const answer = await client.until((line) => / (001|43\d) /.test(line), 5000);
    outcomes.push(
      `IRC ${nick} ${answer?.includes(" 001 ") ? "TAKEN" : `refused (${answer?.split(" ")[1]})`}`,
    );
    client.socket.destroy();
  }
  for (const name of ["ChanServ", "nickserv", serverName.toUpperCase()]) {
    const socket = net.connect({ host: "127.0.0.1", port: server.port });
    let text = "";
    socket.on("data", (chunk: Uint8Array) => text += new TextDecoder().decode(chunk));
    socket.on("error", () => {});
    socket.write(`${name}\n`);
    const started = performance.now();
    while (!/Hello, |!! /.test(text) && performance.now() - started < 5000) await sleep(10);
    outcomes.push(`chat ${name} ${/Hello, /.test(text) ? "TAKEN" : "refused"}`);
    socket.destroy();
  }
  await server.stop();
  return `service-nick: ${outcomes.join(", ")}`;
}

/** An IRC user sends a 3,050-byte line to a channel: what an IRC and a chat member get. */
async function longLine(): Promise<string> {
  const { server, irc } = await ircServer();
  const sender = await ircMember(irc, "sender");
  const receiver = await ircMember(irc, "rcv");
  const chat = await join(server.port, "chatter");
  sender.send("JOIN #lobby");
  receiver.send("JOIN #lobby");
  await receiver.until((line) => / 366 /.test(line), 5000);
  await sender.until((line) => / 366 /.test(line), 5000);
  let text = "";
  for (let i = 0; byteLengthOf(text) < 3050; i++) text += `word${i} `;
  text = text.slice(0, 3049).trimEnd().padEnd(3050, "x"); // 3,050 bytes, no space at the end
  const from = receiver.lines.length;
  sender.send(`PRIVMSG #lobby :${text}`, "PRIVMSG rcv :end");
  await receiver.until((line) => line.endsWith(" :end"), 5000, from);
  const got = receiver.lines.slice(from).filter((line) => / PRIVMSG #lobby :/.test(line));
  const pieces = got.map((line) => line.slice(line.indexOf(" :", 1) + 2));
  const longest = Math.max(...got.map((line) => byteLengthOf(line) + 2));
  const chatLine = await chatUntil(chat, (line) => line.startsWith("sender: ")) ?? "";
  const result = `long-line: a ${byteLengthOf(text)}-byte line from IRC: the IRC member got ` +
    `${byteLengthOf(pieces.join(""))} bytes in ${got.length} line(s) (longest ${longest} bytes ` +
    `with CRLF; whole: ${pieces.join("") === text}), the chat member ` +
    `${byteLengthOf(chatLine.slice("sender: ".length))} bytes`;
  // A standard IRC line of 512 bytes, which the server's longer source pushes past 512.
  const full = "z".repeat(512 - 2 - byteLengthOf("PRIVMSG #lobby :"));
  const before = receiver.lines.length;
  const asked = sender.lines.length;
  sender.send(`PRIVMSG #lobby :${full}`, "PRIVMSG rcv :end2");
  await receiver.until((line) => line.endsWith(" :end2"), 5000, before);
  const relayed = receiver.lines.slice(before).filter((line) => line.includes(" :zzz"));
  const refused = await sender.until((line) => / 417 /.test(line), 500, asked);
  const zs = relayed.map((line) => line.slice(line.indexOf(" :", 1) + 2)).join("").length;
  const standard = `; a 512-byte IRC line: the IRC member got ${zs} of its ${full.length} ` +
    `bytes of text in ${relayed.length} line(s), the sender ${refused ? "a 417" : "no error"}`;
  for (const client of [sender, receiver]) client.socket.destroy();
  chat.destroy();
  await server.stop();
  return result + standard;
}

function byteLengthOf(text: string): number {
  return new TextEncoder().encode(text).length;
}

/** The real addresses of IRC users, counted in what an observer is told of them. */
async function ipLeak(): Promise<string> {
  const { server, irc } = await ircServer();
  const observer = await ircMember(irc, "observer");
  observer.send("JOIN #lobby");
  await observer.until((line) => / 366 /.test(line), 5000);
  const users = [["u1", "127.0.0.1"], ["u1b", "127.0.0.1"], ["u2", "127.0.0.2"], [
    "u3",
    "127.0.0.3",
  ], ["u4", "127.0.0.4"]];
  const clients: IrcClient[] = [];
  for (const [nick, from] of users) {
    const client = await ircMember(irc, nick, from);
    client.send("JOIN #lobby");
    await client.until((line) => / 366 /.test(line), 5000);
    clients.push(client);
  }
  const nicks = users.map(([nick]) => nick);
  observer.send(
    "WHO *",
    "WHO * %uhin",
    ...nicks.map((nick) => `WHOIS ${nick}`),
    `USERHOST ${nicks.join(" ")}`,
    `MONITOR + ${nicks.join(",")}`,
    "PING :done",
  );
  await observer.until((line) => line.endsWith(" :done"), 5000);
  const text = observer.lines.join("\n");
  const leaks = (text.match(/127\.0\.0\.[1-4]\b/g) ?? []).length;
  // The hosts in WHO's 352s: one per address is the aim (u1 and u1b share theirs).
  const hosts = new Map<string, string>();
  for (const line of observer.lines) {
    const who = / 352 \S+ \S+ \S+ (\S+) \S+ (\S+) /.exec(line);
    if (who && who[2] !== "observer") hosts.set(who[2], who[1]);
  }
  for (const client of [observer, ...clients]) client.socket.destroy();
  await server.stop();
  return `ip-leak: ${leaks} occurrences of the users' real addresses in ${observer.lines.length} ` +
    `lines; hosts: ${[...hosts].map(([nick, host]) => `${nick}=${host}`).join(" ")} ` +
    `(${new Set(hosts.values()).size} distinct for 4 addresses)`;
}

/** nc's `/join #dev` and IRC's `JOIN #dev`: one room, and what IRC calls it. */
async function hashRoom(): Promise<string> {
  const { server, irc } = await ircServer();
  const chat = await join(server.port, "ncuser");
  chat.write("/join #dev\n");
  await chatUntil(chat, (line) => line.startsWith("-- You are now in"));
  const client = await ircMember(irc, "ircuser");
  client.send("JOIN #dev");
  const joined = await client.until((line) => line.includes(" JOIN "), 5000);
  await client.until((line) => / 366 /.test(line), 5000);
  chat.write("hello from nc\n");
  const fromNc = await client.until((line) => line.endsWith(":hello from nc"), 3000);
  client.send("PRIVMSG #dev :hello from irc", "LIST", "PING :done");
  await client.until((line) => line.endsWith(" :done"), 5000);
  const fromIrc = await chatUntil(chat, (line) => line === "ircuser: hello from irc");
  const listed = client.lines.filter((line) => / 322 /.test(line)).map((line) =>
    line.split(" ").slice(3, 5).join(" ")
  );
  client.socket.destroy();
  chat.destroy();
  await server.stop();
  return `hash-room: nc said "${chat.lines.find((l) => l.startsWith("-- You are now in"))}"; ` +
    `IRC JOIN #dev echoed as ${joined?.split(" ").slice(1).join(" ")}; nc->IRC ${
      fromNc ? `arrived as "${fromNc.split(" ").slice(1, 3).join(" ")}"` : "LOST"
    }; IRC->nc ${fromIrc ? "arrived" : "LOST"}; LIST: ${listed.join(", ")}`;
}

const attacks: Record<string, () => Promise<string>> = {
  "who-stars": whoStars,
  "privmsg-dup": privmsgDup,
  "service-nick": serviceNick,
  "long-line": longLine,
  "ip-leak": ipLeak,
  "hash-room": hashRoom,
};

if (import.meta.main) await runAttacks(attacks, Deno.args);
