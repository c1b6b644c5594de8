/**
 * Pins deleting a kept message (`/delete`, IRC `REDACT`): who may (author, room operator,
 * server operator) and each refusal, on the text protocol, as JSON and on IRC (REDACT only
 * to clients with `draft/message-redaction`); history forgets it in memory, in the SQLite
 * file, and on every server of a cluster.
 *
 * @module
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Accounts, DEFAULT_POLICY, MemoryAccountStore } from "./accounts.ts";
import { say } from "../text/protocol.ts";
import { JsonSession } from "../json/session.ts";
import { MemoryConnection, MemoryHub, test } from "../../tests/test_util.ts";
import { IrcFront } from "../irc/irc.ts";
import { Cloaks } from "./cloak.ts";
import { SqliteHistory } from "../storage/sqlite_history.ts";
import { ServerLog } from "../ops/log.ts";
import { Hub } from "./hub.ts";
import { Cluster, type ClusterBus, type Envelope } from "../cluster/cluster.ts";
import { roomKey } from "./protocol.ts";
import { idOf as makeId } from "./ids.ts";
import { MODERATION_BURST } from "./session.ts";

/** The id of the `i`th line of a test room. */
const eid = (i: number) => makeId(1_000 + i, 0, "a");

const CHEAP = { n: 1 << 10, r: 8, p: 1, scramIterations: 16 };

/** A hub whose accounts hash cheaply (`admins`: server operators). */
function deleteHub(admins: string[] = []): MemoryHub {
  const hub = new MemoryHub({ admins });
  hub.accounts = new Accounts(hub, new MemoryAccountStore(), { ...DEFAULT_POLICY, cost: CHEAP });
  return hub;
}

/** A member called `name` logged in to its own new account. */
async function account(hub: MemoryHub, name: string): Promise<MemoryConnection> {
  const conn = hub.member(name);
  conn.say("/register pass-" + name);
  await hub.accounts.idle();
  conn.take();
  return conn;
}

/** The ids and texts kept in `room`, oldest first. */
function kept(hub: Hub, room: string): string[] {
  return hub.history.before(roomKey(room), 100).map((entry) => entry.text);
}

/** The id of the kept message `text` in `room`. */
function idOf(hub: Hub, room: string, text: string): string {
  return hub.history.before(roomKey(room), 100).find((entry) => entry.text === text)!.id;
}

test("delete: /delete takes back a guest's own last message; the room is told; history forgets it", () => {
  using hub = deleteHub();
  const ann = hub.member("ann");
  const bob = hub.member("bob");
  ann.say("first", "second");
  ann.take();
  bob.take();
  ann.say("/delete");
  assertEquals(ann.take(), [say.deleted("ann", "ann")]);
  assertEquals(bob.take(), ["-- ann deleted one of their messages"]);
  assertEquals(kept(hub, "lobby"), ["first"]);
  ann.say("/delete");
  assertEquals(kept(hub, "lobby"), []);
  assertEquals(bob.take(), ["-- ann deleted one of their messages"]);
  ann.take();
  ann.say("/delete");
  assertEquals(ann.take(), ["!! you have no message here to delete"]);
  // Someone joining later is not replayed it.
  const cy = hub.open();
  cy.say("cy");
  assert(!cy.take().some((line) => line.includes("first") || line.includes("second")));
  assert(
    hub.logged.some((line) => line.startsWith("ann delete ") && line.endsWith("(own) in lobby")),
    hub.logged.join("\n"),
  );
  assertEquals(hub.metrics.moderation.with("delete").value, 2);
});

test("delete: another's message is refused to a guest; an unknown id is refused; the name alone proves nothing", () => {
  using hub = deleteHub();
  const ann = hub.member("ann");
  const bob = hub.member("bob");
  ann.say("mine");
  const id = idOf(hub, "lobby", "mine");
  bob.take();
  bob.say(`/delete ${id}`);
  assertEquals(bob.take(), [say.deleteForbidden]);
  bob.say("/delete 0000000000000000000", "/delete nonsense");
  assertEquals(bob.take(), [
    say.noSuchMessage("0000000000000000000"),
    say.noSuchMessage("nonsense"),
  ]);
  // ann leaves; whoever takes the name next is not its author.
  ann.say("/quit");
  const again = hub.member("ann");
  again.say(`/delete ${id}`);
  assertEquals(again.take(), [say.deleteForbidden]);
  assertEquals(kept(hub, "lobby"), ["mine"]);
  assertEquals(hub.metrics.moderationRefused.with("deleteForbidden").value, 2);
});

test("delete: a room's operator and a server operator delete anyone's; an account its own after reconnecting", async () => {
  using hub = deleteHub(["root"]);
  const ann = await account(hub, "ann");
  ann.say("/join dev"); // ann founds dev
  const bob = await account(hub, "bob");
  bob.say("/join dev");
  bob.say("bob one", "bob two");
  ann.take();
  ann.say(`/delete ${idOf(hub, "dev", "bob one")} spam`);
  assertEquals(ann.take(), ["-- ann deleted a message by bob (spam)"]);
  assertEquals(kept(hub, "dev"), ["bob two"]);
  // bob, back on a new connection, deletes his own by account.
  bob.say("/quit");
  const back = hub.open();
  back.say("/login bob pass-bob");
  await hub.accounts.idle();
  back.say("/join dev");
  back.take();
  back.say("/delete");
  assertEquals(back.take(), ["-- bob deleted one of their messages"]);
  assertEquals(kept(hub, "dev"), []);
  // A server operator, in the lobby (no room rules there).
  const cy = hub.member("cy");
  cy.say("hello all");
  const root = await account(hub, "root");
  root.say(`/delete ${idOf(hub, "lobby", "hello all")}`);
  assertEquals(root.take(), ["-- root deleted a message by cy"]);
  assertEquals(kept(hub, "lobby"), []);
});

/** A WebSocket connection in memory that keeps the JSON of each (small) frame written. */
class FrameConnection extends MemoryConnection {
  readonly objects: Record<string, unknown>[] = [];
  wholeMessages = false;
  override deliver(bytes: Uint8Array): void {
    for (let at = 0; at < bytes.length;) {
      const length = bytes[at + 1]; // frames under 126 bytes in this test
      const payload = new TextDecoder().decode(bytes.subarray(at + 2, at + 2 + length));
      this.objects.push(JSON.parse(payload));
      at += 2 + length;
    }
  }
}

test("delete: a JSON client is told {type: deleted, id, room, by}; its /delete line is answered with its ref", () => {
  using hub = deleteHub();
  const ann = hub.member("ann");
  const conn = new FrameConnection();
  const json = new JsonSession(hub, conn, 1 << 16);
  conn.session = hub.connect(conn, json)!;
  json.receive(new TextEncoder().encode(JSON.stringify({ type: "hello", name: "jay" })));
  ann.say("oops");
  const id = idOf(hub, "lobby", "oops");
  conn.objects.splice(0);
  ann.say("/delete");
  const [frame] = conn.objects.splice(0);
  assertEquals({ ...frame, time: undefined }, {
    type: "deleted",
    id,
    room: "lobby",
    by: "ann",
    time: undefined,
  });
  ann.say("ann's");
  const others = idOf(hub, "lobby", "ann's");
  conn.objects.splice(0);
  json.receive(
    new TextEncoder().encode(JSON.stringify({ type: "line", text: `/delete ${others}` })),
  );
  const [forbidden] = conn.objects.splice(0);
  assertEquals([forbidden.type, forbidden.code, forbidden.room, forbidden.id], [
    "error",
    "deleteForbidden",
    "lobby",
    others,
  ]);
  json.receive(
    new TextEncoder().encode(JSON.stringify({ type: "line", text: "/delete nope", ref: "r1" })),
  );
  const [refusal] = conn.objects.splice(0);
  assertEquals([refusal.type, refusal.code, refusal.id, refusal.ref], [
    "error",
    "noSuchMessage",
    "nope",
    "r1",
  ]);
});

test("delete: IRC REDACT from a client with draft/message-redaction; relayed only to clients that asked", () => {
  using hub = deleteHub();
  const front = new IrcFront(hub, {
    serverName: "irc.test",
    pingInterval: 60_000,
    cloaks: new Cloaks("a test key, sixteen characters or more"),
  });
  try {
    const irc = (nick: string, caps: string) => {
      const conn = new MemoryConnection();
      conn.session = front.session(conn);
      hub.connect(conn, conn.session);
      conn.say(`CAP REQ :${caps}`, `NICK ${nick}`, `USER ${nick} 0 * :${nick}`, "CAP END");
      conn.say("JOIN #lobby");
      conn.take();
      return conn;
    };
    const red = irc("red", "draft/message-redaction message-tags");
    const old = irc("old", "message-tags");
    const text = hub.member("tex");
    text.say("hello irc");
    const id = idOf(hub, "lobby", "hello irc");
    red.take();
    old.take();
    old.say(`REDACT #lobby ${id}`);
    assert(old.take()[0].includes(" 421 old REDACT "), "unknown command without the cap");
    red.say(`REDACT #lobby ${id} :not yours`);
    assertEquals(red.take(), [
      `:irc.test FAIL REDACT REDACT_FORBIDDEN #lobby ${id} :You are not authorised to delete this message\r`,
    ]);
    red.say("REDACT #lobby 0000000000000000000", "REDACT #nowhere x", "REDACT #lobby bad:id");
    assertEquals(red.take(), [
      ":irc.test FAIL REDACT UNKNOWN_MSGID #lobby 0000000000000000000 :This message does not exist or is too old\r",
      ":irc.test FAIL REDACT INVALID_TARGET #nowhere :You cannot delete messages from this target\r",
      ":irc.test FAIL REDACT UNKNOWN_MSGID #lobby bad:id :This message does not exist or is too old\r",
    ]);
    text.take();
    text.say("/delete");
    assertEquals(red.take(), [`:tex!tex@chat REDACT #lobby ${id}\r`]);
    assertEquals(old.take(), []); // nothing for a client without the cap
    // Its own message: the REDACT comes back to it too.
    red.say("PRIVMSG #lobby :from red");
    const own = idOf(hub, "lobby", "from red");
    red.take();
    red.say(`REDACT #lobby ${own} :typo`);
    const lines = red.take();
    assert(lines[0]?.endsWith(` REDACT #lobby ${own} typo\r`), lines.join(" | "));
    assertEquals(text.take().at(-1), "-- red deleted one of their messages (typo)");
    assertEquals(kept(hub, "lobby"), []);
  } finally {
    front.close();
  }
});

test("delete: SQLite forgets the line, in memory and in the file, older than memory holds too", async () => {
  const path = await Deno.makeTempFile({ suffix: ".db" });
  try {
    const log = new ServerLog(() => {});
    let history = new SqliteHistory(path, 3, 10, 1000, log);
    for (let i = 0; i < 6; i++) {
      history.add("dev", {
        id: eid(i),
        kind: "message",
        from: "ann",
        text: `line ${i}`,
        time: i,
      });
    }
    await history.close();
    history = new SqliteHistory(path, 3, 10, 1000, log);
    // line 0 is in the file only (memory holds the last 3).
    assertEquals(history.entry("dev", eid(0))?.text, "line 0");
    assert(history.delete("dev", eid(0)));
    assert(history.delete("dev", eid(5)));
    assert(!history.delete("dev", eid(9)));
    assertEquals(history.entry("dev", eid(5)), undefined);
    await history.close();
    history = new SqliteHistory(path, 3, 10, 1000, log);
    assertEquals(history.before("dev", 10).map((entry) => entry.text), [
      "line 1",
      "line 2",
      "line 3",
      "line 4",
    ]);
    await history.close();
    log.close();
  } finally {
    await Deno.remove(path);
    await Deno.remove(path + "-wal").catch(() => {});
    await Deno.remove(path + "-shm").catch(() => {});
  }
});

test("delete: in a cluster the other servers forget it and tell their rooms", async () => {
  // Two hubs joined by a bus that hands each envelope to the other at once.
  using one = new MemoryHub();
  using two = new MemoryHub();
  const link = (from: MemoryHub, to: MemoryHub) => {
    const cluster = new Cluster(from);
    const bus: ClusterBus = {
      connected: true,
      send: (envelope: Envelope) => (to.cluster as Cluster | null)?.receive(envelope),
      claim: () => Promise.resolve(true),
    };
    cluster.bus = bus;
    from.cluster = cluster;
  };
  link(one, two);
  link(two, one);
  const ann = one.open();
  ann.say("ann");
  const bob = two.open();
  bob.say("bob");
  // The names are claimed across the cluster (a promise each).
  await new Promise((resolve) => setTimeout(resolve, 0));
  ann.say("across");
  assertEquals(kept(two, "lobby"), ["across"]);
  bob.take();
  ann.say("/delete");
  assertEquals(kept(one, "lobby"), []);
  assertEquals(kept(two, "lobby"), []);
  assertEquals(bob.take(), ["-- ann deleted one of their messages"]);
});

test("delete: someone else's message is a moderation action, paced as kicks are; one's own stays free", async () => {
  const hub = new MemoryHub({ rate: 100, burst: 1_000 });
  hub.accounts = new Accounts(hub, new MemoryAccountStore(), { ...DEFAULT_POLICY, cost: CHEAP });
  try {
    const ann = await account(hub, "ann");
    ann.say("/join dev"); // ann founds dev
    const bob = await account(hub, "bob");
    bob.say("/join dev");
    const lines = Array.from({ length: MODERATION_BURST + 2 }, (_, i) => `bob ${i}`);
    bob.say(...lines);
    ann.take();
    // The burst of actions goes: one kick and the rest deletions of bob's lines.
    ann.say(
      "/mode +m",
      ...lines.slice(0, MODERATION_BURST - 1).map((t) => `/delete ${idOf(hub, "dev", t)}`),
    );
    assert(!ann.take().some((line) => line.startsWith("!!")));
    ann.say(`/delete ${idOf(hub, "dev", lines[MODERATION_BURST - 1])}`);
    assertEquals(ann.take(), [say.moderationTooFast(1)]);
    assertEquals(kept(hub, "dev"), lines.slice(MODERATION_BURST - 1));
    // Her own: as many as she posted, however fast (the flood bucket bounds those).
    ann.say("/mode -m", "one", "two", "three"); // the -m is refused too: still paced
    assertEquals(ann.take(), [say.moderationTooFast(1)]);
    ann.say("/delete", "/delete", "/delete");
    assertEquals(ann.take(), Array(3).fill("-- ann deleted one of their messages"));
    assertEquals(hub.metrics.moderationRefused.with("moderationTooFast").value, 2);
  } finally {
    hub[Symbol.dispose]();
  }
});
