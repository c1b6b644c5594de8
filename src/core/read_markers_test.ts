/**
 * Pins read markers: forward only, bounded per account, kept in memory and in the `--db`
 * file; told to every JSON connection of the account (and after a login), a guest's
 * kept on its connection only; a marker from another server of the cluster told here.
 *
 * @module
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { lastIdAt, type Marker, markerAt, MARKERS_MAX, MemoryMarkers } from "./read_markers.ts";
import { idOf } from "./ids.ts";
import { Accounts, DEFAULT_POLICY, MemoryAccountStore } from "./accounts.ts";
import { MemoryHub, test } from "../../tests/test_util.ts";
import { JsonClient } from "../json/json_test_util.ts";
import { openChatDatabase } from "../storage/database.ts";
import { SqliteMarkerStore } from "../storage/sqlite_markers.ts";
import type { MarkerStore } from "./read_markers.ts";

const CHEAP = { n: 1 << 10, r: 8, p: 1, scramIterations: 16 };
const T = Date.UTC(2026, 0, 2, 3, 4, 5);
const id = (time: number, seq = 0) => idOf(time, seq, "abc");
const dev = { key: "#dev", name: "dev", room: true };
const at = (time: number, seq = 0): Marker => ({ ...dev, id: id(time, seq), time });

/** What every store must do: forward only, most recently set first, bounded, forgotten. */
function storeContract(store: MarkerStore): void {
  assertEquals(store.get("ann", "#dev"), undefined);
  assertEquals(store.set("ann", at(T, 1)), at(T, 1));
  assertEquals(store.set("ann", at(T, 0)), at(T, 1), "never back");
  assertEquals(store.set("ann", at(T - 5000)), at(T, 1), "never back");
  assertEquals(store.get("ann", "#dev"), at(T, 1));
  assertEquals(store.set("ann", at(T + 1)), at(T + 1));
  assertEquals(store.get("bob", "#dev"), undefined, "markers are each account's own");
  const bob = { key: "@bob", name: "Bob", room: false, id: id(T), time: T };
  store.set("ann", bob);
  assertEquals(store.list("ann"), [bob, at(T + 1)], "the most recently set first");
  for (let i = 0; i < MARKERS_MAX + 5; i++) {
    store.set("cy", { key: `#r${i}`, name: `r${i}`, room: true, id: id(T), time: T });
  }
  const kept = store.list("cy");
  assertEquals(kept.length, MARKERS_MAX);
  assertEquals(kept[0].key, `#r${MARKERS_MAX + 4}`);
  assertEquals(store.get("cy", "#r0"), undefined, "the oldest set go first");
  store.forget("ann");
  assertEquals(store.list("ann"), []);
}

test("markers: the memory store moves only forward, is bounded, and forgets an account", () => {
  storeContract(new MemoryMarkers());
});

test("markers: the --db store does the same, and keeps them across a reopen", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/chat.db`;
    let db = openChatDatabase(path);
    storeContract(new SqliteMarkerStore(db));
    new SqliteMarkerStore(db).set("dan", at(T, 3));
    db.close();
    db = openChatDatabase(path);
    const store = new SqliteMarkerStore(db);
    assertEquals(store.get("dan", "#dev"), at(T, 3));
    assertEquals(store.set("dan", at(T, 2)), at(T, 3), "still forward only");
    store.set("dan", { ...dev, key: "#ops", name: "ops", id: id(T), time: T });
    assertEquals(store.list("dan").map((m) => m.key), ["#ops", "#dev"], "set order kept");
    db.close();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

test("markers: a time stands after every id of its millisecond; bad ids and far futures refused", () => {
  const marker = markerAt(dev, { time: T }, T)!;
  assertEquals(marker.id, lastIdAt(T));
  assert(marker.id > id(T, 5000) && marker.id < id(T + 1));
  assertEquals(markerAt(dev, { id: id(T, 7) }, T), at(T, 7));
  assertEquals(markerAt(dev, { id: "nope" }, T), null);
  assertEquals(markerAt(dev, { id: id(T + 120_000) }, T), null, "more than a minute ahead");
  assertEquals(markerAt(dev, { time: -1 }, T), null);
  assertEquals(markerAt(dev, { time: 1.5 }, T), null);
});

/** A hub whose accounts hash cheaply, `ann` registered by a JSON client (returned). */
async function withAnn(hub: MemoryHub): Promise<JsonClient> {
  hub.accounts = new Accounts(hub, new MemoryAccountStore(), { ...DEFAULT_POLICY, cost: CHEAP });
  const ann = new JsonClient(hub);
  ann.send({ type: "hello", name: "ann" });
  ann.send({ type: "line", text: "/register right-one" });
  await hub.accounts.idle();
  ann.take();
  return ann;
}

/** Another JSON connection of `ann`, logged in by password; gives back what it was told. */
async function secondAnn(hub: MemoryHub): Promise<[JsonClient, Record<string, unknown>[]]> {
  const other = new JsonClient(hub);
  other.send({ type: "hello", name: "ann" });
  other.send({ type: "password", password: "right-one" });
  await hub.accounts.idle();
  return [other, other.take()];
}

test("markers: markRead reaches every JSON connection of the account, forward only; a login gets them all", async () => {
  using hub = new MemoryHub();
  const ann = await withAnn(hub);
  const [phone] = await secondAnn(hub);
  const first = id(Date.now() - 10_000);
  ann.send({ type: "markRead", room: "#Dev", id: first, ref: "m1" });
  const told = {
    type: "readMarker",
    room: "Dev",
    id: first,
    read: new Date(timeOfId(first)).toISOString(),
  };
  assertEquals(ann.take(), [{ ...told, ref: "m1" }], "the request's ref on its own answer");
  assertEquals(phone.take(), [told]);
  // An older id moves nothing: both are told the marker kept.
  ann.send({ type: "markRead", room: "dev", id: id(Date.now() - 20_000) });
  assertEquals(ann.take(), [told]);
  assertEquals(phone.take(), [told]);
  phone.send({ type: "markRead", with: "Bob", id: first });
  const bob = { type: "readMarker", with: "Bob", id: first, read: told.read };
  assertEquals(ann.take(), [bob]);
  assertEquals(phone.take(), [bob]);
  // A third device, after its login: one readMarker per conversation, the latest set first.
  const [, login] = await secondAnn(hub);
  assertEquals(login.map((o) => o.type), [
    "passwordPrompt",
    "welcome",
    "readMarker",
    "readMarker",
  ]);
  assertEquals(login.slice(2), [bob, told]);
  // Refused: bad ids, no target, both targets, bad names; nothing changes.
  ann.send({ type: "markRead", room: "dev", id: "0" });
  ann.send({ type: "markRead", room: "dev", id: id(Date.now() + 3_600_000) });
  ann.send({ type: "markRead", id: first });
  ann.send({ type: "markRead", room: "dev", with: "bob", id: first });
  ann.send({ type: "markRead", room: "no way", id: first });
  ann.send({ type: "markRead", with: 3, id: first });
  assertEquals(ann.take().map((o) => [o.type, o.code, o.field]), [
    ["error", "badRequest", "id"],
    ["error", "badRequest", "id"],
    ["error", "badRequest", "with"],
    ["error", "badRequest", "room"],
    ["error", "badRequest", "room"],
    ["error", "badRequest", "with"],
  ]);
  assertEquals(phone.take(), []);
  assertEquals(hub.readMarkers.store.list("ann").length, 2);
});

test("markers: a guest's are its connection's own, told to it alone, and gone with it", () => {
  using hub = new MemoryHub();
  const cy = new JsonClient(hub);
  cy.send({ type: "markRead", room: "dev", id: id(T) });
  assertEquals(cy.take().map((o) => o.code), ["nameFirst"]);
  cy.send({ type: "hello", name: "cy" });
  cy.take();
  const other = new JsonClient(hub);
  other.send({ type: "hello", name: "dee" });
  other.take();
  cy.take();
  cy.send({ type: "markRead", room: "dev", id: id(T) });
  assertEquals(cy.take(), [{
    type: "readMarker",
    room: "dev",
    id: id(T),
    read: new Date(T).toISOString(),
  }]);
  assertEquals(other.take(), []);
  assertEquals(hub.readMarkers.get(cy.session, dev)?.id, id(T));
  assertEquals(hub.readMarkers.get(other.session, dev), undefined);
});

test("markers: one from another server of the cluster is kept and told to the account's connections here", async () => {
  using hub = new MemoryHub();
  const ann = await withAnn(hub);
  hub.remoteMarker("ann", at(T, 2));
  assertEquals(ann.take(), [{
    type: "readMarker",
    room: "dev",
    id: id(T, 2),
    read: new Date(T).toISOString(),
  }]);
  hub.remoteMarker("ann", at(T, 1)); // behind: nothing to tell
  assertEquals(ann.take(), []);
  assertEquals(hub.readMarkers.store.get("ann", "#dev"), at(T, 2));
});

function timeOfId(text: string): number {
  return parseInt(text.slice(0, 9), 36);
}
