/**
 * Pins the hub in memory, with no socket: names, rooms, topics, commands,
 * the post hook, flood control and internal errors. The TCP tests
 * (`server_test.ts`, `stress_test.ts`) cover framing, limits and transports.
 *
 * @module
 */

import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
} from "node:assert/strict";
import { Admission } from "./admission.ts";
import { COMMANDS } from "./commands.ts";
import { MemoryHistory } from "./history.ts";
import { type ChatMessage, LOBBY, roomKey } from "./protocol.ts";
import {
  helloName,
  listNames,
  NAME_PROMPT,
  parseHistoryLine,
  parseLine,
  say,
} from "../text/protocol.ts";
import { HISTORY_BURST } from "./session.ts";
import { MemoryConnection, MemoryHub, test } from "../../tests/test_util.ts";
import { TextSession } from "../text/session.ts";
import { IdMaker } from "./ids.ts";

/** Ids for entries kept directly in a store. */
const ids = new IdMaker();

test("everyone starts in the lobby, and a message reaches only the sender's room", () => {
  using hub = new MemoryHub();
  const ann = hub.member("ann");
  const bob = hub.member("bob");
  const cat = hub.member("cat");
  assertEquals(ann.take(), [say.joined("bob"), say.joined("cat")]);
  cat.say("/join dev");
  assertEquals(cat.take(), [say.nowIn("dev", [], 0)]);
  assertEquals(ann.take(), [say.moved("cat", "dev")]);
  assertEquals(bob.take(), [say.joined("cat"), say.moved("cat", "dev")]);
  ann.say("hello lobby");
  cat.say("hello dev");
  assertEquals(bob.take(), ["ann: hello lobby"]);
  assertEquals(cat.take(), []);
  assertEquals(ann.take(), []);
  assertEquals(hub.sessions.size, 3);
  assertEquals([...hub.rooms.keys()].sort(), ["dev", LOBBY]);
});

test("/join tells you who is there and the topic; the room you join sees you arrive", () => {
  using hub = new MemoryHub();
  const ann = hub.member("ann");
  ann.say("/join #Dev", "/topic ship it");
  // The room is Dev: a leading # is only a way to write it (IRC shows it as #Dev).
  assertEquals(ann.take(), [say.nowIn("Dev", [], 0), say.topicSet("ann", "ship it")]);
  assertEquals(hub.rooms.get("dev")?.name, "Dev");
  const bob = hub.member("bob");
  bob.say("/join dev"); // the same room: a leading # and case are ignored
  assertEquals(bob.take(), [say.nowIn("Dev", ["ann"], 1), say.topicIs("Dev", "ship it")]);
  assertEquals(ann.take(), [say.joined("bob")]);
  bob.say("/join DEV", "/join #dev", "/join", "/join no~way", "/join ##dev", "/join #");
  const badName =
    "!! a room name is letters and digits, with _ - . allowed after the first, and may start with #";
  assertEquals(bob.take(), [
    say.alreadyIn("Dev"),
    say.alreadyIn("Dev"),
    say.usage("/join ROOM [KEY]"),
    badName,
    badName, // one # at most: a room name has none of its own
    "!! a room name cannot be empty",
  ]);
  bob.say("/join lobby");
  assertEquals(bob.take(), [say.nowIn(LOBBY, [], 0)]);
  assertEquals(ann.take(), [say.moved("bob", LOBBY)]);
  assertEquals([...hub.rooms.keys()].sort(), ["dev", LOBBY]);
});

test("an empty room disappears; its topic is kept for the next one to make it", () => {
  using hub = new MemoryHub();
  const ann = hub.member("ann");
  ann.say("/join dev", "/topic old", "/join lobby");
  assertEquals(hub.rooms.has("dev"), false);
  ann.take();
  ann.say("/join dev");
  assertEquals(ann.take().slice(0, 2), [say.nowIn("dev", [], 0), say.topicIs("dev", "old")]);
  ann.say("/quit");
  assertEquals(hub.rooms.size, 0);
});

test("/rooms lists rooms by size with member counts and topics", () => {
  using hub = new MemoryHub();
  const ann = hub.member("ann");
  hub.member("bob");
  const cat = hub.member("cat");
  cat.say("/join dev", "/topic the build");
  ann.take();
  ann.say("/rooms");
  assertEquals(ann.take(), [
    say.roomsHeader(2),
    say.roomEntry(LOBBY, 2, ""),
    say.roomEntry("dev", 1, "the build"),
  ]);
  assertEquals(ann.lines, []);
});

test("/who lists your room or another one", () => {
  using hub = new MemoryHub();
  const ann = hub.member("ann");
  const bob = hub.member("bob");
  hub.member("cat").say("/join dev");
  ann.take();
  hub.member("dan").say("/join #dev"); // the same room as cat's
  ann.take();
  ann.say("/who", "/who #dev", "/who dev", "/who nowhere");
  assertEquals(ann.take(), [
    say.online(LOBBY, ["ann", "bob"]),
    say.online("dev", ["cat", "dan"]),
    say.online("dev", ["cat", "dan"]),
    say.noSuchRoom("nowhere"),
  ]);
  assertEquals(bob.take().includes(say.online(LOBBY, ["ann", "bob"])), false);
});

test("names are unique across rooms, and /msg reaches a name in any room", () => {
  using hub = new MemoryHub();
  const ann = hub.member("ann");
  const bob = hub.member("bob");
  bob.say("/join dev");
  const other = hub.open();
  other.say("ANN");
  assertEquals(other.take(), [say.nameTaken("ANN"), NAME_PROMPT]);
  ann.take();
  ann.say("/msg BOB psst");
  assertEquals(bob.take().at(-1), "ann (private): psst");
  assertEquals(ann.take(), [say.privateSent("bob", "psst")]);
  bob.say("/nick ann", "/nick robert");
  assertEquals(bob.take(), [say.nameTaken("ann"), say.renamed("robert")]);
  assertEquals(ann.take(), []); // the rename is told to bob's room, not ann's
});

test("service names are reserved in any case or look-alike, at the prompt and for /nick", () => {
  using hub = new MemoryHub();
  hub.reserve("irc.example");
  const other = hub.open();
  // Case, fullwidth forms and the server's name, then look-alikes: a digit 1 for l,
  // 0 for O, and Cyrillic С and Ѕ (all Cyrillic: a mix of scripts is refused anyway).
  const names = [
    "NickServ",
    "chanserv",
    "ＨｉｓｔＳｅｒｖ",
    "OperServ",
    "Global",
    "nS",
    "Irc.Example",
  ];
  for (const name of [...names, "G1obal", "0S", "\u0421\u0405"]) {
    other.say(name);
    assertEquals(other.take(), [say.nameReserved(name), NAME_PROMPT]);
  }
  const ann = hub.member("ann");
  ann.say("/nick NICKSERV", "/nick cs", "/nick Nickserve");
  assertEquals(ann.take(), [
    say.nameReserved("NICKSERV"),
    say.nameReserved("cs"),
    say.renamed("Nickserve"), // only the names themselves: a longer name is anyone's
  ]);
});

test("--max-rooms: no room is made past the limit, but the lobby is always there", () => {
  using hub = new MemoryHub({ maxRooms: 2 });
  const ann = hub.member("ann");
  const bob = hub.member("bob");
  ann.say("/join dev");
  bob.say("/join ops");
  assertEquals([...hub.rooms.keys()].sort(), ["dev", "ops"]); // the lobby emptied
  const cat = hub.member("cat"); // a newcomer still gets a lobby
  cat.say("/join third");
  assertEquals(cat.take(), [say.tooManyRooms(2)]);
  // Leaving a room you are alone in frees its place.
  bob.take();
  bob.say("/join fourth");
  assertEquals(bob.take(), [say.nowIn("fourth", [], 0)]);
  bob.say("/join dev");
  assertEquals(bob.take(), [say.nowIn("dev", ["ann"], 1)]);
  assertEquals([...hub.rooms.keys()].sort(), ["dev", LOBBY]);
});

test("joins, leaves and moves in one interval are merged into one line, in any order", () => {
  using hub = new MemoryHub({ noticeInterval: 60_000 });
  const watcher = hub.member("watcher"); // its join goes out at once; the next ones wait
  const [a, b, c] = ["a", "b", "c"].map((name) => hub.member(name));
  const lobby = hub.rooms.get(LOBBY)!;
  lobby.flushNotices(true);
  assertEquals(watcher.take(), [say.joined("a, b and c")]);
  hub.member("d");
  a.say("/quit see you");
  b.say("/join dev");
  c.say("/join dev");
  assertEquals(watcher.take(), []);
  lobby.flushNotices(true);
  assertEquals(watcher.take(), ["-- d joined; a left; b and c went to dev"]);
});

test("a merged notice reaches its subjects without themselves", () => {
  using hub = new MemoryHub({ noticeInterval: 60_000 });
  const watcher = hub.member("watcher");
  const [fran, gus] = ["fran", "gus"].map((name) => hub.member(name));
  const crowd = Array.from({ length: 23 }, (_, i) => hub.member(`m${i}`));
  const lobby = hub.rooms.get(LOBBY)!;
  for (const member of [watcher, fran, gus, ...crowd]) member.take();
  lobby.flushNotices(true);
  const names = ["fran", "gus", ...crowd.map((_, i) => `m${i}`)];
  assertEquals(watcher.take(), [say.joined(listNames(names))]);
  assertEquals(fran.take(), [say.joined(listNames(names.slice(1)))]);
  assertEquals(crowd[0].take(), [say.joined(listNames(names.filter((n) => n !== "m0")))]);
  assertEquals(crowd[22].take(), [say.joined(listNames(names.slice(0, -1)))]);
  // Two in one line: each is told of the other alone.
  const [hal, ida] = ["hal", "ida"].map((name) => hub.member(name));
  hal.take();
  ida.take();
  lobby.flushNotices(true);
  assertEquals(hal.take(), [say.joined("ida")]);
  assertEquals(ida.take(), [say.joined("hal")]);
});

test("a join not yet announced is cancelled by a leave or a move: no notice at all", () => {
  using hub = new MemoryHub({ noticeInterval: 60_000 });
  const watcher = hub.member("watcher");
  hub.member("quick").say("/quit");
  hub.member("mover").say("/join dev");
  hub.rooms.get(LOBBY)!.flushNotices(true);
  assertEquals(watcher.take(), []);
});

test("speaking announces a pending join first, at most once an interval", () => {
  using hub = new MemoryHub({ noticeInterval: 60_000, joinGrace: 60_000 });
  const watcher = hub.member("watcher");
  const ann = hub.member("ann");
  ann.say("hi");
  // The merged line reaches its own subjects without them (issue: "fran and gus joined" to fran).
  assertEquals(watcher.take(), [say.joined("ann"), "ann: hi"]);
  assertEquals(ann.take().slice(-1), [say.joined("watcher")]);
  // A notice line went out just now: the next newcomer is introduced by its own words.
  const bob = hub.member("bob");
  bob.say("hello");
  assertEquals(watcher.take(), ["bob: hello"]);
  bob.say("/quit"); // bob was heard, so his leave is told (when the interval allows)
  hub.rooms.get(LOBBY)!.flushNotices(true);
  assertEquals(watcher.take(), [say.left("bob")]);
});

test("/help and /quit work before a name is chosen; other commands wait for a name", () => {
  using hub = new MemoryHub();
  const shy = hub.open();
  shy.say("/who", "/help");
  const lines = shy.take();
  assertEquals(lines.slice(0, 3), [say.nameFirst, NAME_PROMPT, say.helpHeader]);
  // Before a name, none of the commands listed only to some (moderation) are listed.
  const listed = COMMANDS.filter((command) => !command.mayUse).length;
  assertEquals(lines.length, 3 + listed + 1 + 1); // entries, //TEXT, the question
  assertEquals(lines.at(-1), NAME_PROMPT);
  shy.say("/quit");
  assertEquals(shy.take(), [say.bye]);
  assertEquals(shy.closed, true);
  assertEquals(hub.sessions.size, 0);
});

test("every message passes the post hook once; notices and refusals do not", () => {
  using hub = new MemoryHub();
  const posted: ChatMessage[] = [];
  hub.postHooks.push((message) => posted.push(message));
  const ann = hub.member("ann");
  hub.member("bob");
  ann.say("hi", "/me waves", "/msg bob psst", "/msg nobody hi", "//slash", "/join dev");
  ann.say("in dev");
  const seen = posted.map(({ kind, from, room, to, text }) => ({ kind, from, room, to, text }));
  assertEquals(seen, [
    { kind: "message", from: "ann", room: LOBBY, to: undefined, text: "hi" },
    { kind: "action", from: "ann", room: LOBBY, to: undefined, text: "waves" },
    { kind: "private", from: "ann", room: LOBBY, to: "bob", text: "psst" },
    { kind: "message", from: "ann", room: LOBBY, to: undefined, text: "/slash" },
    { kind: "message", from: "ann", room: "dev", to: undefined, text: "in dev" },
  ]);
  assert(posted.every((message) => Math.abs(message.time - Date.now()) < 5_000));
  assertEquals(hub.messages, 5);
});

test("a bug in a command is logged with its stack; the user sees only 'internal error'", () => {
  const boom = {
    name: "/boom",
    usage: "/boom",
    summary: "fails",
    run() {
      throw new TypeError("Cannot read properties of undefined (reading 'secret')");
    },
  };
  using hub = new MemoryHub({}, [...COMMANDS, boom]);
  const ann = hub.member("ann");
  const bob = hub.member("bob");
  ann.take();
  bob.say("/boom", "still here");
  assertEquals(bob.take(), [say.internalError]);
  assertEquals(ann.take(), ["bob: still here"]);
  const logged = hub.logged.find((line) => line.startsWith("internal error"));
  assertMatch(logged!, /TypeError: Cannot read properties.*\n\s+at /);
  assertEquals(bob.closed, undefined);
});

test("flood control pauses input when the bucket is empty and resumes with nothing lost", async () => {
  using hub = new MemoryHub({ rate: 100, burst: 2 });
  const ann = hub.member("ann"); // the name took one token
  const bob = hub.member("bob");
  ann.take();
  const resumed = ann.resumed();
  ann.say("1", "2", "3", "4");
  assertEquals(ann.paused, true);
  assertEquals(bob.take(), ["ann: 1"]);
  await resumed;
  // Lines read while paused wait their turn behind the held ones.
  const again = ann.resumed();
  ann.say("5");
  if (ann.paused) await again;
  assertEquals(bob.take(), ["ann: 2", "ann: 3", "ann: 4", "ann: 5"]);
});

test("a name not given in time closes the connection with the reason", async () => {
  using hub = new MemoryHub({ nameTimeout: 10 });
  const shy = hub.open();
  const named = hub.member("ann");
  await shy.whenClosed;
  assertEquals(shy.take(), [say.noNameInTime]);
  assertEquals(named.closed, undefined);
});

test("flood control charges a token per started 512 bytes, refused long lines included", async () => {
  using hub = new MemoryHub({ rate: 100, burst: 10, maxLine: 4096 });
  const ann = hub.member("ann"); // the name took 1 token of 10
  const bob = hub.member("bob");
  ann.take();
  const resumed = ann.resumed();
  ann.say("x".repeat(4096), "y".repeat(4096)); // 8 tokens each: the second waits
  assertEquals(ann.paused, true);
  assertEquals(bob.take(), [`ann: ${"x".repeat(4096)}`]);
  await resumed;
  assertEquals(bob.take(), [`ann: ${"y".repeat(4096)}`]);
  // The bucket is empty again: a refused line over the limit waits its 9 tokens too.
  const again = ann.resumed();
  ann.say("z".repeat(5000), "short");
  assertEquals(ann.paused, true);
  assertEquals(ann.take(), []);
  await again;
  assertEquals(ann.take(), [say.lineTooLong(4096)]);
  assertEquals(bob.take(), ["ann: short"]);
});

test("a client that half-closes while throttled has every line handled before it leaves", async () => {
  using hub = new MemoryHub({ rate: 100, burst: 2 });
  const ann = hub.member("ann");
  const bob = hub.member("bob");
  ann.say("1", "2", "3", "4", "5");
  ann.session.ended(); // EOF, with lines still held back
  await ann.whenClosed;
  assertEquals(bob.take(), ["ann: 1", "ann: 2", "ann: 3", "ann: 4", "ann: 5", say.left("ann")]);
});

test("a notice names a member as it was called when it happened", () => {
  using hub = new MemoryHub({ noticeInterval: 60_000 });
  const watcher = hub.member("watcher");
  const cat = hub.member("cat");
  hub.rooms.get(LOBBY)!.flushNotices(true);
  watcher.take();
  cat.say("/join dev", "/nick kitty");
  hub.rooms.get(LOBBY)!.flushNotices(true);
  assertEquals(watcher.take(), [say.moved("cat", "dev")]);
});

test("a private message does not cancel its sender's join notice for the room", () => {
  using hub = new MemoryHub({ noticeInterval: 60_000, joinGrace: 60_000 });
  const watcher = hub.member("watcher");
  const ann = hub.member("ann");
  const lobby = hub.rooms.get(LOBBY)!;
  lobby.flushNotices(true); // a notice line just went out
  watcher.take();
  ann.take();
  const x = hub.member("x");
  x.say("/msg ann hi");
  assertEquals(ann.take(), ["x (private): hi"]);
  lobby.flushNotices(true);
  assertEquals(watcher.take(), [say.joined("x")]);
});

test("/who in a big room lists the first 100 to have joined, sorted, and a count", () => {
  using hub = new MemoryHub();
  const members = Array.from(
    { length: 150 },
    (_, i) => hub.member(`m${String(i).padStart(3, "0")}`),
  );
  const asker = members[149];
  asker.take();
  asker.say("/who");
  const names = Array.from({ length: 100 }, (_, i) => `m${String(i).padStart(3, "0")}`);
  assertEquals(asker.take(), [say.online(LOBBY, names, 150)]);
  assertEquals(say.online(LOBBY, ["a"], 3), "-- Online in lobby (3): a and 2 more");
});

test("a topic is at most 300 characters", () => {
  using hub = new MemoryHub();
  const ann = hub.member("ann");
  ann.say(`/topic ${"t".repeat(301)}`, `/topic ${"t".repeat(300)}`);
  assertEquals(ann.take(), [say.topicTooLong(300), say.topicSet("ann", "t".repeat(300))]);
});

test("a session shed for the output budget mid-line leaves cleanly: no ghost name", async () => {
  using hub = new MemoryHub({ maxLine: 10 });
  const conn = new SheddingConnection(hub);
  conn.session = hub.connect(conn, new TextSession(hub, conn))!;
  // The error for the long line is the delivery that passes the budget; the name after it
  // is still handled, and the member is then taken out properly.
  conn.say("x".repeat(20), "ghost");
  await conn.whenClosed;
  await Promise.resolve();
  assertEquals(hub.sessions.size, 0);
  assertEquals(hub.members.size, 0);
  assertEquals(hub.rooms.size, 0);
});

/** A connection whose backlog is large, and which sheds the hub's load on its next delivery. */
class SheddingConnection extends MemoryConnection {
  override queuedBytes = 1 << 20;
  #armed = true;
  constructor(readonly hub: MemoryHub) {
    super();
  }
  override deliver(bytes: Uint8Array): void {
    super.deliver(bytes);
    if (this.#armed && this.session) {
      this.#armed = false;
      this.hub.shed(1);
    }
  }
}

test("whoever joins gets the room's last lines first, marked as history, then live ones", () => {
  using hub = new MemoryHub({ replay: 2 });
  const ann = hub.member("ann");
  hub.member("cat");
  ann.say("one", "/me waves", "/msg cat secret", "three");
  const bob = hub.open();
  bob.say("bob");
  const [hello, header, first, second, end] = bob.take();
  assertEquals(helloName(hello), "bob");
  assertEquals(header, say.historyHeader(LOBBY, 2));
  assertEquals(parseHistoryLine(first)!.line, "* ann waves");
  assertEquals(parseHistoryLine(second)!.line, "ann: three");
  assertEquals(end, say.historyEnd);
  // A replayed line is none of the live classes, and carries its time to the second.
  assertEquals(parseLine(second).kind, "other");
  assert(Math.abs(parseHistoryLine(second)!.time.getTime() - Date.now()) < 5_000);
  ann.say("live");
  assertEquals(bob.take(), ["ann: live"]);
});

test("/history pages back through older lines, and says when there are none", () => {
  using hub = new MemoryHub({ replay: 3 });
  const ann = hub.member("ann");
  for (let i = 0; i < 10; i++) ann.say(`line ${i}`);
  const bob = hub.member("bob"); // shown lines 7-9
  bob.take();
  bob.say("/history 4");
  const page = bob.take();
  assertEquals(page[0], say.earlierHeader(LOBBY, 4));
  assertEquals(page.slice(1, -1).map((line) => parseHistoryLine(line)!.line), [
    "ann: line 3",
    "ann: line 4",
    "ann: line 5",
    "ann: line 6",
  ]);
  bob.say("/history");
  assertEquals(bob.take().length, 3 + 2); // lines 0-2, header and end
  bob.say("/history", "/history x y", "/history x");
  assertEquals(bob.take(), [
    say.noEarlier(LOBBY),
    say.usage("/history [NAME] [N]"),
    // A name pages a private conversation: an account's only.
    "!! you are not logged in; /login NAME PASSWORD",
  ]);
});

test("/join replays the room entered; a topic outlives its room's emptiness", () => {
  using hub = new MemoryHub();
  const ann = hub.member("ann");
  ann.say("/join dev", "/topic ship it", "in dev", "/join lobby");
  assertEquals(hub.rooms.has("dev"), false);
  const bob = hub.member("bob");
  bob.take();
  bob.say("/join dev");
  const lines = bob.take();
  assertEquals(lines.slice(0, 3), [
    say.nowIn("dev", [], 0),
    say.topicIs("dev", "ship it"),
    say.historyHeader("dev", 1),
  ]);
  assertEquals(parseHistoryLine(lines[3])!.line, "ann: in dev");
});

test("history in memory is bounded per room and in the number of rooms", () => {
  const history = new MemoryHistory(5, 2);
  for (let i = 0; i < 100; i++) {
    history.add("a", { id: ids.next(), kind: "message", from: "x", text: `${i}`, time: 0 });
  }
  assertEquals(history.before("a", 100).map((entry) => entry.text), ["95", "96", "97", "98", "99"]);
  history.add("b", { id: ids.next(), kind: "message", from: "x", text: "b", time: 0 });
  history.add("c", { id: ids.next(), kind: "message", from: "x", text: "c", time: 0 }); // "a" is forgotten
  assertEquals(history.before("a", 10), []);
  assertEquals(history.before("c", 10).length, 1);
});

test("history in memory keeps the sender's account, and only what an entry is", () => {
  const history = new MemoryHistory(5, 2);
  const message = { id: ids.next(), kind: "message" as const, from: "ann", text: "hi", time: 1 };
  history.add("a", { ...message, room: "a", account: "Ann" } as typeof message);
  history.add("a", { ...message, id: ids.next(), from: "bob" });
  const [ann, bob] = history.before("a", 10);
  assertEquals(ann, { ...message, account: "Ann" }); // the room (a message's) is not kept
  assertEquals(bob, { ...message, id: bob.id, from: "bob" });
  assert(!("account" in bob), "a guest's entry has no account key");
});

test("/history after entering a room with no history does not repeat lines seen live", () => {
  using hub = new MemoryHub();
  const ann = hub.member("ann");
  const bob = hub.member("bob");
  bob.say("/join dev");
  ann.say("/join dev", "one", "two");
  bob.take();
  bob.say("/history");
  assertEquals(bob.take(), [say.noEarlier("dev")]);
});

test("a /history answer is capped in bytes, so a long page cannot overflow the asker", () => {
  using hub = new MemoryHub({ replay: 0 });
  const ann = hub.member("ann");
  for (let i = 0; i < 200; i++) ann.say(`${i} ${"x".repeat(4000)}`);
  const bob = hub.member("bob");
  bob.say("/join dev", "/join lobby"); // entering again: /history starts from now
  bob.take();
  ann.say("after"); // bob sees this one live
  bob.take();
  const cursorless = hub.member("cat");
  cursorless.say("/history 500");
  const lines = cursorless.take();
  const bytes = lines.reduce((sum, line) => sum + line.length, 0);
  assert(bytes <= 300 * 1024, `${bytes} bytes in one answer`);
  assert(lines.length > 10, "some history was sent");
});

test("history is rated by the bytes sent: paging on and on is refused, a replay goes out", () => {
  using hub = new MemoryHub({ replay: 20 });
  const line = "h".repeat(3900);
  for (let i = 0; i < 300; i++) {
    hub.history.add(roomKey("amp"), {
      id: ids.next(),
      kind: "message",
      from: "x",
      text: `${i} ${line}`,
      time: 0,
    });
  }
  const ann = hub.member("ann");
  ann.say("/join amp"); // a replay of 20 lines: 78 KB
  const replay = ann.take();
  assertEquals(replay.filter((text) => parseHistoryLine(text)).length, 20);
  // Paging back as fast as it can: answers while its share lasts, then a refusal.
  let sent = replay.reduce((sum, text) => sum + text.length + 1, 0);
  let answers = 0;
  let refusal: string | undefined;
  while (refusal === undefined && answers < 10) {
    ann.say("/history 500");
    const lines = ann.take();
    if (lines[0].startsWith("!! ")) refusal = lines[0];
    else answers++;
    sent += lines.reduce((sum, text) => sum + text.length + 1, 0);
  }
  assertMatch(refusal!, /^!! too much history sent to you lately; \/history works again in \d+ s$/);
  assert(answers >= 1, "a page was answered");
  assert(sent <= HISTORY_BURST + 256 * 1024, `${sent} bytes of history at once`);
  // Others are not held back by ann's share, and neither is ann's chat.
  const bob = hub.member("bob");
  bob.say("/join amp");
  assertEquals(bob.take().filter((text) => parseHistoryLine(text)).length, 20);
  ann.say("still here");
  assertEquals(bob.take(), ["ann: still here"]);
});

/** A connection from `remote` (`host:port`). */
class ConnectionFrom extends MemoryConnection {
  constructor(override readonly remote: string) {
    super();
  }
}

/** A member named `name` connected from `remote`, with what it was sent so far taken. */
function memberFrom(hub: MemoryHub, name: string, remote: string): MemoryConnection {
  const conn = new ConnectionFrom(remote);
  conn.session = hub.connect(conn, new TextSession(hub, conn))!;
  conn.say(name);
  conn.take();
  return conn;
}

test("rooms made per address are bounded (an IPv6 /64 is one), exempt networks are not", () => {
  using hub = new MemoryHub({ maxRooms: 16 }); // an eighth: 2, so at least 4
  hub.admission = new Admission({
    maxClients: 100,
    maxPerAddress: 0,
    connectRate: 0,
    connectBurst: 10,
    exempt: ["10.9.0.0/16"],
  });
  assertEquals(hub.roomsPerAddress, 4);
  const hogs = ["a", "b", "c", "d"].map((room, i) => {
    const hog = memberFrom(hub, `hog${i}`, `[2001:db8::${i}]:${1000 + i}`);
    hog.say(`/join ${room}`);
    assertMatch(hog.take()[0], /^-- You are now in /);
    return hog;
  });
  const fifth = memberFrom(hub, "hog4", "[2001:db8::ff]:2000");
  fifth.say("/join e");
  assertEquals(fifth.take(), [say.tooManyRoomsFromAddress(4)]);
  // Joining a room that exists is no making; and a room made counts only while it exists.
  fifth.say("/join a");
  assertMatch(fifth.take()[0], /^-- You are now in a\./);
  hogs[3].say("/join lobby");
  hogs[3].take();
  fifth.say("/join e");
  assertMatch(fifth.take()[0], /^-- You are now in e\./);
  // Moving out of a room one made and is alone in makes room for the next.
  fifth.say("/join f");
  assertMatch(fifth.take()[0], /^-- You are now in f\./);
  // Another address, and an exempt network, are not held back by it.
  const other = memberFrom(hub, "other", "[2001:db8:0:1::1]:3000");
  other.say("/join g");
  assertMatch(other.take()[0], /^-- You are now in g\./);
  for (let i = 0; i < 6; i++) {
    const trusted = memberFrom(hub, `trusted${i}`, `10.9.1.${i}:4000`);
    trusted.say(`/join t${i}`);
    assertMatch(trusted.take()[0], /^-- You are now in t\d\./);
  }
});
