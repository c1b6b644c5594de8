/**
 * Pins several connections of one account, at the hub in memory: a second login
 * attaches to the member already here (one name, one presence: one join notice, one
 * entry in `/who`), each connection sees what the others say and what is said to the
 * member, `/join` and `/nick` move and rename all of them, and the member leaves
 * (one notice) only with its last connection. Guests stay one connection per name.
 *
 * @module
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Accounts, DEFAULT_POLICY, MemoryAccountStore } from "./accounts.ts";
import { say } from "../text/protocol.ts";
import { TextSession } from "../text/session.ts";
import { MemoryConnection, MemoryHub, test } from "../../tests/test_util.ts";
import type { HubOptions } from "./hub.ts";

/** Hashes cheap enough for tests. */
const CHEAP = { n: 1 << 10, r: 8, p: 1, scramIterations: 16 };

/** A hub whose accounts hash cheaply (no replay unless asked: lines stay countable). */
function accountsHub(options: Partial<HubOptions> = { replay: 0 }): MemoryHub {
  const hub = new MemoryHub(options);
  hub.accounts = new Accounts(hub, new MemoryAccountStore(), { ...DEFAULT_POLICY, cost: CHEAP });
  return hub;
}

/** A new text connection, greeted, its greeting taken. */
function connect(hub: MemoryHub): MemoryConnection {
  const conn = new MemoryConnection();
  conn.session = hub.connect(conn, new TextSession(hub, conn))!;
  conn.take();
  return conn;
}

/** Sends `lines` and waits for the account work they started; returns what came. */
async function send(hub: MemoryHub, conn: MemoryConnection, ...lines: string[]) {
  conn.say(...lines);
  await hub.accounts.idle();
  return conn.take();
}

/** A text connection logged in to the account `name` (made with `password` if new). */
async function loggedIn(hub: MemoryHub, name: string, password: string) {
  const conn = connect(hub);
  if (hub.accounts.isRegistered(name)) {
    const lines = await send(hub, conn, name, password);
    assert(lines[1].startsWith(`-- Hello, ${name}!`), lines.join(" | "));
  } else {
    await send(hub, conn, `/register ${name} ${password}`);
  }
  assertEquals(conn.session.name, name);
  return conn;
}

test("multiclient: a second login of an account is one more connection of its member, not a second member", async () => {
  using hub = accountsHub();
  const bob = hub.member("bob");
  const laptop = await loggedIn(hub, "ann", "pw");
  assertEquals(bob.take(), [say.joined("ann")]);
  const phone = connect(hub);
  assertEquals(await send(hub, phone, "ann", "pw"), [
    say.passwordPrompt("ann"),
    say.hello("ann", ["bob"], 1),
  ]);
  // One presence: nobody is told anything, and /who lists ann once.
  assertEquals([bob.take(), laptop.take()], [[], []]);
  assertEquals(hub.members.size, 2);
  assertEquals(hub.rooms.get("lobby")!.members.size, 2);
  assertEquals(await send(hub, bob, "/who"), [
    `${say.online("lobby", ["ann*", "bob"], 2)}`,
  ]);
  assertEquals(await send(hub, phone, "/who"), [say.online("lobby", ["ann*", "bob"], 2)]);
  assertEquals(await send(hub, bob, "/whois ann", "/whois bob"), [
    "-- ann is in lobby, logged in as ann, on 2 connections",
    "-- bob is in lobby, not logged in",
  ]);
  assertEquals(phone.session.member, laptop.session);
  assertEquals(hub.logged.filter((line) => / one more connection /.test(line)).length, 1);
});

test("multiclient: what one connection says reaches the others as anyone's line; what is said to the member reaches all", async () => {
  using hub = accountsHub();
  const bob = hub.member("bob");
  const laptop = await loggedIn(hub, "ann", "pw");
  const phone = await loggedIn(hub, "ann", "pw");
  bob.take();
  phone.say("hi from the phone");
  assertEquals(bob.take(), ["ann: hi from the phone"]);
  assertEquals(laptop.take(), ["ann: hi from the phone"]);
  assertEquals(phone.take(), []); // one's own line is not sent back (text)
  laptop.say("/me waves");
  assertEquals([bob.take(), phone.take(), laptop.take()], [
    ["* ann waves"],
    ["* ann waves"],
    [],
  ]);
  // Private lines to ann reach every connection; one's own private line, its receipt.
  bob.say("/msg ann psst");
  assertEquals(bob.take(), [say.privateSent("ann", "psst")]);
  assertEquals([laptop.take(), phone.take()], [["bob (private): psst"], ["bob (private): psst"]]);
  laptop.say("/msg bob yes?");
  assertEquals(bob.take(), ["ann (private): yes?"]);
  assertEquals([laptop.take(), phone.take()], [
    [say.privateSent("bob", "yes?")],
    [say.privateSent("bob", "yes?")],
  ]);
  assertEquals(await send(hub, phone, "/msg ann me"), [say.thatIsYou]);
});

test("multiclient: /join on one connection moves the member: every connection is told, the room once", async () => {
  using hub = accountsHub({ replay: 20 });
  const bob = hub.member("bob");
  const carol = hub.member("carol");
  carol.say("/join dev", "before you came");
  const laptop = await loggedIn(hub, "ann", "pw");
  const phone = await loggedIn(hub, "ann", "pw");
  bob.take();
  carol.take();
  phone.say("/join dev");
  const entered = [say.nowIn("dev", ["carol"], 1), say.historyHeader("dev", 1)];
  assertEquals(laptop.take().slice(0, 2), entered);
  assertEquals(phone.take().slice(0, 2), entered);
  assertEquals(bob.take(), [say.moved("ann", "dev")]);
  assertEquals(carol.take(), [say.joined("ann")]);
  assertEquals([laptop.session.room?.name, phone.session.room?.name], ["dev", "dev"]);
  assertEquals(await send(hub, laptop, "/join dev"), [say.alreadyIn("dev")]);
  assertEquals(phone.take(), []);
  // /topic from either is the member's (carol made dev, +t: she makes ann an operator first).
  carol.say("/op ann");
  for (const conn of [carol, laptop, phone]) conn.take();
  phone.say("/topic plans");
  assertEquals(carol.take(), [say.topicSet("ann", "plans")]);
  assertEquals(laptop.take(), [say.topicSet("ann", "plans")]);
});

test("multiclient: a rename applies to every connection; the room sees it once", async () => {
  using hub = accountsHub();
  const bob = hub.member("bob");
  const laptop = await loggedIn(hub, "ann", "pw");
  const phone = await loggedIn(hub, "ann", "pw");
  bob.take();
  phone.say("/nick nan");
  assertEquals([laptop.take(), phone.take()], [[say.renamed("nan")], [say.renamed("nan")]]);
  assertEquals(bob.take(), [say.othersRenamed("ann", "nan")]);
  assertEquals([laptop.session.name, phone.session.name], ["nan", "nan"]);
  assertEquals([...hub.members.keys()].sort(), ["bob", "nan"]);
  laptop.say("renamed");
  assertEquals(bob.take(), ["nan: renamed"]);
  assertEquals(phone.take(), ["nan: renamed"]);
});

test("multiclient: the member leaves with its last connection, whichever went first", async () => {
  using hub = accountsHub();
  const bob = hub.member("bob");
  const laptop = await loggedIn(hub, "ann", "pw");
  const phone = await loggedIn(hub, "ann", "pw");
  const tablet = await loggedIn(hub, "ann", "pw");
  bob.take();
  // The first connection (the one the room knows) goes: another stands in for it.
  laptop.say("/quit");
  assertEquals(laptop.closed, true);
  assertEquals(bob.take(), []);
  assertEquals(hub.members.get("ann"), phone.session);
  assertEquals(tablet.session.member, phone.session);
  assert(hub.rooms.get("lobby")!.members.has(phone.session));
  tablet.say("still here");
  assertEquals([bob.take(), phone.take()], [["ann: still here"], ["ann: still here"]]);
  bob.say("/msg ann ping");
  bob.take();
  assertEquals([phone.take(), tablet.take()], [["bob (private): ping"], ["bob (private): ping"]]);
  tablet.say("/quit");
  assertEquals(bob.take(), []);
  assertEquals(hub.members.get("ann"), phone.session);
  assertEquals(phone.session.attached, null);
  phone.say("/quit bye");
  assertEquals(bob.take(), [say.left("ann", "quit: bye")]);
  assertEquals(hub.members.has("ann"), false);
  // The account's name is free for its next login, as a member of its own again.
  const again = await loggedIn(hub, "ann", "pw");
  assertEquals(again.session.member, again.session);
  assertEquals(bob.take(), [say.joined("ann")]);
});

test("multiclient: /logout logs the member out on every connection; guests stay one connection per name", async () => {
  using hub = accountsHub();
  const laptop = await loggedIn(hub, "ann", "pw");
  const phone = await loggedIn(hub, "ann", "pw");
  await send(hub, phone, "/logout");
  assertEquals([laptop.session.account, phone.session.account], [null, null]);
  // Logged out, its name is held by a member no login joins: taken, before any password.
  const third = connect(hub);
  assertEquals(await send(hub, third, "ann"), [
    say.nameTaken("ann"),
    "-- What should we call you?",
  ]);
  // A guest's name is taken, as ever.
  hub.member("bob");
  assertEquals(await send(hub, third, "bob"), [
    say.nameTaken("bob"),
    "-- What should we call you?",
  ]);
  // A named guest logging in to an account another connection holds keeps its own name.
  const guest = hub.member("guest");
  const lines = await send(hub, guest, "/login ann pw");
  assertEquals(lines, ["-- You are logged in as ann", say.nameTaken("ann")]);
  assertEquals(guest.session.member, guest.session);
});

test("multiclient: a join still waiting to be announced follows the member when its first connection goes", async () => {
  using hub = accountsHub({ replay: 0, joinGrace: 60_000 });
  const bob = hub.member("bob");
  const laptop = await loggedIn(hub, "ann", "pw");
  const phone = await loggedIn(hub, "ann", "pw");
  assertEquals(bob.take(), []); // ann's join waits (join grace)
  laptop.say("/quit");
  assertEquals(bob.take(), []);
  // The phone speaks: ann is announced first, under the member the room now knows.
  phone.say("hello");
  assertEquals(bob.take(), [say.joined("ann"), "ann: hello"]);
});

test("multiclient: one connection of several cannot switch accounts alone", async () => {
  using hub = accountsHub();
  await loggedIn(hub, "bob", "pw");
  const laptop = await loggedIn(hub, "ann", "pw");
  const phone = await loggedIn(hub, "ann", "pw");
  assertEquals(await send(hub, phone, "/login bob pw"), [say.alreadyLoggedIn("ann")]);
  assertEquals([laptop.session.account, phone.session.account], ["ann", "ann"]);
});
