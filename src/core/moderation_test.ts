/**
 * Pins room moderation at the hub, in memory: founders and `/claim`, roles, kicks,
 * bans (that a rename, a rejoin or another connection does not escape), mutes, the
 * modes and each refusal, on the text protocol and as JSON.
 *
 * @module
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Accounts, DEFAULT_POLICY, MemoryAccountStore } from "./accounts.ts";
import { say } from "../text/protocol.ts";
import { TextSession } from "../text/session.ts";
import { MemoryConnection, MemoryHub, test } from "../../tests/test_util.ts";
import { toJson } from "../json/render.ts";
import { failed } from "./events.ts";
import { roomKey } from "./protocol.ts";
import { parseMask, RoomRules } from "./moderation.ts";
import { openChatDatabase } from "../storage/database.ts";
import { SqliteRulesStore } from "../storage/sqlite_rooms.ts";

const CHEAP = { n: 1 << 10, r: 8, p: 1, scramIterations: 16 };

/** A hub whose accounts hash cheaply. */
function modHub(): MemoryHub {
  const hub = new MemoryHub();
  hub.accounts = new Accounts(hub, new MemoryAccountStore(), { ...DEFAULT_POLICY, cost: CHEAP });
  return hub;
}

/** A new named connection from `remote`, its lines taken. */
function guest(hub: MemoryHub, name: string, remote = "192.0.2.9:4000"): MemoryConnection {
  const conn = new MemoryConnection();
  (conn as { remote: string }).remote = remote;
  conn.session = hub.connect(conn, new TextSession(hub, conn))!;
  conn.say(name);
  conn.take();
  return conn;
}

/** A member called `name` logged in to its own new account. */
async function account(hub: MemoryHub, name: string, remote?: string): Promise<MemoryConnection> {
  const conn = guest(hub, name, remote);
  conn.say("/register pass-" + name);
  await hub.accounts.idle();
  conn.take();
  return conn;
}

/** Everyone's lines dropped. */
function drain(...conns: MemoryConnection[]): void {
  for (const conn of conns) conn.take();
}

test("moderation: a logged-in maker founds its room (+nt); a guest's maker operates it while it stays; /claim", async () => {
  using hub = modHub();
  const ann = await account(hub, "ann");
  ann.say("/join dev", "/mode");
  assertEquals(ann.take().at(-1), "-- Modes of dev: +nt; held by ann");
  const bob = guest(hub, "bob", "192.0.2.2:1");
  bob.say("/join pub", "/mode", "/claim");
  const lines = bob.take();
  assertEquals(lines.slice(-2), [
    "-- Modes of pub: +nt; held by no one (/claim); operators: bob",
    say.needsAccount("bob"),
  ]);
  const cy = await account(hub, "cy", "192.0.2.3:1");
  cy.say("/join pub");
  drain(bob, cy);
  cy.say("/claim");
  assertEquals(cy.take(), [say.notOperator("pub")], "bob operates it: only an operator claims it");
  bob.say("/op cy");
  drain(bob, cy);
  cy.say("/claim");
  assertEquals(cy.take(), ["-- cy claimed pub"]);
  assertEquals(bob.take(), ["-- cy claimed pub"]);
  cy.say("/claim");
  assertEquals(cy.take(), [say.roomHeld("pub", "cy")]);
  cy.say("/join lobby", "/claim");
  assertEquals(cy.take().at(-1), say.roomHeld("lobby", null));
});

test("moderation: founders and operators grant and take roles; others are refused; a guest's while it stays", async () => {
  using hub = modHub();
  const ann = await account(hub, "ann");
  const bob = await account(hub, "bob", "192.0.2.2:1");
  const gus = guest(hub, "gus", "192.0.2.3:1");
  for (const conn of [ann, bob, gus]) conn.say("/join dev");
  drain(ann, bob, gus);
  bob.say("/op bob");
  assertEquals(bob.take(), [say.notOperator("dev")]);
  ann.say("/op gus");
  assertEquals(ann.take(), ["-- ann gave operator to gus"], "a guest holds it while it stays");
  ann.say("/deop gus");
  assertEquals(ann.take(), ["-- ann took operator from gus"]);
  drain(bob, gus);
  ann.say("/op zed");
  assertEquals(ann.take(), [say.noSuchMember("zed")]);
  ann.say("/op bob");
  assertEquals(ann.take(), ["-- ann gave operator to bob"]);
  assertEquals(gus.take(), ["-- ann gave operator to bob"]);
  drain(bob);
  bob.say("/deop ann");
  assertEquals(bob.take(), [say.roomHeld("dev", "ann")], "the founder stays an operator");
  bob.say("/voice ann", "/devoice ann", "/deop bob");
  assertEquals(bob.take(), [
    "-- bob gave voice to ann",
    "-- bob took voice from ann",
    "-- bob took operator from bob",
  ]);
  bob.say("/op bob");
  assertEquals(bob.take(), [say.notOperator("dev")]);
  assert(hub.logged.some((line) => line.includes("ann op bob in dev")), hub.logged.join("\n"));
  assertEquals(hub.metrics.moderation.with("op").value, 2);
  assertEquals(hub.metrics.moderationRefused.with("notOperator").value, 2);
});

test("moderation: /help lists the moderation commands to operators only", async () => {
  using hub = modHub();
  const ann = await account(hub, "ann");
  const bob = guest(hub, "bob", "192.0.2.2:1");
  ann.say("/join dev");
  bob.say("/join dev");
  drain(ann, bob);
  ann.say("/help");
  bob.say("/help");
  const mine = ann.take().join("\n");
  const theirs = bob.take().join("\n");
  for (const command of ["/kick", "/ban", "/op", "/mute", "/bans"]) {
    assert(mine.includes(`--   ${command} `), command);
    assert(!theirs.includes(`--   ${command} `), command);
  }
  assert(theirs.includes("/mode"), "anyone sees /mode in a room");
});

test("moderation: /kick sends a member to the lobby, told who and why; the room is told", async () => {
  using hub = modHub();
  const ann = await account(hub, "ann");
  const bob = guest(hub, "bob", "192.0.2.2:1");
  const cy = guest(hub, "cy", "192.0.2.3:1");
  for (const conn of [ann, bob, cy]) conn.say("/join dev");
  drain(ann, bob, cy);
  cy.say("/kick bob");
  assertEquals(cy.take(), [say.notOperator("dev")]);
  ann.say("/kick ann");
  assertEquals(ann.take(), [say.thatIsYou]);
  ann.say("/kick bob stop the spam");
  assertEquals(bob.take()[0], "-- ann kicked you out of dev (stop the spam)");
  assertEquals(bob.session.room?.name, "lobby");
  assertEquals(cy.take(), ["-- ann kicked bob (stop the spam)"], "and no 'went to lobby' after it");
  assert(hub.logged.some((line) => line.includes("ann kick bob in dev (stop the spam)")));
  assertEquals(hub.metrics.moderation.with("kick").value, 1);
  bob.say("/join dev");
  assert(bob.take()[0].startsWith("-- You are now in dev"), "a kick is no ban");
});

test("moderation: a ban keeps a member out across rejoin, rename and another connection; /unban lifts it", async () => {
  using hub = modHub();
  const ann = await account(hub, "ann");
  const bob = guest(hub, "bob", "192.0.2.2:1");
  for (const conn of [ann, bob]) conn.say("/join dev");
  drain(ann, bob);
  ann.say("/ban bob");
  assertEquals(ann.take()[0], "-- ann banned bob");
  assertEquals(bob.take().slice(0, 2), [
    "-- ann banned bob",
    "-- ann kicked you out of dev (banned)",
  ]);
  bob.say("/join dev");
  assertEquals(bob.take(), [say.banned("dev")]);
  bob.say("/nick bobby", "/join dev");
  assertEquals(bob.take().at(-1), say.banned("dev"));
  const again = guest(hub, "rob", "192.0.2.2:2");
  again.say("/join dev");
  assertEquals(again.take(), [say.banned("dev")], "another connection from the address");
  const other = guest(hub, "zed", "192.0.2.7:1");
  other.say("/join dev");
  assert(other.take()[0].startsWith("-- You are now in dev"));
  drain(ann);
  ann.say("/bans");
  assertEquals(ann.take(), [
    "-- Bans of dev (2):",
    "--   bob (by ann)",
    "--   192.0.2.2 (by ann)",
    "-- Mutes of dev (0)",
  ]);
  ann.say("/unban nobody", "/unban bob");
  assertEquals(ann.take(), [say.noSuchMask("nobody"), "-- ann unbanned bob"]);
  drain(again);
  again.say("/join dev");
  assert(again.take()[0].startsWith("-- You are now in dev"), "the address went with the name");
  assertEquals(hub.metrics.moderationRefused.with("banned").value, 3);
});

test("moderation: a logged-in member banned by name is banned by account (a new address does not help)", async () => {
  using hub = modHub();
  const ann = await account(hub, "ann");
  const bob = await account(hub, "bob", "192.0.2.2:1");
  for (const conn of [ann, bob]) conn.say("/join dev");
  drain(ann, bob);
  ann.say("/ban bob");
  drain(ann, bob);
  bob.say("/quit");
  const back = guest(hub, "bob", "198.51.100.1:1");
  back.say("pass-bob");
  await hub.accounts.idle();
  back.take();
  back.say("/join dev");
  assertEquals(back.take(), [say.banned("dev")]);
  ann.say("/ban 198.51.100.0/24", "/ban x:y");
  assertEquals(ann.take(), ["-- ann banned 198.51.100.0/24", say.badMask("x:y")]);
});

test("moderation: masks match names, accounts and addresses by glob or CIDR, never by regex", () => {
  const subject = { name: "Bob", account: "bob", address: "203.0.113.7" };
  const rules = new RoomRules();
  const add = (text: string) => rules.bans.push(parseMask(text, "ann") as never);
  assertEquals(rules.admit("dev", subject, undefined, 0), null);
  add("b?b");
  assertEquals(rules.admit("dev", subject, undefined, 0)?.code, "banned");
  rules.bans = [];
  add("account:BO*");
  assertEquals(rules.admit("dev", subject, undefined, 0)?.code, "banned");
  rules.bans = [];
  add("203.0.113.0/28");
  assertEquals(rules.admit("dev", subject, undefined, 0)?.code, "banned");
  rules.bans = [];
  add("address:203.0.114.*");
  assertEquals(rules.admit("dev", subject, undefined, 0), null);
  assertEquals((parseMask("a:b:c d", "x") as { code: string }).code, "badMask");
});

test("moderation: IRC masks (nick!user@host) match name, user and cloak or address; +e and +I let in", () => {
  const subject = {
    name: "Bob",
    account: null,
    address: "203.0.113.7",
    user: "~bobby",
    host: "k3x9.cloak",
  };
  const rules = new RoomRules();
  const ban = (text: string) => (rules.bans = [parseMask(text, "ann") as never]);
  for (const hit of ["bob!*@*", "BO?", "*!~bob*@*", "*!*@*.cloak", "*!*@203.0.113.0/24", "b*@*"]) {
    ban(hit);
    assertEquals(rules.admit("dev", subject, undefined, 0)?.code, "banned", hit);
  }
  for (const miss of ["al!*@*", "*!root@*", "*!*@other.cloak", "*!*@198.51.100.0/24"]) {
    ban(miss);
    assertEquals(rules.admit("dev", subject, undefined, 0), null, miss);
  }
  ban("b*!*@*");
  rules.excepts = [parseMask("*!*@*.cloak", "ann") as never];
  assertEquals(rules.admit("dev", subject, undefined, 0), null, "a ban exception lets in");
  rules.bans = [];
  rules.modes.add("i");
  assertEquals(rules.admit("dev", subject, undefined, 0)?.code, "inviteOnly");
  rules.invexes = [parseMask("bob!*@*", "ann") as never];
  assertEquals(rules.admit("dev", subject, undefined, 0), null, "an invite exception lets in");
});

test("moderation: a guest's operator role ends when it leaves the room; /mode +e/+I set exceptions", () => {
  using hub = modHub();
  const bob = guest(hub, "bob", "192.0.2.2:1");
  const gus = guest(hub, "gus", "192.0.2.3:1");
  bob.say("/join tmp");
  gus.say("/join tmp");
  drain(bob, gus);
  bob.say("/mode +e gus!*@*", "/mode +I *!*@192.0.2.0/24", "/mode -e zed");
  assertEquals(bob.take(), [
    "-- bob set modes +e gus!*@*",
    "-- bob set modes +I *!*@192.0.2.0/24",
    say.noSuchMask("zed"),
  ]);
  const rules = hub.roomRules.get(roomKey("tmp"))!;
  assertEquals(rules.excepts.map((mask) => mask.mask), ["gus!*@*"]);
  assertEquals(rules.invexes.map((mask) => mask.mask), ["*!*@192.0.2.0/24"]);
  bob.say("/bans");
  assertEquals(bob.take(), [
    "-- Bans of tmp (0)",
    "-- Mutes of tmp (0)",
    "-- Ban exceptions (+e) of tmp (1):",
    "--   gus!*@* (by bob)",
    "-- Invite exceptions (+I) of tmp (1):",
    "--   *!*@192.0.2.0/24 (by bob)",
  ]);
  bob.say("/join lobby", "/join tmp");
  drain(bob, gus);
  bob.say("/kick gus");
  assertEquals(bob.take(), [say.notOperator("tmp")], "its role ended as it left");
  assertEquals(rules.guestOps.size, 0);
  gus.say("/topic free for all");
  assert(
    gus.take().some((line) => line.includes("free for all")),
    "+t binds no one when no one operates",
  );
});

test("moderation: modes +t, +m (voice), mute, +i with /invite, +k, +l and +s", async () => {
  using hub = modHub();
  const ann = await account(hub, "ann");
  const bob = await account(hub, "bob", "192.0.2.2:1");
  for (const conn of [ann, bob]) conn.say("/join dev");
  drain(ann, bob);
  bob.say("/topic mine");
  assertEquals(bob.take(), [say.notOperator("dev")]);
  bob.say("/mode +m");
  assertEquals(bob.take(), [say.notOperator("dev")]);
  ann.say("/mode +x", "/mode -t+m");
  assertEquals(ann.take(), [say.badMode("+x"), "-- ann set modes -t+m"]);
  drain(bob);
  bob.say("/topic mine");
  assertEquals(bob.take(), ["-- bob set the topic: mine"]);
  bob.say("hello");
  assertEquals(bob.take(), [say.moderated("dev")]);
  assertEquals(ann.take(), ["-- bob set the topic: mine"], "nothing said reached the room");
  ann.say("/voice bob");
  drain(ann, bob);
  bob.say("hello");
  assertEquals(ann.take(), ["bob: hello"]);
  ann.say("/mute bob");
  drain(ann, bob);
  bob.say("hello again");
  assertEquals(bob.take(), [say.muted("dev")]);
  ann.say("/unmute bob", "/mode -m+i");
  drain(ann, bob);
  const cy = guest(hub, "cy", "192.0.2.3:1");
  cy.say("/join dev");
  assertEquals(cy.take(), [say.inviteOnly("dev")]);
  bob.say("/invite cy");
  assertEquals(bob.take(), [say.notOperator("dev")]);
  ann.say("/invite cy");
  assertEquals(cy.take(), ["-- ann invites you to dev: /join dev"]);
  assertEquals([ann.take(), bob.take()], [["-- ann invited cy"], []], "no one else is told");
  cy.say("/join dev", "/join lobby", "/join dev");
  const lines = cy.take();
  assert(lines[0].startsWith("-- You are now in dev"));
  assertEquals(lines.at(-1), say.inviteOnly("dev"), "an invitation is used once");
  ann.say("/mode -i+k s3cret");
  assertEquals(ann.take().at(-1), "-- ann set modes -i+k s3cret");
  cy.say("/join dev", "/join dev nope", "/join dev s3cret", "/join lobby");
  const keyed = cy.take();
  assertEquals(keyed.slice(0, 2), [say.badKey("dev"), say.badKey("dev")]);
  assert(keyed[2].startsWith("-- You are now in dev"));
  ann.say("/mode -k+l 2");
  cy.say("/join dev");
  assertEquals(cy.take(), [say.roomFull("dev", 2)]);
  ann.say("/mode +s");
  cy.say("/rooms");
  assert(!cy.take().join("\n").includes("dev"), "a secret room is not listed to outsiders");
  ann.take();
  ann.say("/rooms");
  assert(ann.take().join("\n").includes("dev (2)"), "but to those in it");
});

test("moderation: JSON gets moderation events and refusals as data", async () => {
  using hub = modHub();
  const ann = await account(hub, "ann");
  ann.say("/join dev", "/kick zed");
  const event = {
    type: "moderation",
    time: 0,
    room: "dev",
    by: "ann",
    action: "kick",
    target: "bob",
  };
  assertEquals(toJson(event as never), { ...event, time: new Date(0).toISOString() });
  assertEquals(toJson({ ...failed({ code: "banned", room: "dev" }), time: 0 }), {
    type: "error",
    code: "banned",
    room: "dev",
    time: new Date(0).toISOString(),
  });
  assertEquals(ann.take().at(-1), say.noSuchMember("zed"));
});

test("moderation: a founded room's roles, modes and bans outlive a restart in the --db file; a guest's room's do not", async () => {
  const path = await Deno.makeTempFile({ suffix: ".db" });
  try {
    {
      const db = openChatDatabase(path);
      using hub = modHub();
      hub.loadRules(new SqliteRulesStore(db));
      const ann = await account(hub, "ann");
      const bob = await account(hub, "bob", "192.0.2.2:1");
      const gus = guest(hub, "gus", "192.0.2.3:1");
      for (const conn of [ann, bob]) conn.say("/join dev");
      gus.say("/join pub");
      ann.say("/op bob", "/mode +m-t", "/ban spammer*", "/ban 203.0.113.0/24");
      drain(ann, bob, gus);
      hub.shutdown();
      db.close();
    }
    const db = openChatDatabase(path);
    try {
      const store = new SqliteRulesStore(db);
      assertEquals(store.load().map(([key]) => key), ["dev"], "only the founded room is kept");
      using hub = modHub();
      hub.loadRules(store);
      // The accounts themselves are in memory in this test: made again with the same names.
      const bob = await account(hub, "bob", "192.0.2.2:1");
      bob.say("/join dev", "/mode");
      assertEquals(bob.take().at(-1), "-- Modes of dev: +mn; held by ann; operators: bob");
      const spam = guest(hub, "spammer1", "192.0.2.5:1");
      const near = guest(hub, "ok", "203.0.113.9:1");
      drain(spam);
      spam.say("/join dev");
      near.say("/join dev");
      assertEquals([spam.take(), near.take()], [[say.banned("dev")], [say.banned("dev")]]);
    } finally {
      db.close();
    }
  } finally {
    await Deno.remove(path);
    await Deno.remove(path + "-wal").catch(() => {});
    await Deno.remove(path + "-shm").catch(() => {});
  }
});

test("moderation: a deleted account holds no room and no role; a new account of its name inherits none", async () => {
  using hub = modHub();
  const ann = await account(hub, "ann");
  const bob = await account(hub, "bob", "192.0.2.2:1");
  ann.say("/join dev");
  bob.say("/join dev");
  ann.say("/op bob");
  drain(ann, bob);
  bob.say("/unregister pass-bob");
  await hub.accounts.idle();
  ann.say("/mode");
  assertEquals(ann.take().at(-1), "-- Modes of dev: +nt; held by ann");
  ann.say("/unregister pass-ann");
  await hub.accounts.idle();
  ann.take();
  ann.say("/register again");
  await hub.accounts.idle();
  ann.take();
  ann.say("/mode +m");
  assertEquals(ann.take(), [say.notOperator("dev")]);
  ann.say("/claim");
  assertEquals(ann.take(), ["-- ann claimed dev"], "the room is no one's, to be claimed");
});

test("moderation: a member kicked before its join was announced is never announced after", () => {
  using hub = new MemoryHub({ joinGrace: 60_000, noticeInterval: 0 });
  hub.accounts = new Accounts(hub, new MemoryAccountStore(), { ...DEFAULT_POLICY, cost: CHEAP });
  const cy = guest(hub, "cy", "192.0.2.3:1");
  cy.say("/join dev");
  const room = hub.rooms.get("dev")!;
  // A founder without a password round: cy's account set as the room's founder directly.
  hub.roomRules.get("dev")!.founder = "ann-account";
  cy.session.account = "ann-account";
  const bob = guest(hub, "bob", "192.0.2.2:1");
  bob.say("/join dev");
  drain(cy, bob);
  cy.say("/kick bob");
  // The join is told first (the kick names bob), never after.
  assertEquals(cy.take(), ["-- bob joined", "-- cy kicked bob"]);
  room.flushNotices(true);
  assertEquals(cy.take(), [], "no 'bob joined' after the kick");
});

/** A hub whose accounts hash cheaply, with `admins` its server operators. */
function adminHub(...admins: string[]): MemoryHub {
  const hub = new MemoryHub({ admins });
  hub.accounts = new Accounts(hub, new MemoryAccountStore(), { ...DEFAULT_POLICY, cost: CHEAP });
  return hub;
}

test("server operators: an --admins account operates every room, the lobby included, only while logged in", async () => {
  using hub = adminHub("Boss");
  const ann = await account(hub, "ann");
  ann.say("/join dev");
  const boss = guest(hub, "boss", "192.0.2.5:1");
  boss.say("/join dev", "/op boss");
  assertEquals(boss.take().at(-1), say.notOperator("dev"), "a guest holding the name is not one");
  boss.say("/register pass-boss");
  await hub.accounts.idle();
  drain(ann, boss);
  boss.say("/op boss");
  assertEquals(boss.take(), ["-- boss gave operator to boss"]);
  boss.say("/mode -t");
  assertEquals(boss.take(), ["-- boss set modes -t"]);
  const gus = guest(hub, "gus", "192.0.2.6:1");
  boss.say("/join lobby");
  drain(ann, boss, gus);
  boss.say("/kick gus spam");
  assertEquals(boss.take(), ["-- boss kicked gus (spam)"]);
  boss.say("/logout");
  await hub.accounts.idle();
  boss.take();
  boss.say("/kick ann");
  assertEquals(boss.take(), [say.notOperator("lobby")], "no longer, once logged out");
});

test("server operators: /kill disconnects every connection of a member, its room told why; others are refused", async () => {
  using hub = adminHub("boss");
  const boss = await account(hub, "boss");
  const bob = await account(hub, "bob", "192.0.2.2:1");
  const cy = guest(hub, "cy", "192.0.2.3:1");
  const bob2 = guest(hub, "bob", "192.0.2.2:2");
  bob2.say("pass-bob");
  await hub.accounts.idle();
  bob.say("/join dev");
  cy.say("/join dev");
  drain(boss, bob, bob2, cy);
  cy.say("/kill bob", "/announce hi", "/wallops hi");
  assertEquals(cy.take(), Array(3).fill(say.notServerOperator));
  boss.say("/help");
  assert(boss.take().some((line) => line.includes("/kill NAME")));
  cy.say("/help");
  assert(!cy.take().some((line) => line.includes("/kill") || line.includes("/announce")));
  boss.say("/kill zed");
  assertEquals(boss.take(), [say.noSuchMember("zed")]);
  boss.say("/kill bob flooding");
  assertEquals(bob.take(), [say.killed("boss", "flooding")]);
  assertEquals(bob2.take(), [say.killed("boss", "flooding")]);
  assert(bob.closed && bob2.closed, "every connection of bob is closed");
  assertEquals(cy.take(), ["-- bob left (killed by boss: flooding)"]);
  assertEquals(hub.members.has("bob"), false);
  assert(hub.logged.some((line) => line.includes("boss kill bob")), hub.logged.join("\n"));
  assertEquals(hub.metrics.moderation.with("kill").value, 1);
  assertEquals(hub.metrics.moderationRefused.with("notServerOperator").value, 3);
});

test("server operators: /announce and /wallops tell everyone connected, as text and JSON", async () => {
  using hub = adminHub("boss");
  const boss = await account(hub, "boss");
  const cy = guest(hub, "cy", "192.0.2.3:1");
  cy.say("/join dev");
  drain(cy, boss);
  boss.say("/announce restart at noon", "/wallops back soon");
  const lines = [
    say.announcement("boss", "restart at noon"),
    say.announcement("boss", "back soon"),
  ];
  assertEquals(cy.take(), lines);
  assertEquals(boss.take(), lines);
  assertEquals(hub.metrics.moderation.with("announce").value, 2);
  const { time: _, ...json } = toJson({ type: "announcement", time: 0, by: "boss", text: "hi" });
  assertEquals(json, { type: "announcement", by: "boss", text: "hi" });
  assertEquals(toJson(failed({ code: "notServerOperator" })).code, "notServerOperator");
});
