/**
 * Pins the shape of the event core: it imports no front-end, hub operations give
 * typed results, and IRC renders refusals and replies from events with words of its
 * own, never the chat's sentences.
 *
 * @module
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { IrcFront, type IrcSession } from "./irc.ts";
import { HISTORY_BURST } from "./session.ts";
import { MemoryConnection, MemoryHub, test } from "../test_util.ts";
import type { HubOptions } from "./hub.ts";

/** Modules that carry or render one front-end's protocol: the core must not need them. */
const FRONT_ENDS = ["irc.ts", "irc_format.ts", "web.ts", "websocket.ts", "tcp.ts", "http.ts"]
  .concat(["page.ts", "telnet.ts"]);
/** The core: the events, the hub and what it is made of. */
const CORE = ["events.ts", "hub.ts", "session.ts", "room.ts", "commands.ts"];
const IMPORT = /^\s*(?:import|export)\b[^;]*?\bfrom\s+"(\.{1,2}\/[^"]+)"/gm;

/** The chat/ modules `file` imports, directly or through others (type imports included). */
async function importsOf(file: string): Promise<Set<string>> {
  const seen = new Set<string>();
  const queue = [file];
  while (queue.length > 0) {
    const url = new URL(queue.pop()!, import.meta.url);
    const source = await Deno.readTextFile(url);
    for (const [, specifier] of source.matchAll(IMPORT)) {
      const target = new URL(specifier, url);
      if (!target.pathname.startsWith(new URL(".", import.meta.url).pathname)) continue;
      const name = target.pathname.split("/").pop()!;
      if (seen.has(name)) continue;
      seen.add(name);
      queue.push(`./${name}`);
    }
  }
  return seen;
}

test("events: the core (events, hub, sessions, rooms, commands) imports no front-end", async () => {
  for (const file of CORE) {
    const imports = await importsOf(`./${file}`);
    assert(imports.size > 0 || file === "events.ts", `${file}: no imports found`);
    const fronts = FRONT_ENDS.filter((front) => imports.has(front));
    assertEquals(fronts, [], `${file} imports ${fronts.join(", ")}`);
  }
  // The reader works: the IRC front-end does import the core.
  assert((await importsOf("./irc.ts")).has("hub.ts"));
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
