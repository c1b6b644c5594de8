/**
 * A login flood against a server with accounts, and what chat feels meanwhile:
 * 100 clients in the lobby, 10 of them posting 2 timestamped lines a second, while
 * 50 addresses (127.0.0.10–59, one connection each) send 200 wrong `/login`s a second
 * in all, round-robin over 50 registered accounts. A real user (127.0.0.200) logs in
 * to an account nobody attacks once a second; another (127.0.0.201) to an attacked one.
 *
 * ```sh
 * deno run -A tools/attack_login.ts            # baseline, then the flood
 * ```
 *
 * Prints chat latency (p50, p99, max) with and without the flood, the real user's
 * login times, and how the flood's attempts were answered: hashed and wrong,
 * throttled (refused unhashed), or refused because the hash queue was full.
 *
 * @module
 */

import net from "node:net";
import { newAccount } from "../src/core/accounts.ts";
import { openChatDatabase } from "../src/storage/database.ts";
import { SqliteAccountStore } from "../src/storage/sqlite_accounts.ts";
import { percentile, sleep, startServer } from "./attack_util.ts";

const CHATTERS = 100;
const SENDERS = 10;
const SEND_EVERY = 500;
const ADDRESSES = 50;
const ATTACK_RATE = 200;
const VICTIMS = 50;
const SECONDS = Number(Deno.args[0] ?? 15);

/** A line client from `localAddress`, named `name`; `onLine` sees every line after the hello. */
function connect(
  port: number,
  name: string,
  onLine: (line: string) => void,
  localAddress = "127.0.0.1",
): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port, localAddress });
    let buffer = "";
    let joined = false;
    socket.on("error", reject);
    socket.on("data", (chunk: Uint8Array) => {
      buffer += new TextDecoder().decode(chunk);
      let newline;
      while ((newline = buffer.indexOf("\n")) !== -1) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (joined) onLine(line);
        else if (line === "-- What should we call you?") socket.write(`${name}\n`);
        else if (line.startsWith(`-- Hello, ${name}!`)) {
          joined = true;
          resolve(socket);
        }
      }
    });
  });
}

/** One run: chat latency with or without the flood, the probes' login times, the flood's answers. */
async function run(port: number, attack: boolean) {
  const latencies: number[] = [];
  const chatters: net.Socket[] = [];
  for (let i = 0; i < CHATTERS; i++) {
    chatters.push(
      await connect(port, `c${i}`, (line) => {
        const match = /^c\d+: t(\d+(?:\.\d+)?)$/.exec(line);
        if (match) latencies.push(performance.now() - Number(match[1]));
      }),
    );
  }
  const answers = { wrong: 0, throttled: 0, busy: 0, other: 0 };
  const attackers: net.Socket[] = [];
  if (attack) {
    for (let i = 0; i < ADDRESSES; i++) {
      attackers.push(
        await connect(port, `a${i}`, (line) => {
          if (line.startsWith("!! wrong password")) answers.wrong++;
          else if (line.startsWith("!! too many wrong passwords")) answers.throttled++;
          else if (line.startsWith("!! too many logins at once")) answers.busy++;
          else if (line.startsWith("!! ")) answers.other++;
        }, `127.0.0.${10 + i}`),
      );
    }
  }
  const probe = (name: string, address: string, account: string, password: string) => {
    const times: number[] = [];
    const refused: string[] = [];
    let sentAt = 0;
    let waiting = false; // one login at a time: the next only once this one is answered
    const ready = connect(port, name, (line) => {
      if (line.startsWith("-- You are logged in as ")) {
        times.push(performance.now() - sentAt);
        socket?.write("/logout\n");
        waiting = false;
      } else if (line.startsWith("!! ")) {
        refused.push(line);
        waiting = false;
      }
    }, address);
    let socket: net.Socket | undefined;
    ready.then((s) => socket = s);
    return {
      ready,
      login() {
        if (waiting) return;
        waiting = true;
        sentAt = performance.now();
        socket!.write(`/login ${account} ${password}\n`);
      },
      times,
      refused,
      close: () => socket?.destroy(),
    };
  };
  const real = probe("realuser", "127.0.0.200", "real", "real password");
  const attacked = probe("victimuser", "127.0.0.201", "victim0", "victim password");
  await Promise.all([real.ready, attacked.ready]);

  const timers: ReturnType<typeof setInterval>[] = [];
  for (let i = 0; i < SENDERS; i++) {
    timers.push(setInterval(() => chatters[i].write(`t${performance.now()}\n`), SEND_EVERY));
  }
  let attempt = 0;
  if (attack) {
    // 200 a second, as 10 batches of 20 every 100 ms, round-robin over addresses and accounts.
    timers.push(setInterval(() => {
      for (let k = 0; k < ATTACK_RATE / 10; k++, attempt++) {
        attackers[attempt % ADDRESSES].write(`/login victim${attempt % VICTIMS} guess${attempt}\n`);
      }
    }, 100));
  }
  timers.push(setInterval(() => {
    real.login();
    attacked.login();
  }, 1000));
  await sleep(SECONDS * 1000);
  for (const timer of timers) clearInterval(timer);
  await sleep(500);
  for (const socket of [...chatters, ...attackers]) socket.destroy();
  real.close();
  attacked.close();
  const ms = (n: number) => `${n.toFixed(1)} ms`;
  return [
    `${attack ? "flood" : "baseline"}: chat ${latencies.length} lines, p50 ${
      ms(percentile(latencies, 0.5))
    }, p99 ${ms(percentile(latencies, 0.99))}, max ${ms(Math.max(...latencies))}`,
    `  real user's login (account not attacked, one at a time, every 1 s): ${real.times.length}, p50 ${
      ms(percentile(real.times, 0.5))
    }, p99 ${ms(percentile(real.times, 0.99))}; refused: ${real.refused.length} ${
      real.refused[0] ?? ""
    }`,
    `  login to an attacked account: ${attacked.times.length} in; refused: ${attacked.refused.length} ${
      attacked.refused.at(-1) ?? ""
    }`,
    attack
      ? `  flood: ${attempt} attempts (${
        (attempt / SECONDS).toFixed(0)
      }/s): hashed and wrong ${answers.wrong}, throttled ${answers.throttled}, queue full ${answers.busy}, other ${answers.other}`
      : "",
  ].join("\n");
}

const dir = await Deno.makeTempDir({ prefix: "chat-login-flood-" });
const path = `${dir}/chat.db`;
try {
  const db = openChatDatabase(path);
  const store = new SqliteAccountStore(db);
  const accounts = [newAccount("real", "real password")];
  for (let i = 0; i < VICTIMS; i++) accounts.push(newAccount(`victim${i}`, "victim password"));
  for (const account of await Promise.all(accounts)) await store.create(account);
  db.close();
  // Timed once, here: one hash at the default cost, the event loop free meanwhile.
  const started = performance.now();
  await newAccount("timing", "a password");
  console.log(
    `one scrypt hash (N=2^15, r=8, p=1) + SCRAM verifier: ${
      (performance.now() - started).toFixed(0)
    } ms`,
  );
  for (const attack of [false, true]) {
    const server = await startServer(
      "--db",
      path,
      "--no-web",
      "--max-per-address",
      "0",
      "--connect-rate",
      "0",
      "--max-clients",
      "1000",
    );
    try {
      console.log(await run(server.port, attack));
    } finally {
      await server.stop();
    }
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
Deno.exit(0);
