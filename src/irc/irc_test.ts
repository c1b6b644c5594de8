/**
 * Tests of the IRC front-end: driven in memory against a hub, with chat
 * (`nc`-style) members beside IRC ones, and end to end over TCP.
 *
 * @module
 */

import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
} from "node:assert/strict";
import { IrcFront, IrcSession } from "./irc.ts";
import { failed, type Problem } from "../core/events.ts";
import { problemWords } from "../text/render.ts";
import { Cloaks } from "../core/cloak.ts";
import { byteLength, parseCommand, splitUtf8 } from "./format.ts";
import {
  eventually,
  LineClient,
  MemoryConnection,
  MemoryHub,
  quietServer,
  test,
} from "../../tests/test_util.ts";
import { type HubOptions, ROOMS_PER_MEMBER } from "../core/hub.ts";
import { Cluster, type ClusterBus } from "../cluster/cluster.ts";
import { helloName, say } from "../text/protocol.ts";
import { Accounts, DEFAULT_POLICY, MemoryAccountStore } from "../core/accounts.ts";
import { pairKey } from "../core/private.ts";

/** The cloaks of every test hub's IRC front-end (a fixed key, so that hosts are known). */
const TEST_CLOAKS = new Cloaks("a test key, sixteen characters or more");
/** The host IRC shows for a member whose connection is a test's `MemoryConnection`. */
const MEMORY_HOST = TEST_CLOAKS.of("memory");

const encoder = new TextEncoder();

/** A connection that also keeps every chunk delivered, to compare them by identity. */
class ChunkConnection extends MemoryConnection {
  readonly chunks: Uint8Array[] = [];
  override deliver(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    super.deliver(bytes);
  }
}

/** A hub with an IRC front-end, disposed together. */
class IrcHub extends MemoryHub {
  readonly front: IrcFront;
  constructor(options: Partial<HubOptions> = {}, pingInterval = 60_000) {
    super(options);
    this.front = new IrcFront(this, {
      serverName: "irc.test",
      pingInterval,
      cloaks: TEST_CLOAKS,
    });
  }

  /** An IRC connection, not registered yet. */
  irc(conn = new ChunkConnection()): ChunkConnection {
    const session = this.front.session(conn);
    this.connect(conn, session);
    conn.session = session;
    return conn;
  }

  /** An IRC client registered as `nick` (with `caps`), its welcome taken. */
  ircMember(nick: string, ...caps: string[]): ChunkConnection {
    const conn = this.irc();
    if (caps.length > 0) conn.say(`CAP REQ :${caps.join(" ")}`);
    conn.say(`NICK ${nick}`, `USER ${nick} 0 * :${nick} here`);
    if (caps.length > 0) conn.say("CAP END");
    const lines = ircLines(conn);
    if (!lines.some((line) => / 422 /.test(line))) throw new Error(lines.join(" | "));
    return conn;
  }

  override [Symbol.dispose](): void {
    this.front.close();
    super[Symbol.dispose]();
  }
}

/** Lines delivered so far, without their CR. */
function ircLines(conn: MemoryConnection): string[] {
  return conn.take().map((line) => line.replace(/\r$/, ""));
}

/** The commands (or numerics) of the lines delivered so far. */
function commands(conn: MemoryConnection): string[] {
  return ircLines(conn).map((line) => parseCommand(line)!.command);
}

test("irc: registration waits for CAP END and gives 001 to 005 and 422", () => {
  using hub = new IrcHub();
  const conn = hub.irc();
  conn.say("CAP LS 302", "NICK 张三", "USER zs 0 * :Zhang San");
  const before = ircLines(conn);
  assertEquals(before.length, 1);
  assertMatch(before[0], /^:irc\.test CAP \* LS :.*server-time/);
  conn.say("CAP REQ :server-time echo-message", "CAP END");
  const lines = ircLines(conn);
  assertEquals(lines[0], ":irc.test CAP 张三 ACK :server-time echo-message");
  assertEquals(
    lines.slice(1).map((line) => line.split(" ")[1]),
    ["001", "002", "003", "004", "005", "005", "251", "254", "255", "265", "266", "422"],
  );
  assert(lines.some((line) => / UTF8ONLY /.test(line)));
  assert(hub.members.has("张三") || hub.members.size === 1);
  assertEquals((conn.session as IrcSession).name, "张三");
  assertEquals(conn.session.room, null); // in no room until it joins one
});

test("irc: commands before registration get 451, PING a PONG", () => {
  using hub = new IrcHub();
  const conn = hub.irc();
  conn.say("JOIN :", "PRIVMSG x :hi", "PING abc");
  assertEquals(ircLines(conn), [
    ":irc.test 451 * :You have not registered",
    ":irc.test 451 * :You have not registered",
    ":irc.test PONG irc.test :abc",
  ]);
});

test("irc: a bad nick is 432, a taken one 433, whoever took it", () => {
  using hub = new IrcHub();
  hub.member("alice"); // a chat (nc) member
  const conn = hub.irc();
  conn.say("NICK a*b", "NICK ALICE", "NICK #x", "NICK");
  assertEquals(commands(conn), ["432", "433", "432", "431"]);
});

test("irc: JOIN echoes, lists names and the topic; a chat member sees the join", () => {
  using hub = new IrcHub();
  const nc = hub.member("bob");
  nc.say("/join dev", "/topic 发布 on Friday");
  nc.take();
  const irc = hub.ircMember("alice");
  irc.say("JOIN #dev");
  const lines = ircLines(irc);
  assertEquals(lines[0], `:alice!alice@${MEMORY_HOST} JOIN #dev`);
  assertEquals(lines[1], ":irc.test 332 alice #dev :发布 on Friday");
  assertMatch(lines[2], /^:irc\.test 333 alice #dev bob :\d+$/);
  // bob made the room: its operator while it stays (a guest's room, as on IRC).
  assertMatch(lines[3], /^:irc\.test 353 alice = #dev :(@bob alice|alice @bob)$/);
  assertEquals(lines[4], ":irc.test 366 alice #dev :End of /NAMES list");
  assertEquals(nc.take(), ["-- alice joined"]);
});

test("irc: messages go both ways, Chinese, actions and private ones included", () => {
  using hub = new IrcHub();
  const nc = hub.member("bob");
  const irc = hub.ircMember("alice");
  irc.say("JOIN #lobby");
  ircLines(irc);
  nc.take();
  irc.say("PRIVMSG #lobby :你好，世界", "PRIVMSG #lobby :\x01ACTION 挥手\x01", "PRIVMSG bob :私聊");
  assertEquals(nc.take(), ["alice: 你好，世界", "* alice 挥手", "alice (private): 私聊"]);
  nc.say("大家好", "/me 笑了", "/msg alice 悄悄话");
  assertEquals(ircLines(irc), [
    ":bob!bob@chat PRIVMSG #lobby :大家好",
    ":bob!bob@chat PRIVMSG #lobby :\x01ACTION 笑了\x01",
    ":bob!bob@chat PRIVMSG alice :悄悄话",
  ]);
});

test("irc: nc's /join #dev and IRC's JOIN #dev are one room, #dev on IRC (never ##dev)", () => {
  using hub = new IrcHub();
  const nc = hub.member("bob");
  nc.say("/join #dev");
  assertEquals(nc.take(), [say.nowIn("dev", [], 0)]);
  const irc = hub.ircMember("alice");
  irc.say("JOIN #dev");
  const joined = ircLines(irc);
  assertEquals(joined[0], `:alice!alice@${MEMORY_HOST} JOIN #dev`);
  assertEquals(joined[1], ":irc.test 353 alice = #dev :@bob alice");
  assertEquals(nc.take(), [say.joined("alice")]);
  nc.say("hi from nc");
  assertEquals(ircLines(irc), [":bob!bob@chat PRIVMSG #dev :hi from nc"]);
  irc.say("PRIVMSG #dev :hi from irc");
  assertEquals(nc.take(), ["alice: hi from irc"]);
  // The room is +t and bob, its maker, operates it: he sets the topic.
  hub.member("carl").say("/join dev");
  nc.say("/topic 周五发布");
  assertEquals(ircLines(irc), [
    `:carl!carl@chat JOIN #dev`,
    `:bob!bob@chat TOPIC #dev :周五发布`,
  ]);
  nc.take();
  irc.say("LIST", "WHOIS bob");
  const listed = ircLines(irc).filter((line) => / (322|319) /.test(line));
  assertEquals(listed.filter((line) => / 322 /.test(line)), [
    ":irc.test 322 alice #dev 3 :周五发布",
  ]);
  assertEquals(listed.filter((line) => / 319 /.test(line)), [":irc.test 319 alice bob :@#dev"]);
  // A room name has no # of its own: ##dev is no channel, not another way to say #dev.
  irc.say("JOIN ##dev", "PRIVMSG ##dev :lost?", "JOIN #");
  assertEquals(ircLines(irc), [
    ":irc.test 479 alice ##dev :Illegal channel name",
    ":irc.test 403 alice ##dev :No such channel",
    ":irc.test 479 alice # :Illegal channel name",
  ]);
  assertEquals(nc.take(), []);
  assertEquals([...hub.rooms.keys()], ["dev"]);
});

test("irc: a message is made into IRC once for all IRC recipients", () => {
  using hub = new IrcHub();
  const nc = hub.member("bob");
  const a = hub.ircMember("a1");
  const b = hub.ircMember("b2");
  const timed = hub.ircMember("c3", "server-time");
  for (const conn of [a, b, timed]) conn.say("JOIN #lobby");
  for (const conn of [a, b, timed]) conn.chunks.length = 0;
  nc.say("one line for everyone");
  assertEquals(a.chunks.length, 1);
  assert(a.chunks[0] === b.chunks[0], "the same bytes, not a copy per recipient");
  assertMatch(
    new TextDecoder().decode(timed.chunks[0]),
    /^@time=\d{4}-\d\d-\d\dT[\d:.]+Z :bob!bob@chat PRIVMSG #lobby :one line for everyone\r\n$/,
  );
});

test("irc: echo-message echoes; NOTICE stays a NOTICE and is never answered", () => {
  using hub = new IrcHub();
  const a = hub.ircMember("ann", "echo-message");
  const b = hub.ircMember("ben");
  a.say("JOIN #x");
  b.say("JOIN #x");
  ircLines(a);
  ircLines(b);
  a.say("PRIVMSG #x :hello", "NOTICE #x :heads up", "NOTICE nobody :lost");
  const echoed = ircLines(a);
  assertEquals(echoed, [
    `:ann!ann@${MEMORY_HOST} PRIVMSG #x :hello`,
    `:ann!ann@${MEMORY_HOST} NOTICE #x :heads up`,
  ]);
  assertEquals(ircLines(b), echoed);
});

test("irc: JOIN adds a channel (the others stay); PART leaves one; QUIT and NICK once per person", () => {
  using hub = new IrcHub();
  const nc = hub.member("bob");
  const a = hub.ircMember("ann");
  const b = hub.ircMember("ben");
  a.say("JOIN #lobby");
  b.say("JOIN #lobby");
  ircLines(a);
  ircLines(b);
  nc.take();
  a.say("JOIN #dev,#ops");
  const joined = ircLines(a).filter((line) => / (JOIN|PART) /.test(line));
  assertEquals(joined, [`:ann!ann@${MEMORY_HOST} JOIN #dev`, `:ann!ann@${MEMORY_HOST} JOIN #ops`]);
  assertEquals(ircLines(b), []); // ann is still in #lobby
  b.say("JOIN #dev");
  assertEquals(ircLines(a), [`:ben!ben@${MEMORY_HOST} JOIN #dev`]);
  ircLines(b);
  // A line to any channel one is in goes there, and only there.
  a.say("PRIVMSG #lobby :to the lobby", "PRIVMSG #dev :to dev");
  assertEquals(ircLines(b), [
    `:ann!ann@${MEMORY_HOST} PRIVMSG #lobby :to the lobby`,
    `:ann!ann@${MEMORY_HOST} PRIVMSG #dev :to dev`,
  ]);
  assertEquals(nc.take().filter((line) => !line.startsWith("--")), ["ann: to the lobby"]);
  b.say("WHOIS ann");
  const whois = ircLines(b).find((line) => / 319 /.test(line));
  assertEquals(whois, `:irc.test 319 ben ann :#lobby @#dev @#ops`);
  // One NICK to ben, who shares two channels with ann.
  a.say("NICK anna");
  assertEquals(ircLines(b), [`:ann!ann@${MEMORY_HOST} NICK anna`]);
  a.say("PART #dev :bye dev");
  assertEquals(ircLines(b), [`:anna!ann@${MEMORY_HOST} PART #dev :bye dev`]);
  a.say("PART #dev");
  assertEquals(commands(a).slice(-1), ["442"]);
  a.say("PRIVMSG #lobby :still here");
  assertEquals(ircLines(b), [`:anna!ann@${MEMORY_HOST} PRIVMSG #lobby :still here`]);
  a.say("JOIN #dev");
  ircLines(b);
  a.say("QUIT :gone");
  assertEquals(ircLines(b), [`:anna!ann@${MEMORY_HOST} QUIT :Quit: gone`]);
  nc.say("/quit see you");
  assertEquals(ircLines(b), [":bob!bob@chat QUIT :Quit: see you"]);
  b.say("PART #lobby :bye now");
  assertEquals(ircLines(b), [`:ben!ben@${MEMORY_HOST} PART #lobby :bye now`]);
  b.say("PART #lobby");
  assertEquals(commands(b), ["403"]); // the room is gone with its last member
});

test("irc: a member is in CHANLIMIT channels at most (405), and 005 says so", () => {
  using hub = new IrcHub();
  const a = hub.irc();
  a.say("NICK ann", "USER ann 0 * :Ann");
  assert(ircLines(a).some((line) => line.includes(` CHANLIMIT=#:${ROOMS_PER_MEMBER} `)));
  const channels = Array.from({ length: ROOMS_PER_MEMBER + 1 }, (_, i) => `#r${i}`);
  // TARGMAX=JOIN:4: four a line.
  for (let i = 0; i < channels.length; i += 4) a.say(`JOIN ${channels.slice(i, i + 4).join(",")}`);
  const lines = ircLines(a);
  assertEquals(lines.filter((line) => / JOIN /.test(line)).length, ROOMS_PER_MEMBER);
  assertEquals(lines.filter((line) => / 405 /.test(line)), [
    `:irc.test 405 ann #r${ROOMS_PER_MEMBER} :You have joined too many channels`,
  ]);
});

test("irc: NICK and TOPIC reach IRC and chat members alike", () => {
  using hub = new IrcHub();
  const nc = hub.member("bob");
  const a = hub.ircMember("ann");
  a.say("JOIN #lobby");
  ircLines(a);
  nc.take();
  a.say("NICK 安娜");
  assertEquals(ircLines(a), [`:ann!ann@${MEMORY_HOST} NICK 安娜`]);
  assertEquals(nc.take(), ["-- ann is now known as 安娜"]);
  nc.say("/nick 鲍勃");
  assertEquals(ircLines(a), [":bob!bob@chat NICK 鲍勃"]);
  nc.take();
  a.say("TOPIC #lobby :new topic");
  assertEquals(ircLines(a), [`:安娜!ann@${MEMORY_HOST} TOPIC #lobby :new topic`]);
  assertEquals(nc.take(), ["-- 安娜 set the topic: new topic"]);
  nc.say("/topic 另一个");
  assertEquals(ircLines(a), [":鲍勃!鲍勃@chat TOPIC #lobby :另一个"]);
});

test("irc: history is replayed on JOIN with server-time, in a batch", () => {
  using hub = new IrcHub();
  const nc = hub.member("bob");
  nc.say("first", "second");
  const a = hub.ircMember("ann", "server-time", "batch");
  a.say("JOIN #lobby");
  const lines = ircLines(a).filter((line) => /BATCH|PRIVMSG/.test(line));
  assertMatch(lines[0], /^:irc\.test BATCH \+(\S+) chathistory #lobby$/);
  const id = /\+(\S+)/.exec(lines[0])![1];
  assertMatch(lines[1], new RegExp(`^@batch=${id};time=\\S+ :bob!bob@chat PRIVMSG #lobby :first$`));
  assertMatch(lines[2], /PRIVMSG #lobby :second$/);
  assertEquals(lines[3], `:irc.test BATCH -${id}`);
});

test("irc: WHO, WHOIS, LIST, MODE, NAMES and LUSERS answer with numerics", () => {
  using hub = new IrcHub();
  hub.member("bob");
  const a = hub.ircMember("ann");
  a.say("JOIN #lobby");
  ircLines(a);
  a.say("WHO #lobby");
  assertEquals(commands(a).sort(), ["315", "352", "352"]);
  a.say("WHOIS bob", "WHOIS nobody");
  assertEquals(commands(a), ["311", "319", "312", "318", "401", "318"]);
  a.say("LIST");
  assertEquals(ircLines(a)[1], ":irc.test 322 ann #lobby 2 :");
  a.say("MODE #lobby", "MODE #lobby b", "MODE #lobby +o bob", "MODE ann", "MODE bob");
  assertEquals(commands(a), ["324", "329", "368", "482", "221", "502"]);
  a.say("FROB", "PRIVMSG", "PRIVMSG #nowhere :x", "PRIVMSG nobody :x", "PART #dev", "TOPIC");
  assertEquals(commands(a), ["421", "411", "403", "401", "403", "461"]);
});

test("irc: over-long and invalid lines get 417 and FAIL, the client stays", () => {
  using hub = new IrcHub({ maxLine: 600 });
  const a = hub.ircMember("ann");
  a.say(`PRIVMSG #x :${"x".repeat(700)}`);
  assertEquals(commands(a), ["417"]);
  a.session.receive(new Uint8Array([...encoder.encode("PRIVMSG ann :"), 0xff, 0x0a]));
  assertEquals(ircLines(a), [":irc.test FAIL PRIVMSG INVALID_UTF8 :Lines must be UTF-8"]);
  a.say("PING x");
  assertEquals(commands(a), ["PONG"]);
});

test("irc: a long chat line reaches IRC whole, in lines of at most 512 bytes", () => {
  using hub = new IrcHub();
  const nc = hub.member("bob");
  const a = hub.ircMember("ann");
  a.say("JOIN #lobby");
  ircLines(a);
  const text = "汉字".repeat(600) + "!";
  nc.say(text);
  const lines = ircLines(a);
  assert(lines.length > 1);
  let joined = "";
  for (const line of lines) {
    assert(byteLength(line) + 2 <= 512, `${byteLength(line)} bytes`);
    joined += parseCommand(line)!.params[1];
  }
  assertEquals(joined, text);
});

test("irc: splitUtf8 cuts at character boundaries, or after a space near the end if asked", () => {
  assertEquals(splitUtf8("aé中😀", 3), ["aé", "中", "😀"]);
  assertEquals(splitUtf8("abc", 3), ["abc"]);
  assertEquals(splitUtf8("one two three four", 10), ["one two th", "ree four"]);
  assertEquals(splitUtf8("one two three four", 10, true), ["one two ", "three four"]);
  // A space early in the piece would waste most of the line: cut between characters then.
  assertEquals(splitUtf8("hello wonderful world", 14, true), ["hello wonderfu", "l world"]);
  assertEquals(splitUtf8("中文 中文中文", 12, true), ["中文 中", "文中文"]);
});

test("irc: a silent client is pinged, then dropped", async () => {
  using hub = new IrcHub({}, 20);
  const a = hub.ircMember("ann");
  await eventually(() => a.lines.some((line) => line.startsWith("PING ")));
  await a.whenClosed;
  assert(a.lines.some((line) => line.startsWith("ERROR ")));
  assertEquals(hub.members.size, 0);
});

test("irc: MONITOR tells when a nick comes and goes", () => {
  using hub = new IrcHub();
  const a = hub.ircMember("ann");
  a.say("MONITOR + bob");
  assertEquals(ircLines(a), [":irc.test 731 ann :bob"]);
  const nc = hub.member("bob");
  assertEquals(ircLines(a), [":irc.test 730 ann :bob!bob@chat"]);
  nc.say("/quit");
  assertEquals(ircLines(a), [":irc.test 731 ann :bob"]);
});

/** A cluster bus whose claims wait until the test answers them (`answer`). */
class PendingClaims implements ClusterBus {
  readonly connected = true;
  readonly #answers: ((granted: boolean) => void)[] = [];
  send(): void {}
  claim(): Promise<boolean> {
    return new Promise((resolve) => this.#answers.push(resolve));
  }
  /** Answers every claim on its way with `granted`. */
  answer(granted: boolean): void {
    for (const resolve of this.#answers.splice(0)) resolve(granted);
  }
}

test("irc: a name still being claimed in the cluster is no one's to MONITOR, WHO, USERHOST or ISON", async () => {
  using hub = new IrcHub();
  const ann = hub.ircMember("ann"); // before the cluster: registered at once
  const bus = new PendingClaims();
  const cluster = new Cluster(hub);
  cluster.bus = bus;
  hub.cluster = cluster;
  const nc = hub.open();
  nc.say("bob"); // a first name, its claim on its way
  ann.say("/nick cat"); // not IRC: a chat line, ignored
  ircLines(ann);
  const irc = hub.irc();
  irc.say("NICK dan", "USER dan 0 * :dan"); // its registration claims "dan"
  assertEquals(ircLines(irc), []);
  ann.say("MONITOR + bob,dan", "WHO *", "USERHOST bob dan", "ISON bob dan", "NICK bob");
  assertEquals(ircLines(ann), [
    ":irc.test 731 ann :bob,dan",
    `:irc.test 352 ann * ann ${MEMORY_HOST} irc.test ann H :0 ann here`,
    ":irc.test 315 ann * :End of /WHO list",
    ":irc.test 302 ann :",
    ":irc.test 303 ann :",
    ":irc.test 433 ann bob :Nickname is already in use", // claimed: not free either
  ]);
  bus.answer(true);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(helloName(nc.take()[0] ?? ""), "bob");
  assertEquals(ircLines(ann), [
    ":irc.test 730 ann :bob!bob@chat",
    `:irc.test 730 ann :dan!dan@${MEMORY_HOST}`,
  ]);
  assertEquals([...hub.claims.keys()], []);
  assertEquals([...hub.members.keys()].sort(), ["ann", "bob", "dan"]);
});

test("irc: a nick being claimed (NICK in a cluster) leaves WHO * and USERHOST as they were", async () => {
  using hub = new IrcHub();
  const ann = hub.ircMember("ann");
  const watcher = hub.ircMember("eve");
  const bus = new PendingClaims();
  const cluster = new Cluster(hub);
  cluster.bus = bus;
  hub.cluster = cluster;
  ann.say("NICK cat");
  assertEquals(ircLines(ann), []);
  watcher.say("MONITOR + cat", "WHO *", "USERHOST cat");
  assertEquals(ircLines(watcher), [
    ":irc.test 731 eve :cat",
    `:irc.test 352 eve * ann ${MEMORY_HOST} irc.test ann H :0 ann here`,
    `:irc.test 352 eve * eve ${MEMORY_HOST} irc.test eve H :0 eve here`,
    ":irc.test 315 eve * :End of /WHO list",
    ":irc.test 302 eve :",
  ]);
  bus.answer(true);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(ircLines(ann), [`:ann!ann@${MEMORY_HOST} NICK cat`]);
  assertEquals([...hub.members.keys()].sort(), ["cat", "eve"]);
});

/** A connection from `remote` (`host:port`), as a transport would name its peer. */
class PeerConnection extends ChunkConnection {
  constructor(override readonly remote: string) {
    super();
  }
}

test("irc: addresses are cloaked in every mask and reply; one address (an IPv6 /64) is one cloak", () => {
  using hub = new IrcHub();
  const register = (nick: string, remote: string, ...caps: string[]) => {
    const conn = hub.irc(new PeerConnection(remote));
    if (caps.length > 0) conn.say(`CAP REQ :${caps.join(" ")}`, "CAP END");
    conn.say(`NICK ${nick}`, `USER ${nick} 0 * :${nick}`, "JOIN #lobby");
    ircLines(conn);
    return conn;
  };
  const watcher = register("watcher", "198.51.100.7:4000", "userhost-in-names");
  register("ann", "203.0.113.5:5000");
  const ann2 = register("ann2", "203.0.113.5:5001"); // the same address, another port
  register("ben", "203.0.113.6:5000");
  register("v6a", "[2001:db8:1:2::10]:6000");
  register("v6b", "[2001:db8:1:2:aaaa::99]:6001"); // the same /64: a privacy address
  register("v6c", "[2001:db8:1:3::10]:6000");
  const hostOf = (nick: string) => (hub.members.get(nick) as IrcSession).host;
  assertEquals(hostOf("ann"), hostOf("ann2"));
  assertEquals(hostOf("v6a"), hostOf("v6b"));
  assertEquals(new Set(["ann", "ben", "v6a", "v6c", "watcher"].map(hostOf)).size, 5);
  for (const nick of ["ann", "ben", "v6a", "v6c"]) {
    assertMatch(hostOf(nick), /^[a-z2-7]{13}\.cloak$/);
  }
  assertEquals(hostOf("ann"), TEST_CLOAKS.of("203.0.113.5"));

  ann2.say("NICK ann3", "PART #lobby", "JOIN #lobby", "QUIT :bye");
  watcher.say(
    "WHO *",
    "WHO #lobby",
    "WHO * %tcuihsnfdlaor,7",
    "WHOIS ann",
    "WHOIS v6a",
    "USERHOST ann ben v6a v6c",
    "MONITOR + ann,ben,v6a",
    "NAMES #lobby",
  );
  const seen = ircLines(watcher);
  const text = seen.join("\n");
  for (const address of ["203.0.113", "2001:db8", "2001-db8", "198.51.100", "memory"]) {
    assert(!text.includes(address), `${address} shown: ${text}`);
  }
  // What carries a host carries the cloak (or 255.255.255.255 for WHOX %i).
  assert(seen.includes(`:ann2!ann2@${hostOf("ann")} NICK ann3`), text);
  assert(seen.includes(`:ann3!ann2@${hostOf("ann")} QUIT :Quit: bye`), text);
  assert(seen.some((line) => / 352 .* ann .*\.cloak irc\.test ann H /.test(line)), text);
  assert(
    seen.some((line) => line.includes(` 354 watcher 7 * ann 255.255.255.255 ${hostOf("ann")} `)),
    text,
  );
  assert(seen.includes(`:irc.test 311 watcher ann ann ${hostOf("ann")} * :ann`), text);
  assert(seen.some((line) => line.includes(`ann=+ann@${hostOf("ann")}`)), text);
  assert(seen.some((line) => / 730 watcher :.*ann!ann@[a-z2-7]{13}\.cloak/.test(line)), text);
});

test("irc: end to end over TCP, an IRC user and an nc user talk in Chinese", async () => {
  await using server = await quietServer({ irc: 0, ircName: "irc.test" });
  const nc = await LineClient.join(server, "bob");
  const irc = await LineClient.connect({ addr: server.ircAddr! });
  try {
    await irc.write("NICK 李雷\r\nUSER li 0 * :Li Lei\r\nJOIN #lobby\r\n");
    const joined = await irc.through((line) => / 366 /.test(line));
    // The real address (127.0.0.1) shows nowhere: not in the JOIN's source, WHO * or WHOIS.
    await irc.write("WHO *\r\nWHO * %uhin\r\nWHOIS 李雷\r\nUSERHOST 李雷\r\n");
    const asked = await irc.through((line) => / 302 /.test(line));
    assert(asked.some((line) => / 352 .* li [a-z2-7]{13}\.cloak /.test(line)), asked.join("|"));
    assert(!/127\.0\.0\.1/.test([...joined, ...asked].join("\n")), [...joined, ...asked].join("|"));
    await nc.until((line) => line === "-- 李雷 joined");
    await irc.write("PRIVMSG #lobby :你好，鲍勃\r\n");
    assertEquals(await nc.message(), "李雷: 你好，鲍勃");
    await nc.write("你好，李雷\n");
    assertEquals(
      (await irc.until((line) => line.includes("PRIVMSG"))).trimEnd(),
      ":bob!bob@chat PRIVMSG #lobby :你好，李雷",
    );
    await irc.write("QUIT :再见\r\n");
    assertMatch(await irc.until((line) => line.startsWith("ERROR")), /再见/);
    assertEquals(
      await nc.until((line) => line.startsWith("-- 李雷 left")),
      "-- 李雷 left (quit: 再见)",
    );
  } finally {
    irc.close();
    nc.close();
  }
});

test("irc: NAMES of a big room comes in lines of at most 512 bytes, every name once", () => {
  using hub = new IrcHub();
  const names: string[] = [];
  for (let i = 0; i < 80; i++) {
    const name = `成员${i}号`;
    names.push(name);
    hub.member(name).say("/join 大厅");
  }
  const a = hub.ircMember("ann", "userhost-in-names");
  a.say("JOIN #大厅");
  const lines = ircLines(a).filter((line) => / 353 /.test(line));
  assert(lines.length > 1);
  const listed: string[] = [];
  for (const line of lines) {
    assert(byteLength(line) + 2 <= 512, `${byteLength(line)} bytes`);
    listed.push(...parseCommand(line)!.params[3].split(" ").map((mask) => mask.split("!")[0]));
  }
  // The room's maker is its operator.
  assertEquals(listed.sort(), [...names.slice(1), "@" + names[0], "ann"].sort());
});

test("irc: more than four targets is 407; a shutdown sends no QUIT per member", () => {
  const hub = new IrcHub();
  const a = hub.ircMember("ann");
  const b = hub.ircMember("ben");
  a.say("JOIN #x");
  b.say("JOIN #x");
  ircLines(a);
  a.say("PRIVMSG a,b,c,d,e :hi", "JOIN #a,#b,#c,#d,#e");
  assertEquals(commands(a), ["407", "407"]);
  hub[Symbol.dispose]();
  assert(!a.lines.some((line) => line.includes(" QUIT ")), a.lines.join(" | "));
});

test("irc: TLS on the IRC port with --cert and --key", async () => {
  const file = (name: string) =>
    Deno.readTextFileSync(new URL(`../../tests/testdata/${name}`, import.meta.url));
  await using server = await quietServer({
    irc: 0,
    ircName: "irc.test",
    cert: file("cert.pem"),
    key: file("key.pem"),
  });
  const irc = await LineClient.connect({ addr: server.ircAddr! }, [file("ca.pem")]);
  try {
    await irc.write("NICK secure\r\nUSER s 0 * :S\r\n");
    assertMatch(await irc.until((line) => / 001 /.test(line)), /^:irc\.test 001 secure /);
  } finally {
    irc.close();
  }
});

test("irc: a refusal at the door is an IRC ERROR line", async () => {
  await using server = await quietServer({ irc: 0, maxClients: 1 });
  const nc = await LineClient.join(server, "bob");
  const irc = await LineClient.connect({ addr: server.ircAddr! });
  try {
    assertEquals(await irc.rest(), ["ERROR :Closing Link: server full; try again later\r"]);
    // Counted where it happened: by its listener and its code.
    const { accepted, refused } = server.hub.metrics;
    assertEquals(refused.with("irc", "server_full").value, 1);
    assertEquals(refused.total(), 1);
    assertEquals([accepted.with("tcp").value, accepted.with("irc").value], [1, 0]);
  } finally {
    irc.close();
    nc.close();
  }
});

test("irc: away-notify tells the room who went away and came back, and on JOIN", () => {
  using hub = new IrcHub();
  const a = hub.ircMember("ann", "away-notify");
  const b = hub.ircMember("ben");
  a.say("JOIN #x");
  b.say("JOIN #x");
  ircLines(a);
  b.say("AWAY :lunch", "AWAY");
  assertEquals(ircLines(a), [`:ben!ben@${MEMORY_HOST} AWAY lunch`, `:ben!ben@${MEMORY_HOST} AWAY`]);
  b.say("AWAY :gone", "PART #x", "JOIN #x");
  assertEquals(ircLines(a).slice(-2), [
    `:ben!ben@${MEMORY_HOST} JOIN #x`,
    `:ben!ben@${MEMORY_HOST} AWAY gone`,
  ]);
});

test("irc: the command table answers 451 before registration, 421 unknown, 461 short, and HELP", () => {
  using hub = new IrcHub();
  const early = hub.irc();
  early.say("JOIN #x", "FOO", "PING :t");
  assertEquals(ircLines(early), [
    ":irc.test 451 * :You have not registered",
    ":irc.test 451 * :You have not registered",
    ":irc.test PONG irc.test :t",
  ]);
  const ann = hub.ircMember("ann");
  ann.say("FOO", "JOIN", "PART :", "TOPIC", "MODE", "MONITOR", "MONITOR X", "USER a b c :d");
  assertEquals(ircLines(ann), [
    ":irc.test 421 ann FOO :Unknown command",
    ":irc.test 461 ann JOIN :Not enough parameters",
    ":irc.test 461 ann PART :Not enough parameters",
    ":irc.test 461 ann TOPIC :Not enough parameters",
    ":irc.test 461 ann MODE :Not enough parameters",
    ":irc.test 461 ann MONITOR :Not enough parameters",
    ":irc.test 461 ann MONITOR :Not enough parameters",
    ":irc.test 462 ann :You may not reregister",
  ]);
  ann.say("HELP", "HELP join", "HELP HELPOP");
  assertEquals(ircLines(ann), [
    ":irc.test 704 ann * :Commands (HELP <command> for one):",
    ":irc.test 705 ann * :AUTHENTICATE AWAY CAP CHANSERV CHATHISTORY HELP HISTSERV INFO INVITE ISON JOIN KICK KILL KLINE LIST LUSERS MARKREAD MODE MONITOR MOTD " +
    "NAMES NICK NICKSERV NOTICE OPER PART PING PRIVMSG QUIT REDACT REGISTER TAGMSG TIME TOPIC UNKLINE USERHOST " +
    "VERSION WALLOPS WHO WHOIS WHOWAS",
    ":irc.test 706 ann * :End of /HELP",
    ":irc.test 704 ann JOIN :JOIN #room[,#room] [key[,key]]: join rooms (you stay in the others)",
    ":irc.test 706 ann JOIN :End of /HELP",
    ":irc.test 524 ann HELPOP :No help available on this topic",
  ]);
});

test("irc: random commands and bytes get numerics, never an internal error", () => {
  using hub = new IrcHub({ maxLine: 2048 });
  const nc = hub.member("bob");
  const clients = [hub.irc(), hub.ircMember("ann", "echo-message", "server-time", "batch")];
  const words = [
    "NICK",
    "USER",
    "JOIN",
    "PART",
    "PRIVMSG",
    "NOTICE",
    "TOPIC",
    "NAMES",
    "WHO",
    "WHOIS",
    "MODE",
    "LIST",
    "AWAY",
    "MONITOR",
    "CAP",
    "PING",
    "PONG",
    "ISON",
    "USERHOST",
    "HELP",
    "LUSERS",
    "FOO",
    "#lobby",
    "#x",
    "#",
    "##",
    "0",
    "*",
    ":",
    "::",
    "bob",
    "ann",
    "张三",
    "\x01ACTION x\x01",
    "+",
    "-",
    "C",
    "L",
    "S",
    "%tcuihsnfdlaor,1",
    "+i",
    "-i",
    "+o",
    "b",
    "LS",
    "302",
    "REQ",
    "END",
    "a,b,c",
    "#a,#b",
    "",
    " ",
    "@a=b",
    ":src",
    "\u202e",
    "x".repeat(300),
  ];
  let seed = 14;
  const random = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  for (let i = 0; i < 5000; i++) {
    const conn = clients[random(clients.length)];
    const parts: string[] = [];
    for (let k = random(6); k >= 0; k--) parts.push(words[random(words.length)]);
    if (random(10) === 0) {
      parts.push(`:${words[random(words.length)]} ${words[random(words.length)]}`);
    }
    if (conn.session.closed) continue;
    if (random(50) === 0) {
      const bytes = new Uint8Array(random(40)).map(() => random(256));
      conn.session.receive(Uint8Array.from([...bytes, 10]));
    } else {
      conn.say(parts.join(" "));
    }
    conn.take();
    nc.take();
  }
  assert(!hub.logged.some((line) => line.includes("internal error")), hub.logged.join("\n"));
  // The hub's books still balance: every member is in the room it thinks it is in.
  for (const session of hub.members.values()) {
    if (session.room) assert(session.room.members.has(session));
  }
});

test("irc: WHO of a big room lists at most 500 members", () => {
  using hub = new IrcHub({ maxRooms: 10 });
  for (let i = 0; i < 520; i++) hub.member(`m${i}`);
  const a = hub.ircMember("ann");
  a.say("JOIN #lobby");
  ircLines(a);
  a.say("WHO #lobby");
  const lines = commands(a);
  assertEquals(lines.length, 501);
  assertEquals(lines.at(-1), "315");
});

test("irc: WHO with a hostile mask answers at once; masks fold as names do", () => {
  using hub = new IrcHub();
  const long = "x".repeat(24); // the longest nick: the most for a backtracking pattern to try
  hub.member(long);
  hub.member("Alice");
  const a = hub.ircMember("ann");
  const started = performance.now();
  // Twelve stars took the old regular expression 18 s; the matcher takes steps, not seconds.
  a.say(`WHO ${"*".repeat(12)}#`);
  const took = performance.now() - started;
  assert(took < 1000, `${took} ms`);
  a.say(`WHO ${"*".repeat(200)}#`);
  assertEquals(commands(a), ["315", "315"]);
  a.say("WHO *LI*", "WHO a?ic?", "WHO ａｌ*", `WHO ${"?".repeat(24)}`);
  const listed = ircLines(a).filter((line) => / 352 /.test(line)).map((line) => line.split(" ")[7]);
  assertEquals(listed, ["Alice", "Alice", "Alice", long]);
  // Over GLOB_MAX characters a mask matches no one, even one that would.
  a.say(`WHO ${"*".repeat(257)}`);
  assertEquals(commands(a), ["315"]);
});

test("irc: a target named twice gets one copy (PRIVMSG, NOTICE, JOIN, PART)", () => {
  using hub = new IrcHub();
  const nc = hub.member("bob");
  const a = hub.ircMember("ann");
  const b = hub.ircMember("ben");
  for (const conn of [a, b]) conn.say("JOIN #lobby");
  ircLines(a);
  ircLines(b);
  nc.take();
  a.say("PRIVMSG ben,BEN,Ben,ben :once", "NOTICE ben,bEn :heads up");
  assertEquals(ircLines(b), [
    `:ann!ann@${MEMORY_HOST} PRIVMSG ben :once`,
    `:ann!ann@${MEMORY_HOST} NOTICE ben :heads up`,
  ]);
  a.say("PRIVMSG #lobby,#LOBBY,lobby,#Lobby :room once", "PRIVMSG bob,bob :psst");
  assertEquals(ircLines(b), [`:ann!ann@${MEMORY_HOST} PRIVMSG #lobby :room once`]);
  assertEquals(nc.take(), ["ann: room once", "ann (private): psst"]);
  assertEquals(commands(a), ["401"]); // `lobby` is a nick no one has, said once
  a.say("JOIN #dev,#DEV,#dev");
  assertEquals(commands(a).filter((command) => command === "JOIN"), ["JOIN"]);
  a.say("PART #dev,#dev");
  assertEquals(commands(a), ["PART"]); // not a 442 for the second
  a.say("PRIVMSG a,b,c,d,a :hi");
  assertEquals(commands(a), ["407"]); // TARGMAX counts the targets as given
});

test("irc: service names and the server's are refused on IRC (432) and by the chat", () => {
  using hub = new IrcHub();
  const conn = hub.irc();
  conn.say("NICK NickServ", "NICK irc.TEST", "NICK ns");
  assertEquals(ircLines(conn), [
    ":irc.test 432 * NickServ :Nickname is reserved",
    ":irc.test 432 * irc.TEST :Nickname is reserved",
    ":irc.test 432 * ns :Nickname is reserved",
  ]);
  const a = hub.ircMember("ann");
  a.say("NICK ChanServ", "NICK ann2");
  assertEquals(ircLines(a), [
    ":irc.test 432 ann ChanServ :Nickname is reserved",
    `:ann!ann@${MEMORY_HOST} NICK ann2`,
  ]);
  const nc = hub.open();
  nc.say("Irc.Test");
  assertEquals(nc.take()[0], "!! the name Irc.Test is reserved");
});

test("irc: a long line from IRC reaches IRC whole, in lines of at most 512 bytes, cut at spaces", () => {
  using hub = new IrcHub();
  const nc = hub.member("bob");
  const a = hub.ircMember("ann");
  const b = hub.ircMember("ben");
  const timed = hub.ircMember("tim", "server-time");
  for (const conn of [a, b, timed]) conn.say("JOIN #lobby");
  for (const conn of [a, b, timed]) ircLines(conn);
  nc.take();
  const words = Array.from({ length: 400 }, (_, i) => `word${i}`).join(" "); // 3,089 bytes
  const chinese = "汉字".repeat(500); // no space to cut at: cut between characters
  for (const [text, to] of [[words, "#lobby"], [chinese, "#lobby"], [words, "ben"]]) {
    b.chunks.length = 0;
    a.say(`PRIVMSG ${to} :${text}`);
    for (const conn of to === "ben" ? [b] : [b, timed]) {
      const lines = ircLines(conn);
      assert(lines.length > 1);
      let joined = "";
      for (const line of lines) {
        const untagged = line.replace(/^@\S+ /, "");
        assert(byteLength(untagged) + 2 <= 512, `${byteLength(untagged)} bytes`);
        assert(
          untagged.startsWith(`:ann!ann@${MEMORY_HOST} PRIVMSG ${to} :`),
          untagged.slice(0, 40),
        );
        const piece = parseCommand(line)!.params[1];
        if (text === words && line !== lines.at(-1)) assert(piece.endsWith(" "), piece);
        joined += piece;
      }
      assertEquals(joined, text);
    }
    if (to === "#lobby") assertEquals(nc.take(), [`ann: ${text}`]);
    assertEquals(b.chunks.length, 1); // all the lines of a message in one chunk
  }
  // The lines are made once for all IRC recipients of a message, not once each.
  const c = hub.ircMember("cy");
  c.say("JOIN #lobby");
  ircLines(c);
  a.say(`PRIVMSG #lobby :${words}`);
  assert(b.chunks.at(-1) === c.chunks.at(-1), "the same bytes, not a copy per recipient");
});

test("irc: a standard-sized IRC line that would not relay in one line is refused with 417, not cut", () => {
  using hub = new IrcHub();
  const nc = hub.member("bob");
  const a = hub.ircMember("ann");
  const b = hub.ircMember("ben");
  for (const conn of [a, b]) conn.say("JOIN #lobby");
  ircLines(a);
  ircLines(b);
  nc.take();
  const relayed = `:ann!ann@${MEMORY_HOST} PRIVMSG #lobby :`;
  const fits = "f".repeat(512 - 2 - byteLength(relayed)); // relayed: exactly 512 bytes
  a.say(`PRIVMSG #lobby :${fits}`);
  assertEquals(ircLines(b), [`${relayed}${fits}`]);
  assertEquals(nc.take(), [`ann: ${fits}`]);
  const longest = "y".repeat(512 - 2 - byteLength("PRIVMSG ben :")); // the most IRC sends
  a.say(`PRIVMSG #lobby :${fits}x`, `PRIVMSG ben :${longest}`);
  assertEquals(commands(a), ["417", "417"]);
  assertEquals(ircLines(b), []); // nothing delivered cut, to anyone
  assertEquals(nc.take(), []);
});

/** `hub`'s accounts, cheap to hash, with `ann` registered (password `pw`): the account. */
async function annAccount(hub: MemoryHub) {
  hub.accounts = new Accounts(hub, new MemoryAccountStore(), {
    ...DEFAULT_POLICY,
    cost: { n: 1 << 10, r: 8, p: 1, scramIterations: 16 },
  });
  const text = hub.open();
  text.say("/register ann pw");
  await hub.accounts.idle();
  text.take();
  return { text, account: (await hub.accounts.account("ann"))! };
}

test("irc: an IRC and a text connection of one account are one member: one JOIN, PRIVMSGs from oneself", async () => {
  using hub = new IrcHub({ replay: 0 });
  const bob = hub.ircMember("bob");
  bob.say("JOIN #lobby");
  ircLines(bob);
  const { text, account } = await annAccount(hub);
  assertEquals(ircLines(bob), [`:ann!ann@chat JOIN #lobby`]);
  // Logged in before registering (as SASL will do): one more connection of ann.
  const phone = hub.irc();
  hub.accounts.logIn(phone.session, account);
  phone.say("NICK ann", "USER phone 0 * :Ann's phone");
  const lines = ircLines(phone);
  assertEquals(lines.map((line) => parseCommand(line)!.command).slice(-4), [
    "422",
    "JOIN",
    "353",
    "366",
  ]);
  assertEquals(lines.at(-3), `:ann!phone@${MEMORY_HOST} JOIN #lobby`);
  assertMatch(lines.at(-2)!, /^:irc\.test 353 ann = #lobby :(ann bob|bob ann)$/);
  assertEquals([ircLines(bob), text.take()], [[], []]); // nothing announced
  assertEquals(hub.members.size, 2);
  // The phone speaks: the terminal sees ann's line, bob a PRIVMSG; no echo without echo-message.
  phone.say("PRIVMSG #lobby :from the phone");
  assertEquals(text.take(), ["ann: from the phone"]);
  assertEquals(ircLines(bob), [`:ann!ann@chat PRIVMSG #lobby :from the phone`]);
  assertEquals(ircLines(phone), []);
  // The terminal speaks: the phone gets a PRIVMSG from its own nick, as IRC bouncers send.
  text.say("from the terminal");
  assertEquals(ircLines(phone), [`:ann!ann@chat PRIVMSG #lobby :from the terminal`]);
  text.say("/msg bob psst");
  assertEquals(ircLines(phone), [`:ann!ann@chat PRIVMSG bob :psst`]);
  assertEquals(ircLines(bob), [
    `:ann!ann@chat PRIVMSG #lobby :from the terminal`,
    `:ann!ann@chat PRIVMSG bob :psst`,
  ]);
  bob.say("PRIVMSG ann :hello both");
  assertEquals(ircLines(phone), [`:bob!bob@${MEMORY_HOST} PRIVMSG ann :hello both`]);
  assertEquals(text.take(), [say.privateSent("bob", "psst"), "bob (private): hello both"]);
  // JOIN on the phone moves ann: the terminal is told, bob sees one PART.
  phone.say("JOIN #dev");
  assertEquals(
    ircLines(phone).map((line) => parseCommand(line)!.command),
    ["PART", "JOIN", "353", "366"],
  );
  assertEquals(text.take(), [say.nowIn("dev", [], 0)]);
  assertEquals(ircLines(bob), [":ann!ann@chat PART #lobby"]);
  // PART on the phone: the terminal must be in a room, so ann goes to the lobby.
  phone.say("PART #dev");
  assertEquals(
    ircLines(phone).map((line) => parseCommand(line)!.command),
    ["PART", "JOIN", "353", "366"],
  );
  assertEquals(text.take(), [say.nowIn("lobby", ["bob"], 1)]);
  assertEquals(ircLines(bob), [":ann!ann@chat JOIN #lobby"]);
  // A rename: each connection hears it once, bob once.
  text.say("/nick nan");
  assertEquals(ircLines(phone), [`:ann!phone@${MEMORY_HOST} NICK nan`]);
  assertEquals(ircLines(bob), [":ann!ann@chat NICK nan"]);
  assertEquals(text.take(), [say.renamed("nan")]);
  // The terminal goes: the phone is ann now, nobody told; then the phone goes: one QUIT.
  text.say("/quit");
  assertEquals(ircLines(bob), []);
  assertEquals(hub.members.get("nan"), phone.session);
  phone.say("PRIVMSG #lobby :alone now");
  assertEquals(ircLines(bob), [`:nan!phone@${MEMORY_HOST} PRIVMSG #lobby :alone now`]);
  phone.say("QUIT :bye");
  assertEquals(ircLines(bob), [`:nan!phone@${MEMORY_HOST} QUIT :Quit: bye`]);
});

test("irc: a text login joining an IRC member in no channel takes it to the lobby; two IRC connections, echo-message or not", async () => {
  using hub = new IrcHub({ replay: 0 });
  const { text: first, account } = await annAccount(hub);
  first.say("/quit"); // the account exists; ann is not here
  const login = (conn: ChunkConnection, ...caps: string[]) => {
    hub.accounts.logIn(conn.session, account);
    if (caps.length > 0) conn.say(`CAP REQ :${caps.join(" ")}`);
    conn.say("NICK ann", "USER ann 0 * :Ann");
    if (caps.length > 0) conn.say("CAP END");
    return ircLines(conn);
  };
  const phone = hub.irc();
  login(phone, "echo-message");
  assertEquals(phone.session.room, null);
  const tablet = hub.irc();
  const welcome = login(tablet);
  assertEquals(welcome.at(-1), ":irc.test 422 ann :MOTD File is missing"); // no channel to show
  assertEquals(tablet.session.member, phone.session);
  // The tablet speaks in a channel after JOIN: the phone is moved too.
  tablet.say("JOIN #dev");
  const joined = `:ann!ann@${MEMORY_HOST} JOIN #dev`;
  assertEquals(ircLines(phone)[0], joined);
  assertEquals(ircLines(tablet)[0], joined);
  phone.say("PRIVMSG #dev :mine");
  assertEquals(ircLines(phone), [`:ann!ann@${MEMORY_HOST} PRIVMSG #dev :mine`]); // echo-message
  assertEquals(ircLines(tablet), [`:ann!ann@${MEMORY_HOST} PRIVMSG #dev :mine`]); // its sibling's
  tablet.say("PRIVMSG #dev :theirs");
  assertEquals(ircLines(tablet), []); // no echo-message: no echo
  assertEquals(ircLines(phone), [`:ann!ann@${MEMORY_HOST} PRIVMSG #dev :theirs`]);
  tablet.say("PART #dev");
  assertEquals(ircLines(phone), [`:ann!ann@${MEMORY_HOST} PART #dev`]);
  assertEquals(ircLines(tablet), [`:ann!ann@${MEMORY_HOST} PART #dev`]);
  // A text login: it must be in a room, so ann comes into the lobby.
  const bob = hub.ircMember("bob");
  bob.say("JOIN #lobby");
  ircLines(bob);
  const terminal = hub.open();
  terminal.say("ann", "pw");
  await hub.accounts.idle();
  assertEquals(terminal.take(), [say.passwordPrompt("ann"), say.hello("ann", ["bob"], 1)]);
  assertEquals(ircLines(phone)[0], `:ann!ann@${MEMORY_HOST} JOIN #lobby`);
  assertEquals(ircLines(tablet)[0], `:ann!ann@${MEMORY_HOST} JOIN #lobby`);
  assertEquals(ircLines(bob), [`:ann!ann@${MEMORY_HOST} JOIN #lobby`]);
  for (const conn of [phone, tablet]) conn.say("QUIT");
  assertEquals(ircLines(bob), []);
  terminal.say("/quit");
  assertEquals(ircLines(bob), [":ann!ann@chat QUIT Quit"]);
});

test("irc: moderation from the same core: @ in NAMES, MODE +m/+b/+k, KICK without a PART, and the refusals' numerics", async () => {
  using hub = new IrcHub({ replay: 0 });
  const { text, account } = await annAccount(hub);
  const phone = hub.irc();
  hub.accounts.logIn(phone.session, account);
  phone.say("NICK ann", "USER phone 0 * :Ann's phone", "JOIN #dev");
  const bob = hub.ircMember("bob", "multi-prefix");
  bob.say("JOIN #dev");
  assertMatch(ircLines(bob).find((line) => / 353 /.test(line))!, / :(@ann bob|bob @ann)$/);
  ircLines(phone);
  text.take();
  bob.say("WHO #dev");
  const who = ircLines(bob).filter((line) => / 352 /.test(line)).map((line) => line.split(" ")[8]);
  assertEquals(who.sort(), ["H", "H@"], "WHO flags: ann is an operator");
  bob.say("MODE #dev +m", "MODE #dev");
  assertEquals(ircLines(bob), [
    ":irc.test 482 bob #dev :You're not channel operator",
    ":irc.test 324 bob #dev :+nt",
    `:irc.test 329 bob #dev :${Math.floor(hub.rooms.get("dev")!.created / 1000)}`,
  ]);
  phone.say("MODE #dev +m");
  assertEquals(ircLines(bob), [":ann!ann@chat MODE #dev +m"]);
  assertEquals(text.take(), ["-- ann set modes +m"]);
  bob.say("PRIVMSG #dev :hi");
  assertEquals(commands(bob), ["404"]);
  phone.say("MODE #dev -m+b bob", "KICK #dev bob :go away");
  // The ban comes first (b is done as it is read), and takes bob out: it sees no -m.
  assertEquals(ircLines(bob), [
    ":ann!ann@chat MODE #dev +b bob",
    ":ann!ann@chat KICK #dev bob banned",
  ]);
  assertEquals(commands(phone).slice(-1), ["441"], "KICK of one no longer there");
  bob.say("JOIN #dev");
  assertEquals(ircLines(bob), [":irc.test 474 bob #dev :Cannot join channel (+b)"]);
  ircLines(phone);
  phone.say("MODE #dev b");
  const list = ircLines(phone);
  assertMatch(list[0], /^:irc\.test 367 ann #dev bob ann :\d+$/);
  assertEquals(list.at(-1), ":irc.test 368 ann #dev :End of channel ban list");
  phone.say("MODE #dev -b bob", "MODE #dev +k s3cret");
  ircLines(phone);
  bob.say("JOIN #dev");
  assertEquals(ircLines(bob), [":irc.test 475 bob #dev :Cannot join channel (+k)"]);
  bob.say("JOIN #dev s3cret");
  assertEquals(commands(bob).slice(0, 1), ["JOIN"]);
  phone.say("KICK #dev bob :go away");
  assertEquals(ircLines(bob), [":ann!ann@chat KICK #dev bob :go away"], "no PART after the KICK");
  assertEquals(bob.session.room, null);
  // A text member kicked goes to the lobby: IRC members see the KICK, and no PART after it.
  const cy = hub.member("cy");
  cy.say("/join dev s3cret");
  ircLines(phone);
  cy.take();
  phone.say("KICK #dev cy :enough");
  assertEquals(ircLines(phone), [":ann!ann@chat KICK #dev cy enough"]);
  assertEquals(cy.take()[0], "-- ann kicked you out of dev (enough)");
});

test("irc: every room-rule refusal of the core is a numeric, or a NOTICE in the chat's words", () => {
  using hub = new IrcHub();
  const bob = hub.ircMember("bob");
  const cases: [Problem, string][] = [
    [{ code: "notOperator", room: "dev" }, ":irc.test 482 bob #dev :You're not channel operator"],
    [{ code: "banned", room: "dev" }, ":irc.test 474 bob #dev :Cannot join channel (+b)"],
    [{ code: "inviteOnly", room: "dev" }, ":irc.test 473 bob #dev :Cannot join channel (+i)"],
    [{ code: "badKey", room: "dev" }, ":irc.test 475 bob #dev :Cannot join channel (+k)"],
    [{ code: "roomFull", room: "dev", max: 2 }, ":irc.test 471 bob #dev :Cannot join channel (+l)"],
    [
      { code: "moderated", room: "dev" },
      `:irc.test 404 bob #dev :${problemWords({ code: "moderated", room: "dev" })}`,
    ],
    [
      { code: "muted", room: "dev" },
      ":irc.test 404 bob #dev :you are muted in dev; it was not sent",
    ],
    [
      { code: "notInRoom", name: "cy", room: "dev" },
      ":irc.test 441 bob cy #dev :They aren't on that channel",
    ],
    [{ code: "badMode", mode: "+x" }, ":irc.test 472 bob x :is unknown mode char to me"],
    [
      { code: "needsAccount", name: "cy" },
      ":irc.test NOTICE bob :cy is not logged in; roles belong to accounts",
    ],
  ];
  for (const [problem, line] of cases) {
    bob.session.tell(failed(problem));
    assertEquals(ircLines(bob), [line], problem.code);
  }
});

test("irc: OPER (381 and +o, 491, 464), KILL (481 for others) and WALLOPS, from the core's server operators", async () => {
  using hub = new IrcHub({ replay: 0, admins: ["ann"] });
  await annAccount(hub);
  const baz = hub.ircMember("baz");
  const bob = hub.ircMember("bob");
  const cy = hub.ircMember("cy");
  bob.say("JOIN #dev");
  cy.say("JOIN #dev");
  ircLines(bob);
  ircLines(cy);
  bob.say("OPER bob pw", "KILL cy :bye", "WALLOPS :hi");
  assertEquals(commands(bob), ["491", "481", "481"]);
  baz.say("OPER ann wrong");
  await hub.accounts.idle();
  assertEquals(commands(baz), ["464"]);
  baz.say("OPER ann pw");
  await hub.accounts.idle();
  const lines = ircLines(baz);
  assert(lines.some((line) => / 381 baz :/.test(line)), lines.join("\n"));
  assertMatch(lines.at(-1)!, /^:baz!baz@\S+ MODE baz \+o$/);
  bob.say("WHOIS cy");
  assert(!commands(bob).includes("378"), "others see no real address");
  baz.say("WHOIS cy");
  assert(commands(baz).includes("378"), "a server operator sees the real address");
  cy.say("MODE cy +iw", "MODE cy");
  assertEquals(ircLines(cy).map((line) => line.replace(/@\S+/, "")), [
    ":cy!cy MODE cy +iw",
    ":irc.test 221 cy :+iw",
  ]);
  baz.say("WALLOPS :restart soon");
  assertEquals(ircLines(bob), [], "no WALLOPS without +w");
  const wallops = ircLines(cy);
  assertEquals(wallops.length, 1);
  assertMatch(wallops[0], /^:baz!baz@\S+ WALLOPS :restart soon$/);
  ircLines(baz);
  ircLines(bob);
  baz.say("KILL bob :spam");
  assertEquals(ircLines(bob), ["ERROR :Closing Link: Killed (baz: spam)"]);
  assert(bob.closed !== undefined, "bob's connection is closed");
  const quit = ircLines(cy);
  assertEquals(quit.length, 1);
  assertMatch(quit[0], /^:bob!bob@\S+ QUIT :killed by baz: spam$/);
  assertEquals(hub.metrics.moderation.with("kill").value, 1);
});

test("irc: a guest's channel is its maker's (@ while it stays); +e/+I lists; WHOWAS; -n lets outsiders speak", () => {
  using hub = new IrcHub({ replay: 0 });
  const op = hub.ircMember("op", "multi-prefix");
  op.say("JOIN #dev");
  assertMatch(ircLines(op).find((line) => / 353 /.test(line))!, / :@op$/);
  const bar = hub.ircMember("bar");
  bar.say("JOIN #dev");
  ircLines(bar);
  ircLines(op);
  op.say("MODE #dev +v bar", "MODE #dev +e bar!*@*", "MODE #dev +I *!*@*.test", "MODE #dev e");
  const lines = ircLines(op);
  assertEquals(lines.slice(0, 3), [
    `:op!op@${MEMORY_HOST} MODE #dev +v bar`,
    `:op!op@${MEMORY_HOST} MODE #dev +e bar!*@*`,
    `:op!op@${MEMORY_HOST} MODE #dev +I *!*@*.test`,
  ]);
  assertMatch(lines[3], /^:irc\.test 348 op #dev bar!\*@\* op :\d+$/);
  assertEquals(lines[4], ":irc.test 349 op #dev :End of channel exception list");
  op.say("MODE #dev I", "WHO #dev", "WHOIS bar");
  const replies = ircLines(op);
  assertMatch(replies[0], /^:irc\.test 346 op #dev \*!\*@\*\.test op :\d+$/);
  assert(replies.some((line) => / 352 op #dev .* bar H\+ :0 /.test(line)), replies.join("\n"));
  assert(replies.some((line) => / 352 op #dev .* op H@ :0 /.test(line)), replies.join("\n"));
  assert(replies.includes(":irc.test 319 op bar :+#dev"), replies.join("\n"));
  // An outsider speaks in a -n room only.
  const out = hub.ircMember("out");
  out.say("PRIVMSG #dev :from outside");
  assertEquals(commands(out), ["404"]);
  op.say("MODE #dev -n");
  ircLines(op);
  ircLines(bar);
  out.say("PRIVMSG #dev :from outside");
  assertEquals(ircLines(out), []);
  assertEquals(ircLines(bar), [`:out!out@${MEMORY_HOST} PRIVMSG #dev :from outside`]);
  op.say("MODE #dev +b out!*@*");
  ircLines(op);
  ircLines(bar);
  out.say("PRIVMSG #dev :banned now");
  assertEquals(commands(out), ["404"]);
  assertEquals(ircLines(bar), []);
  op.say("MODE #dev -b out!*@*");
  ircLines(op);
  ircLines(bar);
  // The maker leaves: its role ends; back in, it is an ordinary member.
  op.say("PART #dev", "JOIN #dev");
  ircLines(op);
  op.say("MODE #dev +m");
  assertEquals(ircLines(op), [":irc.test 482 op #dev :You're not channel operator"]);
  // WHOWAS: the nicks that quit or were renamed, newest first, bounded.
  bar.say("NICK baz");
  out.say("WHOWAS bar", "WHOWAS nobody", "WHOWAS");
  const was = ircLines(out);
  assertEquals(was[0], `:irc.test 314 out bar bar ${MEMORY_HOST} * :bar here`);
  assertMatch(was[1], /^:irc\.test 312 out bar irc\.test :/);
  assertEquals(was.slice(2), [
    ":irc.test 369 out bar :End of WHOWAS",
    ":irc.test 406 out nobody :There was no such nickname",
    ":irc.test 369 out nobody :End of WHOWAS",
    ":irc.test 431 out :No nickname given",
  ]);
  for (let i = 0; i < 250; i++) bar.say(`NICK n${i}`);
  assertEquals(hub.front.whowas.length, 200, "WHOWAS keeps at most 200");
  assertEquals(hub.front.whowas.at(-1)?.nick, "n248");
});

test("irc: CS REGISTER #room claims the room a logged-in member is in (the core's /claim)", async () => {
  using hub = new IrcHub({ replay: 0 });
  const { text, account } = await annAccount(hub);
  const guest = hub.ircMember("gus");
  guest.say("JOIN #pub", "CS REGISTER #pub");
  const refused = ircLines(guest);
  assert(refused.some((line) => line.includes("not logged in")), refused.join("\n"));
  const phone = hub.irc();
  hub.accounts.logIn(phone.session, account);
  phone.say("NICK ann", "USER phone 0 * :Ann's phone", "JOIN #pub");
  ircLines(phone);
  phone.say("CS REGISTER #other", "PRIVMSG ChanServ :REGISTER #pub");
  const lines = ircLines(phone);
  assertEquals(
    lines[0],
    ":ChanServ!ChanServ@services NOTICE ann :You must be in #other to register it",
  );
  assertEquals(lines[1], ":irc.test 482 ann #pub :You're not channel operator", "gus operates it");
  guest.say("MODE #pub +o ann");
  ircLines(guest);
  ircLines(phone);
  text.take();
  phone.say("CS REGISTER #pub");
  assertEquals(ircLines(phone), [":irc.test NOTICE #pub :ann claimed pub"]);
  assertEquals(text.take(), ["-- ann claimed pub"]);
  assertEquals(hub.roomRules.get("pub")?.founder, account.key);
});

test("irc: KLINE [duration] mask [reason] and UNKLINE for server operators; a klined client gets 465 and ERROR, at once or at registration", async () => {
  using hub = new IrcHub({ replay: 0, admins: ["ann"] });
  await annAccount(hub);
  const baz = hub.ircMember("baz");
  const bob = hub.ircMember("bob");
  bob.say("KLINE 1h baz :no");
  assertEquals(commands(bob), ["481"]);
  baz.say("OPER ann pw");
  await hub.accounts.idle();
  ircLines(baz);
  baz.say("KLINE 2h bob :flooding");
  const bobLines = ircLines(bob);
  assertMatch(
    bobLines[0],
    /^:irc\.test 465 bob :you are banned from this server until .* UTC: flooding$/,
  );
  assertMatch(
    bobLines[1],
    /^ERROR :Closing Link: you are banned from this server until .*: flooding$/,
  );
  assert(bob.closed !== undefined, "bob's connection is closed");
  const set = ircLines(baz);
  assertMatch(
    set.at(-1)!,
    /^:irc\.test NOTICE baz :Server ban on bob until .* \(flooding\); 1 connection ended$/,
  );
  // A new client taking the name is refused when it registers.
  const again = hub.irc();
  again.say("NICK bob", "USER bob 0 * :bob");
  const refused = ircLines(again);
  assertEquals(refused.map((line) => line.split(" ")[1] ?? line), ["465", ":Closing"]);
  assert(again.closed !== undefined);
  baz.say("KLINE spam*", "UNKLINE bob", "UNKLINE nobody");
  assertEquals(ircLines(baz).map((line) => line.replace(/ until .*$/, "")), [
    ":irc.test NOTICE baz :Server ban on spam* for good; 0 connections ended",
    ":irc.test NOTICE baz :Server ban on bob lifted",
    ":irc.test NOTICE baz :nobody is not on the list",
  ]);
});

test("irc: a client from a klined address gets 465 and ERROR as it connects", () => {
  using hub = new IrcHub({ replay: 0 });
  hub.applyKline({
    kind: "address",
    mask: "address:memory",
    by: "boss",
    time: 1,
    expires: null,
    reason: "go away",
  }, true);
  const conn = hub.irc();
  assertEquals(ircLines(conn), [
    ":irc.test 465 * :you are banned from this server for good: go away",
    "ERROR :Closing Link: you are banned from this server for good: go away",
  ]);
  assert(conn.closed !== undefined);
});

test("irc: a PRIVMSG to an account not connected waits (301); at its login it comes with time and msgid, and CHATHISTORY pages it", async () => {
  using hub = new IrcHub({ replay: 0 });
  const { text, account } = await annAccount(hub);
  text.say("/register bo pw2");
  text.say("/quit");
  // bo registers, goes; ann (on IRC, logged in) writes to bo.
  const bo = hub.open();
  bo.say("bo");
  bo.say("/register pw2");
  await hub.accounts.idle();
  bo.say("/quit");
  const ann = hub.irc();
  hub.accounts.logIn(ann.session, account);
  ann.say("CAP REQ :message-tags server-time batch draft/chathistory labeled-response");
  ann.say("NICK ann", "USER ann 0 * :Ann", "CAP END");
  ircLines(ann);
  ann.say("PRIVMSG bo :are you there?");
  assertEquals(ircLines(ann), [
    ":irc.test 301 ann bo :is not connected; your message will be delivered when they next log in",
  ]);
  const kept = hub.privates.before(pairKey("ann", "bo"), 10);
  assertEquals(kept.map((entry) => entry.text), ["are you there?"]);
  // bo logs in by SASL (as the account, before registering): told once registered.
  const phone = hub.irc();
  hub.accounts.logIn(phone.session, (await hub.accounts.account("bo"))!);
  phone.say("CAP REQ :server-time message-tags batch", "NICK bo", "USER bo 0 * :Bo", "CAP END");
  const lines = ircLines(phone);
  const at = lines.findIndex((line) => line.includes(" 422 "));
  assertMatch(lines[at + 1], /^:irc\.test BATCH \+(\S+) chathistory ann$/);
  const time = new Date(kept[0].time).toISOString();
  assertEquals(
    lines[at + 2].replace(/batch=\S+?;/, ""),
    `@time=${time};msgid=${
      kept[0].id
    };account=ann :ann!ann@${MEMORY_HOST} PRIVMSG bo :are you there?`
      .replace(";account=ann", ""),
  );
  assertMatch(lines[at + 3], /^:irc\.test BATCH -/);
  assertEquals(hub.privates.heldCount("bo"), 0);
  // ann pages the conversation; a labeled request's batch is in a labeled-response batch.
  ann.say(`CHATHISTORY BEFORE bo timestamp=${new Date(Date.now() + 1000).toISOString()} 10`);
  const page = ircLines(ann);
  assertEquals(page.length, 3);
  assertMatch(page[1], new RegExp(`msgid=${kept[0].id}.* PRIVMSG bo :are you there\\?$`));
  ann.say("@label=x1 CHATHISTORY LATEST #nowhere * 10", "@label=x2 PING me", "CHATHISTORY NOPE");
  assertEquals(ircLines(ann), [
    "@label=x1 :irc.test FAIL CHATHISTORY INVALID_TARGET LATEST #nowhere :You are not in that channel",
    "@label=x2 :irc.test PONG irc.test :me",
    ":irc.test FAIL CHATHISTORY INVALID_PARAMS NOPE :Unknown subcommand",
  ]);
  ann.say("CHATHISTORY LATEST bo * 0", "CHATHISTORY AROUND bo msgid=nope 5");
  assertEquals(commands(ann), ["FAIL", "FAIL"]);
});

test("irc: with echo-message, a message held for later is echoed with its msgid, after 301", async () => {
  using hub = new IrcHub({ replay: 0 });
  const { text, account } = await annAccount(hub);
  text.say("/quit");
  const bo = hub.open();
  bo.say("bo", "/register pw2");
  await hub.accounts.idle();
  bo.say("/quit");
  const ann = hub.irc();
  hub.accounts.logIn(ann.session, account);
  ann.say("CAP REQ :message-tags echo-message", "NICK ann", "USER ann 0 * :Ann", "CAP END");
  ircLines(ann);
  ann.say("PRIVMSG bo :later");
  const [away, echo] = ircLines(ann);
  assertMatch(away, / 301 ann bo :/);
  const [kept] = hub.privates.before(pairKey("ann", "bo"), 1);
  assertEquals(echo, `@msgid=${kept.id} :ann!ann@${MEMORY_HOST} PRIVMSG bo :later`);
});

test("irc: KICK and roles are per channel: kicked from one, a member stays in the others", () => {
  using hub = new IrcHub();
  const a = hub.ircMember("ann");
  const b = hub.ircMember("ben");
  a.say("JOIN #dev"); // ann made #dev: its operator while she is in it
  b.say("JOIN #lobby,#dev");
  a.say("JOIN #lobby"); // made by ben: ann is no operator there
  ircLines(a);
  ircLines(b);
  a.say("KICK #lobby ben :no");
  assertEquals(commands(a), ["482"]);
  a.say("KICK #dev ben :out");
  assertEquals(ircLines(b), [`:ann!ann@${MEMORY_HOST} KICK #dev ben out`]);
  ircLines(a);
  b.say("PRIVMSG #lobby :still in the lobby", "PRIVMSG #dev :and here?");
  assertEquals(ircLines(a), [`:ben!ben@${MEMORY_HOST} PRIVMSG #lobby :still in the lobby`]);
  assertEquals(commands(b), ["404"]); // #dev is +n: not from outside
});
