/**
 * Pins accounts across processes and restarts: kept in the `--db` file beside history
 * (a file from before accounts gains them and keeps its history), in memory otherwise
 * (the server says so at start), the operator's `server.ts account` command, and the
 * server's flags.
 *
 * @module
 */

import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
  rejects,
} from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { NAME_PROMPT, say } from "../src/text/protocol.ts";
import { SCHEMA_VERSION } from "../src/storage/database.ts";
import {
  CHEAP,
  eventually,
  HAVE_REDIS,
  LineClient,
  quietServer,
  sanitized,
  spawnServer,
  startRedis,
  test,
} from "./test_util.ts";

const SERVER = new URL("../server.ts", import.meta.url).pathname;
/** A fresh path for a database file, removed (with its WAL files) when disposed. */
async function tempDb(): Promise<{ path: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "chat-accounts-" });
  return {
    path: `${dir}/chat.db`,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/** Runs `server.ts account ARGS` with `input` on stdin; its exit code and both outputs. */
async function account(input: string, ...args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-R", "-W", SERVER, "account", ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return { code, out: decoder.decode(stdout), err: decoder.decode(stderr) };
}

/** Connects, gives `name` and answers the password question with `password`; the client after the hello. */
async function logIn(server: { addr: Deno.NetAddr }, name: string, password: string) {
  const client = await LineClient.connect(server);
  await client.until((line) => line === NAME_PROMPT);
  await client.write(`${name}\n`);
  assertEquals(await client.line(), say.passwordPrompt(name));
  await client.write(`${password}\n`);
  return client;
}

test("accounts survive a restart on the same --db file; the password is asked again", async () => {
  await using db = await tempDb();
  {
    await using server = await quietServer({ db: db.path, hashCost: CHEAP });
    using ann = await LineClient.join(server, "ann");
    await ann.write("/register open sesame\n");
    assertEquals(await ann.line(), say.registered("ann", true));
  }
  await using server = await quietServer({ db: db.path, hashCost: CHEAP });
  using bob = await LineClient.join(server, "bob");
  await bob.write("/nick ann\n");
  assertEquals(await bob.line(), say.nameRegistered("ann"));
  using ann = await logIn(server, "ann", "wrong");
  assertEquals(await ann.line(), say.wrongPassword("ann"));
  assertEquals(await ann.line(), say.passwordPrompt("ann"));
  await ann.write("open sesame\n");
  assertMatch(await ann.line(), /^-- Hello, ann! /);
  await bob.write("/who\n");
  assertEquals(
    await bob.until((line) => line.startsWith("-- Online")),
    "-- Online in lobby (2): ann*, bob",
  );
});

test("a --db file from before accounts keeps its history and gains accounts; a newer one is refused", async () => {
  await using db = await tempDb();
  // The schema as it was before migrations: history tables, user_version 0.
  const old = new DatabaseSync(db.path);
  old.exec(`PRAGMA application_id = ${0x43484154};
    CREATE TABLE messages (id INTEGER PRIMARY KEY, room TEXT NOT NULL, kind TEXT NOT NULL,
      sender TEXT NOT NULL, text TEXT NOT NULL, time INTEGER NOT NULL);
    CREATE INDEX messages_by_room ON messages (room, id);
    CREATE TABLE rooms (key TEXT PRIMARY KEY, topic TEXT NOT NULL);
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    INSERT INTO messages VALUES (1, 'lobby', 'message', 'zed', 'from before', 1700000000000);`);
  old.close();
  {
    await using server = await quietServer({ db: db.path, replay: 5, hashCost: CHEAP });
    using ann = await LineClient.join(server, "ann");
    await ann.until((line) => line.endsWith("zed: from before"));
    await ann.write("/register pw\n");
    assertEquals(
      await ann.until((line) => line.startsWith("-- ann is now")),
      say.registered("ann", true),
    );
  }
  const file = new DatabaseSync(db.path);
  const { user_version: version } = file.prepare("PRAGMA user_version").get() as {
    user_version: number;
  };
  assertEquals(version, SCHEMA_VERSION);
  const row = file.prepare("SELECT name, password, scram FROM accounts").get()!;
  assertEquals(row.name, "ann");
  const password = JSON.parse(row.password as string);
  const scram = JSON.parse(row.scram as string);
  assertEquals([password.scheme, password.n, password.r, password.p], ["scrypt", 1024, 8, 1]);
  assertEquals(Object.keys(scram).sort(), ["iterations", "salt", "serverKey", "storedKey"]);
  assert(!String(row.password).includes('pw"'), "no password, only its hash");
  file.exec("PRAGMA user_version = 99");
  file.close();
  await rejects(
    quietServer({ db: db.path }),
    /written by a newer version of the server \(schema 99/,
  );
});

test("a --db file at schema 2 (accounts, no event ids) gains ids and keeps its history", async () => {
  await using db = await tempDb();
  const old = new DatabaseSync(db.path);
  old.exec(`PRAGMA application_id = ${0x43484154};
    CREATE TABLE messages (id INTEGER PRIMARY KEY, room TEXT NOT NULL, kind TEXT NOT NULL,
      sender TEXT NOT NULL, text TEXT NOT NULL, time INTEGER NOT NULL);
    CREATE INDEX messages_by_room ON messages (room, id);
    CREATE TABLE rooms (key TEXT PRIMARY KEY, topic TEXT NOT NULL);
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE accounts (key TEXT PRIMARY KEY, name TEXT NOT NULL, created INTEGER NOT NULL,
      password TEXT NOT NULL, scram TEXT NOT NULL);
    INSERT INTO messages VALUES (1, 'lobby', 'message', 'zed', 'from before', 1700000000000);
    PRAGMA user_version = 2;`);
  old.close();
  {
    await using server = await quietServer({ db: db.path, replay: 5, hashCost: CHEAP });
    using ann = await LineClient.join(server, "ann");
    await ann.until((line) => line.endsWith("zed: from before"));
  }
  const file = new DatabaseSync(db.path);
  const row = file.prepare("SELECT eid FROM messages WHERE id = 1").get()!;
  const { user_version: version } = file.prepare("PRAGMA user_version").get() as {
    user_version: number;
  };
  file.close();
  assertMatch(String(row.eid), /^[0-9a-z]{19}$/);
  assertEquals(version, SCHEMA_VERSION);
});

test("without --db the server says at start that accounts last until it stops", async () => {
  const logged: string[] = [];
  await using server = await quietServer({ log: (line) => logged.push(line) });
  assert(
    logged.includes(
      "accounts: kept in memory: they last until the server stops (--db FILE keeps them)",
    ),
    logged.join("\n"),
  );
  using ann = await LineClient.join(server, "ann");
  await ann.write("/register pw\n");
  assertEquals(await ann.line(), say.registered("ann", false));
  assert(say.registered("ann", false).endsWith("(accounts last until the server stops)"));
});

test("server.ts account add, list, password, remove work on the --db file, the password from stdin", async () => {
  await using db = await tempDb();
  let run = await account("first pass\n", "add", "ann", "--db", db.path);
  assertEquals([run.code, run.err], [0, "added the account ann\n"]);
  run = await account("", "add", "ann", "--db", db.path);
  assertEquals([run.code, run.err], [1, "server account: ann is an account already\n"]);
  run = await account("\n", "add", "bob", "--db", db.path);
  assertEquals([run.code, run.err], [1, "server account: a password cannot be empty\n"]);
  run = await account("", "list", "--db", db.path);
  assertEquals(run.code, 0);
  assertMatch(run.out, /^ann\tsince \d{4}-\d\d-\d\dT/);
  assertEquals(run.err, "1 account\n");
  run = await account("second pass\n", "password", "ann", "--db", db.path);
  assertEquals([run.code, run.err], [0, "changed the password of ann\n"]);
  run = await account("", "add", "ann", "pw", "--db", db.path);
  assertEquals(run.code, 2);
  assertMatch(run.err, /never an argument/);
  run = await account("", "add", "ann");
  assertEquals(run.code, 2);
  assertMatch(run.err, /--db FILE is needed/);
  {
    // While a server runs, the file is its own: the command says so.
    await using server = await spawnServer("--db", db.path);
    run = await account("", "list", "--db", db.path);
    assertEquals([run.code, run.err], [
      1,
      `server account: ${db.path} is in use by another server\n`,
    ]);
    using ann = await logIn(server, "ann", "second pass");
    assertMatch(await ann.line(), /^-- Hello, ann! /);
  }
  run = await account("", "remove", "ann", "--db", db.path);
  assertEquals([run.code, run.err], [0, "removed the account ann\n"]);
  run = await account("", "remove", "ann", "--db", db.path);
  assertEquals([run.code, run.err], [1, "server account: there is no account ann\n"]);
});

test("--registration closed and --require-account: only the operator's accounts may chat", async () => {
  await using db = await tempDb();
  assertEquals((await account("pw\n", "add", "ann", "--db", db.path)).code, 0);
  await using server = await spawnServer(
    "--db",
    db.path,
    "--registration",
    "closed",
    "--require-account",
  );
  using guest = await LineClient.connect(server);
  await guest.until((line) => line === NAME_PROMPT);
  await guest.write("zed\n/register zed pw\n");
  assertEquals(await guest.line(), say.accountRequired("zed"));
  assertEquals(await guest.line(), NAME_PROMPT);
  assertEquals(await guest.line(), say.registrationClosed);
  using ann = await logIn(server, "ann", "pw");
  assertMatch(await ann.line(), /^-- Hello, ann! /);
});

Deno.test({
  name:
    "two servers on one Redis share accounts: made on one, asked for on the other, deleted on both",
  ignore: !HAVE_REDIS,
  ...sanitized,
  async fn() {
    await using redis = await startRedis();
    await using a = await quietServer({ redis: redis.url, hashCost: CHEAP });
    await using b = await quietServer({ redis: redis.url, hashCost: CHEAP });
    {
      using ann = await LineClient.join(a, "ann");
      await ann.write("/register s3cret\n");
      assertEquals(await ann.line(), say.registered("ann", true));
      await eventually(() => b.hub.accounts.isRegistered("ann"));
    }
    await eventually(() => b.hub.cluster!.remote.size === 0);
    using bob = await LineClient.join(b, "bob");
    await bob.write("/nick ann\n");
    assertEquals(await bob.line(), say.nameRegistered("ann"));
    using ann = await logIn(b, "ann", "s3cret");
    assertMatch(await ann.line(), /^-- Hello, ann! /);
    await ann.write("/unregister s3cret\n");
    assertEquals(
      await ann.until((line) => line.startsWith("-- The account")),
      say.unregistered("ann"),
    );
    await eventually(() => !a.hub.accounts.isRegistered("ann"));
    // A server started later reads the accounts from Redis.
    {
      using cat = await LineClient.join(a, "cat");
      await cat.write("/register meow\n");
      assertEquals(await cat.line(), say.registered("cat", true));
    }
    await using c = await quietServer({ redis: redis.url, hashCost: CHEAP });
    assert(c.hub.accounts.isRegistered("cat"));
  },
});

test("a founded room's roles, modes and bans survive a restart on the same --db file", async () => {
  await using db = await tempDb();
  {
    await using server = await quietServer({ db: db.path, hashCost: CHEAP });
    using ann = await LineClient.join(server, "ann");
    await ann.write("/register open sesame\n");
    assertEquals(await ann.line(), say.registered("ann", true));
    await ann.write("/join dev\n");
    await ann.until((line) => line.startsWith("-- You are now in dev"));
    await ann.write("/mode +m\n");
    assertEquals(await ann.line(), "-- ann set modes +m");
    await ann.write("/ban troll*\n");
    assertEquals(await ann.line(), "-- ann banned troll*");
  }
  await using server = await quietServer({ db: db.path, hashCost: CHEAP });
  using troll = await LineClient.join(server, "troll9");
  await troll.write("/join dev\n");
  assertEquals(await troll.line(), say.banned("dev"));
  using bob = await LineClient.join(server, "bob");
  await bob.write("/join dev\n");
  await bob.until((line) => line.startsWith("-- You are now in dev"));
  await bob.write("/mode\n");
  assertEquals(await bob.line(), "-- Modes of dev: +mnt; held by ann");
  await bob.write("hello\n");
  assertEquals(await bob.line(), say.moderated("dev"));
});
