/**
 * Pins klines (server-wide bans) and the pacing of moderation actions at the hub, in
 * memory: durations, masks (IPv4 and IPv6 CIDR, accounts, name globs), expiry, bounds,
 * refusal at connect, name, login and rename, disconnection of those connected, the
 * list, the log and `/metrics`, the `--db` store, and the words of each front-end.
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
import { type Kline, Klines, KLINES_MAX, makeKline, parseDuration } from "./klines.ts";
import { openChatDatabase } from "../storage/database.ts";
import { SqliteKlineStore } from "../storage/sqlite_klines.ts";
import { MODERATION_BURST } from "./session.ts";
import { MASKS_MAX } from "./moderate.ts";

const CHEAP = { n: 1 << 10, r: 8, p: 1, scramIterations: 16 };

/** A hub whose accounts hash cheaply, with `admins` its server operators. */
function adminHub(admins: string[], rate = 0): MemoryHub {
  const hub = new MemoryHub({ admins, rate, burst: 1_000 });
  hub.accounts = new Accounts(hub, new MemoryAccountStore(), { ...DEFAULT_POLICY, cost: CHEAP });
  return hub;
}

/** A new connection from `remote`, greeted (its lines taken); `null` if refused at the door. */
function open(hub: MemoryHub, remote: string): MemoryConnection {
  const conn = new MemoryConnection();
  (conn as { remote: string }).remote = remote;
  const session = hub.connect(conn, new TextSession(hub, conn));
  if (session) conn.session = session;
  return conn;
}

/** A new named connection from `remote`, its lines taken. */
function guest(hub: MemoryHub, name: string, remote: string): MemoryConnection {
  const conn = open(hub, remote);
  conn.say(name);
  conn.take();
  return conn;
}

/** A member called `name` logged in to its own new account. */
async function account(hub: MemoryHub, name: string, remote: string): Promise<MemoryConnection> {
  const conn = guest(hub, name, remote);
  conn.say("/register pass-" + name);
  await hub.accounts.idle();
  conn.take();
  return conn;
}

function drain(...conns: MemoryConnection[]): void {
  for (const conn of conns) conn.take();
}

test("klines: durations, masks and their bounds", () => {
  assertEquals(parseDuration("30m"), 30 * 60_000);
  assertEquals(parseDuration("2h"), 2 * 3_600_000);
  assertEquals(parseDuration("7d"), 7 * 86_400_000);
  assertEquals(parseDuration("45"), 45 * 60_000, "a bare number is minutes");
  assertEquals(parseDuration("perm"), null);
  for (const bad of ["soon", "-1h", "400d", "1y", "", "1.5h"]) {
    assertEquals(parseDuration(bad), undefined, bad);
  }
  const kline = makeKline("192.0.2.0/24", "boss", 3_600_000, "spam", 1_000);
  assertEquals(kline, {
    kind: "address",
    mask: "192.0.2.0/24",
    by: "boss",
    time: 1_000,
    expires: 3_601_000,
    reason: "spam",
  });
  for (const bad of ["*", "*?*", "0.0.0.0/0", "::/0", "a b", "x".repeat(101)]) {
    assert("code" in makeKline(bad, "boss", null, ""), bad);
  }
  const long = makeKline("bob", "boss", null, "r".repeat(500)) as Kline;
  assertEquals(long.reason.length, 200, "the reason is cut at 200 characters");
});

test("klines: IPv4 and IPv6 networks, accounts and name globs match; ended ones do not", () => {
  const klines = new Klines();
  const now = 10_000;
  const add = (mask: string, duration: number | null) =>
    klines.add(makeKline(mask, "boss", duration, "", now) as Kline, now);
  add("192.0.2.0/24", null);
  add("2001:db8::/32", 60_000);
  add("account:Troll", null);
  add("spam*", null);
  const subject = (name: string, account: string | null, address: string) => ({
    name,
    account,
    address,
  });
  assertEquals(klines.matchAddress("192.0.2.77", now)?.mask, "192.0.2.0/24");
  assertEquals(klines.matchAddress("::ffff:192.0.2.8", now)?.mask, "192.0.2.0/24");
  assertEquals(klines.matchAddress("192.0.3.1", now), null);
  assertEquals(klines.matchAddress("2001:db8:5::1", now)?.mask, "2001:db8::/32");
  assertEquals(klines.matchAddress("2001:db9::1", now), null);
  assertEquals(klines.match(subject("ann", "troll", "198.51.100.1"), now)?.mask, "account:Troll");
  assertEquals(klines.match(subject("SpamBot", null, "198.51.100.1"), now)?.mask, "spam*");
  assertEquals(klines.match(subject("ann", null, "198.51.100.1"), now), null);
  // The IPv6 one ends a minute later: it stops applying by itself, and is swept when listed.
  assertEquals(klines.matchAddress("2001:db8:5::1", now + 60_000), null);
  assertEquals(klines.list(now + 60_000).map((kline) => kline.mask), [
    "192.0.2.0/24",
    "account:Troll",
    "spam*",
  ]);
  assertEquals(klines.size, 3);
});

test("klines: at most KLINES_MAX are kept; ended ones make room", () => {
  const klines = new Klines();
  for (let i = 0; i < KLINES_MAX; i++) {
    assert(klines.add(makeKline(`name${i}`, "boss", 60_000, "", 0) as Kline, 0));
  }
  assertEquals(klines.add(makeKline("one-more", "boss", null, "", 0) as Kline, 0), false);
  assert(klines.add(makeKline("one-more", "boss", null, "", 0) as Kline, 60_000), "once ended");
  assertEquals(klines.size, 1);
});

test("klines: /kline ends matching connections with the reason, refuses new ones at the door; /unkline lifts it", async () => {
  using hub = adminHub(["boss"]);
  const boss = await account(hub, "boss", "198.51.100.1:1");
  const bob = guest(hub, "bob", "192.0.2.2:1");
  const bob2 = guest(hub, "bobby", "192.0.2.3:1");
  const cy = guest(hub, "cy", "198.51.100.3:1");
  drain(boss);
  cy.say("/kline 192.0.2.0/24 1h spam");
  assertEquals(cy.take(), [say.notServerOperator]);
  cy.say("/help");
  assert(!cy.take().some((line) => line.includes("/kline")), "not listed to others");
  boss.say("/kline 192.0.2.0/24 soon", "/kline * 1h", "/kline 198.51.100.0/24 1h");
  assertEquals(boss.take(), [
    say.badDuration("soon"),
    say.badMask("*"),
    say.thatIsYou, // its own address: never oneself
  ]);
  boss.say("/kline 192.0.2.0/24 2h spam");
  const told = boss.take();
  assertEquals(told.slice(0, 2), [
    "-- bob left (banned from the server: spam)",
    "-- bobby left (banned from the server: spam)",
  ]);
  const set = told[2];
  assert(set.startsWith("-- Server ban on 192.0.2.0/24 until "), set);
  assert(set.endsWith(" UTC (spam); 2 connections ended"), set);
  const refusal = bob.take().at(-1)!;
  assert(refusal.startsWith("!! you are banned from this server until "), refusal);
  assert(refusal.endsWith(": spam"), refusal);
  assert(bob.closed && bob2.closed, "both connections from the network are closed");
  assertEquals(cy.take(), [
    "-- bob left (banned from the server: spam)",
    "-- bobby left (banned from the server: spam)",
  ]);
  assertEquals(hub.members.has("bob"), false);
  // A new connection from the network: refused at once, with the reason, before any name.
  const again = open(hub, "192.0.2.200:9");
  assert(again.closed, "closed at the door");
  assertEquals(again.lines.length, 1);
  assert(again.lines[0].startsWith("!! you are banned from this server until "));
  const other = guest(hub, "dan", "203.0.113.1:1");
  assertEquals(other.closed, undefined, "another network comes in");
  drain(boss);

  boss.say("/klines");
  const listed = boss.take();
  assertEquals(listed[0], "-- Server bans (1):");
  assert(listed[1].startsWith("--   192.0.2.0/24 by boss at "), listed[1]);
  assert(listed[1].endsWith(" UTC (spam)"), listed[1]);
  assert(hub.logged.some((line) => line.includes("boss kline 192.0.2.0/24")), hub.logged.join());
  assertEquals(hub.metrics.moderation.with("kline").value, 1);
  assertEquals(hub.metrics.moderationRefused.with("klined").value, 3);

  drain(boss);
  boss.say("/unkline 192.0.2.9", "/unkline 192.0.2.0/24", "/klines");
  assertEquals(boss.take(), [
    say.noSuchMask("192.0.2.9"),
    "-- Server ban on 192.0.2.0/24 lifted",
    "-- Server bans (0)",
  ]);
  assertEquals(hub.metrics.moderation.with("unkline").value, 1);
  const back = guest(hub, "bob", "192.0.2.2:2");
  assertEquals(back.closed, undefined, "let in once lifted");
});

test("klines: an IPv6 network, an account (at login, by any name) and a name glob (at naming and renaming)", async () => {
  using hub = adminHub(["boss"]);
  const boss = await account(hub, "boss", "198.51.100.1:1");
  const troll = await account(hub, "troll", "198.51.100.7:1");
  troll.say("/logout");
  await hub.accounts.idle();
  troll.say("/nick trollish");
  drain(troll);
  boss.say("/kline account:troll perm", "/kline spam* 30m", "/kline 2001:db8::/32 7d");
  const set = boss.take().filter((line) => line.startsWith("-- Server ban on "));
  assertEquals(set.length, 3, set.join("\n"));
  assertEquals(troll.closed, undefined, "a guest now: the account kline waits for its login");

  // Logging in to the account ends the connection.
  troll.say("/login troll pass-troll");
  await hub.accounts.idle();
  await Promise.resolve();
  assert(troll.take().includes(say.klined("", null)), "told, for good");
  assert(troll.closed);

  // Naming oneself by the account's name asks its password, then refuses.
  const again = open(hub, "198.51.100.8:1");
  again.say("troll");
  again.say("pass-troll");
  await hub.accounts.idle();
  assert(again.take().includes(say.klined("", null)));
  assert(again.closed);

  // A name glob: at the name prompt, and on a rename.
  const spammer = open(hub, "198.51.100.9:1");
  spammer.say("SpamKing");
  assert(spammer.take().some((line) => line.startsWith("!! you are banned from this server")));
  assert(spammer.closed);
  const eve = guest(hub, "eve", "198.51.100.10:1");
  eve.say("/nick spammy");
  assert(eve.take()[0].startsWith("!! you are banned from this server"));
  assert(eve.closed);
  assertEquals(hub.members.has("eve"), false);

  const v6 = open(hub, "[2001:db8:1::5]:4000");
  assert(v6.closed, "an IPv6 address in the network is refused at the door");
  const v6other = guest(hub, "ok6", "[2001:db9::5]:4000");
  assertEquals(v6other.closed, undefined);
});

test("klines: the JSON and IRC words of a kline refusal", () => {
  const { time: _, ...json } = toJson(failed({ code: "klined", reason: "spam", expires: null }));
  assertEquals(json, { type: "error", code: "klined", reason: "spam", expires: null });
});

test("klines: kept in the --db file across a restart; ended ones dropped when loaded", async () => {
  const path = await Deno.makeTempFile({ suffix: ".db" });
  try {
    {
      const db = openChatDatabase(path);
      const store = new SqliteKlineStore(db);
      store.save(makeKline("192.0.2.0/24", "boss", null, "spam") as Kline);
      store.save(makeKline("account:troll", "boss", 3_600_000, "") as Kline);
      store.save(makeKline("old*", "boss", 1_000, "", Date.now() - 10_000) as Kline);
      store.save(makeKline("gone", "boss", null, "") as Kline);
      store.remove("gone");
      db.close();
    }
    const db = openChatDatabase(path);
    try {
      using hub = adminHub(["boss"]);
      hub.loadKlines(new SqliteKlineStore(db));
      assertEquals(hub.klines.list().map((kline) => kline.mask).sort(), [
        "192.0.2.0/24",
        "account:troll",
      ]);
      assert(open(hub, "192.0.2.5:1").closed, "refused after the restart");
    } finally {
      db.close();
    }
  } finally {
    await Deno.remove(path);
  }
});

test("moderation is paced like lines: a flood of kicks, mode changes or invites is refused with when to retry", async () => {
  using hub = adminHub([], 100);
  const ann = await account(hub, "ann", "198.51.100.1:1");
  ann.say("/join dev");
  const others = Array.from({ length: 4 }, (_, i) => guest(hub, `g${i}`, `192.0.2.${i + 1}:1`));
  for (const each of others) each.say("/join dev");
  drain(ann, ...others);
  const actions = [
    "/mode +m",
    "/mode -m",
    "/invite g0",
    "/kick g0",
    "/kick g1",
    "/mode +i",
    "/mode -i",
    "/ban g2",
    "/unban g2",
    "/kick g3",
  ];
  assertEquals(actions.length, MODERATION_BURST);
  ann.say(...actions);
  const done = ann.take();
  assert(!done.some((line) => line.startsWith("!!")), done.join("\n"));
  ann.say("/mode +m", "/kick g2");
  const refused = ann.take();
  assertEquals(refused, [say.moderationTooFast(1), say.moderationTooFast(1)]);
  assertEquals(hub.metrics.moderationRefused.with("moderationTooFast").value, 2);
  // Asking is no action: /bans and /mode alone answer still; chat goes on.
  ann.say("/mode", "hello");
  assert(ann.take()[0].startsWith("-- Modes of dev"));
});

test("moderation: a room keeps at most MASKS_MAX bans and mutes (a founded room's rules travel whole in a cluster)", async () => {
  using hub = adminHub([]);
  const ann = await account(hub, "ann", "198.51.100.1:1");
  ann.say("/join dev");
  drain(ann);
  ann.say(...Array.from({ length: MASKS_MAX }, (_, i) => `/ban spam${i}`));
  assertEquals(hub.roomRules.get("dev")!.bans.length, MASKS_MAX);
  drain(ann);
  ann.say("/ban one-more", "/mute quiet");
  assertEquals(ann.take(), [say.tooManyMasks("dev", "bans", MASKS_MAX), "-- ann muted quiet"]);
  ann.say("/unban spam0", "/ban one-more");
  assertEquals(ann.take(), ["-- ann unbanned spam0", "-- ann banned one-more"]);
});
