/**
 * Several servers sharing one Redis (`--redis`): messages, names, rooms,
 * topics and history across instances, and the faults: an instance killed,
 * Redis unreachable for a while, Redis restarted empty. Each test starts its
 * own `redis-server` on a free port; without one installed they are skipped.
 */

import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
  rejects as assertRejects,
} from "node:assert/strict";
import { say } from "../src/text/protocol.ts";
import type { ChatServer, ServerOptions } from "../server.ts";
import {
  eventually,
  HAVE_REDIS,
  ircHost,
  LineClient,
  quietServer,
  sanitized,
  spawnServer,
  startRedis,
  type TestRedis,
  within,
} from "./test_util.ts";

if (!HAVE_REDIS) console.log("redis-server not found: the cluster tests are skipped");

function clusterTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, fn, ignore: !HAVE_REDIS, ...sanitized });
}

/** A server of the cluster on `redis`, quiet and on free ports. */
function instance(redis: TestRedis, options: ServerOptions = {}): Promise<ChatServer> {
  return quietServer({ redis: redis.url, replay: 20, ...options });
}

/** Waits until `server` knows `count` members held by other instances. */
async function knows(server: ChatServer, count: number, ms = 5_000): Promise<void> {
  await eventually(() => server.hub.cluster!.remote.size === count, ms);
}

const isChat = (line: string) => !line.startsWith("-- ");

/** A Redis of its own and two servers of a cluster on it, disposed of together (servers first). */
async function twoServers(
  redisOptions: Parameters<typeof startRedis>[0] = {},
  options: [ServerOptions, ServerOptions] = [{}, {}],
) {
  const stack = new AsyncDisposableStack();
  try {
    const redis = stack.use(await startRedis(redisOptions));
    const a = stack.use(await instance(redis, options[0]));
    const b = stack.use(await instance(redis, options[1]));
    return { redis, a, b, [Symbol.asyncDispose]: () => stack.disposeAsync() };
  } catch (error) {
    await stack.disposeAsync();
    throw error;
  }
}

/** ann on `a`, then bob on `b` once `b` knows of ann, and ann told that bob joined. */
async function annAndBob(a: ChatServer, b: ChatServer) {
  const ann = await LineClient.join(a, "ann");
  try {
    await knows(b, 1);
    const bob = await LineClient.join(b, "bob");
    await ann.until((line) => line === say.joined("bob"));
    return {
      ann,
      bob,
      [Symbol.dispose]() {
        ann.close();
        bob.close();
      },
    };
  } catch (error) {
    ann.close();
    throw error;
  }
}

clusterTest(
  "messages, actions and private messages cross instances both ways, in order, once",
  async () => {
    await using cluster = await twoServers();
    const { a, b } = cluster;
    using people = await annAndBob(a, b);
    const { ann, bob } = people;

    // 300 lines one way while 300 go the other: each side gets the other's, all, in order.
    const count = 300;
    const annSays = Array.from({ length: count }, (_, i) => `from ann ${i} 你好`);
    const bobSays = Array.from({ length: count }, (_, i) => `from bob ${i} 🙂`);
    await Promise.all([
      ann.write(annSays.map((line) => line + "\n").join("")),
      bob.write(bobSays.map((line) => line + "\n").join("")),
    ]);
    const gotByBob = (await bob.through((line) => line === `ann: ${annSays.at(-1)}`)).filter(
      isChat,
    );
    const gotByAnn = (await ann.through((line) => line === `bob: ${bobSays.at(-1)}`)).filter(
      isChat,
    );
    assertEquals(gotByBob, annSays.map((line) => `ann: ${line}`));
    assertEquals(gotByAnn, bobSays.map((line) => `bob: ${line}`));

    await bob.write("/me waves\n/msg ann just you\n");
    assertEquals(await ann.until(isChat), "* bob waves");
    assertEquals(await ann.until(isChat), "bob (private): just you");
    await ann.write("/msg bob and back\nlast\n");
    assertEquals(await bob.until(isChat), "ann (private): and back");
    // Nothing came twice: the very next line is the one sent after.
    assertEquals(await bob.until(isChat), "ann: last");
  },
);

clusterTest(
  "a name is unique across the cluster, also when two instances are asked at once",
  async () => {
    await using cluster = await twoServers();
    const { a, b } = cluster;
    using ann = await LineClient.join(a, "ann");
    await knows(b, 1);
    using other = await LineClient.connect(b);
    await other.until((line) => line === say.nameFirst || line.endsWith("call you?"));
    await other.write("ANN\n");
    assertEquals(await other.line(), say.nameTaken("ANN"));

    // The same new name asked of both instances at once, ten times: one wins each time.
    for (let round = 0; round < 10; round++) {
      const name = `dup${round}`;
      const clients = await Promise.all([LineClient.connect(a), LineClient.connect(b)]);
      try {
        await Promise.all(
          clients.map((client) => client.until((line) => line.endsWith("call you?"))),
        );
        await Promise.all(clients.map((client) => client.write(`${name}\n`)));
        const answers = await Promise.all(clients.map((client) => client.line()));
        const welcomed = answers.filter((line) => line.startsWith(`-- Hello, ${name}!`));
        assertEquals(welcomed.length, 1, JSON.stringify(answers));
        assert(answers.includes(say.nameTaken(name)), JSON.stringify(answers));
      } finally {
        for (const client of clients) client.close();
      }
    }
    ann.close();
    // A name given back on one instance is free on the other.
    await knows(b, 0);
    using again = await LineClient.join(b, "ann");
    assert(again);
  },
);

clusterTest(
  "/who, /rooms and topics are cluster-wide; joins, moves, renames and leaves cross",
  async () => {
    await using cluster = await twoServers();
    const { a, b } = cluster;
    using people = await annAndBob(a, b);
    const { ann, bob } = people;

    await ann.write("/join dev\n");
    await ann.until((line) => line.startsWith("-- You are now in dev."));
    assertEquals(await bob.line(), say.moved("ann", "dev"));
    await bob.write("/who dev\n");
    assertEquals(await bob.line(), say.online("dev", ["ann"]));
    await bob.write("/join dev\n");
    await bob.until((line) => line.startsWith("-- You are now in dev. Also here (1): ann."));
    assertEquals(await ann.line(), say.joined("bob"));

    await ann.write("/topic Deno things\n");
    assertEquals(
      await bob.until((line) => line.includes("topic")),
      say.topicSet("ann", "Deno things"),
    );
    await bob.write("/rooms\n");
    assertEquals(await bob.line(), say.roomsHeader(1));
    assertEquals(await bob.line(), say.roomEntry("dev", 2, "Deno things"));
    await bob.write("/who\n");
    assertEquals(await bob.line(), say.online("dev", ["ann", "bob"]));

    await ann.write("/nick anna\n");
    assertEquals(await bob.line(), say.othersRenamed("ann", "anna"));
    await bob.write("/msg anna still there?\n");
    assertEquals(await ann.until(isChat), "bob (private): still there?");
    await ann.write("/quit bye all\n");
    assertEquals(
      await bob.until((line) => line.includes(" left")),
      say.left("anna", "quit: bye all"),
    );
    await knows(b, 0);
    await bob.write("/who\n");
    assertEquals(await bob.line(), say.online("dev", ["bob"]));
  },
);

clusterTest(
  "history and topics replay the same from any instance, also one started later",
  async () => {
    await using redis = await startRedis();
    await using a = await instance(redis);
    using ann = await LineClient.join(a, "ann");
    await ann.write("/join dev\n/topic plans\none\ntwo\n/me three\n");
    await eventually(() => a.hub.messages === 3);
    await using b = await instance(redis); // started after: loads it all from Redis
    using bob = await LineClient.join(b, "bob");
    await bob.write("/join dev\n");
    const lines = await bob.through((line) => line === say.historyEnd);
    assert(lines.includes(say.topicIs("dev", "plans")), JSON.stringify(lines));
    assertEquals(
      lines.filter((line) => line.startsWith("[")).map((line) => line.slice(23)),
      ["ann: one", "ann: two", "* ann three"],
    );
    // A line said now reaches both the live room and the history of every instance.
    await ann.write("four\n");
    assertEquals(await bob.until(isChat), "ann: four");
    await using c = await instance(redis);
    using carol = await LineClient.join(c, "carol");
    await carol.write("/join dev\n");
    const replay = (await carol.through((line) => line === say.historyEnd)).filter((line) =>
      line.startsWith("[")
    );
    assertEquals(replay.map((line) => line.slice(23)), [
      "ann: one",
      "ann: two",
      "* ann three",
      "ann: four",
    ]);
  },
);

clusterTest(
  "history on Redis keeps the sender's account: on a live instance and on one started later",
  async () => {
    await using redis = await startRedis();
    const hashCost = { n: 1 << 10, r: 8, p: 1, scramIterations: 16 };
    await using a = await instance(redis, { hashCost });
    await using b = await instance(redis, { hashCost });
    using ann = await LineClient.join(a, "ann");
    await ann.write("/register s3cret\n");
    assertEquals(await ann.line(), say.registered("ann", true));
    using cat = await LineClient.join(a, "cat");
    await ann.write("logged in\n");
    await cat.write("a guest\n");
    await eventually(() => b.hub.history.before("lobby", 10).length === 2);
    const kept = (server: ChatServer) =>
      server.hub.history.before("lobby", 10).map(({ from, text, account }) => ({
        from,
        text,
        account,
      }));
    const expected = [
      { from: "ann", text: "logged in", account: "ann" },
      { from: "cat", text: "a guest", account: undefined },
    ];
    assertEquals(kept(b), expected); // from the bus, live
    await using c = await instance(redis, { hashCost }); // loads it from the stream
    assertEquals(kept(c), expected);
  },
);

clusterTest(
  "an instance killed with kill -9: its members are announced gone within 15 s, names freed",
  async () => {
    await using redis = await startRedis();
    await using b = await instance(redis);
    const a = await spawnServer("--no-web", "--redis", redis.url);
    try {
      using _ann = await LineClient.join(a, "ann");
      await knows(b, 1);
      using bob = await LineClient.join(b, "bob");
      bob.limit = 15_000;
      const killedAt = Date.now();
      await a.stop("SIGKILL");
      const gone = await within(
        bob.until((line) => line.startsWith("-- ann left")),
        "ann announced gone",
        15_000,
      );
      const took = Date.now() - killedAt;
      assertEquals(gone, say.left("ann", "its server went away"));
      assert(took < 15_000, `took ${took} ms`);
      using again = await LineClient.join(b, "ann");
      assert(again);
    } finally {
      await a.stop("SIGKILL");
    }
  },
);

clusterTest(
  "Redis unreachable for a while: everyone keeps chatting locally, then the gap arrives once",
  async () => {
    await using redis = await startRedis({ persist: true });
    await using a = await instance(redis, { web: 0 });
    await using b = await instance(redis);
    using ann = await LineClient.join(a, "ann");
    using amy = await LineClient.join(a, "amy");
    await knows(b, 2);
    using bob = await LineClient.join(b, "bob");
    await ann.until((line) => line === say.joined("bob"));

    await redis.stop();
    await eventually(() => !a.hub.cluster!.connected && !b.hub.cluster!.connected);
    const metrics = await (await fetch(`http://127.0.0.1:${a.webAddr!.port}/metrics`)).text();
    assertMatch(metrics, /^chat_cluster_connected 0$/m);
    const gap = Array.from({ length: 50 }, (_, i) => `during the outage ${i}`);
    await ann.write(gap.map((line) => line + "\n").join(""));
    // The same instance is served as ever.
    assertEquals(
      (await amy.through((line) => line === `ann: ${gap.at(-1)}`)).filter(isChat).length,
      50,
    );
    await bob.write("bob in the gap\n");
    await redis.start();
    assertEquals(await ann.until((line) => line.startsWith("bob:")), "bob: bob in the gap");
    const got = (await bob.through((line) => line === `ann: ${gap.at(-1)}`)).filter(isChat);
    assertEquals(got, gap.map((line) => `ann: ${line}`));

    // Connections killed under it: the next line still arrives, once.
    await redis.cli("CLIENT", "KILL", "TYPE", "normal");
    await ann.write("after the kill\nand one more\n");
    assertEquals(await bob.until(isChat), "ann: after the kill");
    assertEquals(await bob.until(isChat), "ann: and one more");
  },
);

clusterTest("Redis restarted empty: the instances claim their names again", async () => {
  await using cluster = await twoServers();
  const { redis, a, b } = cluster;
  using people = await annAndBob(a, b);
  const { ann, bob } = people;
  await ann.write("/topic before the restart\n");
  await bob.until((line) => line === say.topicSet("ann", "before the restart"));

  await redis.stop();
  await redis.start(); // nothing saved: an empty Redis
  await eventually(async () => (await redis.cli("HLEN", "chat:names")) === "2", 10_000);
  // ann is still ann everywhere: the name cannot be taken on the other instance.
  using other = await LineClient.connect(b);
  await other.until((line) => line.endsWith("call you?"));
  await other.write("ann\n");
  assertEquals(await other.line(), say.nameTaken("ann"));
  await ann.write("still here\n");
  assertEquals(await bob.until(isChat), "ann: still here");
  // And the topic of a room with members is kept again.
  assertEquals(await redis.cli("HGET", "chat:topics", "lobby"), "before the restart");
});

clusterTest("a server that cannot reach its Redis at start says so and exits 1", async () => {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-N", new URL("../server.ts", import.meta.url).pathname, "--port", "0"]
      .concat(["--no-web", "--redis", "redis://127.0.0.1:1"]),
    stdout: "null",
    stderr: "piped",
  }).output();
  assertEquals(code, 1);
  assertMatch(
    new TextDecoder().decode(stderr),
    /^server: cannot join the cluster at redis:\/\/127\.0\.0\.1:1: /,
  );
});

clusterTest(
  "a server that shuts down tells the others its members left, and gives their names back",
  async () => {
    await using redis = await startRedis();
    await using b = await instance(redis);
    const a = await instance(redis);
    try {
      using people = await annAndBob(a, b);
      const { bob } = people;
      await a.close();
      assertEquals(await bob.line(), say.left("ann", "server shutting down"));
      assertEquals(await redis.cli("HKEYS", "chat:names"), "bob");
      assertEquals(await redis.cli("ZCARD", "chat:instances"), "1");
    } finally {
      await a.close();
    }
  },
);

clusterTest("over TLS: rediss:// with the Redis server's CA given by --redis-ca", async () => {
  await using redis = await startRedis({ tls: true });
  const redisCa = Deno.readTextFileSync(new URL("./testdata/ca.pem", import.meta.url));
  await using a = await instance(redis, { redisCa });
  await using b = await instance(redis, { redisCa });
  using ann = await LineClient.join(a, "ann");
  await knows(b, 1);
  using bob = await LineClient.join(b, "bob");
  await bob.write("hello over TLS\n");
  assertEquals(await ann.until(isChat), "bob: hello over TLS");
  // Without the CA the certificate is not trusted, and the server does not start.
  await assertRejects(() => instance(redis), /cannot join the cluster at rediss:.*certificate/);
});

clusterTest(
  "IRC in a cluster: an IRC user and an nc user on two servers see each other",
  async () => {
    await using redis = await startRedis();
    await using a = await instance(redis, { irc: 0, ircName: "a.test" });
    await using b = await instance(redis);
    using irene = await LineClient.connect({ addr: a.ircAddr! });
    const irc = async (match: (line: string) => boolean) =>
      (await irene.until((line) => match(line.replace(/\r$/, "")))).replace(/\r$/, "");
    await irene.write("NICK irene\r\nUSER irene 0 * :Irene\r\n");
    await irc((line) => / 422 /.test(line));
    using bob = await LineClient.join(b, "bob"); // in the lobby on b
    await knows(a, 1);
    // A nick held on the other server is refused at registration.
    using other = await LineClient.connect({ addr: a.ircAddr! });
    await other.write("NICK BOB\r\nUSER x 0 * :x\r\n");
    assertMatch(await other.line(), /^:a\.test 433 \* BOB :Nickname is already in use\r$/);
    await irene.write("JOIN #lobby\r\n");
    assertEquals(await irc((line) => / 353 /.test(line)), ":a.test 353 irene = #lobby :irene bob");
    assertEquals(await bob.line(), say.joined("irene"));
    await irene.write("WHO #lobby\r\n");
    const who = [];
    for (let line = ""; !/ 315 /.test(line);) {
      line = await irc(() => true);
      if (/ 352 /.test(line)) who.push(line.split(" ").slice(3, 8).join(" "));
    }
    const host = await ircHost(a, "ivy"); // the cloak of 127.0.0.1
    assertEquals(who, [`#lobby irene ${host} a.test irene`, "#lobby bob chat a.test bob"]);

    await bob.write("hi from nc\n");
    assertEquals(
      await irc((line) => line.includes("PRIVMSG")),
      ":bob!bob@chat PRIVMSG #lobby :hi from nc",
    );
    await irene.write("PRIVMSG #lobby :hi from IRC 你好\r\nPRIVMSG bob :just you\r\n");
    assertEquals(await bob.until(isChat), "irene: hi from IRC 你好");
    assertEquals(await bob.until(isChat), "irene (private): just you");
    await irene.write("NICK Bob\r\nNICK irena\r\n");
    assertEquals(
      await irc((line) => / 433 /.test(line)),
      ":a.test 433 irene Bob :Nickname is already in use",
    );
    assertEquals(await irc((line) => line.includes(" NICK ")), `:irene!irene@${host} NICK irena`);
    assertEquals(await bob.line(), say.othersRenamed("irene", "irena"));
    // A PART leaves the room and the IRC user in none; a JOIN brings it back.
    await irene.write("PART #lobby :brb\r\nJOIN #lobby\r\n");
    assertEquals(await bob.line(), say.left("irena", "brb"));
    assertEquals(await bob.line(), say.joined("irena"));
    await bob.write("/who\n");
    assertEquals(await bob.line(), say.online("lobby", ["bob", "irena"]));
    await bob.write("/nick robert\n");
    assertEquals(await irc((line) => line.includes(" NICK ")), ":bob!bob@chat NICK robert");
    await bob.write("/quit later\n");
    assertEquals(
      await irc((line) => line.includes(" QUIT ")),
      ":robert!robert@chat QUIT :Quit: later",
    );
    // LIST shows the rooms of the whole cluster; a channel with members only elsewhere answers.
    using carol = await LineClient.join(b, "carol");
    await carol.write("/join dev\n/topic plans\n");
    await irc((line) => line === ":carol!carol@chat PART #lobby");
    await irene.write("TOPIC #dev\r\nNAMES #dev\r\nPRIVMSG #dev :hi\r\n");
    assertEquals(await irc((line) => / 33[12] /.test(line)), ":a.test 332 irena #dev :plans");
    assertEquals(await irc((line) => / 353 /.test(line)), ":a.test 353 irena = #dev :carol");
    assertMatch(await irc((line) => / 404 /.test(line)), /^:a\.test 404 irena #dev /);
    await irene.write("WHOIS carol\r\n");
    assertEquals(await irc((line) => / 319 /.test(line)), ":a.test 319 irena carol :#dev");
    await irene.write("LIST\r\n");
    const listed = [];
    for (let line = ""; !/ 323 /.test(line);) {
      line = await irc(() => true);
      if (/ 322 /.test(line)) listed.push(line);
    }
    assertEquals(listed.sort(), [
      ":a.test 322 irena #dev 1 :plans",
      ":a.test 322 irena #lobby 1 :",
    ]);
  },
);

clusterTest(
  "IRC cloaks: every server of a cluster cloaks an address alike, under a key kept in Redis",
  async () => {
    await using redis = await startRedis();
    await using a = await instance(redis, { irc: 0 });
    await using b = await instance(redis, { irc: 0 });
    const host = await ircHost(a, "ann");
    assertMatch(host, /^[a-z2-7]{13}\.cloak$/); // never 127.0.0.1
    assertEquals(await ircHost(b, "bob"), host);
    assertMatch(await redis.cli("GET", "chat:cloak-key"), /^[0-9a-f]{64}$/);
    // A server that joins later takes the key already there.
    await using c = await instance(redis, { irc: 0 });
    assertEquals(await ircHost(c, "carl"), host);
  },
);

clusterTest(
  "a change of case keeps the name held; a rename refused after an outage frees the old name",
  async () => {
    await using cluster = await twoServers({ persist: true });
    const { redis, a, b } = cluster;
    using people = await annAndBob(a, b);
    const { ann, bob } = people;
    await ann.write("/nick ANN\n");
    await bob.until((line) => line === say.othersRenamed("ann", "ANN"));
    assertMatch(await redis.cli("HGET", "chat:names", "ann"), /"n":"ANN"/);

    // Both servers give the name cat away while Redis is down: one keeps it, and the
    // other's member goes, taking its old name with it (ANN's rename, or carol's join).
    await redis.stop();
    await eventually(() => !a.hub.cluster!.connected && !b.hub.cluster!.connected);
    await ann.write("/nick cat\n");
    await ann.until((line) => line === say.renamed("cat"));
    using carol = await LineClient.join(b, "cat");
    await redis.start();
    // Redis kept ann and bob over its restart; once both servers have sent what waited,
    // the names held are bob and cat, whoever won cat.
    const held = async () => (await redis.cli("HKEYS", "chat:names")).split("\n").sort().join();
    await eventually(async () => (await held()) === "bob,cat", 10_000);
    // The holder is one of the two servers; the other's member was told, and went.
    const holder = JSON.parse(await redis.cli("HGET", "chat:names", "cat")).i;
    const [server, gone] = holder === a.hub.cluster!.id ? [a, carol] : [b, ann];
    assert(server.hub.members.has("cat"));
    assert((await gone.rest()).includes(say.nameLost("cat")));
  },
);

clusterTest(
  "an event id is the cluster's: the same msgid on every server, and in a later server's replay",
  async () => {
    await using redis = await startRedis();
    await using a = await instance(redis, { irc: 0 });
    await using b = await instance(redis, { irc: 0 });
    /** An IRC client with message-tags in #lobby on `server`, with a reader of its PRIVMSGs. */
    const tagged = async (server: ChatServer, nick: string) => {
      const client = await LineClient.connect({ addr: server.ircAddr! });
      await client.write(
        `CAP LS 302\r\nNICK ${nick}\r\nUSER ${nick} 0 * :x\r\nCAP REQ :message-tags\r\nCAP END\r\n`,
      );
      await client.until((line) => / 422 /.test(line));
      await client.write("JOIN #lobby\r\n");
      await client.until((line) => / 366 /.test(line));
      return client;
    };
    const msgid = async (client: LineClient, text: string) => {
      const line = await client.until((line) => line.endsWith(` PRIVMSG #lobby :${text}\r`));
      return /^@msgid=([0-9a-z]{19}) /.exec(line)?.[1];
    };
    using ivy = await tagged(a, "ivy");
    using jon = await tagged(b, "jon");
    await knows(a, 1);
    await knows(b, 1);
    using cat = await LineClient.join(a, "cat");
    await cat.write("one id\n");
    const [onA, onB] = [await msgid(ivy, "one id"), await msgid(jon, "one id")];
    assert(onA !== undefined && onA === onB, `${onA} and ${onB}`);
    // A server started later replays the room from Redis with the same id.
    await using c = await instance(redis, { irc: 0 });
    using kim = await tagged(c, "kim");
    assertEquals(await msgid(kim, "one id"), onA);
  },
);

// Moderation across the cluster: room rules shared (Redis, the event stream), kicks, bans,
// kills and klines reaching members held by another server.

const CHEAP_HASH = { n: 1 << 10, r: 8, p: 1, scramIterations: 16 };

clusterTest(
  "room rules, kicks, bans, kills and klines cross servers; a banned member cannot come back by another server, a reconnect or a rename",
  async () => {
    await using redis = await startRedis();
    const options = { hashCost: CHEAP_HASH, admins: ["boss"] };
    await using a = await instance(redis, options);
    await using b = await instance(redis, options);
    using ann = await LineClient.join(a, "ann");
    await ann.write("/register pass-ann\n");
    assertEquals(await ann.line(), say.registered("ann", true));
    await ann.write("/join dev\n");
    await ann.until((line) => line.startsWith("-- You are now in dev"));
    // The founded room's rules reach the other server (and Redis) before anyone comes.
    await eventually(() => b.hub.roomRules.get("dev")?.founder === "ann");
    assert((await redis.cli("HGET", "chat:rules", "dev")).includes('"founder":"ann"'));

    using bob = await LineClient.join(b, "bob");
    await bob.write("/join dev\n");
    await bob.until((line) => line.startsWith("-- You are now in dev"));
    await ann.until((line) => line === say.joined("bob"));

    // A mode set on A is told and applied on B.
    await ann.write("/mode +m\n");
    assertEquals(await bob.line(), "-- ann set modes +m");
    await bob.write("hello?\n");
    assertEquals(await bob.line(), say.moderated("dev"));
    await ann.write("/mode -m\n");
    assertEquals(await bob.line(), "-- ann set modes -m");

    // A kick on A takes bob (on B) out, told who and why; the propagation is measured.
    const kickedAt = performance.now();
    await ann.write("/kick bob stop\n");
    assertEquals(await bob.line(), "-- ann kicked you out of dev (stop)");
    const kickMs = performance.now() - kickedAt;
    console.log(`kick from server A reached bob on B in ${kickMs.toFixed(1)} ms`);
    await ann.until((line) => line === "-- ann kicked bob (stop)");
    await eventually(() => a.hub.cluster!.remote.get("bob")?.room === "lobby");
    await bob.write("/join dev\n");
    await bob.until((line) => line.startsWith("-- You are now in dev"));
    // The kick was told once: no "bob went to lobby" after it.
    assertEquals(await ann.line(), say.joined("bob"));

    // A ban on A: bob is sent out on B, and B bans its address too (bob is a guest there).
    await ann.write("/ban bob\n");
    await ann.until((line) => line === "-- ann banned bob");
    assertEquals(await bob.line(), "-- ann banned bob");
    assertEquals(await bob.line(), "-- ann kicked you out of dev (banned)");
    await eventually(() => a.hub.roomRules.get("dev")!.bans.some((ban) => ban.kind === "address"));
    await bob.write("/join dev\n");
    assertEquals(await bob.until((line) => line.startsWith("!!")), say.banned("dev"));
    await bob.write("/nick bobby\n/join dev\n");
    await bob.until((line) => line.startsWith("-- You are now known as bobby"));
    assertEquals(await bob.line(), say.banned("dev"), "a rename does not let it back");
    // Another connection, on the other server, from the banned address.
    using bob2 = await LineClient.join(a, "robert");
    await bob2.write("/join dev\n");
    assertEquals(await bob2.line(), say.banned("dev"), "nor another server");
    bob2.close();
    // A server started later has the rules from Redis.
    await using c = await instance(redis, options);
    assertEquals(c.hub.roomRules.get("dev")?.bans.length, 2);
    using bob3 = await LineClient.join(c, "bob3");
    await bob3.write("/join dev\n");
    assertEquals(await bob3.line(), say.banned("dev"), "nor a reconnect to a new server");
    bob3.close();
    // Its leaving reaches A before boss is in the lobby to hear it.
    await eventually(() => !a.hub.cluster!.remote.has("bob3"));

    // /kill on A reaches bobby on B; a kline on A ends a matching member on B.
    using boss = await LineClient.join(a, "boss");
    await boss.write("/register pass-boss\n");
    assertEquals(await boss.line(), say.registered("boss", true));
    await boss.write("/kill bobby enough\n");
    assertEquals(
      await bob.until((line) => line.includes("disconnected you")),
      say.killed("boss", "enough"),
    );
    await bob.rest();
    using troll = await LineClient.join(b, "trollface");
    await eventually(() => a.hub.cluster!.remote.has("trollface"));
    await boss.write("/kline troll* 1h trolling\n");
    assertMatch(
      await troll.until((line) => line.startsWith("!!")),
      /^!! you are banned from this server until .* UTC: trolling$/,
    );
    await troll.rest();
    assert((await redis.cli("HGET", "chat:klines", "troll*")).includes('"reason":"trolling"'));
    using again = await LineClient.connect(c);
    await again.until((line) => line.endsWith("call you?"));
    await again.write("trollish\n");
    assertMatch(await again.line(), /^!! you are banned from this server until/);
    await again.rest();
  },
);

clusterTest(
  "a deleted message leaves every instance's history and Redis: an instance started later never sees it",
  async () => {
    await using cluster = await twoServers();
    const { redis, a, b } = cluster;
    using people = await annAndBob(a, b);
    const { ann, bob } = people;
    await ann.write("one\ntwo\nthree\n");
    await bob.until((line) => line === "ann: three");
    const two = a.hub.history.before("lobby", 10).find((entry) => entry.text === "two")!.id;
    await ann.write(`/delete ${two}\n`);
    assertEquals(
      await bob.until((line) => line.startsWith("-- ann deleted")),
      say.deleted("ann", "ann"),
    );
    const texts = (server: ChatServer) => server.hub.history.before("lobby", 10).map((e) => e.text);
    assertEquals(texts(a), ["one", "three"]);
    assertEquals(texts(b), ["one", "three"]);
    // Loaded from Redis's history stream by a server that starts now.
    await using c = await instance(redis);
    assertEquals(texts(c), ["one", "three"]);
  },
);

clusterTest(
  "IRC in several channels across a cluster: each room elsewhere sees it, and a later server too",
  async () => {
    await using redis = await startRedis();
    await using a = await instance(redis, { irc: 0, ircName: "a.test" });
    await using b = await instance(redis);
    using irene = await LineClient.connect({ addr: a.ircAddr! });
    const irc = async (match: (line: string) => boolean) =>
      (await irene.until((line) => match(line.replace(/\r$/, "")))).replace(/\r$/, "");
    await irene.write("NICK irene\r\nUSER irene 0 * :Irene\r\n");
    await irc((line) => / 422 /.test(line));
    using bob = await LineClient.join(b, "bob"); // in the lobby on b
    using carol = await LineClient.join(b, "carol");
    await carol.write("/join dev\n");
    await carol.until((line) => line.startsWith("-- You are now in dev."));
    await knows(a, 2);
    await irene.write("JOIN #lobby,#dev\r\n");
    await irc((line) => / 366 \S+ #dev /.test(line));
    assertEquals(await bob.until((line) => line.includes("irene")), say.joined("irene"));
    assertEquals(await carol.until((line) => line.includes("irene")), say.joined("irene"));
    const held = (server: ChatServer) =>
      [...server.hub.cluster!.remote.values()].find((member) => member.name === "irene");
    const remote = () => held(b);
    await eventually(() => remote()?.rooms.size === 2);
    assertEquals([...remote()!.rooms.values()].sort(), ["dev", "lobby"]);
    // A line to each channel reaches that room only.
    await irene.write("PRIVMSG #dev :to dev\r\nPRIVMSG #lobby :to the lobby\r\n");
    assertEquals(await carol.until(isChat), "irene: to dev");
    assertEquals(await bob.until(isChat), "irene: to the lobby");
    // A server that starts later sees it in both rooms (Redis keeps every room of it).
    await using c = await instance(redis);
    await eventually(() => held(c)?.rooms.size === 2);
    await irene.write("PART #dev :bye dev\r\n");
    assertEquals(await carol.until((line) => line.includes("irene")), say.left("irene", "bye dev"));
    await eventually(() => remote()?.rooms.size === 1);
    assertEquals(remote()!.room, "lobby");
    await bob.write("/who\n");
    assertEquals(
      await bob.until((line) => line.includes("Online")),
      say.online("lobby", ["bob", "irene"]),
    );
    await irene.write("QUIT :later\r\n");
    assertEquals(
      await bob.until((line) => line.includes("irene")),
      say.left("irene", "quit: later"),
    );
  },
);
