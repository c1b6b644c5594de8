/**
 * Pins history kept in a SQLite file (`--db`): it survives a restart, topics
 * too; old lines are pruned; a file that is not ours, or is held by another
 * server, is refused at start; and neither `kill -9` nor SIGTERM loses what
 * was relayed.
 *
 * @module
 */

import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
  throws as assertThrows,
} from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { ServerLog } from "../src/ops/log.ts";
import { parseHistoryLine, say } from "../src/text/protocol.ts";
import { SqliteHistory } from "../src/storage/sqlite_history.ts";
import { ircHost, LineClient, quietServer, spawnServer, test } from "./test_util.ts";
import { IdMaker } from "../src/core/ids.ts";

/** Ids for entries kept directly in a store. */
const ids = new IdMaker();

const SERVER = new URL("../server.ts", import.meta.url).pathname;

/** A fresh path for a database file, removed (with its WAL files) when disposed. */
async function tempDb(): Promise<{ path: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "chat-history-" });
  return {
    path: `${dir}/chat.db`,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/** Reads a replay or `/history` answer: the lines between the header and the end line. */
async function historyOf(client: LineClient): Promise<string[]> {
  await client.until((line) => /^-- (history of|earlier in) /.test(line));
  const lines = await client.through((line) => line === say.historyEnd);
  return lines.slice(0, -1).map((line) => parseHistoryLine(line)!.line);
}

test("history and topics survive a restart on the same --db file", async () => {
  await using db = await tempDb();
  {
    await using server = await quietServer({ db: db.path });
    using ann = await LineClient.join(server, "ann");
    await ann.write("/topic release friday\nfirst\n/me waves\nlast\n");
    await ann.until((line) => line.startsWith("-- ann set the topic"));
  }
  await using server = await quietServer({ db: db.path, replay: 20 });
  using bob = await LineClient.connect(server);
  await bob.until((line) => line === "-- What should we call you?");
  await bob.write("bob\n");
  await bob.line(); // hello
  assertEquals(await bob.line(), say.topicIs("lobby", "release friday"));
  assertEquals(await historyOf(bob), ["ann: first", "* ann waves", "ann: last"]);
});

test("IRC cloaks are kept in the --db file: the same cloak after a restart, another file's differ", async () => {
  await using db = await tempDb();
  await using other = await tempDb();
  const hostOn = async (path: string, nick: string) => {
    await using server = await quietServer({ db: path, irc: 0 });
    return await ircHost(server, nick);
  };
  const first = await hostOn(db.path, "ann");
  assertMatch(first, /^[a-z2-7]{13}\.cloak$/); // never 127.0.0.1
  assertEquals(await hostOn(db.path, "bob"), first);
  const elsewhere = await hostOn(other.path, "ann");
  assertMatch(elsewhere, /^[a-z2-7]{13}\.cloak$/);
  assert(elsewhere !== first, "each file has its own key");
  // The key is a row of the file's meta table, made once.
  const file = new DatabaseSync(db.path);
  try {
    const rows = file.prepare("SELECT key, value FROM meta").all();
    assertEquals(rows.map((row) => row.key), ["chat:cloak-key"]);
    assertMatch(rows[0].value as string, /^[0-9a-f]{64}$/);
  } finally {
    file.close();
  }
  // --cloak-secret wins over the kept key, and cloaks alike wherever it is given.
  const given = "a secret of sixteen or more characters";
  await using a = await quietServer({ db: db.path, irc: 0, cloakSecret: given });
  await using b = await quietServer({ irc: 0, cloakSecret: given });
  const withSecret = await ircHost(a, "carl");
  assert(withSecret !== first);
  assertEquals(await ircHost(b, "dora"), withSecret);
});

test("a file that is not a chat database, or is held by another server, is refused", async () => {
  await using db = await tempDb();
  const log = new ServerLog(() => {});
  await Deno.writeTextFile(db.path, "not sqlite at all, just text\n".repeat(100));
  assertThrows(() => new SqliteHistory(db.path, 10, 10, 10, log), /not a chat database/);
  await Deno.remove(db.path);
  const other = new DatabaseSync(db.path);
  other.exec("CREATE TABLE invoices (id INTEGER)");
  other.close();
  assertThrows(() => new SqliteHistory(db.path, 10, 10, 10, log), /not a chat database/);
  await Deno.remove(db.path);
  const first = new SqliteHistory(db.path, 10, 10, 10, log);
  try {
    assertThrows(() => new SqliteHistory(db.path, 10, 10, 10, log), /in use by another server/);
  } finally {
    await first.close();
  }
  // Through the command line: one line and exit 1.
  await Deno.writeTextFile(db.path, "garbage");
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-N", "-R", "-W", SERVER, "--port", "0", "--db", db.path],
    stdin: "null",
  }).output();
  assertEquals(code, 1);
  assertMatch(new TextDecoder().decode(stderr), /^server: .* is not a chat database\n$/);
});

test("old lines are pruned to --keep per room; the newest stay", async () => {
  await using db = await tempDb();
  const history = new SqliteHistory(db.path, 5, 10, 20, new ServerLog(() => {}));
  for (let i = 0; i < 100; i++) {
    history.add("lobby", { id: ids.next(), kind: "message", from: "ann", text: `${i}`, time: i });
  }
  history.prune();
  const oldest = history.before("lobby", 500).map((entry) => entry.text);
  await history.close();
  assertEquals(oldest, Array.from({ length: 20 }, (_, i) => `${80 + i}`));
  const file = new DatabaseSync(db.path);
  const { n } = file.prepare("SELECT count(*) AS n FROM messages").get() as { n: number };
  file.close();
  assertEquals(n, 20);
});

for (const signal of ["SIGKILL", "SIGTERM"] as const) {
  test(`${signal}: every line relayed ${signal === "SIGKILL" ? "over 1 s before" : "before"} it is replayed after a restart, in order, once`, async () => {
    await using db = await tempDb();
    const relayed: { text: string; at: number }[] = [];
    let expected: typeof relayed = [];
    {
      await using first = await spawnServer("--db", db.path, "--rate", "0");
      using ann = await LineClient.join(first, "ann");
      using bob = await LineClient.join(first, "bob");
      // 100 lines a second for 2 s; each counts as relayed when bob has it.
      for (let i = 0; i < 200; i++) {
        await ann.write(`m${i}\n`);
        assertEquals(await bob.message(), `ann: m${i}`);
        relayed.push({ text: `ann: m${i}`, at: performance.now() });
        await new Promise((resolve) => setTimeout(resolve, 10)); // pacing, not waiting for an event
      }
      const stoppedAt = performance.now();
      await first.stop(signal);
      expected = relayed.filter(({ at }) => signal === "SIGTERM" || stoppedAt - at > 1000);
    }
    {
      await using second = await spawnServer("--db", db.path, "--replay", "500");
      using carol = await LineClient.join(second, "carol");
      const replayed = await historyOf(carol);
      // In order, no duplicates, nothing missing that was relayed long enough before.
      assertEquals(replayed, relayed.slice(0, replayed.length).map(({ text }) => text));
      assert(replayed.length >= expected.length, `${replayed.length} of ${expected.length} kept`);
      console.log(`  ${signal}: ${replayed.length} of ${relayed.length} relayed lines replayed`);
    }
    const file = new DatabaseSync(db.path);
    const check = file.prepare("PRAGMA integrity_check").get() as { integrity_check: string };
    file.close();
    assertEquals(check.integrity_check, "ok");
  });
}

test("a server that has shut down frees its --db file for the next one", async () => {
  await using db = await tempDb();
  const server = await quietServer({ db: db.path });
  await server.close();
  const next = new SqliteHistory(db.path, 10, 10, 10, new ServerLog(() => {}));
  await next.close();
});

test("--db keeps history for at most --max-rooms rooms, the least recently active forgotten", async () => {
  await using db = await tempDb();
  const speak = (history: SqliteHistory, room: string) =>
    history.add(room, { id: ids.next(), kind: "message", from: "ann", text: room, time: 0 });
  const history = new SqliteHistory(db.path, 10, 3, 100, new ServerLog(() => {}));
  for (const room of ["a", "b", "c", "a", "d"]) speak(history, room); // b is the least recent
  const rooms = ["a", "b", "c", "d"].map((room) => history.before(room, 10).length);
  await history.close();
  assertEquals(rooms, [2, 0, 1, 1]);
  const roomsInFile = () => {
    const file = new DatabaseSync(db.path);
    const rows = file.prepare("SELECT DISTINCT room FROM messages ORDER BY room").all();
    file.close();
    return rows.map((row) => row.room);
  };
  assertEquals(roomsInFile(), ["a", "c", "d"]);
  // A file kept under a larger --max-rooms is brought under a smaller one when opened.
  const fewer = new SqliteHistory(db.path, 10, 2, 100, new ServerLog(() => {}));
  await fewer.close();
  assertEquals(roomsInFile(), ["a", "d"]);
});

test("topics are kept for ten times --max-rooms rooms, the least recently set forgotten first", async () => {
  await using db = await tempDb();
  const log = new ServerLog(() => {});
  const history = new SqliteHistory(db.path, 10, 1, 10, log); // one room: ten topics kept
  for (let i = 0; i < 15; i++) history.setTopic(`r${i}`, `topic ${i}`);
  history.setTopic("r5", "set again"); // r5 is now the most recent
  history.setTopic("r15", "topic 15"); // one more: the least recently set (r6) goes
  assertEquals([history.topic("r5"), history.topic("r6"), history.topic("r14")], [
    "set again",
    "",
    "topic 14",
  ]);
  await history.close();
  const reopened = new SqliteHistory(db.path, 10, 1, 10, log);
  const topics = Array.from({ length: 16 }, (_, i) => reopened.topic(`r${i}`));
  await reopened.close();
  assertEquals(topics.filter((topic) => topic !== "").length, 10);
  assertEquals(topics[5], "set again");
});

test("event ids are kept in the --db file: the same ids after a restart, pages by them", async () => {
  await using db = await tempDb();
  const log = new ServerLog(() => {});
  const first = new SqliteHistory(db.path, 3, 10, 100, log);
  const kept = [1, 2, 3, 4, 5].map((n) => ({
    id: ids.next(n),
    kind: "message" as const,
    from: "ann",
    text: `${n}`,
    time: n,
  }));
  for (const entry of kept) first.add("lobby", entry);
  await first.close();
  const again = new SqliteHistory(db.path, 3, 10, 100, log);
  try {
    assertEquals(again.before("lobby", 10).map((entry) => entry.id), kept.map((entry) => entry.id));
    // Older than memory holds (3 per room): read from the file, by id.
    assertEquals(again.before("lobby", 10, kept[2].id).map((entry) => entry.text), ["1", "2"]);
    const { entries, gap } = again.after("lobby", kept[3].id);
    assertEquals({ entries: entries.map((entry) => ({ ...entry })), gap }, {
      entries: [kept[4]],
      gap: false,
    });
  } finally {
    await again.close();
  }
});

test("a --db file from before event ids gets them: in the order kept, and paging works", async () => {
  await using db = await tempDb();
  const old = new DatabaseSync(db.path);
  old.exec(`PRAGMA application_id = ${0x43484154};
    CREATE TABLE messages (
      id INTEGER PRIMARY KEY, room TEXT NOT NULL, kind TEXT NOT NULL,
      sender TEXT NOT NULL, text TEXT NOT NULL, time INTEGER NOT NULL);
    CREATE INDEX messages_by_room ON messages (room, id);
    CREATE TABLE rooms (key TEXT PRIMARY KEY, topic TEXT NOT NULL);
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);`);
  const insert = old.prepare(
    "INSERT INTO messages (id, room, kind, sender, text, time) VALUES (?, 'lobby', 'message', 'ann', ?, ?)",
  );
  // The same millisecond for two of them: the row order decides.
  for (const [id, time] of [[1, 1000], [2, 1000], [3, 2000], [4, 3000]]) {
    insert.run(id, `old ${id}`, time);
  }
  old.close();
  const history = new SqliteHistory(db.path, 2, 10, 100, new ServerLog(() => {}));
  try {
    const all = history.before("lobby", 10);
    assertEquals(all.map((entry) => entry.text), ["old 1", "old 2", "old 3", "old 4"]);
    const idsKept = all.map((entry) => entry.id);
    assert(idsKept.every((id) => /^[0-9a-z]{19}$/.test(id)), idsKept.join());
    assertEquals([...idsKept].sort(), idsKept);
    assertEquals(history.before("lobby", 10, idsKept[2]).map((entry) => entry.text), [
      "old 1",
      "old 2",
    ]);
    const next = { id: ids.next(), kind: "message" as const, from: "bob", text: "new", time: 4000 };
    history.add("lobby", next);
    assertEquals(history.after("lobby", idsKept[3]).entries, [next]);
  } finally {
    await history.close();
  }
  // The ids given are kept: the same on the next start.
  const again = new SqliteHistory(db.path, 2, 10, 100, new ServerLog(() => {}));
  try {
    assertEquals(again.before("lobby", 1)[0].text, "new");
  } finally {
    await again.close();
  }
});

test("the sender's account is kept in the --db file: after a restart, IRC replays carry it (account-tag), the text one is as before", async () => {
  await using db = await tempDb();
  const cheap = { n: 1 << 10, r: 8, p: 1, scramIterations: 16 };
  {
    await using server = await quietServer({ db: db.path, hashCost: cheap });
    using ann = await LineClient.join(server, "ann");
    await ann.write("/register s3cret\n");
    assertEquals(await ann.line(), say.registered("ann", true));
    using bob = await LineClient.join(server, "bob");
    await ann.write("logged in\n");
    await bob.until((line) => line === "ann: logged in");
    await bob.write("a guest\n");
    await ann.until((line) => line === "bob: a guest");
  }
  await using server = await quietServer({ db: db.path, irc: 0, ircName: "irc.test", replay: 20 });
  using irc = await LineClient.connect({ addr: server.ircAddr! });
  await irc.write(
    "CAP REQ :account-tag\r\nNICK carl\r\nUSER c 0 * :Carl\r\nCAP END\r\nJOIN #lobby\r\n",
  );
  await irc.until((line) => / 366 /.test(line));
  assertEquals(await irc.line(), `@account=ann :ann!ann@chat PRIVMSG #lobby :logged in\r`);
  assertEquals(await irc.line(), `:bob!bob@chat PRIVMSG #lobby :a guest\r`);
  // Without account-tag, no tag.
  using plain = await LineClient.connect({ addr: server.ircAddr! });
  await plain.write("NICK dora\r\nUSER d 0 * :Dora\r\nJOIN #lobby\r\n");
  await plain.until((line) => / 366 /.test(line));
  assertEquals(await plain.line(), `:ann!ann@chat PRIVMSG #lobby :logged in\r`);
  // The text protocol's replay is what it was (no account shown).
  using eve = await LineClient.connect(server);
  await eve.until((line) => line === "-- What should we call you?");
  await eve.write("eve\n");
  assertEquals(await historyOf(eve), ["ann: logged in", "bob: a guest"]);
});

test("SqliteHistory keeps each entry's account (a guest's has none), in memory and after a restart", async () => {
  await using db = await tempDb();
  const log = new ServerLog(() => {});
  const first = new SqliteHistory(db.path, 10, 10, 100, log);
  const ann = {
    id: ids.next(1),
    kind: "message" as const,
    from: "ann",
    text: "a",
    time: 1,
    account: "Ann",
  };
  const bob = { id: ids.next(2), kind: "action" as const, from: "bob", text: "b", time: 2 };
  first.add("lobby", ann);
  first.add("lobby", bob);
  assertEquals(first.before("lobby", 10).map((entry) => ({ ...entry })), [ann, bob]);
  await first.close();
  const again = new SqliteHistory(db.path, 1, 10, 100, log);
  try {
    // One in memory, the other read from the file: both as they were kept.
    assertEquals(again.before("lobby", 10).map((entry) => ({ ...entry })), [ann, bob]);
    assert(!("account" in again.before("lobby", 10)[1]), "a guest's entry has no account key");
  } finally {
    await again.close();
  }
});
