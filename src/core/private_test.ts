/**
 * Private conversations: the store in memory, and what the hub does with it (ids, paging,
 * messages held for an account not connected, delivered at its next login).
 *
 * @module
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { HELD_MAX, MemoryPrivates, pairKey, type PrivateEntry } from "./private.ts";
import { Accounts, DEFAULT_POLICY, MemoryAccountStore } from "./accounts.ts";
import { isId } from "./ids.ts";
import { parseHistoryLine, say } from "../text/protocol.ts";
import { TextSession } from "../text/session.ts";
import { JsonClient } from "../json/json_test_util.ts";
import { MemoryConnection, MemoryHub, test } from "../../tests/test_util.ts";

const CHEAP = { n: 1 << 10, r: 8, p: 1, scramIterations: 16 };

function entry(id: string, from = "ann", to = "bo"): PrivateEntry {
  return { id, kind: "private", from, to, text: id, time: 0, account: from, toAccount: to };
}

test("private store: pages by id, bounded per conversation and in conversations", () => {
  const store = new MemoryPrivates(4, 2);
  const ab = pairKey("ann", "bo");
  assertEquals(ab, pairKey("bo", "ann"));
  for (const id of ["a", "c", "b", "d", "e", "f"]) store.add(ab, entry(id));
  store.add(ab, entry("c")); // a repeat is kept once
  assertEquals(store.before(ab, 10).map((e) => e.id), ["c", "d", "e", "f"]);
  assertEquals(store.before(ab, 2, "e").map((e) => e.id), ["c", "d"]);
  assertEquals(store.after(ab, 2, "c").map((e) => e.id), ["d", "e"]);
  assertEquals(store.conversations("bo", 10).map((c) => [c.with, c.last.id]), [["ann", "f"]]);
  // A third conversation forgets the least recently active one.
  store.add(pairKey("ann", "cy"), entry("g", "ann", "cy"));
  store.add(pairKey("bo", "cy"), entry("h", "cy", "bo"));
  assertEquals(store.before(ab, 10), []);
  assertEquals(store.conversations("bo", 10).map((c) => c.with), ["cy"]);
  assertEquals(store.conversations("ann", 10).map((c) => c.with), ["cy"]);
  assertEquals(store.size().conversations, 2);
});

test("private store: held messages are bounded per account and taken once", () => {
  const store = new MemoryPrivates(10, 10);
  for (let i = 0; i < HELD_MAX + 5; i++) {
    store.add(pairKey("ann", "bo"), entry(String(i).padStart(5, "0")), "bo");
  }
  assertEquals(store.heldCount("bo"), HELD_MAX);
  assertEquals(store.takeHeld("bo").length, HELD_MAX);
  assertEquals(store.heldCount("bo"), 0);
  assertEquals(store.takeHeld("bo"), []);
});

/** A hub whose accounts hash cheaply. */
function accountsHub(): MemoryHub {
  const hub = new MemoryHub();
  hub.accounts = new Accounts(hub, new MemoryAccountStore(), { ...DEFAULT_POLICY, cost: CHEAP });
  return hub;
}

function connect(hub: MemoryHub): MemoryConnection {
  const conn = new MemoryConnection();
  conn.session = hub.connect(conn, new TextSession(hub, conn))!;
  conn.take();
  return conn;
}

/** Room notices of joins and leaves, left out of what these tests compare. */
const PRESENCE = /^-- [^:]*\b(joined|left)\b[^:]*$/;

async function send(hub: MemoryHub, conn: MemoryConnection, ...lines: string[]) {
  conn.say(...lines);
  await hub.accounts.idle();
  await Promise.resolve(); // held messages are told a microtask after a login
  return conn.take().filter((line) => !PRESENCE.test(line));
}

/** A member called `name`, registered with a password, its lines taken. */
async function account(hub: MemoryHub, name: string): Promise<MemoryConnection> {
  const conn = connect(hub);
  await send(hub, conn, name);
  await send(hub, conn, "/register s3cret pass");
  return conn;
}

/** Logs in again as `name` at the prompt; gives back the connection and what it was told. */
async function login(hub: MemoryHub, name: string): Promise<[MemoryConnection, string[]]> {
  const conn = connect(hub);
  await send(hub, conn, name);
  return [conn, await send(hub, conn, "s3cret pass")];
}

test("private: kept between accounts with ids, paged by /history NAME, seen by those two only", async () => {
  using hub = accountsHub();
  const ann = await account(hub, "ann");
  const bo = await account(hub, "bo");
  const cy = await account(hub, "cy");
  for (let i = 1; i <= 5; i++) {
    await send(hub, ann, `/msg bo ann ${i}`);
    await send(hub, bo, `/msg ann bo ${i}`);
  }
  ann.take();
  const kept = hub.privates.before(pairKey("ann", "bo"), 100);
  assertEquals(kept.length, 10);
  assert(kept.every((e) => isId(e.id)));
  assertEquals(await send(hub, ann, "/history bo 3"), [
    "-- earlier with bo (private): 3 lines, oldest first",
    ...["bo 4", "ann 5", "bo 5"].map((text) =>
      text.startsWith("ann")
        ? `[${stamp(kept, text)}] to bo (private): ${text}`
        : `[${stamp(kept, text)}] bo (private): ${text}`
    ),
    say.historyEnd,
  ]);
  // The next page goes on from there.
  const next = await send(hub, ann, "/history bo 100");
  assertEquals(next.length, 7 + 2);
  assertEquals(parseHistoryLine(next[1])!.line, "to bo (private): ann 1");
  assertEquals(await send(hub, ann, "/history bo"), ["-- no earlier private history with bo"]);
  // A third account has no conversation with either: nothing of theirs.
  assertEquals(await send(hub, cy, "/history ann"), ["-- no earlier private history with ann"]);
  assertEquals(await send(hub, cy, "/history bo"), ["-- no earlier private history with bo"]);
  assertEquals(hub.privates.conversations("cy", 10), []);
  assertEquals(hub.privates.conversations("ann", 10).map((c) => c.with), ["bo"]);
});

/** The time of `text`'s entry as a history line shows it. */
function stamp(entries: readonly PrivateEntry[], text: string): string {
  const found = entries.find((e) => e.text === text)!;
  return new Date(found.time).toISOString().slice(0, 19) + "Z";
}

test("private: a guest's message is kept one-sided, in the account's history only", async () => {
  using hub = accountsHub();
  const ann = connect(hub);
  await send(hub, ann, "ann");
  const bo = await account(hub, "bo");
  await send(hub, ann, "/msg bo hello");
  assertEquals(bo.take(), ["ann (private): hello"]);
  // Under bo and the guest's name: never the pair of bo and an account called ann.
  assertEquals(hub.privates.conversations("bo", 10).map((c) => [c.with, c.last.text]), [
    ["ann", "hello"],
  ]);
  assertEquals(hub.privates.before(pairKey("ann", "bo"), 10), []);
  assertEquals(hub.privates.conversations("ann", 10), []);
  // The guest reads nothing.
  assertEquals(await send(hub, ann, "/history bo"), [say.notLoggedIn]);
  // Nor to an account not connected: a guest is told no one is there, as before.
  bo.say("/quit");
  assertEquals(await send(hub, ann, "/msg bo later"), [say.noSuchMember("bo")]);
});

test("private: a message to an account not connected waits for its next login", async () => {
  using hub = accountsHub();
  const ann = await account(hub, "ann");
  const bo = await account(hub, "bo");
  await send(hub, bo, "/quit");
  assertEquals(await send(hub, ann, "/msg bo are you there?", "/msg BO second"), [
    "-- bo is away; your message will be delivered when they next log in",
    "-- bo is away; your message will be delivered when they next log in",
  ]);
  assertEquals(await send(hub, ann, "/msg nobody hi"), [say.noSuchMember("nobody")]);
  assertEquals(await send(hub, ann, "/msg ann hi"), [say.thatIsYou]);
  const [again, lines] = await login(hub, "bo");
  const at = lines.indexOf("-- while you were away, ann wrote (private): 2 lines, oldest first");
  assert(at > 0, lines.join("\n"));
  assertEquals(lines.slice(at + 1, at + 4).map((line) => parseHistoryLine(line)?.line ?? line), [
    "ann (private): are you there?",
    "ann (private): second",
    say.historyEnd,
  ]);
  // Told once: a later login finds nothing waiting.
  await send(hub, again, "/quit");
  const [, later] = await login(hub, "bo");
  assert(!later.some((line) => line.includes("while you were away")), later.join("\n"));
});

test("private: a login while named is told what waited, after its login line", async () => {
  using hub = accountsHub();
  const ann = await account(hub, "ann");
  const bo = await account(hub, "bo");
  await send(hub, bo, "/quit");
  await send(hub, ann, "/msg bo one");
  const guest = connect(hub);
  await send(hub, guest, "someone");
  const lines = await send(hub, guest, "/login bo s3cret pass");
  assertEquals(lines[0], "-- You are logged in as bo");
  assert(lines.includes("-- while you were away, ann wrote (private): 1 line, oldest first"));
});

test("private: one sender cannot hold more than HELD_MAX messages for an account", async () => {
  using hub = accountsHub();
  const ann = await account(hub, "ann");
  const bo = await account(hub, "bo");
  await send(hub, bo, "/quit");
  for (let i = 0; i < HELD_MAX; i++) {
    hub.holdPrivate(ann.session, "bo", `m${i}`);
  }
  ann.take();
  assertEquals(await send(hub, ann, "/msg bo one more"), [
    "!! too many messages are waiting for bo; try again later",
  ]);
});

test("private: a deleted account's conversations go with it; a new account of the name reads nothing", async () => {
  using hub = accountsHub();
  const ann = await account(hub, "ann");
  const bo = await account(hub, "bo");
  await send(hub, ann, "/msg bo secret");
  await send(hub, bo, "/quit");
  await send(hub, ann, "/msg bo also secret");
  assertEquals(hub.privates.heldCount("bo"), 1);
  await send(hub, ann, "/unregister s3cret pass");
  assertEquals(hub.privates.conversations("bo", 10), []);
  assertEquals(hub.privates.heldCount("bo"), 0);
  // Someone makes an account of the name: nothing of the old one's.
  const again = await account(hub, "ann");
  assertEquals(await send(hub, again, "/history bo"), ["-- no earlier private history with bo"]);
});

test("private: /search finds an account's own conversations' lines, never another pair's; a guest none", async () => {
  using hub = accountsHub();
  const ann = await account(hub, "ann");
  const bo = await account(hub, "bo");
  const cy = await account(hub, "cy");
  await send(hub, ann, "/msg bo deploy at noon");
  await send(hub, bo, "/msg ann Deploy done");
  await send(hub, bo, "/msg cy deploy the secret key");
  ann.take();
  cy.take();
  const guest = connect(hub);
  await send(hub, guest, "dan");
  const found = (lines: string[]) => lines.map((l) => parseHistoryLine(l)?.line ?? l);
  assertEquals(found(await send(hub, ann, "/search deploy")), [
    say.searchHeader("deploy", 2),
    "(with bo) bo: Deploy done",
    "(with bo) ann: deploy at noon",
    say.searchEnd(false),
  ]);
  assertEquals(found(await send(hub, cy, "/search deploy")), [
    say.searchHeader("deploy", 1),
    "(with bo) bo: deploy the secret key",
    say.searchEnd(false),
  ]);
  assertEquals(await send(hub, ann, "/search secret"), [
    say.searchHeader("secret", 0),
    say.searchEnd(false),
  ]);
  assertEquals(await send(hub, guest, "/search deploy"), [
    say.searchHeader("deploy", 0),
    say.searchEnd(false),
  ]);
  // As JSON: a result with `with` (the other account) and its `type`, never `room`.
  const json = new JsonClient(hub);
  json.send({ type: "hello", name: "cy" });
  json.send({ type: "password", password: "s3cret pass" });
  await hub.accounts.idle();
  json.take();
  json.send({ type: "search", text: "secret", ref: "s" });
  const [answer] = json.take();
  const results = answer.results as Record<string, unknown>[];
  assertEquals(
    results.map(({ with: other, type, from, text, room }) => [other, type, from, text, room]),
    [["bo", "message", "bo", "deploy the secret key", undefined]],
  );
  // The store itself: by account key, its pairs only.
  assertEquals(hub.privates.conversations("cy", 10).map((c) => c.with), ["bo"]);
  const own = (hub.privateSearch!).search("cy", "DEPLOY", 10);
  assertEquals(own.entries.map((e) => [e.with, e.entry.text]), [["bo", "deploy the secret key"]]);
  assertEquals(hub.privateSearch!.search("dan", "deploy", 10), { entries: [], more: false });
});

test("private store: search is bounded by limit, says there is more, and takes no pattern from input", () => {
  const store = new MemoryPrivates(10, 10);
  for (const id of ["a1", "a2", "a3"]) store.add(pairKey("ann", "bo"), entry(id));
  store.add(pairKey("ann", "cy"), entry("a4", "cy", "ann"));
  const page = store.search("ann", "a", 2);
  assertEquals(page.entries.map((e) => [e.with, e.entry.id]), [["cy", "a4"], ["bo", "a3"]]);
  assertEquals(page.more, true);
  assertEquals(store.search("ann", "a.", 10).entries, []);
  assertEquals(store.search("bo", "a", 10).entries.map((e) => e.entry.id), ["a3", "a2", "a1"]);
  assertEquals(store.search("cy", "a", 10).entries.map((e) => e.entry.kind), ["message"]);
});
