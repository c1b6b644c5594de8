/**
 * The search benchmark: `/search` over 1,000,000 kept lines with `--db`. Lines are
 * inserted directly into a fresh chat database (the schema's triggers index them), then
 * searches are timed two ways: through the store (`SqliteHistory.search`, what the hub
 * calls), and through a running server (`server.ts --db`, text protocol over TCP: the
 * time from sending `/search` to its last line read).
 *
 *   deno run -A bench/search.ts [--lines 1000000] [--queries 2000] [--keep FILE]
 *
 * `--keep FILE` keeps the database there (and uses it as it is if it exists: no insert).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { openChatDatabase } from "../src/storage/database.ts";
import { SqliteHistory } from "../src/storage/sqlite_history.ts";
import { ServerLog } from "../src/ops/log.ts";
import { IdMaker } from "../src/core/ids.ts";

const { values } = parseArgs({
  options: {
    lines: { type: "string", default: "1000000" },
    queries: { type: "string", default: "2000" },
    keep: { type: "string" },
  },
});
const LINES = Number(values.lines);
const QUERIES = Number(values.queries);
/** Rooms the lines are spread over: one busy room, 98 others, and a tiny one. */
const ROOMS = ["dev", ...Array.from({ length: 98 }, (_, i) => `room${i}`), "tiny"];

/** A deterministic generator (mulberry32), so that every run indexes the same lines. */
function random(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = random(42);
const LETTERS = "abcdefghijklmnopqrstuvwxyz";
/** 20,000 made-up words; picked with a Zipf-like skew, as words in chat are. */
const WORDS = Array.from({ length: 20_000 }, () => {
  let word = "";
  const length = 3 + Math.floor(rand() * 7);
  for (let i = 0; i < length; i++) word += LETTERS[Math.floor(rand() * 26)];
  return word;
});
const word = () => WORDS[Math.floor(WORDS.length * rand() ** 3)];

/** Whether `path` exists. */
function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Percentiles of `samples` (ms). */
function summary(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  return `n=${sorted.length} p50=${at(0.5).toFixed(2)} ms p90=${at(0.9).toFixed(2)} ms ` +
    `p99=${at(0.99).toFixed(2)} ms max=${sorted[sorted.length - 1].toFixed(2)} ms`;
}

/** How busy the machine's cores were over `ms` (from /proc/stat), 0..1. */
async function busy(ms: number): Promise<number> {
  const read = () => {
    const [, ...fields] = Deno.readTextFileSync("/proc/stat").split("\n")[0].split(/\s+/);
    const n = fields.filter((f) => f !== "").map(Number);
    return { idle: n[3] + n[4], total: n.reduce((a, b) => a + b, 0) };
  };
  const a = read();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const b = read();
  return 1 - (b.idle - a.idle) / (b.total - a.total);
}

const dir = Deno.makeTempDirSync({ prefix: "chat-search-bench-" });
const path = values.keep ?? `${dir}/chat.db`;
try {
  console.log(`machine busy before: ${(await busy(1000) * 100).toFixed(0)} %`);
  // 1. A million lines, inserted directly (the FTS5 triggers index each).
  let started = performance.now();
  const reuse = values.keep !== undefined && exists(values.keep);
  const db = openChatDatabase(path);
  const insert = db.prepare(
    "INSERT INTO messages (eid, room, kind, sender, text, time, account) VALUES (?, ?, ?, ?, ?, ?, NULL)",
  );
  const ids = new IdMaker("bench");
  const t0 = Date.now() - LINES * 10;
  db.exec("BEGIN");
  for (let i = 0; i < (reuse ? 0 : LINES); i++) {
    // Half the lines in dev, the tiny room one in 100,000, the rest spread.
    const r = rand();
    const room = r < 0.5 ? "dev" : r < 0.50001 ? "tiny" : ROOMS[1 + Math.floor(rand() * 98)];
    const count = 4 + Math.floor(rand() * 10);
    const words = [];
    for (let j = 0; j < count; j++) words.push(word());
    const time = t0 + i * 10;
    insert.run(ids.next(time), room, "message", `user${i % 500}`, words.join(" "), time);
    if (i % 50_000 === 49_999) {
      db.exec("COMMIT");
      db.exec("BEGIN");
    }
  }
  db.exec("COMMIT");
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  db.close();
  const size = Deno.statSync(path).size / (1 << 20);
  console.log(
    reuse
      ? `reused ${path} (file ${size.toFixed(0)} MiB)`
      : `inserted ${LINES} lines in ${((performance.now() - started) / 1000).toFixed(1)} s ` +
        `(file ${size.toFixed(0)} MiB)`,
  );

  // 2. Through the store, as the hub calls it: 50 results asked, a user in one room.
  const log = new ServerLog(() => {});
  started = performance.now();
  const history = new SqliteHistory(path, 1000, 1000, 1_000_000, log);
  console.log(`store opened in ${(performance.now() - started).toFixed(0)} ms`);
  const kinds: [string, () => [string, string]][] = [
    ["common word, busy room", () => ["dev", WORDS[Math.floor(rand() * 20)]]],
    ["any word, busy room", () => ["dev", word()]],
    ["two words, busy room", () => ["dev", `${word()} ${word()}`]],
    ["3-letter prefix, busy room", () => ["dev", word().slice(0, 3)]],
    ["1-letter word (exact), busy", () => ["dev", LETTERS[Math.floor(rand() * 26)]]],
    [
      "common word, small room",
      () => [`room${Math.floor(rand() * 98)}`, WORDS[Math.floor(rand() * 20)]],
    ],
    ["common word, tiny room", () => ["tiny", WORDS[Math.floor(rand() * 20)]]],
    ["no match", () => ["dev", "zzzzzzzzzz"]],
  ];
  const all: number[] = [];
  for (const [name, make] of kinds) {
    const samples = [];
    for (let i = 0; i < QUERIES / kinds.length; i++) {
      const [room, text] = make();
      const start = performance.now();
      history.search([room], text, 50);
      samples.push(performance.now() - start);
    }
    all.push(...samples);
    console.log(`store  ${name.padEnd(28)} ${summary(samples)}`);
  }
  console.log(`store  ${"all".padEnd(28)} ${summary(all)}`);
  await history.close();
  log.close();

  // 3. Through a server on that file: clients in the busy room, each within its search budget;
  // one search at a time (the latency of one), then 20 clients at once (a queue forms).
  const port = 20000 + Math.floor(Math.random() * 20000);
  const server = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../server.ts", import.meta.url).pathname,
      "--db",
      path,
      "--port",
      String(port),
      "--web",
      "0",
      "--rate",
      "0",
      "--exempt",
      "127.0.0.0/8",
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let heard = "";
  while (!/listening/.test(heard)) {
    const { value, done } = await out.read();
    if (done) break;
    heard += value;
  }
  server.stderr.cancel();
  const drain = (async () => {
    while (!(await out.read()).done) { /* the server's log */ }
  })();
  const encoder = new TextEncoder();
  const clients = 20;
  const perClient = 20; // within the history budget of one client (256 KiB; about 9 KiB a search)
  /** A client in dev that makes `perClient` searches, each timed into `samples`. */
  const client = async (c: number, samples: number[]) => {
    let conn: Deno.TcpConn | undefined;
    for (let attempt = 0; attempt < 50 && conn === undefined; attempt++) {
      try {
        conn = await Deno.connect({ port, hostname: "127.0.0.1" });
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    const reader = conn!.readable.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    const until = async (test: (line: string) => boolean) => {
      for (;;) {
        const newline = buffer.indexOf("\n");
        if (newline !== -1) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 1);
          if (test(line)) return line;
          continue;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error("closed");
        buffer += value;
      }
    };
    const writer = conn!.writable.getWriter();
    await writer.write(encoder.encode(`bench${c}\n/join dev\n`));
    await until((line) => line.startsWith("-- ") && line.includes("dev"));
    for (let i = 0; i < perClient; i++) {
      const text = i % 3 === 0 ? WORDS[Math.floor(rand() * 20)] : word();
      const start = performance.now();
      await writer.write(encoder.encode(`/search ${text}\n`));
      const last = await until((line) =>
        line.startsWith("-- end of search") || line.startsWith("!! ")
      );
      if (last.startsWith("!! ")) throw new Error(last);
      samples.push(performance.now() - start);
    }
    await writer.write(encoder.encode("/quit\n"));
    reader.cancel().catch(() => {});
    try {
      conn!.close();
    } catch { /* closed by the server */ }
  };
  const one: number[] = [];
  for (let c = 0; c < clients; c++) await client(c, one);
  console.log(`server ${"/search over TCP, 1 at a time".padEnd(28)} ${summary(one)}`);
  const many: number[] = [];
  await Promise.all(Array.from({ length: clients }, (_, c) => client(100 + c, many)));
  console.log(`server ${"/search over TCP, 20 at once".padEnd(28)} ${summary(many)}`);
  server.kill("SIGTERM");
  await server.status;
  await drain.catch(() => {});
  console.log(`machine busy after: ${(await busy(1000) * 100).toFixed(0)} %`);
} finally {
  if (values.keep === undefined) Deno.removeSync(dir, { recursive: true });
}
