/**
 * Pins web sessions in memory with a clock the test moves: a ticket is traded once,
 * on its host, within 30 s; a token logs in on its host until it expires, then is
 * refused and removed; expired records are pruned; a logout revokes every token of
 * the account and no other's; forged and malformed tokens name no one.
 * `exerciseStore` runs the same against any {@linkcode SessionStore}
 * (`tests/web_sessions_test.ts` runs it on SQLite and Redis).
 *
 * @module
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { MemorySessionStore, type SessionStore, tokenHash, WebSessions } from "./web_sessions.ts";
import { test } from "../../tests/test_util.ts";

const DAY = 24 * 3600 * 1000;
const HOST = "127.0.0.1:1802";

/** The checks every store must pass, with a clock that starts at `start` and is moved. */
export async function exerciseStore(store: SessionStore, start = Date.now()): Promise<void> {
  let now = start;
  const sessions = new WebSessions(store, { lifetime: 30 * DAY, now: () => now });

  // A ticket is traded once, on the host it was made for.
  const ticket = await sessions.ticket("ann", HOST);
  assert(/^[A-Za-z0-9_-]{43}$/.test(ticket), ticket);
  assertEquals(await store.get(ticket), null, "kept by its hash, never as it is");
  const traded = await sessions.redeem(ticket, HOST);
  assert(traded !== null);
  assertEquals([traded.account, traded.expires], ["ann", now + 30 * DAY]);
  assertEquals(await sessions.redeem(ticket, HOST), null, "a ticket is good once");
  assertEquals((await store.get(tokenHash(traded.token)))?.kind, "session");
  assertEquals(await sessions.lookup(ticket, HOST), null, "a ticket is no token");

  // The token logs in on its host only; forged, malformed or ticket-shaped ones: no one.
  assertEquals(await sessions.lookup(traded.token, HOST), "ann");
  assertEquals(await sessions.lookup(traded.token, "localhost:1802"), null);
  assertEquals(await sessions.lookup(traded.token, "127.0.0.1:8080"), null);
  assertEquals(await sessions.lookup(randomBytes(32).toString("base64url"), HOST), null);
  assertEquals(await sessions.lookup(traded.token + "x", HOST), null);
  assertEquals(await sessions.lookup("", HOST), null);
  assertEquals(await sessions.redeem(traded.token, HOST), null, "a token is no ticket");
  assertEquals(await sessions.lookup(traded.token, HOST), "ann", "and is not spent by trying");

  // A ticket shown on another host is spent; one shown late is refused.
  const elsewhere = await sessions.ticket("ann", HOST);
  assertEquals(await sessions.redeem(elsewhere, "evil.example:1802"), null);
  assertEquals(await sessions.redeem(elsewhere, HOST), null);
  const late = await sessions.ticket("ann", HOST);
  now += 30_001;
  assertEquals(await sessions.redeem(late, HOST), null);

  // Revocation: every token of the account, none of another's.
  const second = (await sessions.redeem(await sessions.ticket("ann", HOST), HOST))!;
  const bobs = (await sessions.redeem(await sessions.ticket("bob", HOST), HOST))!;
  assertEquals(await sessions.lookup(second.token, HOST), "ann");
  const revokedAt = now;
  await sessions.revoke("ann");
  assertEquals(await sessions.lookup(traded.token, HOST), null);
  assertEquals(await sessions.lookup(second.token, HOST), null);
  assertEquals(await sessions.lookup(bobs.token, HOST), "bob");
  assert(sessions.revokedSince("ann", revokedAt) && !sessions.revokedSince("ann", now + 1));
  assert(!sessions.revokedSince("bob", 0));

  // One session ended (the page's logout button): that token only.
  const third = (await sessions.redeem(await sessions.ticket("bob", HOST), HOST))!;
  await sessions.end(third.token);
  assertEquals(await sessions.lookup(third.token, HOST), null);
  assertEquals(await sessions.lookup(bobs.token, HOST), "bob");

  // Expiry: good until its last millisecond, then refused and removed.
  now = bobs.expires - 1;
  assertEquals(await sessions.lookup(bobs.token, HOST), "bob");
  now = bobs.expires;
  assertEquals(await sessions.lookup(bobs.token, HOST), null);
  assertEquals(await store.get(tokenHash(bobs.token)), null, "an expired token is removed");
  now = start;
  assertEquals(await sessions.lookup(bobs.token, HOST), null, "and stays gone");
}

test("web sessions: tickets, tokens, hosts, expiry and revocation (in memory)", async () => {
  await exerciseStore(new MemorySessionStore());
});

test("web sessions: expired records are pruned when a ticket is traded", async () => {
  const store = new MemorySessionStore();
  let now = 1_000_000;
  const sessions = new WebSessions(store, { lifetime: DAY, now: () => now });
  for (const name of ["ann", "bob", "cat"]) {
    await sessions.redeem(await sessions.ticket(name, HOST), HOST);
  }
  await sessions.ticket("dan", HOST); // never traded
  assertEquals(store.size, 4);
  now += DAY;
  const fresh = await sessions.redeem(await sessions.ticket("eve", HOST), HOST);
  assertEquals(store.size, 1, "only eve's new token is left");
  assertEquals(await sessions.lookup(fresh!.token, HOST), "eve");
});

test("web sessions: tickets never traded do not pile up (making tickets prunes too, once a ticket's lifetime)", async () => {
  const store = new MemorySessionStore();
  let now = 1_000_000;
  const sessions = new WebSessions(store, { ticketLifetime: 30_000, now: () => now });
  for (let i = 0; i < 100; i++) await sessions.ticket("ann", HOST); // logins whose page never trades
  assertEquals(store.size, 100);
  now += 30_000;
  await sessions.ticket("ann", HOST);
  assertEquals(store.size, 1, "the expired tickets went as a new one was made");
  for (let i = 0; i < 10; i++) await sessions.ticket("ann", HOST);
  assertEquals(store.size, 11, "within a lifetime, no pruning again");
});
