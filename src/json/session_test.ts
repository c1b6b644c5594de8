/**
 * Pins the JSON protocol at the hub, in memory: events as JSON objects with `type`,
 * `time`, kept messages' `id`; `ref` on what a request caused; one error per bad
 * frame, the connection kept and nobody else told; `hello` with `since` replaying
 * exactly what followed; one encoding of a room's event for every JSON recipient.
 *
 * @module
 */

import { isId } from "../core/ids.ts";
import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
} from "node:assert/strict";
import { TOO_LONG } from "../core/input.ts";
import { JsonSession, type MessageConnection } from "./session.ts";
import { type MemoryConnection, MemoryHub, test } from "../../tests/test_util.ts";
import type { Session } from "../core/session.ts";
import { Accounts, DEFAULT_POLICY, MemoryAccountStore } from "../core/accounts.ts";
import { MemorySessionStore, WebSessions } from "../core/web_sessions.ts";
import type { Kline } from "../core/klines.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** The largest message the test sessions take. */
const MAX_MESSAGE = 65536;

type Json = Record<string, unknown>;

/** A WebSocket connection in memory: it reads back the frames a JSON session writes. */
class JsonConnection implements MessageConnection {
  readonly remote = "memory";
  queuedBytes = 0;
  wholeMessages = false;
  closed: boolean | undefined;
  session!: Session;
  /** Objects delivered and not yet taken. */
  readonly objects: Json[] = [];
  /** Every chunk delivered, as it came (to compare by identity). */
  readonly chunks: Uint8Array[] = [];

  deliver(bytes: Uint8Array): void {
    if (this.closed !== undefined) return;
    this.chunks.push(bytes);
    let at = 0;
    while (at < bytes.length) {
      assertEquals(bytes[at], 0x81); // a whole text frame
      let length = bytes[at + 1];
      let header = 2;
      if (length === 126) [length, header] = [(bytes[at + 2] << 8) | bytes[at + 3], 4];
      else if (length === 127) {
        [length, header] = [new DataView(bytes.buffer, bytes.byteOffset).getUint32(at + 6), 10];
      }
      const payload = bytes.subarray(at + header, at + header + length);
      this.objects.push(JSON.parse(decoder.decode(payload)));
      at += header + length;
    }
  }
  close(drain: boolean): void {
    this.closed ??= drain;
  }
  pause(): void {}
  resume(): void {}

  /** Sends one message (an object, or raw text) as the WebSocket would hand it over. */
  send(message: Json | string): void {
    const text = typeof message === "string" ? message : JSON.stringify(message);
    this.session.receive(encoder.encode(text));
  }

  take(): Json[] {
    return this.objects.splice(0);
  }
}

/** A JSON client of `hub`, greeted (the greeting taken and checked). */
function open(hub: MemoryHub): JsonConnection {
  const conn = new JsonConnection();
  conn.session = hub.connect(conn, new JsonSession(hub, conn, MAX_MESSAGE))!;
  const [greeting, ...rest] = conn.take();
  assertEquals(rest, []);
  assertEquals(Object.keys(greeting), ["type", "time", "maxLine"]);
  assertEquals([greeting.type, greeting.maxLine], ["greeting", 4096]);
  assert(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(greeting.time as string));
  return conn;
}

/** A JSON client named `name`, what it was told so far taken. */
function member(hub: MemoryHub, name: string, since?: string): JsonConnection {
  const conn = open(hub);
  conn.send({ type: "hello", name, since });
  assertEquals(conn.objects[0].type, "welcome");
  return conn;
}

/** The objects without their `time` (checked apart), for comparing whole. */
const timeless = (objects: Json[]) =>
  objects.map(({ time, ...rest }) => {
    assert(typeof time === "string" && !Number.isNaN(Date.parse(time)), `time ${time}`);
    return rest;
  });

test("json: hello gets a welcome with its ref; chat comes with ids, the same as history's", () => {
  using hub = new MemoryHub();
  const nc = hub.member("cat");
  const ann = open(hub);
  ann.send({ type: "hello", name: "ann", ref: "r1" });
  assertEquals(timeless(ann.take()), [
    {
      type: "welcome",
      name: "ann",
      room: "lobby",
      others: ["cat"],
      count: 1,
      topic: "",
      ref: "r1",
    },
  ]);
  assertEquals(nc.take(), ["-- ann joined"]);
  nc.say("hi there", "/me waves");
  const [said, acted] = hub.history.before("lobby", 2);
  assertEquals(timeless(ann.take()), [
    { type: "message", id: said.id, room: "lobby", from: "cat", text: "hi there" },
    { type: "action", id: acted.id, room: "lobby", from: "cat", text: "waves" },
  ]);
  ann.send({ type: "line", text: "/msg cat psst", ref: "p" });
  assertEquals(nc.take(), ["ann (private): psst"]);
  assertEquals(timeless(ann.take()), [{ type: "privateSent", to: "cat", text: "psst", ref: "p" }]);
  nc.say("/msg ann back");
  assertEquals(timeless(ann.take()), [{ type: "private", from: "cat", to: "ann", text: "back" }]);
  nc.say("/join dev");
  assertEquals(timeless(ann.take()), [
    {
      type: "presence",
      room: "lobby",
      groups: [{ change: "moved", names: ["cat"], count: 1, to: "dev" }],
    },
  ]);
});

test("json: replies and errors carry the request's ref; room events never do", () => {
  using hub = new MemoryHub();
  const ann = member(hub, "ann");
  const bob = member(hub, "bob");
  ann.take();
  bob.take();
  ann.send({ type: "line", text: "/who", ref: "w" });
  assertEquals(timeless(ann.take()), [
    { type: "who", room: "lobby", names: ["ann", "bob"], count: 2, ref: "w" },
  ]);
  ann.send({ type: "line", text: "/nope", ref: "n" });
  assertEquals(timeless(ann.take()), [
    { type: "error", code: "unknownCommand", command: "/nope", ref: "n" },
  ]);
  ann.send({ type: "line", text: "hello", ref: "h" });
  // The sender gets its own line back, confirmed: its id, and the request's ref.
  const [own] = hub.history.before("lobby", 1);
  assertEquals(timeless(ann.take()), [
    { type: "message", id: own.id, room: "lobby", from: "ann", text: "hello", ref: "h" },
  ]);
  assertEquals(timeless(bob.take()), [
    { type: "message", id: own.id, room: "lobby", from: "ann", text: "hello" },
  ]);
  ann.send({ type: "line", text: "/topic plans", ref: "t" });
  assertEquals(timeless(bob.take()), [{ type: "topic", room: "lobby", topic: "plans", by: "ann" }]);
  ann.send({ type: "line", text: "x".repeat(4097), ref: "long" });
  assertEquals(timeless(ann.take()), [
    { type: "topic", room: "lobby", topic: "plans", by: "ann" },
    { type: "error", code: "lineTooLong", max: 4096, ref: "long" },
  ]);
  ann.send({ type: "hello", name: "other", ref: "again" });
  assertEquals(timeless(ann.take()), [{ type: "alreadyNamed", name: "ann", ref: "again" }]);
  ann.send({ type: "line", text: "/quit", ref: "q" });
  assertEquals(timeless(ann.take()), [{ type: "bye", ref: "q" }]);
  assertEquals(ann.closed, true);
});

test("json: a bad frame gets one error with its code; the connection stays, nobody else hears", () => {
  using hub = new MemoryHub();
  const ann = member(hub, "ann");
  const bob = member(hub, "bob");
  ann.take();
  bob.take();
  const cases: [Json | string, Json][] = [
    ["not json", { type: "error", code: "badJson" }],
    ["[1, 2]", { type: "error", code: "badJson" }],
    ["null", { type: "error", code: "badJson" }],
    [{ text: "hi" }, { type: "error", code: "badRequest", field: "type" }],
    [{ type: 5 }, { type: "error", code: "badRequest", field: "type" }],
    [{ type: "dance", ref: "d" }, { type: "error", code: "unknownType", got: "dance", ref: "d" }],
    [{ type: "line", ref: "l" }, { type: "error", code: "badRequest", field: "text", ref: "l" }],
    [{ type: "line", text: 7 }, { type: "error", code: "badRequest", field: "text" }],
    [{ type: "line", text: "x", ref: 5 }, { type: "error", code: "badRequest", field: "ref" }],
    [
      { type: "line", text: "x", ref: "r".repeat(65) },
      { type: "error", code: "badRequest", field: "ref" },
    ],
    [{ type: "hello" }, { type: "error", code: "badRequest", field: "name" }],
  ];
  for (const [frame, error] of cases) {
    ann.send(frame);
    assertEquals(timeless(ann.take()), [error], JSON.stringify(frame));
  }
  ann.session.receive(TOO_LONG); // what the WebSocket hands over for a message too big
  assertEquals(timeless(ann.take()), [{ type: "error", code: "tooBig", max: MAX_MESSAGE }]);
  assertEquals([ann.closed, bob.take()], [undefined, []]);
  ann.send({ type: "line", text: "still here" });
  assertEquals(timeless(bob.take()).map((event) => event.text), ["still here"]);
});

test("json: a refused name gets its error and a prompt; hello then works", () => {
  using hub = new MemoryHub();
  hub.member("ann");
  const conn = open(hub);
  conn.send({ type: "hello", name: "ann", ref: "1" });
  assertEquals(timeless(conn.take()), [
    { type: "error", code: "nameTaken", name: "ann", ref: "1" },
    { type: "prompt", ref: "1" },
  ]);
  conn.send({ type: "hello", name: "/quit" });
  assertEquals(timeless(conn.take()).map((event) => event.code ?? event.type), [
    "badName",
    "prompt",
  ]);
  conn.send({ type: "hello", name: "anna" });
  assertEquals(conn.take()[0].name, "anna");
});

test("json: hello with since replays exactly what followed; an unknown or trimmed id says gap", () => {
  using hub = new MemoryHub({ history: 3 });
  const nc = hub.member("cat");
  nc.say("one", "two", "three");
  const kept = hub.history.before("lobby", 3);
  const replayOf = (conn: JsonConnection) => {
    const [, history] = conn.take();
    const { entries, gap, earlier, room, type } = history as {
      entries: Json[];
      gap?: boolean;
      earlier: boolean;
      room: string;
      type: string;
    };
    assertEquals([type, room, earlier], ["history", "lobby", false]);
    return { texts: entries.map((entry) => entry.text), gap };
  };
  assertEquals(replayOf(member(hub, "ann", kept[0].id)), {
    texts: ["two", "three"],
    gap: undefined,
  });
  const latest = member(hub, "ben", kept[2].id);
  assertEquals(latest.take().map((event) => event.type), ["welcome"]); // nothing missed
  assertEquals(replayOf(member(hub, "cid", "0000000000000000zzz")), {
    texts: ["one", "two", "three"],
    gap: true,
  });
  nc.say("four");
  // "one" is trimmed now (3 kept): after it, a gap, and all that is kept.
  assertEquals(replayOf(member(hub, "dee", kept[0].id)), {
    texts: ["two", "three", "four"],
    gap: true,
  });
  // A history entry has its id and ISO time; a message no `type` (absent: a message).
  const fresh = member(hub, "eve", kept[1].id);
  const [, { entries }] = fresh.take() as [Json, { entries: Json[] }];
  assertEquals(entries[0], {
    id: kept[2].id,
    from: "cat",
    text: "three",
    time: new Date(kept[2].time).toISOString(),
  });
});

test("json: a room's event is encoded once for all JSON recipients, and once for text ones", () => {
  using hub = new MemoryHub();
  const ann = member(hub, "ann");
  const bob = member(hub, "bob");
  const texts: MemoryConnection[] = [hub.member("cat"), hub.member("dan")];
  const sender = hub.member("eve");
  ann.take();
  bob.take();
  for (const text of texts) text.take();
  ann.chunks.length = bob.chunks.length = 0;
  sender.say("once");
  assertEquals(ann.chunks.length, 1);
  assert(ann.chunks[0] === bob.chunks[0], "the same bytes for both JSON recipients");
  assertEquals(ann.take()[0].text, "once");
  assertEquals(texts.map((text) => text.take()), [["eve: once"], ["eve: once"]]);
});

/** A hub whose accounts hash cheaply (the real cost is measured elsewhere). */
function accountsHub(): MemoryHub {
  const hub = new MemoryHub();
  hub.accounts = new Accounts(hub, new MemoryAccountStore(), {
    ...DEFAULT_POLICY,
    cost: { n: 1 << 10, r: 8, p: 1, scramIterations: 16 },
  });
  return hub;
}

test("json: history entries carry their sender's account, as live messages do; a guest's none", async () => {
  using hub = accountsHub();
  const ann = hub.member("ann");
  ann.say("/register right one");
  await hub.accounts.idle();
  ann.say("logged in");
  hub.member("cat").say("a guest");
  const bob = member(hub, "bob");
  const [, history] = bob.take() as [Json, { type: string; entries: Json[] }];
  assertEquals(history.type, "history");
  assertEquals(
    history.entries.map(({ from, text, account }) => ({ from, text, account })),
    [
      { from: "ann", text: "logged in", account: "ann" },
      { from: "cat", text: "a guest", account: undefined },
    ],
  );
  assert(!("account" in history.entries[1]), "a guest's entry has no account field");
});

test("json: an account's name asks for its password; a password request answers, with its ref", async () => {
  using hub = accountsHub();
  const ann = member(hub, "ann");
  ann.take();
  ann.send({ type: "line", text: "/register right one", ref: "reg" });
  await hub.accounts.idle();
  assertEquals(timeless(ann.take()), [
    { type: "registered", name: "ann", persistent: false, ref: "reg" },
  ]);
  ann.send({ type: "line", text: "/whois ann", ref: "wi" });
  ann.send({ type: "line", text: "/who", ref: "w" });
  assertEquals(timeless(ann.take()), [
    { type: "whois", name: "ann", room: "lobby", account: "ann", ref: "wi" },
    { type: "who", room: "lobby", names: ["ann"], count: 1, loggedIn: ["ann"], ref: "w" },
  ]);
  ann.send({ type: "line", text: "/quit" });

  const conn = open(hub);
  // Not asked: a password goes nowhere (not taken as a name), and says so.
  conn.send({ type: "password", password: "right one", ref: "early" });
  assertEquals(timeless(conn.take()), [{ type: "error", code: "noPasswordAsked", ref: "early" }]);
  conn.send({ type: "password", ref: "p0" });
  assertEquals(timeless(conn.take()), [
    { type: "error", code: "badRequest", field: "password", ref: "p0" },
  ]);
  conn.send({ type: "hello", name: "ANN", ref: "h" });
  assertEquals(timeless(conn.take()), [{ type: "passwordPrompt", name: "ANN", ref: "h" }]);
  conn.send({ type: "password", password: "wrong", ref: "p1" });
  await hub.accounts.idle();
  assertEquals(timeless(conn.take()), [
    { type: "error", code: "wrongPassword", name: "ann", ref: "p1" },
    { type: "passwordPrompt", name: "ANN", ref: "p1" },
  ]);
  // An empty password goes back to the name question.
  conn.send({ type: "password", password: " ", ref: "e" });
  assertEquals(timeless(conn.take()), [{ type: "prompt", ref: "e" }]);
  conn.send({ type: "hello", name: "ann", ref: "h1" });
  assertEquals(timeless(conn.take()), [{ type: "passwordPrompt", name: "ann", ref: "h1" }]);
  // Another name instead of the password: the question is dropped.
  conn.send({ type: "hello", name: "guest", ref: "h2" });
  assertEquals(conn.take().map((event) => [event.type, event.name, event.ref]), [
    ["welcome", "guest", "h2"],
  ]);
  conn.send({ type: "line", text: "/quit" });

  const again = open(hub);
  again.send({ type: "hello", name: "ann", ref: "h" });
  assertEquals(again.take().map((event) => event.type), ["passwordPrompt"]);
  again.send({ type: "password", password: "right one", ref: "p" });
  await hub.accounts.idle();
  assertEquals(again.take().map((event) => [event.type, event.name, event.ref]), [
    ["welcome", "ann", "p"],
  ]);
  again.send({ type: "password", password: "right one", ref: "late" });
  again.send({ type: "line", text: "/logout", ref: "o" });
  await hub.accounts.idle(); // the answer waits for the account's cookies to be revoked
  assertEquals(timeless(again.take()), [
    { type: "error", code: "noPasswordAsked", ref: "late" },
    { type: "loggedOut", account: "ann", ref: "o" },
  ]);
});

test("json: a page and a text connection of one account are one member; each sees what the other says", async () => {
  using hub = accountsHub();
  const bob = hub.member("bob");
  const text = hub.open();
  text.say("/register ann right one");
  await hub.accounts.idle();
  text.take();
  bob.take();
  const page = open(hub);
  page.send({ type: "hello", name: "ann", ref: "h" });
  page.send({ type: "password", password: "right one", ref: "p" });
  await hub.accounts.idle();
  assertEquals(timeless(page.take()), [
    { type: "passwordPrompt", name: "ann", ref: "h" },
    {
      type: "welcome",
      name: "ann",
      room: "lobby",
      others: ["bob"],
      count: 1,
      topic: "",
      account: "ann",
      ref: "p",
    },
  ]);
  assertEquals([bob.take(), text.take()], [[], []]); // one presence: nothing announced
  // The page's line: confirmed to the page with its ref; the text connection sees it as ann's.
  page.send({ type: "line", text: "from the page", ref: "l1" });
  const [echo] = page.take();
  assertEquals([echo.type, echo.from, echo.ref], ["message", "ann", "l1"]);
  assertEquals(text.take(), ["ann: from the page"]);
  assertEquals(bob.take(), ["ann: from the page"]);
  // The text connection's line: on the page as a message from oneself (no ref: not its own request).
  text.say("from the terminal");
  const [mine] = timeless(page.take());
  assertEquals([mine.type, mine.from, mine.text, mine.ref], [
    "message",
    "ann",
    "from the terminal",
    undefined,
  ]);
  // A private line to ann reaches both; one ann sends, both see as sent. Kept in ann's history
  // of guest bob (one-sided): the line to ann has its id.
  bob.say("/msg ann psst");
  assertEquals(text.take(), ["bob (private): psst"]);
  const [psst] = timeless(page.take());
  assertMatch(psst.id as string, /^[0-9a-z]+$/);
  assertEquals({ ...psst, id: undefined }, {
    type: "private",
    id: undefined,
    from: "bob",
    to: "ann",
    text: "psst",
  });
  text.say("/msg bob ok");
  assertEquals(timeless(page.take()), [{ type: "privateSent", to: "bob", text: "ok" }]);
  assertEquals(text.take(), ["-- to bob (private): ok"]);
  // The page's /join moves the text connection too; the page leaving leaves ann here.
  page.send({ type: "line", text: "/join dev" });
  assertEquals(page.take().map((event) => [event.type, event.room]), [["entered", "dev"]]);
  assertEquals(text.take()[0], "-- You are now in dev. You are the first one here.");
  bob.take();
  page.send({ type: "line", text: "/quit" });
  assertEquals(hub.members.get("ann"), text.session);
  text.say("/join lobby");
  assertEquals(bob.take(), ["-- ann joined"]);
});

/** A JSON client of `hub` opened by the page on `host`, with the session cookie `token`. */
function browser(hub: MemoryHub, sessions: WebSessions, token: string | null, host = HOST) {
  const conn = new JsonConnection();
  const cookie = token === null ? null : sessions.lookup(token, host);
  conn.session = hub.connect(
    conn,
    new JsonSession(hub, conn, MAX_MESSAGE, { sessions, host, cookie }),
  )!;
  return conn;
}

/** Waits until every promise queued now (and those they queue) has settled. */
const settled = () => new Promise((resolve) => setTimeout(resolve, 0));

const HOST = "127.0.0.1:1802";

test("json: a login by password sends a ticket; its cookie's socket says hello with no password", async () => {
  using hub = accountsHub();
  let now = Date.now();
  const sessions = new WebSessions(new MemorySessionStore(), { now: () => now });
  hub.accounts.sessions = sessions;
  const ann = browser(hub, sessions, null);
  assertEquals(ann.take().map((event) => event.type), ["greeting"]);
  ann.send({ type: "hello", name: "ann" });
  ann.send({ type: "line", text: "/register right one", ref: "reg" });
  await hub.accounts.idle();
  await settled();
  const [welcome, registered, ticket, ...rest] = timeless(ann.take());
  assertEquals([welcome.type, welcome.account, rest], ["welcome", undefined, []]);
  assertEquals(registered, { type: "registered", name: "ann", persistent: false, ref: "reg" });
  assertEquals(Object.keys(ticket), ["type", "ticket"]);
  assertEquals(ticket.type, "sessionTicket");
  const { token } = (await sessions.redeem(ticket.ticket as string, HOST))!;
  ann.send({ type: "line", text: "/quit" });

  // A new socket with the cookie: greeted with the account, let in by hello, no ticket.
  const again = browser(hub, sessions, token);
  await settled();
  const [greeting] = timeless(again.take());
  assertEquals(greeting, { type: "greeting", maxLine: 4096, account: "ann" });
  again.send({ type: "hello", name: "ANN", ref: "h" });
  await settled();
  assertEquals(
    again.take().map((event) => [event.type, event.name, event.account, event.ref]),
    [["welcome", "ann", "ann", "h"]],
  );
  again.send({ type: "line", text: "/whois ann", ref: "w" });
  assertEquals(timeless(again.take()), [
    { type: "whois", name: "ann", room: "lobby", account: "ann", ref: "w" },
  ]);

  // A second socket with the cookie while ann is in: one more connection of her (see
  // multiclient_test.ts), let in with no password; a guest's name on it is no login.
  const twin = browser(hub, sessions, token);
  await settled();
  twin.take();
  twin.send({ type: "hello", name: "ann", ref: "t" });
  await settled();
  assertEquals(
    twin.take().map((event) => [event.type, event.name, event.account, event.ref]),
    [["welcome", "ann", "ann", "t"]],
  );
  twin.send({ type: "line", text: "/quit" });
  const guest = browser(hub, sessions, token);
  await settled();
  guest.take();
  guest.send({ type: "hello", name: "twin", ref: "t2" });
  await settled();
  const [twinWelcome] = guest.take();
  assertEquals([twinWelcome.type, twinWelcome.account], ["welcome", undefined]);
  guest.send({ type: "line", text: "/whois twin", ref: "w" });
  assertEquals(guest.take()[0].account, null);
  guest.send({ type: "line", text: "/quit" });

  // Another host's socket, a forged token, and a cookie past its expiry: a password.
  const other = browser(hub, sessions, token, "localhost:1802");
  const forged = browser(hub, sessions, "A".repeat(43));
  await settled();
  for (const conn of [other, forged]) {
    assertEquals(timeless(conn.take()), [{ type: "greeting", maxLine: 4096 }]);
  }
  now += 31 * 24 * 3600 * 1000;
  const expired = browser(hub, sessions, token);
  await settled();
  assertEquals(timeless(expired.take()), [{ type: "greeting", maxLine: 4096 }]);
  again.send({ type: "line", text: "/quit" });
  await settled();
  expired.send({ type: "hello", name: "ann", ref: "h" });
  assertEquals(timeless(expired.take()), [{ type: "passwordPrompt", name: "ann", ref: "h" }]);
});

test("json: /logout and /password revoke the account's cookies; a new password sends a ticket", async () => {
  using hub = accountsHub();
  const sessions = new WebSessions(new MemorySessionStore());
  hub.accounts.sessions = sessions;
  const cookieFor = async (conn: JsonConnection) => {
    await hub.accounts.idle();
    await settled();
    const ticket = conn.take().find((event) => event.type === "sessionTicket");
    return (await sessions.redeem(ticket!.ticket as string, HOST))!.token;
  };
  const ann = browser(hub, sessions, null);
  ann.send({ type: "hello", name: "ann" });
  ann.send({ type: "line", text: "/register first-one" });
  const first = await cookieFor(ann);
  // Logging in again after a logout (same socket) sends a new ticket.
  ann.send({ type: "line", text: "/logout", ref: "o" });
  await hub.accounts.idle();
  assertEquals(timeless(ann.take()), [{ type: "loggedOut", account: "ann", ref: "o" }]);
  assertEquals(await sessions.lookup(first, HOST), null, "revoked by /logout");
  ann.send({ type: "line", text: "/login ann first-one" });
  const second = await cookieFor(ann);
  assertEquals(await sessions.lookup(second, HOST), "ann");

  // A socket whose cookie was checked, then revoked before its hello: asked the password.
  const early = browser(hub, sessions, second);
  await settled();
  assertEquals(early.take()[0].account, "ann");
  ann.send({ type: "line", text: "/password first-one second-one", ref: "p" });
  await hub.accounts.idle();
  await settled();
  const told = timeless(ann.take());
  assertEquals(told[0], { type: "passwordChanged", account: "ann", ref: "p" });
  assertEquals(told[1].type, "sessionTicket", "the browser that changed it stays logged in");
  assertEquals(await sessions.lookup(second, HOST), null, "revoked by /password");
  const third = (await sessions.redeem(told[1].ticket as string, HOST))!.token;
  assertEquals(await sessions.lookup(third, HOST), "ann");
  ann.send({ type: "line", text: "/quit" });
  await settled();
  early.send({ type: "hello", name: "ann", ref: "h" });
  assertEquals(timeless(early.take()), [{ type: "passwordPrompt", name: "ann", ref: "h" }]);

  // /unregister revokes too.
  const last = browser(hub, sessions, third);
  await settled();
  last.send({ type: "hello", name: "ann" });
  last.send({ type: "line", text: "/unregister second-one" });
  await hub.accounts.idle();
  assertEquals(await sessions.lookup(third, HOST), null, "revoked by /unregister");
});

test("json: moderation comes as data: a kick, a mode change, and a refusal's code", async () => {
  using hub = new MemoryHub();
  hub.accounts = new Accounts(hub, new MemoryAccountStore(), {
    ...DEFAULT_POLICY,
    cost: { n: 1 << 10, r: 8, p: 1, scramIterations: 16 },
  });
  const ann = hub.member("ann");
  ann.say("/register pass-ann");
  await hub.accounts.idle();
  ann.say("/join dev");
  const bob = member(hub, "bob");
  bob.send({ type: "line", text: "/join dev" });
  bob.take();
  ann.say("/mode +i");
  assertEquals(timeless(bob.take()), [
    { type: "moderation", room: "dev", by: "ann", action: "mode", target: "+i" },
  ]);
  ann.say("/kick bob flooding");
  const [kicked] = timeless(bob.take());
  assertEquals(kicked, { type: "kicked", room: "dev", by: "ann", reason: "flooding" });
  bob.send({ type: "line", text: "/join dev", ref: "j" });
  assertEquals(timeless(bob.take()), [
    { type: "error", code: "inviteOnly", room: "dev", ref: "j" },
  ]);
  bob.send({ type: "line", text: "/kick ann" });
  assertEquals(timeless(bob.take()), [{ type: "error", code: "notOperator", room: "lobby" }]);
});

test("json: a kline refuses a hello with its code, reason and end, and closes; one set later ends a member", () => {
  using hub = new MemoryHub();
  const ann = member(hub, "ann");
  ann.take();
  const kline: Kline = {
    kind: "name",
    mask: "spam*",
    by: "boss",
    time: 1,
    expires: null,
    reason: "ads",
  };
  hub.applyKline(kline, true);
  const spam = open(hub);
  spam.send({ type: "hello", name: "spammer", ref: "h" });
  assertEquals(timeless(spam.take()), [
    { type: "error", code: "klined", reason: "ads", expires: null, ref: "h" },
  ]);
  assertEquals(spam.closed, true, "closed, what was queued written first");
  const until = Date.now() + 3_600_000;
  hub.applyKline({ ...kline, mask: "ann", expires: until }, true);
  assertEquals(timeless(ann.take()), [
    { type: "error", code: "klined", reason: "ads", expires: until },
  ]);
  assertEquals(ann.closed, true);
});

test("json: history pages a room by id, bounded per request, with more; another room is refused", () => {
  using hub = new MemoryHub({ history: 500 });
  const ann = member(hub, "ann");
  for (let i = 0; i < 120; i++) ann.send({ type: "line", text: `line ${i}` });
  ann.take();
  ann.send({ type: "history", room: "lobby", ref: "h1" });
  const [first] = ann.take() as { entries: Json[]; more: boolean; ref: string; room: string }[];
  assertEquals([first.room, first.entries.length, first.more, first.ref], [
    "lobby",
    50,
    true,
    "h1",
  ]);
  assertEquals(first.entries[49].text, "line 119");
  assertEquals(Object.keys(first.entries[0]), ["id", "from", "text", "time"], "a message: no type");
  ann.send({ type: "history", room: "lobby", before: first.entries[0].id, limit: 100 });
  const [second] = ann.take() as { entries: Json[]; more: boolean }[];
  assertEquals([second.entries.length, second.more], [70, false]);
  assertEquals([second.entries[0].text, second.entries[69].text], ["line 0", "line 69"]);
  // Bounded: at most 100 entries a request; bad fields are named.
  ann.send({ type: "history", room: "lobby", limit: 101 });
  ann.send({ type: "history", room: "lobby", before: "nope" });
  ann.send({ type: "history" });
  assertEquals(ann.take().map((error) => [error.code, error.field]), [
    ["badRequest", "limit"],
    ["badRequest", "before"],
    ["badRequest", "with"],
  ]);
  ann.send({ type: "history", room: "elsewhere", ref: "x" });
  assertEquals(timeless(ann.take()), [
    { type: "error", code: "notInRoom", name: "ann", room: "elsewhere", ref: "x" },
  ]);
});

test("json: private messages between accounts carry ids; history with pages them; conversations after login", async () => {
  using hub = accountsHub();
  const ann = member(hub, "ann");
  ann.send({ type: "line", text: "/register right one" });
  const bo = member(hub, "bo");
  bo.send({ type: "line", text: "/register right two" });
  await hub.accounts.idle();
  ann.take();
  bo.take();
  ann.send({ type: "line", text: "/msg bo hi bo" });
  const [live] = bo.take();
  assertEquals(Object.keys(live), ["type", "id", "time", "from", "to", "text", "account"]);
  assert(isId(live.id), String(live.id));
  bo.send({ type: "line", text: "/msg ann hi ann" });
  ann.take();
  ann.send({ type: "history", with: "BO", limit: 1, ref: "p" });
  const [page] = timeless(ann.take());
  assertEquals(page.with, "bo");
  assertEquals(page.more, true);
  assertEquals(page.ref, "p");
  const entries = page.entries as Json[];
  assertEquals(entries.map((e) => [e.type, e.from, e.to, e.text, e.account]), [
    ["private", "bo", "ann", "hi ann", "bo"],
  ]);
  ann.send({ type: "history", with: "bo", before: entries[0].id });
  const [older] = ann.take();
  assertEquals([(older.entries as Json[])[0].id, older.more], [live.id, false]);
  // A guest has no conversations to page.
  const cy = member(hub, "cy");
  cy.take();
  cy.send({ type: "history", with: "ann" });
  assertEquals(cy.take().map((e) => e.code), ["notLoggedIn"]);
  // bo goes; ann writes; bo's page logs in and is told what waited and its conversations.
  bo.send({ type: "line", text: "/quit" });
  ann.send({ type: "line", text: "/msg bo while away", ref: "m" });
  const held = timeless(ann.take().filter((e) => e.type !== "presence"));
  assertEquals(held, [
    { type: "heldForLater", to: "bo", id: held[0].id, text: "while away", ref: "m" },
  ]);
  assert(isId(held[0].id), "the kept message's id");
  const again = open(hub);
  again.send({ type: "hello", name: "bo" });
  await hub.accounts.idle();
  again.send({ type: "password", password: "right two" });
  await hub.accounts.idle();
  const told = again.take();
  const conversations = told.find((e) => e.type === "conversations")!;
  assertEquals(
    (conversations.list as { with: string; last: Json }[]).map((c) => [c.with, c.last.text]),
    [["ann", "while away"]],
  );
  const away = told.find((e) => e.type === "history" && e.with === "ann")!;
  assertEquals(away.away, true);
  assertEquals((away.entries as Json[]).map((e) => e.text), ["while away"]);
});

test("json: join keeps several rooms; a line with room goes there; part leaves one", () => {
  using hub = new MemoryHub();
  const ann = member(hub, "ann");
  const cat = hub.member("cat");
  cat.say("/join dev");
  const dan = hub.member("dan");
  dan.say("/join ops");
  ann.take();
  cat.take();
  dan.take();
  ann.send({ type: "join", room: "dev", ref: "j1" });
  const [entered] = timeless(ann.take());
  assertEquals(entered, {
    type: "entered",
    room: "dev",
    others: ["cat"],
    count: 1,
    topic: "",
    ref: "j1",
  });
  assertEquals(cat.take(), ["-- ann joined"]);
  ann.send({ type: "join", room: "ops" });
  assertEquals(timeless(ann.take())[0].room, "ops");
  assertEquals(dan.take(), ["-- ann joined"]);
  assertEquals([...hub.members.get("ann")!.rooms].map((room) => room.name), [
    "lobby",
    "dev",
    "ops",
  ]);
  // Each room's events reach the member, named by room.
  cat.say("in dev");
  dan.say("in ops");
  assertEquals(timeless(ann.take()).map(({ type, room, text }) => [type, room, text]), [
    ["message", "dev", "in dev"],
    ["message", "ops", "in ops"],
  ]);
  // A line to each room (the current one is ops).
  ann.send({ type: "line", text: "to dev", room: "dev", ref: "d" });
  assertEquals(cat.take(), ["ann: to dev"]);
  assertEquals(dan.take(), []);
  assertEquals(timeless(ann.take()).map(({ room, ref }) => [room, ref]), [["dev", "d"]]);
  ann.send({ type: "line", text: "to ops", room: "#ops" });
  assertEquals(dan.take(), ["ann: to ops"]);
  assertEquals(cat.take(), []);
  ann.take();
  // A line without room goes to the current room: the last one named.
  ann.send({ type: "line", text: "/who", ref: "w" });
  assertEquals(timeless(ann.take()), [
    { type: "who", room: "ops", names: ["ann", "dan"], count: 2, ref: "w" },
  ]);
  ann.send({ type: "focus", room: "dev", ref: "f" });
  assertEquals(timeless(ann.take()), [{ type: "focused", room: "dev", ref: "f" }]);
  ann.send({ type: "line", text: "plain" });
  assertEquals(cat.take(), ["ann: plain"]);
  ann.take();
  // Joining a room one is in makes it current, and says so.
  ann.send({ type: "join", room: "ops", ref: "again" });
  assertEquals(timeless(ann.take()), [{ type: "alreadyIn", room: "ops", ref: "again" }]);
  ann.send({ type: "part", room: "ops", ref: "p" });
  assertEquals(timeless(ann.take()), [{ type: "parted", room: "ops", ref: "p" }]);
  assertEquals(dan.take(), ["-- ann left"]);
  assertEquals(cat.take(), []);
  dan.say("gone?");
  assertEquals(ann.take(), []);
  assertEquals(hub.members.get("ann")!.room!.name, "dev"); // the room joined last of the rest
  // Not in it: refused, typed.
  ann.send({ type: "line", text: "x", room: "ops", ref: "no" });
  assertEquals(timeless(ann.take()), [
    { type: "error", code: "notInRoom", name: "ann", room: "ops", ref: "no" },
  ]);
  ann.send({ type: "part", room: "ops" });
  assertEquals(timeless(ann.take())[0].code, "notInRoom");
  ann.send({ type: "focus", room: "ops" });
  assertEquals(timeless(ann.take())[0].code, "notInRoom");
  assertEquals(dan.take(), []);
});

test("json: the last room parted is traded for the lobby; the lobby alone stays", () => {
  using hub = new MemoryHub();
  const ann = member(hub, "ann");
  ann.send({ type: "join", room: "dev" });
  ann.send({ type: "part", room: "lobby" });
  ann.take();
  assertEquals([...hub.members.get("ann")!.rooms].map((room) => room.name), ["dev"]);
  ann.send({ type: "part", room: "dev", ref: "p" });
  assertEquals(timeless(ann.take()).map(({ type, room }) => [type, room]), [
    ["entered", "lobby"],
    ["parted", "dev"],
  ]);
  assertEquals([...hub.members.get("ann")!.rooms].map((room) => room.name), ["lobby"]);
  ann.send({ type: "part", room: "lobby", ref: "l" });
  assertEquals(timeless(ann.take()), [{ type: "alreadyIn", room: "lobby", ref: "l" }]);
});

test("json: an old client's /join still moves; join is bounded and checks its fields", () => {
  using hub = new MemoryHub();
  const ann = member(hub, "ann");
  ann.send({ type: "line", text: "/join dev" });
  ann.send({ type: "line", text: "/join ops" });
  assertEquals([...hub.members.get("ann")!.rooms].map((room) => room.name), ["ops"]);
  ann.take();
  for (let i = 0; i < 19; i++) ann.send({ type: "join", room: `r${i}` });
  assertEquals(hub.members.get("ann")!.rooms.size, 20);
  ann.take();
  ann.send({ type: "join", room: "one-more", ref: "m" });
  assertEquals(timeless(ann.take()), [
    { type: "error", code: "tooManyJoined", max: 20, room: "one-more", ref: "m" },
  ]);
  // A /join line of a client that joins moves from its current room.
  ann.send({ type: "line", text: "/join elsewhere" });
  const rooms = [...hub.members.get("ann")!.rooms].map((room) => room.name);
  assertEquals([rooms.length, rooms.includes("r18"), rooms.includes("elsewhere")], [
    20,
    false,
    true,
  ]);
  ann.take();
  const cases: [Json, Json][] = [
    [{ type: "join" }, { type: "error", code: "badRequest", field: "room" }],
    [{ type: "join", room: "x", key: 1 }, { type: "error", code: "badRequest", field: "key" }],
    [{ type: "part", room: 2 }, { type: "error", code: "badRequest", field: "room" }],
    [{ type: "focus" }, { type: "error", code: "badRequest", field: "room" }],
    [{ type: "line", text: "x", room: 3 }, { type: "error", code: "badRequest", field: "room" }],
  ];
  for (const [request, answer] of cases) {
    ann.send(request);
    assertEquals(timeless(ann.take()), [answer]);
  }
  const nameless = open(hub);
  nameless.send({ type: "join", room: "dev" });
  assertEquals(timeless(nameless.take()), [{ type: "error", code: "nameFirst" }]);
});
