/**
 * Pins deleting a kept private message (`/delete ID`, IRC `REDACT nick msgid`): only its
 * author may (a server operator in a conversation of its own); no one else can delete or
 * learn of another pair's ids; it leaves the store (memory, SQLite, the wait of a held
 * one) and both sides are told on every front-end and every server of a cluster.
 *
 * @module
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { MemoryPrivates, pairKey, type PrivateEntry } from "./private.ts";
import { Accounts, DEFAULT_POLICY, MemoryAccountStore } from "./accounts.ts";
import { say } from "../text/protocol.ts";
import { JsonSession } from "../json/session.ts";
import { IrcFront } from "../irc/irc.ts";
import { Cloaks } from "./cloak.ts";
import { MemoryConnection, MemoryHub, test } from "../../tests/test_util.ts";
import { openChatDatabase } from "../storage/database.ts";
import { SqlitePrivates } from "../storage/sqlite_privates.ts";
import { ServerLog } from "../ops/log.ts";
import { Cluster, type ClusterBus, type Envelope } from "../cluster/cluster.ts";
import { idOf as makeId } from "./ids.ts";

const CHEAP = { n: 1 << 10, r: 8, p: 1, scramIterations: 16 };
const UNKNOWN = "0000000000000000000";

function entry(id: string, from = "ann", to = "bo"): PrivateEntry {
  return { id, kind: "private", from, to, text: id, time: 0, account: from, toAccount: to };
}

/** A hub whose accounts hash cheaply (`admins`: server operators), its store `accounts`. */
function accountsHub(admins: string[] = [], accounts = new MemoryAccountStore()): MemoryHub {
  const hub = new MemoryHub({ admins });
  hub.accounts = new Accounts(hub, accounts, { ...DEFAULT_POLICY, cost: CHEAP });
  return hub;
}

/** A member called `name` logged in to its own new account, its lines taken. */
async function account(hub: MemoryHub, name: string): Promise<MemoryConnection> {
  const conn = hub.member(name);
  conn.say("/register pass-" + name);
  await hub.accounts.idle();
  conn.take();
  return conn;
}

/** The ids of the conversation of `a` and `b`, oldest first. */
function ids(hub: MemoryHub, a: string, b: string): string[] {
  return hub.privates.before(pairKey(a, b), 100).map((each) => each.id);
}

/** The id of the kept private message `text` between `a` and `b`. */
function idOf(hub: MemoryHub, a: string, b: string, text: string): string {
  return hub.privates.before(pairKey(a, b), 100).find((each) => each.text === text)!.id;
}

test("private delete: the store finds an id in an account's own conversations only, and forgets it (held too)", () => {
  const store = new MemoryPrivates(10, 10);
  const ab = pairKey("ann", "bo");
  store.add(ab, entry("a"));
  store.add(ab, entry("b"), "bo");
  store.add(pairKey("cy", "dee"), entry("c", "cy", "dee"));
  assertEquals(store.find("bo", "b"), { pair: ab, entry: entry("b") });
  assertEquals(store.find("cy", "b"), undefined);
  assertEquals(store.find("ann", "c"), undefined);
  assert(store.remove(ab, "b"));
  assert(!store.remove(ab, "b"));
  assertEquals(store.find("ann", "b"), undefined);
  assertEquals(store.heldCount("bo"), 0);
  assertEquals(store.before(ab, 10).map((each) => each.id), ["a"]);
  assert(store.remove(ab, "a"));
  assertEquals(store.conversations("ann", 10), []);
  assertEquals(store.size(), { conversations: 1, lines: 1 });
});

test("private delete: /delete ID by its author; both told; the other side and a third account are refused as they may know", async () => {
  using hub = accountsHub();
  const ann = await account(hub, "ann");
  const bo = await account(hub, "bo");
  const cy = await account(hub, "cy");
  ann.say("/msg bo secret", "/msg bo kept");
  bo.say("/msg ann reply");
  ann.take();
  bo.take();
  const id = idOf(hub, "ann", "bo", "secret");
  // A third account cannot tell it from an id that is nowhere: the same refusal.
  cy.say(`/delete ${id}`, `/delete ${UNKNOWN}`);
  assertEquals(cy.take(), [say.noSuchMessage(id), say.noSuchMessage(UNKNOWN)]);
  // The recipient may not delete what it was sent.
  bo.say(`/delete ${id}`);
  assertEquals(bo.take(), [say.deleteForbidden]);
  assertEquals(ids(hub, "ann", "bo").length, 3);
  ann.say(`/delete ${id}`);
  assertEquals(ann.take(), [say.privateDeleted("ann", "bo")]);
  assertEquals(bo.take(), [say.privateDeleted("ann", "ann")]);
  assertEquals(cy.take(), []);
  assertEquals(hub.privates.before(pairKey("ann", "bo"), 100).map((each) => each.text), [
    "kept",
    "reply",
  ]);
  // Once deleted, it is unknown to its author too.
  ann.say(`/delete ${id}`);
  assertEquals(ann.take(), [say.noSuchMessage(id)]);
  // An author's own deletion is no moderation.
  assertEquals(hub.metrics.moderation.with("delete").value, 0);
});

test("private delete: a room's message of that id is deleted first; a guest has no private ones", async () => {
  using hub = accountsHub();
  const ann = await account(hub, "ann");
  await account(hub, "bo");
  const guest = hub.member("gus");
  ann.say("in the room", "/msg bo private");
  const roomId = hub.history.before("lobby", 10).find((each) => each.text === "in the room")!.id;
  ann.take();
  ann.say(`/delete ${roomId}`);
  assertEquals(ann.take(), [say.deleted("ann", "ann")]);
  assertEquals(ids(hub, "ann", "bo").length, 1);
  const id = ids(hub, "ann", "bo")[0];
  guest.take();
  guest.say(`/delete ${id}`);
  assertEquals(guest.take(), [say.noSuchMessage(id)]);
  assertEquals(ids(hub, "ann", "bo"), [id]);
});

test("private delete: a held message no longer waits; a server operator deletes in its own conversation", async () => {
  using hub = accountsHub(["root"]);
  const ann = await account(hub, "ann");
  const bo = await account(hub, "bo");
  bo.say("/quit");
  ann.say("/msg bo while away", "/msg bo second");
  ann.take();
  assertEquals(hub.privates.heldCount("bo"), 2);
  ann.say(`/delete ${idOf(hub, "ann", "bo", "while away")}`);
  assertEquals(ann.take(), [say.privateDeleted("ann", "bo")]);
  assertEquals(hub.privates.heldCount("bo"), 1);
  const root = await account(hub, "root");
  ann.say("/msg root hi root");
  root.take();
  ann.take();
  root.say(`/delete ${idOf(hub, "ann", "root", "hi root")}`);
  assertEquals(root.take(), [say.privateDeleted("root", "ann")]);
  assertEquals(ann.take(), [say.privateDeleted("root", "root")]);
  assertEquals(ids(hub, "ann", "root"), []);
  assertEquals(hub.metrics.moderation.with("delete").value, 1);
  // Its own conversations only: the pair ann–bo is none of root's.
  const other = idOf(hub, "ann", "bo", "second");
  root.say(`/delete ${other}`);
  assertEquals(root.take(), [say.noSuchMessage(other)]);
});

/** A WebSocket connection in memory that keeps the JSON of each (small) frame written. */
class FrameConnection extends MemoryConnection {
  readonly objects: Record<string, unknown>[] = [];
  wholeMessages = false;
  override deliver(bytes: Uint8Array): void {
    for (let at = 0; at < bytes.length;) {
      let length = bytes[at + 1];
      let start = at + 2;
      if (length === 126) {
        length = (bytes[at + 2] << 8) | bytes[at + 3];
        start = at + 4;
      }
      this.objects.push(
        JSON.parse(new TextDecoder().decode(bytes.subarray(start, start + length))),
      );
      at = start + length;
    }
  }
}

test("private delete: JSON {type: deleted, id, with, by} to both sides, `with` the other person", async () => {
  using hub = accountsHub();
  const ann = await account(hub, "ann");
  const conn = new FrameConnection();
  const json = new JsonSession(hub, conn, 1 << 16);
  conn.session = hub.connect(conn, json)!;
  const send = (request: Record<string, unknown>) =>
    json.receive(new TextEncoder().encode(JSON.stringify(request)));
  send({ type: "hello", name: "jay" });
  send({ type: "line", text: "/register pass-jay" });
  await hub.accounts.idle();
  ann.say("/msg jay to jay");
  const id = idOf(hub, "ann", "jay", "to jay");
  conn.objects.splice(0);
  send({ type: "line", text: `/delete ${id}`, ref: "r1" });
  const [forbidden] = conn.objects.splice(0);
  assertEquals([forbidden.type, forbidden.code, forbidden.with, forbidden.id, forbidden.ref], [
    "error",
    "deleteForbidden",
    "ann",
    id,
    "r1",
  ]);
  send({ type: "line", text: "/msg ann from jay" });
  const own = idOf(hub, "ann", "jay", "from jay");
  conn.objects.splice(0);
  ann.take();
  send({ type: "line", text: `/delete ${own}` });
  const [deleted] = conn.objects.splice(0);
  assertEquals({ ...deleted, time: undefined }, {
    type: "deleted",
    id: own,
    with: "ann",
    by: "jay",
    time: undefined,
  });
  assertEquals(ann.take(), [say.privateDeleted("jay", "jay")]);
  // ann deletes hers: jay is told with "ann".
  ann.say(`/delete ${id}`);
  const [theirs] = conn.objects.splice(0);
  assertEquals([theirs.type, theirs.id, theirs.with, theirs.by], ["deleted", id, "ann", "ann"]);
});

test("private delete: IRC REDACT nick msgid; REDACT <recipient> msgid to both sides with the cap", async () => {
  using hub = accountsHub();
  const front = new IrcFront(hub, {
    serverName: "irc.test",
    pingInterval: 60_000,
    cloaks: new Cloaks("a test key, sixteen characters or more"),
  });
  try {
    const irc = async (nick: string, caps: string) => {
      const conn = new MemoryConnection();
      conn.session = front.session(conn);
      hub.connect(conn, conn.session);
      conn.say(`CAP REQ :${caps}`, `NICK ${nick}`, `USER ${nick} 0 * :${nick}`, "CAP END");
      conn.say(`PRIVMSG NickServ :REGISTER pass-${nick}`);
      await hub.accounts.idle();
      conn.take();
      return conn;
    };
    const al = await irc("al", "draft/message-redaction message-tags echo-message");
    const bea = await irc("bea", "draft/message-redaction message-tags");
    const cat = await irc("cat", "draft/message-redaction");
    const old = await irc("old", "message-tags");
    al.say("PRIVMSG bea :private one", "PRIVMSG old :to old");
    const id = idOf(hub, "al", "bea", "private one");
    assert(al.take().some((line) => line.includes(`msgid=${id}`)), "the echo carries the msgid");
    bea.take();
    old.take();
    // Another pair's id, asked as if of one's own conversation with either: unknown.
    cat.say(`REDACT bea ${id}`, `REDACT al ${id}`);
    assertEquals(cat.take(), [
      `:irc.test FAIL REDACT UNKNOWN_MSGID bea ${id} :This message does not exist or is too old\r`,
      `:irc.test FAIL REDACT UNKNOWN_MSGID al ${id} :This message does not exist or is too old\r`,
    ]);
    // Of the conversation, but named with the wrong nick: unknown too.
    al.say(`REDACT old ${id}`);
    assert(al.take()[0].includes(" UNKNOWN_MSGID old "));
    bea.say(`REDACT al ${id}`);
    assertEquals(bea.take(), [
      `:irc.test FAIL REDACT REDACT_FORBIDDEN al ${id} :You are not authorised to delete this message\r`,
    ]);
    al.say(`REDACT bea ${id}`);
    const [alLine] = al.take();
    const [beaLine] = bea.take();
    assert(alLine.startsWith(":al!") && alLine.endsWith(` REDACT bea ${id}\r`), alLine);
    assertEquals(beaLine, alLine);
    assertEquals(ids(hub, "al", "bea"), []);
    // A client without the cap is told nothing (and cannot REDACT).
    const toOld = idOf(hub, "al", "old", "to old");
    al.say(`REDACT old ${toOld}`);
    assert(al.take()[0].endsWith(` REDACT old ${toOld}\r`));
    assertEquals(old.take(), []);
  } finally {
    front.close();
  }
});

test("private delete: SQLite finds an id through the account's pairs and forgets it, held too", async () => {
  const path = await Deno.makeTempFile({ suffix: ".db" });
  const log = new ServerLog(() => {});
  const db = openChatDatabase(path);
  try {
    const store = new SqlitePrivates(db, 100, 1000, log);
    const ab = pairKey("ann", "bo");
    const [one, two] = [makeId(1, 0, "a"), makeId(2, 0, "a")];
    store.add(ab, entry(one));
    store.add(ab, entry(two), "bo");
    store.add(pairKey("cy", "dee"), entry(makeId(3, 0, "a"), "cy", "dee"));
    assertEquals(store.find("bo", two), { pair: ab, entry: entry(two) });
    assertEquals(store.find("cy", two), undefined);
    assert(store.remove(ab, two));
    assert(!store.remove(ab, two));
    assertEquals(store.heldCount("bo"), 0);
    assertEquals(store.before(ab, 10).map((each) => each.id), [one]);
    await store.close();
  } finally {
    db.close();
    log.close();
    await Deno.remove(path);
    await Deno.remove(path + "-wal").catch(() => {});
    await Deno.remove(path + "-shm").catch(() => {});
  }
});

test("private delete: in a cluster the other server forgets it and tells the other side", async () => {
  const accounts = new MemoryAccountStore();
  using one = accountsHub([], accounts);
  using two = accountsHub([], accounts);
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
  const named = async (hub: MemoryHub, name: string) => {
    const conn = hub.open();
    conn.say(name);
    await new Promise((resolve) => setTimeout(resolve, 0)); // the name is claimed
    conn.say("/register pass-" + name);
    await hub.accounts.idle();
    conn.take();
    return conn;
  };
  const ann = await named(one, "ann");
  const bo = await named(two, "bo");
  ann.say("/msg bo across");
  const id = idOf(two, "ann", "bo", "across");
  assertEquals(ids(one, "ann", "bo"), [id]);
  bo.take();
  ann.say(`/delete ${id}`);
  assertEquals(ids(one, "ann", "bo"), []);
  assertEquals(ids(two, "ann", "bo"), []);
  assertEquals(bo.take(), [say.privateDeleted("ann", "ann")]);
});
