/**
 * Private conversations kept across a restart (`--db`) and across the servers of a
 * cluster (`--redis`): a message to an account not connected is delivered at its next
 * login, on the same server after a restart or on another server of the cluster.
 *
 * @module
 */

import { deepStrictEqual as assertEquals, match as assertMatch } from "node:assert/strict";
import { NAME_PROMPT, parseHistoryLine, say } from "../src/text/protocol.ts";
import type { ChatServer } from "../server.ts";
import {
  CHEAP,
  HAVE_REDIS,
  LineClient,
  type Listening,
  quietServer,
  quitAndGone,
  registered,
  sanitized,
  startRedis,
  test,
} from "./test_util.ts";
import { eventually } from "./test_util.ts";
import { openChatDatabase, SCHEMA_VERSION } from "../src/storage/database.ts";
import { SqlitePrivates } from "../src/storage/sqlite_privates.ts";
import { ServerLog } from "../src/ops/log.ts";
import { accountCommand } from "../src/ops/account_command.ts";
import { IdMaker } from "../src/core/ids.ts";
import { guestKey, pairKey, type PrivateEntry } from "../src/core/private.ts";
import type { PrivateSearch } from "../src/core/hub.ts";

const HELD = (name: string) =>
  `-- ${name} is away; your message will be delivered when they next log in`;

/** A fresh path for a database file, removed (with its WAL files) when disposed. */
async function tempDb(): Promise<{ path: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "chat-private-" });
  return {
    path: `${dir}/chat.db`,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/**
 * ann writes `live` to bo, who reads it and quits (gone from `server`), then `held`, which
 * waits for bo's next login.
 */
async function liveThenHeld(
  server: ChatServer,
  ann: LineClient,
  bo: LineClient,
  live: string,
  held: string,
): Promise<void> {
  await ann.write(`/msg bo ${live}\n`);
  await bo.until((line) => line === `ann (private): ${live}`);
  await quitAndGone(server, bo, "bo");
  await ann.write(`/msg bo ${held}\n`);
  await ann.until((line) => line === HELD("bo"));
}

/** Logs in as `name` at the prompt; gives back the client once welcomed. */
async function logIn(server: Listening, name: string): Promise<LineClient> {
  const client = await LineClient.connect(server);
  await client.until((line) => line === NAME_PROMPT);
  await client.write(`${name}\nopen sesame\n`);
  assertEquals(await client.line(), say.passwordPrompt(name));
  assertMatch(await client.line(), new RegExp(`^-- Hello, ${name}! `));
  return client;
}

/** Reads a private page's lines (between its header and the end line), as sent then. */
async function pageOf(client: LineClient, header: RegExp): Promise<string[]> {
  await client.until((line) => header.test(line));
  const lines = await client.through((line) => line === say.historyEnd);
  return lines.slice(0, -1).map((line) => parseHistoryLine(line)!.line);
}

test("private conversations and messages held for later survive a restart on the --db file", async () => {
  await using db = await tempDb();
  {
    await using server = await quietServer({ db: db.path, hashCost: CHEAP });
    using ann = await registered(server, "ann");
    using bo = await registered(server, "bo");
    await liveThenHeld(server, ann, bo, "before the restart", "while you were out");
  }
  await using server = await quietServer({ db: db.path, hashCost: CHEAP });
  using bo = await logIn(server, "bo");
  assertEquals(await pageOf(bo, /^-- while you were away, ann wrote/), [
    "ann (private): while you were out",
  ]);
  await bo.write("/history ann\n");
  assertEquals(await pageOf(bo, /^-- earlier with ann/), [
    "ann (private): before the restart",
    "ann (private): while you were out",
  ]);
  // Delivered once: the next login is told nothing more.
  await quitAndGone(server, bo, "bo");
  using again = await logIn(server, "bo");
  await again.write("/history ann 1\n");
  const next = await again.until((line) =>
    line.startsWith("-- earlier with ann") || line.includes("while you were away")
  );
  assertEquals(next, "-- earlier with ann (private): 1 line, oldest first");
});

Deno.test({
  name: "a private message held on one server of a cluster is delivered at a login on the other",
  ignore: !HAVE_REDIS,
  ...sanitized,
  async fn() {
    await using redis = await startRedis();
    await using a = await quietServer({ redis: redis.url, hashCost: CHEAP });
    await using b = await quietServer({ redis: redis.url, hashCost: CHEAP });
    using ann = await registered(a, "ann");
    using bo = await registered(b, "bo");
    await eventually(() => a.hub.accounts.accountName("bo") !== undefined);
    await liveThenHeld(a, ann, bo, "live", "held on a");
    // b heard of it on the bus: bo logging in there is told.
    await eventually(() => b.hub.privates.heldCount("bo") === 1);
    using back = await logIn(b, "bo");
    assertEquals(await pageOf(back, /^-- while you were away, ann wrote/), [
      "ann (private): held on a",
    ]);
    // Delivered on b: a holds it no longer either.
    await eventually(() => a.hub.privates.heldCount("bo") === 0);
    await back.write("/history ann\n");
    assertEquals(await pageOf(back, /^-- earlier with ann/), [
      "ann (private): live",
      "ann (private): held on a",
    ]);
  },
});

test("SqlitePrivates pages by id, trims each conversation to keep and the file to total", async () => {
  await using db = await tempDb();
  const file = openChatDatabase(db.path);
  const store = new SqlitePrivates(file, 10, 25, new ServerLog(() => {}));
  try {
    const ids = new IdMaker();
    const entry = (from: string, to: string, text: string): PrivateEntry => ({
      id: ids.next(),
      kind: "private",
      from,
      to,
      text,
      time: Date.now(),
      account: from,
      toAccount: to,
    });
    const ab = pairKey("ann", "bo");
    for (let i = 0; i < 30; i++) {
      store.add(ab, entry("ann", "bo", `ab ${i}`), i >= 28 ? "bo" : undefined);
    }
    const page = store.before(ab, 5);
    assertEquals(page.map((e) => e.text), ["ab 25", "ab 26", "ab 27", "ab 28", "ab 29"]);
    assertEquals(store.before(ab, 2, page[0].id).map((e) => e.text), ["ab 23", "ab 24"]);
    assertEquals(store.after(ab, 2, page[0].id).map((e) => e.text), ["ab 26", "ab 27"]);
    assertEquals(store.conversations("bo", 10).map((c) => [c.with, c.last.text]), [[
      "ann",
      "ab 29",
    ]]);
    assertEquals(store.heldCount("bo"), 2);
    assertEquals(store.takeHeld("bo").map((e) => e.text), ["ab 28", "ab 29"]);
    assertEquals(store.heldCount("bo"), 0);
    store.prune();
    assertEquals(store.before(ab, 100).length, 10);
    const cy = pairKey("bo", "cy");
    for (let i = 0; i < 20; i++) store.add(cy, entry("cy", "bo", `cy ${i}`));
    store.prune();
    const count = file.prepare("SELECT count(*) AS n FROM private_messages").get()!.n as number;
    assertEquals(count <= 25, true, `${count} lines kept`);
    // A deleted account's conversations and what waits for it go.
    store.add(cy, entry("cy", "bo", "held"), "bo");
    store.forgetAccount("cy");
    assertEquals(store.before(cy, 100), []);
    assertEquals(store.heldCount("bo"), 0);
    assertEquals(store.before(ab, 100).length > 0, true);
    assertEquals(store.conversations("bo", 10).map((c) => c.with), ["ann"]);
  } finally {
    await store.close();
    file.close();
  }
});

Deno.test({
  name:
    "private conversations and held messages are kept in Redis: a server started later has them",
  ignore: !HAVE_REDIS,
  ...sanitized,
  async fn() {
    await using redis = await startRedis();
    {
      await using a = await quietServer({ redis: redis.url, hashCost: CHEAP });
      using ann = await registered(a, "ann");
      using bo = await registered(a, "bo");
      await liveThenHeld(a, ann, bo, "first", "second");
    }
    await using b = await quietServer({ redis: redis.url, hashCost: CHEAP });
    assertEquals(b.hub.privates.heldCount("bo"), 1);
    using bo = await logIn(b, "bo");
    assertEquals(await pageOf(bo, /^-- while you were away, ann wrote/), ["ann (private): second"]);
    await bo.write("/history ann\n");
    assertEquals(await pageOf(bo, /^-- earlier with ann/), [
      "ann (private): first",
      "ann (private): second",
    ]);
    // Delivered: Redis holds it no more either.
    await eventually(async () => (await redis.cli("EXISTS", "chat:held:bo")).trim() === "0");
    // bo deletes its account: its conversations go from Redis too.
    assertEquals((await redis.cli("EXISTS", "chat:private:ann bo")).trim(), "1");
    await bo.write("/unregister open sesame\n");
    await bo.until((line) => line.startsWith("-- The account bo"));
    await eventually(async () => (await redis.cli("EXISTS", "chat:private:ann bo")).trim() === "0");
    assertEquals(b.hub.privates.conversations("ann", 10), []);
  },
});

test("server.ts account remove takes the account's private conversations out of the --db file", async () => {
  await using db = await tempDb();
  const io = {
    readPassword: () => Promise.resolve("a-password"),
    interactive: false,
    out: () => {},
    err: () => {},
  };
  assertEquals(await accountCommand(["add", "ann", "--db", db.path], io), 0);
  const ab = pairKey("ann", "bo");
  const entry: PrivateEntry = {
    id: new IdMaker().next(),
    kind: "private",
    from: "ann",
    to: "bo",
    text: "secret",
    time: Date.now(),
    account: "ann",
    toAccount: "bo",
  };
  const stored = async (check: (store: SqlitePrivates) => void) => {
    const file = openChatDatabase(db.path);
    const store = new SqlitePrivates(file, 10, 100, new ServerLog(() => {}));
    try {
      check(store);
    } finally {
      await store.close();
      file.close();
    }
  };
  await stored((store) => store.add(ab, entry, "bo"));
  await stored((store) => assertEquals(store.before(ab, 10).map((e) => e.text), ["secret"]));
  assertEquals(await accountCommand(["remove", "ann", "--db", db.path], io), 0);
  await stored((store) => {
    assertEquals(store.before(ab, 10), []);
    assertEquals(store.heldCount("bo"), 0);
  });
});

test("/search on the --db file finds an account's own private lines (with whom), never another pair's", async () => {
  await using db = await tempDb();
  await using server = await quietServer({ db: db.path, hashCost: CHEAP });
  using ann = await registered(server, "ann");
  using bo = await registered(server, "bo");
  using cy = await registered(server, "cy");
  await ann.write("/msg bo the deploy is at noon\n");
  await bo.until((line) => line === "ann (private): the deploy is at noon");
  await bo.write("/msg cy deploy key is secret\n");
  await cy.until((line) => line === "bo (private): deploy key is secret");
  using dan = await LineClient.join(server, "dan");
  /** What `client` is shown for `/search TEXT`, times left out. */
  const search = async (client: LineClient, text: string) => {
    await client.write(`/search ${text}\n`);
    await client.until((line) => line.startsWith(`-- search for "${text}"`));
    const lines = await client.through((line) => line.startsWith("-- end of search"));
    return lines.slice(0, -1).map((line) => parseHistoryLine(line)!.line);
  };
  assertEquals(await search(ann, "deploy"), ["(with bo) ann: the deploy is at noon"]);
  assertEquals(await search(cy, "DEPL"), ["(with bo) bo: deploy key is secret"]);
  assertEquals(await search(bo, "deploy"), [
    "(with cy) bo: deploy key is secret",
    "(with ann) ann: the deploy is at noon",
  ]);
  assertEquals(await search(ann, "secret"), []);
  assertEquals(await search(dan, "deploy"), [], "a guest: no private line");
});

test("SqlitePrivates search: the index cuts to the account's pairs (not a key's words in another), filled by the migration", async () => {
  await using db = await tempDb();
  const ids = new IdMaker();
  const entry = (from: string, to: string, text: string): PrivateEntry => ({
    id: ids.next(),
    kind: "private",
    from,
    to,
    text,
    time: Date.now(),
    account: from,
    toAccount: to,
  });
  {
    const file = openChatDatabase(db.path);
    const store = new SqlitePrivates(file, 10, 100, new ServerLog(() => {}));
    store.add(pairKey("ann", "bo"), entry("ann", "bo", "Déploiement demain"));
    // `ann-b` and `zed`: the index's words of this pair have `ann` too.
    store.add(pairKey("ann-b", "zed"), entry("zed", "ann-b", "deploy elsewhere"));
    for (let i = 0; i < 5; i++) store.add(pairKey("ann", "cy"), entry("cy", "ann", `deploy ${i}`));
    // Found before they are written: pending lines are written first.
    const found = store.search("ann", "deplo", 3);
    assertEquals(found.entries.map((e) => [e.with, e.entry.text]), [
      ["cy", "deploy 4"],
      ["cy", "deploy 3"],
      ["cy", "deploy 2"],
    ]);
    assertEquals(found.more, true);
    assertEquals(
      store.search("ann", "deploiement", 10).entries.map((e) => [e.with, e.entry.kind]),
      [["bo", "message"]],
    );
    assertEquals(store.search("ann", "elsewhere", 10), { entries: [], more: false });
    assertEquals(store.search("zed", "elsewhere", 10).entries.map((e) => e.with), ["ann-b"]);
    assertEquals(store.search("ann", '"deploy" NEAR(', 10).entries.length, 0, "no FTS syntax");
    assertEquals(store.search("ann", "***", 10), { entries: [], more: false });
    await store.close();
    // A file from before the index (schema 11): the migration fills it from the lines kept.
    file.exec(
      "DROP TRIGGER private_fts_insert; DROP TRIGGER private_fts_delete; " +
        "DROP TRIGGER private_fts_update; DROP TABLE private_fts;",
    );
    file.exec(`PRAGMA user_version = ${SCHEMA_VERSION - 1}`);
    file.close();
  }
  const file = openChatDatabase(db.path);
  const store = new SqlitePrivates(file, 10, 100, new ServerLog(() => {}));
  try {
    assertEquals(store.search("bo", "demain", 10).entries.map((e) => e.with), ["ann"]);
    // Kept in step: a forgotten account's lines are gone from the index too.
    store.forgetAccount("cy");
    assertEquals(store.search("ann", "deploy", 10).entries, []);
  } finally {
    await store.close();
    file.close();
  }
});

Deno.test({
  name: "/search in a cluster finds an account's own private lines in its server's memory copy",
  ignore: !HAVE_REDIS,
  ...sanitized,
  async fn() {
    await using redis = await startRedis();
    await using a = await quietServer({ redis: redis.url, hashCost: CHEAP });
    await using b = await quietServer({ redis: redis.url, hashCost: CHEAP });
    using ann = await registered(a, "ann");
    using bo = await registered(b, "bo");
    using cy = await registered(b, "cy");
    await eventually(() => a.hub.accounts.accountName("bo") !== undefined);
    await ann.write("/msg bo deploy from a\n");
    await bo.until((line) => line === "ann (private): deploy from a");
    for (const [client, found] of [[bo, ["(with ann) ann: deploy from a"]], [cy, []]] as const) {
      await client.write("/search deploy\n");
      await client.until((line) => line.startsWith('-- search for "deploy"'));
      const lines = await client.through((line) => line.startsWith("-- end of search"));
      assertEquals(lines.slice(0, -1).map((line) => parseHistoryLine(line)!.line), found);
    }
  },
});

for (const store of ["memory", "--db"] as const) {
  test(`a guest's private conversation is kept in the account's history only (${store})`, async () => {
    await using db = await tempDb();
    await using server = await quietServer({
      db: store === "--db" ? db.path : undefined,
      hashCost: CHEAP,
    });
    using ann = await registered(server, "ann");
    using gus = await LineClient.join(server, "Gus");
    await ann.write("/msg gus hello guest\n");
    await gus.until((line) => line === "ann (private): hello guest");
    await gus.write("/msg ann hi ann\n");
    await ann.until((line) => line === "Gus (private): hi ann");
    // The account reads it under the guest's name (any spelling of it), and only there.
    await ann.write("/history GUS\n");
    assertEquals(await pageOf(ann, /^-- earlier with GUS/), [
      "to Gus (private): hello guest",
      "Gus (private): hi ann",
    ]);
    assertEquals(server.hub.privates.before(pairKey("ann", "gus"), 10), []);
    const found = (server.hub.privates as unknown as PrivateSearch).search("ann", "hello", 10);
    assertEquals(found.entries.map((each) => [each.with, each.entry.text]), [
      ["Gus", "hello guest"],
    ]);
    // The account deletes its own line there; the guest's is not its to delete.
    const [mine, theirs] = server.hub.privates.before(guestKey("ann", "gus"), 10);
    await ann.write(`/delete ${theirs.id}\n`);
    await ann.until((line) => line === say.deleteForbidden);
    // The guest reads nothing: it has no history.
    await gus.write("/history ann\n");
    await gus.until((line) => line === say.notLoggedIn);
    // A later account of the guest's name reads nothing of it, nor finds it.
    await quitAndGone(server, gus, "gus");
    using later = await registered(server, "gus");
    await later.write("/history ann\n");
    await later.until((line) => line === say.noEarlierWith("ann"));
    const theirSearch = (server.hub.privates as unknown as PrivateSearch).search("gus", "ann", 10);
    assertEquals(theirSearch.entries, []);
    assertEquals(server.hub.privates.conversations("gus", 10), []);
    // ... and is not told of the account deleting its line there (the next line it gets is
    // the account's new message, kept in their own conversation).
    await ann.write(`/delete ${mine.id}\n`);
    await ann.until((line) => line === say.privateDeleted("ann", "Gus"));
    assertEquals(
      server.hub.privates.before(guestKey("ann", "gus"), 10).map((entry) => entry.text),
      ["hi ann"],
    );
    await ann.write("/msg gus now an account\n");
    assertEquals(await later.line(), "ann (private): now an account");
    assertEquals(server.hub.privates.before(pairKey("ann", "gus"), 10).length, 1);
    assertEquals(server.hub.privates.before(guestKey("ann", "gus"), 10).length, 1);
  });
}

Deno.test({
  name: "a guest's private conversation is kept on Redis in the account's history only",
  ignore: !HAVE_REDIS,
  ...sanitized,
  async fn() {
    await using redis = await startRedis();
    await using a = await quietServer({ redis: redis.url, hashCost: CHEAP });
    await using b = await quietServer({ redis: redis.url, hashCost: CHEAP });
    using ann = await registered(a, "ann");
    using gus = await LineClient.join(b, "gus");
    await eventually(() => a.hub.memberName("gus") !== undefined);
    await ann.write("/msg gus from ann\n");
    await gus.until((line) => line === "ann (private): from ann");
    await gus.write("/msg ann from gus\n");
    await ann.until((line) => line === "gus (private): from gus");
    const key = guestKey("ann", "gus");
    await eventually(() => b.hub.privates.before(key, 10).length === 2);
    // ann deletes its own line there: every server and Redis forget it.
    const mine = a.hub.privates.before(key, 10)[0];
    await ann.write(`/delete ${mine.id}\n`);
    await ann.until((line) => line === say.privateDeleted("ann", "gus"));
    await eventually(() => b.hub.privates.before(key, 10).length === 1);
    assertEquals((await redis.cli("XLEN", `chat:private:${key}`)).trim(), "1");
    // A server started now has it on ann's side only.
    await using c = await quietServer({ redis: redis.url, hashCost: CHEAP });
    assertEquals(c.hub.privates.before(key, 10).map((entry) => entry.text), ["from gus"]);
    assertEquals(c.hub.privates.conversations("ann", 10).map((each) => each.with), ["gus"]);
    assertEquals(c.hub.privates.conversations("gus", 10), []);
    assertEquals(c.hub.privates.before(pairKey("ann", "gus"), 10), []);
  },
});
