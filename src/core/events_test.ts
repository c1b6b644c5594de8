/**
 * Pins the shape of the event core: it imports no front-end, hub operations give
 * typed results, and IRC renders refusals and replies from events with words of its
 * own, never the chat's sentences.
 *
 * @module
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { IrcFront, type IrcSession } from "../irc/irc.ts";
import { HISTORY_BURST } from "./session.ts";
import { MemoryConnection, MemoryHub, test } from "../../tests/test_util.ts";
import type { HubOptions } from "./hub.ts";
import { Delivery } from "./delivery.ts";
import type { ClusterLink } from "./remote.ts";

/** What `src/core` may import besides itself: the log and metrics (ops), nothing of a front-end. */
const CORE_MAY_IMPORT = ["core/", "ops/log.ts", "ops/metrics.ts"];
/**
 * Imports the core still makes of other layers, each to be removed (the core renders
 * the text protocol for the sessions it makes): the list may only shrink.
 */
const KNOWN_CROSSINGS: string[] = [];
const SRC = new URL("../", import.meta.url);
const IMPORT = /^\s*(?:import|export)\b[^;]*?\bfrom\s+"(\.{1,2}\/[^"]+)"/gm;

/** The direct imports of one module under `src/`, as paths relative to `src/`. */
async function importsOf(path: string): Promise<string[]> {
  const url = new URL(path, SRC);
  const source = await Deno.readTextFile(url);
  return [...source.matchAll(IMPORT)]
    .map(([, specifier]) => new URL(specifier, url).pathname)
    .filter((target) => target.startsWith(SRC.pathname))
    .map((target) => target.slice(SRC.pathname.length));
}

test("events: src/core imports nothing of a front-end, a transport, a store or the cluster", async () => {
  const crossings: string[] = [];
  for await (const entry of Deno.readDir(new URL("core/", SRC))) {
    if (!entry.name.endsWith(".ts") || entry.name.endsWith("_test.ts")) continue;
    const from = `core/${entry.name}`;
    for (const target of await importsOf(from)) {
      if (!CORE_MAY_IMPORT.some((allowed) => target.startsWith(allowed))) {
        crossings.push(`${from} -> ${target}`);
      }
    }
  }
  assertEquals(crossings.sort(), KNOWN_CROSSINGS);
  // The reader works: the IRC front-end does import the core.
  assert((await importsOf("irc/irc.ts")).includes("core/hub.ts"));
});

/** A hub with an IRC front-end and a way to register IRC members. */
function ircHub(options: Partial<HubOptions> = {}) {
  const hub = new MemoryHub(options);
  const front = new IrcFront(hub, { serverName: "irc.test", pingInterval: 60_000 });
  const member = (nick: string) => {
    const conn = new MemoryConnection();
    const session = front.session(conn);
    hub.connect(conn, session);
    conn.session = session;
    conn.say(`NICK ${nick}`, `USER ${nick} 0 * :${nick}`);
    conn.take();
    return conn;
  };
  return {
    hub,
    member,
    [Symbol.dispose]() {
      front.close();
      hub[Symbol.dispose]();
    },
  };
}

const lines = (conn: MemoryConnection) => conn.take().map((line) => line.replace(/\r$/, ""));

test("events: a move is a typed result; IRC says 405 for the channel from it", () => {
  using irc = ircHub({ maxRooms: 1 });
  const nc = irc.hub.member("cat");
  const ann = irc.member("ann");
  const ben = irc.member("ben");
  ann.say("JOIN #first");
  assert(lines(ann).some((line) => line.endsWith(" JOIN #first")));
  ben.say("JOIN #second");
  assertEquals(lines(ben), [":irc.test 405 ben #second :You have joined too many channels"]);
  const result = irc.hub.move(nc.session, "third");
  assertEquals(result.ok ? "entered" : result.problem, {
    code: "tooManyRooms",
    max: 1,
    room: "third",
  });
  assertEquals(nc.take(), ["!! too many rooms (max 1); join one of /rooms"]);
  const entered = irc.hub.move(nc.session, "first");
  assert(entered.ok && entered.room.name === "first");
  assertEquals(irc.hub.move(nc.session, "FIRST"), { ok: false, problem: null });
});

test("events: IRC words refusals itself, never with the chat's sentences", () => {
  using irc = ircHub();
  const nc = irc.hub.member("cat");
  nc.say("something to replay");
  const ann = irc.member("ann");
  (ann.session as IrcSession).historySent(2 * HISTORY_BURST);
  ann.say("JOIN #lobby");
  const joined = lines(ann);
  assertEquals(
    joined.filter((line) => / NOTICE /.test(line)),
    [":irc.test NOTICE ann :History is not replayed: too much sent lately (again in 16 s)"],
  );
  assert(!joined.some((line) => line.includes("PRIVMSG")), joined.join(" | "));
  irc.hub.internalError(ann.session, new Error("a bug"));
  assertEquals(lines(ann), [":irc.test NOTICE ann :Internal error (it was logged)"]);
  irc.hub.shutdown();
  assertEquals(lines(ann), [":irc.test NOTICE ann :server shutting down"]);
  assertEquals(nc.take().at(-1), "-- server shutting down");
});

test("events: a kept message has one id: IRC's msgid for message-tags clients, and history's", () => {
  using irc = ircHub();
  const ann = irc.member("ann");
  const ben = irc.member("ben");
  ann.say("CAP REQ :message-tags server-time", "JOIN #lobby");
  ben.say("CAP REQ :message-tags", "JOIN #lobby");
  const nc = irc.hub.member("cat");
  lines(ann);
  lines(ben);
  nc.say("hello");
  const [kept] = irc.hub.history.before("lobby", 1);
  assertEquals(lines(ann), [
    `@time=${
      new Date(kept.time).toISOString()
    };msgid=${kept.id} :cat!cat@chat PRIVMSG #lobby :hello`,
  ]);
  assertEquals(lines(ben), [`@msgid=${kept.id} :cat!cat@chat PRIVMSG #lobby :hello`]);
  assert(/^[0-9a-z]{19}$/.test(kept.id));
  // The replay to a newcomer carries the same id.
  const cid = irc.member("cid");
  cid.say("CAP REQ :message-tags", "JOIN #lobby");
  assert(lines(cid).includes(`@msgid=${kept.id} :cat!cat@chat PRIVMSG #lobby :hello`));
});

test("events: a delivery encodes its event once per format, whatever the number of asks", () => {
  const counts: number[] = [];
  const formats = [0, 1, 2, 3].map((index) => ({
    encode: () => {
      counts[index] = (counts[index] ?? 0) + 1;
      return new Uint8Array([index]);
    },
  }));
  const delivery = new Delivery({ type: "bye", time: 0 });
  for (let round = 0; round < 3; round++) {
    for (const [index, format] of formats.entries()) {
      assertEquals([...delivery.bytes(format)], [index]);
    }
  }
  assertEquals(counts, [1, 1, 1, 1]);
});

/** A cluster link whose claims wait until the test settles them; nobody else is in it. */
function pendingCluster() {
  const claims: ((granted: boolean) => void)[] = [];
  const link: ClusterLink = {
    id: "test",
    connected: true,
    remote: new Map(),
    publish() {},
    remoteName: () => undefined,
    claim: () => new Promise<boolean>((resolve) => claims.push(resolve)),
    membersIn: () => ({ names: [], count: 0 }),
    membersOf: () => [],
    rooms: () => new Map(),
  };
  return { link, claims };
}

test("events: a name being claimed is held apart from members: IRC never sees a nameless member", async () => {
  using irc = ircHub();
  const ann = irc.member("ann");
  const { link, claims } = pendingCluster();
  irc.hub.cluster = link;
  const zed = irc.hub.open();
  zed.say("zed"); // claimed across the cluster: waits
  assertEquals([claims.length, irc.hub.members.has("zed"), irc.hub.claims.has("zed")], [
    1,
    false,
    true,
  ]);
  ann.say("WHO *", "USERHOST zed", "MONITOR + zed");
  const answers = lines(ann);
  assert(!answers.some((line) => line.includes("null")), answers.join(" | "));
  assert(answers.some((line) => / 731 ann :zed/.test(line)), answers.join(" | ")); // offline
  // The name is held meanwhile: nobody else gets it.
  const other = irc.hub.open();
  other.say("zed");
  assertEquals(other.take(), ["!! the name zed is taken", "-- What should we call you?"]);
  claims[0](true);
  await Promise.resolve(); // the claim's answer comes in a microtask
  assertEquals(
    zed.take()[0],
    "-- Hello, zed! You are the first one here. Type /help for commands.",
  );
  assertEquals([irc.hub.members.get("zed"), irc.hub.claims.size], [zed.session, 0]);
  assert(lines(ann).some((line) => / 730 ann :zed!zed@chat/.test(line)));
});
