/**
 * Pins search: only the room one is in (never another, secret or not) and one's own
 * private conversations, newest first, bounded (results, text, lines scanned, rate);
 * in memory and through the `--db` file's full-text index (kept by triggers, filled
 * from the lines kept before it).
 *
 * @module
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { MemoryHistory, SEARCH_SCAN_MAX } from "./history.ts";
import { IdMaker } from "./ids.ts";
import { eventually, MemoryHub, test, TEST_HUB_OPTIONS } from "../../tests/test_util.ts";
import { say } from "../text/protocol.ts";
import { JsonClient } from "../json/json_test_util.ts";
import { SqliteHistory } from "../storage/sqlite_history.ts";
import { openChatDatabase, SCHEMA_VERSION } from "../storage/database.ts";
import { ServerLog } from "../ops/log.ts";
import { Hub, SEARCH_LIMIT_MAX, SEARCH_TEXT_MAX } from "./hub.ts";
import { TextSession } from "../text/session.ts";
import { MemoryConnection } from "../../tests/test_util.ts";

const ids = new IdMaker();
const T = Date.UTC(2026, 0, 2, 3, 4, 5);

/** A kept line of `from` saying `text`. */
const line = (from: string, text: string, time = T) => ({
  id: ids.next(time),
  kind: "message" as const,
  from,
  text,
  time,
});

test("search: your room only, newest first; never a room you are not in, secret or not", () => {
  using hub = new MemoryHub();
  const ann = hub.member("ann");
  const bob = hub.member("bob");
  bob.say("/join hideout", "the deploy key is 1234");
  ann.say("deploy at noon", "lunch?", "Deploy again");
  ann.take();
  ann.say("/search deploy");
  const lines = ann.take();
  assertEquals(lines[0], say.searchHeader("deploy", 2));
  assert(
    /^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\] \(lobby\) ann: Deploy again$/.test(lines[1]),
    lines[1],
  );
  assert(lines[2].endsWith("(lobby) ann: deploy at noon"), lines[2]);
  assertEquals(lines.slice(3), [say.searchEnd(false)]);
  bob.take();
  bob.say("/search deploy"); // in hideout: the lobby's lines are not searched
  assertEquals(bob.take().length, 3);
  bob.say("/search noon");
  assertEquals(bob.take(), [say.searchHeader("noon", 0), say.searchEnd(false)]);
  ann.say("/search 1234", "/search");
  assertEquals(ann.take(), [
    say.searchHeader("1234", 0),
    say.searchEnd(false),
    say.usage("/search TEXT"),
  ]);
});

test("search: bounded: results (50, default 20), text length, and rated like history", () => {
  using hub = new MemoryHub();
  const ann = new JsonClient(hub);
  ann.send({ type: "hello", name: "ann" });
  for (let i = 0; i < 60; i++) ann.send({ type: "line", text: `match ${i}` });
  ann.take();
  ann.send({ type: "search", text: "match", ref: "s" });
  let [answer] = ann.take();
  assertEquals([answer.type, answer.text, answer.more, answer.ref], [
    "searchResults",
    "match",
    true,
    "s",
  ]);
  let results = answer.results as Record<string, unknown>[];
  assertEquals(results.length, 20);
  assertEquals(Object.keys(results[0]).sort(), ["from", "id", "room", "text", "time", "type"]);
  assertEquals([results[0].text, results[0].room, results[0].type], [
    "match 59",
    "lobby",
    "message",
  ]);
  ann.send({ type: "search", text: "match", limit: SEARCH_LIMIT_MAX });
  [answer] = ann.take();
  results = answer.results as Record<string, unknown>[];
  assertEquals(results.length, 50);
  assertEquals(answer.more, true);
  assertEquals(results.map((r) => r.text), [...Array(50)].map((_, i) => `match ${59 - i}`));
  ann.send({ type: "search", text: "match 1", limit: 50 });
  [answer] = ann.take();
  assertEquals((answer.results as unknown[]).length, 15, "1, 10..19, 21, 31, 41, 51");
  assertEquals(answer.more, false);
  for (const limit of [0, 51, 2.5, "3"]) ann.send({ type: "search", text: "match", limit });
  ann.send({ type: "search", text: " " });
  ann.send({ type: "search" });
  assertEquals(ann.take().map((o) => `${o.code}:${o.field}`), [
    "badRequest:limit",
    "badRequest:limit",
    "badRequest:limit",
    "badRequest:limit",
    "badRequest:text",
    "badRequest:text",
  ]);
  ann.send({ type: "search", text: "x".repeat(SEARCH_TEXT_MAX + 1) });
  assertEquals(ann.take(), [{ type: "error", code: "searchTooLong", max: SEARCH_TEXT_MAX }]);
  // Each search costs of the history budget, found or not: a flood of them is refused.
  let refused = 0;
  for (let i = 0; i < 100; i++) {
    ann.send({ type: "search", text: "nothing-like-this" });
    if (ann.take()[0].code === "historyTooFast") refused++;
  }
  assert(refused > 0 && refused < 100, `refused ${refused}`);
});

test("search: an account's own private conversations plug in; a guest's never", async () => {
  using hub = new MemoryHub();
  const asked: string[] = [];
  hub.privateSearch = {
    search(account, text, limit) {
      asked.push(`${account}:${text}:${limit}`);
      return {
        entries: [{ with: "Bob", entry: line("Bob", "deploy secret", T + 5) }],
        more: false,
      };
    },
  };
  const cy = hub.member("cy");
  cy.say("deploy one");
  cy.say("/search deploy");
  assertEquals(cy.take().length, 3, "a guest: its room's line only");
  assertEquals(asked, []);
  // A session logged in (as an account's would be): its private conversations come too.
  (cy.session as TextSession).account = "cy";
  cy.say("/search deploy");
  const lines = cy.take();
  assertEquals(asked, ["cy:deploy:20"]);
  assertEquals(lines.length, 4);
  assert(lines.some((l) => l.endsWith("(with Bob) Bob: deploy secret")), lines.join("\n"));
  await Promise.resolve();
});

test("search: the memory scan stops after SEARCH_SCAN_MAX lines, saying there may be more", () => {
  const history = new MemoryHistory(SEARCH_SCAN_MAX + 10, 4);
  history.add("dev", line("ann", "needle"));
  for (let i = 0; i < SEARCH_SCAN_MAX; i++) history.add("dev", line("ann", "hay", T + 1));
  assertEquals(history.search(["dev"], "needle", 5), { entries: [], more: true });
  history.add("dev", line("ann", "NEEDLE here", T + 2));
  const found = history.search(["dev", "dev", "ops"], "needle", 5);
  assertEquals(found.entries.map((e) => [e.room, e.entry.text]), [["dev", "NEEDLE here"]]);
  assertEquals(history.search(["dev"], "  ", 5), { entries: [], more: false });
  assertEquals(history.search(["dev"], "needle (", 5).entries.length, 0, "no regex from input");
});

test("search: the --db file's index: words at the start of words, accents and case folded, kept rooms only", async () => {
  const dir = Deno.makeTempDirSync();
  const log = new ServerLog(() => {});
  try {
    const path = `${dir}/chat.db`;
    const history = new SqliteHistory(path, 5, 10, 1000, log);
    history.add("dev", line("ann", "Déploiement du serveur"));
    history.add("dev", line("ann", 'deploy "quoted" OR NOT', T + 1));
    history.add("ops", line("bob", "deploy in ops", T + 2));
    history.add("dev-ops", line("bob", "deploy in dev-ops", T + 3));
    // Found before they are written: pending lines are written first.
    const found = history.search(["dev"], "deplo", 10);
    assertEquals(found.entries.map((e) => e.entry.text), [
      'deploy "quoted" OR NOT',
      "Déploiement du serveur",
    ]);
    assertEquals(history.search(["dev"], "DEPLOIEMENT serv", 10).entries.length, 1);
    assertEquals(
      history.search(["dev"], '"quoted" NOT', 10).entries.length,
      1,
      "no FTS syntax from input",
    );
    assertEquals(history.search(["dev"], "***", 10), { entries: [], more: false });
    assertEquals(history.search(["dev"], "deplo", 1).more, true);
    assertEquals(history.search(["ops"], "deploy", 10).entries.map((e) => e.room), ["ops"]);
    assertEquals(history.search([], "deploy", 10).entries, []);
    await history.close();
    // A file from before the index: the migration fills it from the lines kept.
    const db = openChatDatabase(path);
    db.exec(
      "DROP TRIGGER messages_fts_insert; DROP TRIGGER messages_fts_delete; " +
        "DROP TRIGGER messages_fts_update; DROP TABLE messages_fts;",
    );
    // The rooms' index is the next to last step (the last, private lines' index, runs again too).
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION - 2}`);
    db.close();
    const again = new SqliteHistory(path, 5, 10, 1000, log);
    assertEquals(again.search(["ops"], "ops", 10).entries.map((e) => e.entry.text), [
      "deploy in ops",
    ]);
    await again.close();
  } finally {
    log.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

test("search: through a hub on the --db file", async () => {
  const dir = Deno.makeTempDirSync();
  const log = new ServerLog(() => {});
  try {
    const history = new SqliteHistory(`${dir}/chat.db`, 5, 10, 1000, log);
    const hub = new Hub({ ...TEST_HUB_OPTIONS }, log, history);
    const conn = new MemoryConnection();
    conn.session = hub.connect(conn, new TextSession(hub, conn))!;
    conn.say("ann", "/join dev", "first light", "second light");
    conn.take();
    conn.say("/search light");
    const lines = conn.take();
    assertEquals(lines.length, 4);
    assert(lines[1].endsWith("(dev) ann: second light"), lines[1]);
    hub.shutdown();
    await history.close();
  } finally {
    log.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

test("search: --db pruning and forgetting go a batch at a time, and what is being deleted is never read", async () => {
  const dir = Deno.makeTempDirSync();
  const log = new ServerLog(() => {});
  try {
    const path = `${dir}/chat.db`;
    const history = new SqliteHistory(path, 5, 2, 600, log);
    for (let i = 0; i < 12_000; i++) history.add("a", line("ann", `old ${i}`, T + i));
    history.prune();
    const count = (room: string) => {
      const db = history.database;
      return (db.prepare("SELECT count(*) AS n FROM messages WHERE room = ?").get(room) as {
        n: number;
      }).n;
    };
    assert(count("a") > 600, "a few batches at once, the rest later");
    await eventually(() => count("a") === 600);
    // Three rooms for two: `a` is forgotten; spoken in again at once, its old lines are gone.
    history.add("b", line("bob", "in b", T + 50_000));
    history.add("c", line("cy", "in c", T + 50_001));
    history.add("a", line("ann", "new in a", T + 50_002));
    assertEquals(history.before("a", 100).map((e) => e.text), ["new in a"]);
    assertEquals(history.search(["a"], "old", 10), { entries: [], more: false });
    await history.close();
    const db = openChatDatabase(path);
    const rows = db.prepare("SELECT text FROM messages WHERE room = 'a'").all();
    db.close();
    assertEquals(rows.map((r) => r.text), ["new in a"]);
  } finally {
    log.close();
    Deno.removeSync(dir, { recursive: true });
  }
});
