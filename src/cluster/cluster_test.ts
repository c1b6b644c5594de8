/**
 * Pins the cluster link in memory, with a bus that only records: what an
 * instance publishes about its members, and how it applies what others
 * publish (once, in order, never its own), forgets a dead instance, and gives
 * names up. `cluster_test.ts` at the top runs real instances on a real Redis.
 *
 * @module
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Cluster, type ClusterBus, type ClusterEvent, type Envelope } from "./cluster.ts";
import { nameKey, reasons } from "../core/protocol.ts";
import { helloName, NAME_PROMPT, say } from "../text/protocol.ts";
import { MemoryConnection, MemoryHub, test } from "../../tests/test_util.ts";
import { TextSession } from "../text/session.ts";
import { Accounts, DEFAULT_POLICY, MemoryAccountStore } from "../core/accounts.ts";

/** A bus that keeps what is sent; its claims answer `claims` (default: granted). */
class RecordingBus implements ClusterBus {
  readonly sent: Envelope[] = [];
  connected = true;
  claims = new Map<string, boolean>();
  send(envelope: Envelope): void {
    this.sent.push(envelope);
  }
  claim(key: string): Promise<boolean> {
    return Promise.resolve(this.claims.get(key) ?? true);
  }
}

/** A hub in a cluster whose bus records. */
function clusteredHub(): { hub: MemoryHub; bus: RecordingBus; cluster: Cluster } {
  const hub = new MemoryHub();
  const cluster = new Cluster(hub);
  const bus = new RecordingBus();
  cluster.bus = bus;
  hub.cluster = cluster;
  return { hub, bus, cluster };
}

/** What another instance (`o`) publishes as its `s`-th event. */
const from = (o: string, s: number, event: ClusterEvent): Envelope => ({ ...event, o, s });

/** Waits for the claims in flight to be answered. */
const settled = () => new Promise((resolve) => setTimeout(resolve, 0));

/** A member called `name` of `hub` (its claim answered), with what it was sent taken. */
async function member(hub: MemoryHub, name: string) {
  const conn = hub.open();
  conn.say(name);
  await settled();
  assertEquals(helloName(conn.take()[0] ?? ""), name);
  return conn;
}

test("a member's life is published in order: join, message, move, topic, rename, leave", async () => {
  const { hub, bus } = clusteredHub();
  using _ = hub;
  const ann = hub.open();
  ann.say("ann");
  await settled();
  ann.take();
  ann.say("hi", "/join dev", "/topic plans", "/msg bob x");
  ann.say("/nick anna");
  await settled();
  ann.say("/quit");
  const events = bus.sent.map(({ o: _o, s, ...event }) => [s, event.t]);
  assertEquals(events, [
    [1, "join"],
    [2, "msg"],
    [3, "move"],
    [4, "topic"],
    [5, "rename"],
    [6, "leave"],
  ]);
});

test("another instance's events are applied once, in order, and an instance's own never", async () => {
  const { hub, cluster } = clusteredHub();
  using _ = hub;
  const ann = await member(hub, "ann");
  const remote = "other";
  cluster.receive(from(remote, 1, { t: "join", k: nameKey("bob"), name: "bob", room: "lobby" }));
  const message = { kind: "message" as const, from: "bob", room: "lobby", time: 0 };
  cluster.receive(from(remote, 2, { t: "msg", k: "lobby", m: { ...message, text: "one" } }));
  cluster.receive(from(remote, 2, { t: "msg", k: "lobby", m: { ...message, text: "one" } }));
  cluster.receive(from(remote, 1, { t: "msg", k: "lobby", m: { ...message, text: "old" } }));
  cluster.receive(from(remote, 3, { t: "msg", k: "lobby", m: { ...message, text: "two" } }));
  cluster.receive(from(cluster.id, 99, { t: "msg", k: "lobby", m: { ...message, text: "own" } }));
  assertEquals(ann.take(), [say.joined("bob"), "bob: one", "bob: two"]);
  assertEquals(hub.nameError("BOB", ann.session), { code: "nameTaken", name: "BOB" });
  ann.say("/who");
  assertEquals(ann.take(), [say.online("lobby", ["ann", "bob"])]);
});

test("an instance missing from the heartbeat loses its members, announced, their names freed", async () => {
  const { hub, cluster } = clusteredHub();
  using _ = hub;
  const ann = await member(hub, "ann");
  cluster.receive(from("gone", 1, { t: "join", k: nameKey("bob"), name: "bob", room: "lobby" }));
  cluster.receive(from("live", 1, { t: "join", k: nameKey("cat"), name: "cat", room: "lobby" }));
  ann.take();
  // A heartbeat asked before the instances were heard of proves nothing about them.
  cluster.alive(["live"], Date.now() - 60_000, false);
  assertEquals(ann.take(), []);
  cluster.alive(["live"], Date.now() + 1, false);
  assertEquals(ann.take(), [say.left("bob", reasons.serverLost)]);
  assertEquals(hub.nameError("bob", ann.session), null);
  assertEquals(hub.nameError("cat", ann.session), { code: "nameTaken", name: "cat" });
});

test("a hello lists all of an instance's members: the others it had are gone", async () => {
  const { hub, cluster } = clusteredHub();
  using _ = hub;
  const ann = await member(hub, "ann");
  for (const [s, name] of [[1, "bob"], [2, "cat"]] as const) {
    cluster.receive(from("other", s, { t: "join", k: nameKey(name), name, room: "lobby" }));
  }
  ann.take();
  cluster.receive(from("other", 3, { t: "hello", keys: [nameKey("cat")] }));
  assertEquals(ann.take(), [say.left("bob")]);
  assertEquals(cluster.remote.size, 1);
});

test("a name taken elsewhere is refused; one lost during an outage ends its session", async () => {
  const { hub, bus, cluster } = clusteredHub();
  using _ = hub;
  bus.claims.set(nameKey("bob"), false);
  const conn = hub.open();
  conn.say("bob", "bobby"); // the second line waits for the first's claim
  await settled();
  await settled();
  const [taken, prompt, hello] = conn.take();
  assertEquals([taken, prompt, helloName(hello)], [say.nameTaken("bob"), NAME_PROMPT, "bobby"]);
  assertEquals([...hub.members.keys()], [nameKey("bobby")]);

  bus.connected = false; // down: granted here, claimed when the join goes out
  const ann = hub.open();
  ann.say("ann");
  await settled();
  assert(ann.take()[0].startsWith("-- Hello, ann!"));
  cluster.refused([nameKey("ann")]);
  assertEquals(ann.take(), [say.nameLost("ann")]);
  assertEquals(ann.closed, true);
  assertEquals(hub.members.has(nameKey("ann")), false);
});

test("members claimed again after Redis lost them: not a name whose claim is still on its way", async () => {
  const { hub, bus, cluster } = clusteredHub();
  using _ = hub;
  const ann = await member(hub, "ann");
  let answer: (granted: boolean) => void = () => {};
  bus.claim = () => new Promise((resolve) => answer = resolve);
  ann.say("/nick bob"); // its claim waits
  bus.sent.length = 0;
  cluster.alive([cluster.id], Date.now(), true);
  const joins = bus.sent.filter((envelope) => envelope.t === "join");
  assertEquals(joins.map((envelope) => envelope.t === "join" && envelope.k), [nameKey("ann")]);
  answer(true);
  await settled();
  assertEquals(ann.take(), [say.renamed("bob")]);
});

test("multiclient in a cluster: a second connection of an account attaches here, is published never, and is refused elsewhere", async () => {
  const { hub, bus, cluster } = clusteredHub();
  using _ = hub;
  hub.accounts = new Accounts(hub, new MemoryAccountStore(), {
    ...DEFAULT_POLICY,
    cost: { n: 1 << 10, r: 8, p: 1, scramIterations: 16 },
  });
  const laptop = hub.open();
  laptop.say("/register ann pw");
  await hub.accounts.idle();
  await settled();
  const phone = hub.open();
  phone.say("ann", "pw");
  await hub.accounts.idle();
  assertEquals(helloName(phone.take()[1] ?? ""), "ann");
  phone.say("from the phone");
  // A rename from the phone is claimed for the member: both connections are renamed.
  phone.say("/nick nan");
  await settled();
  assertEquals([laptop.session.name, phone.session.name], ["nan", "nan"]);
  assertEquals(hub.members.get("nan"), laptop.session);
  phone.say("/nick ann");
  await settled();
  phone.say("/quit");
  // One join and one message; the phone's going is no leave (the laptop is still ann).
  assertEquals(bus.sent.map((event) => event.t), ["account", "join", "msg", "rename", "rename"]);
  assertEquals(hub.localMembers(), [{ k: "ann", name: "ann", room: "lobby" }]);
  laptop.say("/quit");
  assertEquals(bus.sent.at(-1)?.t, "leave");
  // ann on another server: a login here is refused, and says why.
  cluster.receive(from("other", 1, { t: "join", k: "ann", name: "ann", room: "lobby" }));
  const late = hub.open();
  late.say("ann");
  assertEquals(late.take(), [say.accountElsewhere("ann"), NAME_PROMPT]);
});

test("moderation from another instance: rules applied and told, its bans enforced here (and widened), kicks, kills, invitations and klines", async () => {
  const { hub, bus, cluster } = clusteredHub();
  using _ = hub;
  /** A member from an address of its own (a guest's ban covers its address). */
  const from_ = async (name: string, remote: string) => {
    const conn = new MemoryConnection();
    (conn as { remote: string }).remote = remote;
    conn.session = hub.connect(conn, new TextSession(hub, conn))!;
    conn.say(name);
    await settled();
    conn.take();
    return conn;
  };
  const bob = await from_("bob", "192.0.2.1:1");
  const cy = await from_("cy", "192.0.2.2:1");
  const dan = await from_("dan", "192.0.2.3:1");
  for (const conn of [bob, cy, dan]) conn.say("/join dev");
  await settled();
  for (const conn of [bob, cy, dan]) conn.take();
  bus.sent.length = 0;
  const rules = (bans: { kind: string; mask: string; by: string; time: number }[]) =>
    JSON.stringify({
      founder: "ann",
      ops: [],
      voices: [],
      modes: "nt",
      key: null,
      limit: null,
      bans,
      mutes: [],
    });

  // A ban set on A: told here, bob taken out, and his address banned too (shared back).
  const ban = { kind: "name", mask: "bob", by: "ann", time: 1 };
  cluster.receive(from("A", 1, {
    t: "rules",
    k: "dev",
    j: rules([ban]),
    n: { by: "ann", action: "ban", target: "bob" },
  }));
  assertEquals(bob.take().slice(0, 2), [
    "-- ann banned bob",
    "-- ann kicked you out of dev (banned)",
  ]);
  assertEquals(bob.session.room?.name, "lobby");
  assertEquals(cy.take(), ["-- ann banned bob"]);
  dan.take();
  const shared = bus.sent.find((event) => event.t === "rules");
  assert(shared?.t === "rules" && shared.j.includes('"kind":"address"'), JSON.stringify(bus.sent));
  bob.say("/join dev");
  assertEquals(bob.take().at(-1), say.banned("dev"));

  // A kick of cy on A; never of the founder (checked here, where the account is known).
  cluster.receive(from("A", 2, { t: "kick", k: "cy", r: "dev", by: "ann", reason: "spam" }));
  assertEquals(cy.take()[0], "-- ann kicked you out of dev (spam)");
  assertEquals(dan.take(), ["-- ann kicked cy (spam)"]);

  // An invitation for bob, then a kill of dan with its reason.
  cluster.receive(from("A", 3, { t: "invite", k: "bob", room: "dev", by: "ann" }));
  assertEquals(bob.take().at(-1), "-- ann invites you to dev: /join dev");
  assert(hub.roomRules.get("dev")!.invited.has("n:bob"), "kept here, where bob is");
  cluster.receive(from("A", 4, { t: "kill", k: "dan", by: "boss", reason: "bye" }));
  assertEquals(dan.take(), [say.killed("boss", "bye")]);
  assert(dan.closed);

  // A kline set on A ends cy here; lifted, cy's name may come back.
  const kline = { kind: "name", mask: "cy", by: "boss", time: 1, expires: null, reason: "" };
  cluster.receive(from("A", 5, { t: "kline", k: "cy", j: JSON.stringify(kline) }));
  assertEquals(cy.take().at(-1), say.klined("", null));
  assert(cy.closed);
  cluster.receive(from("A", 6, { t: "unkline", k: "cy" }));
  assertEquals(hub.klines.size, 0);
  await from_("cy", "192.0.2.2:2");
});

test("a room's rules are applied in the stream's order, this instance's own included (silently): changes made at once end the same everywhere", async () => {
  const { hub, cluster } = clusteredHub();
  using _ = hub;
  const bob = await member(hub, "bob");
  bob.say("/join dev");
  bob.take();
  const state = (modes: string) =>
    JSON.stringify({
      founder: "ann",
      ops: [],
      voices: [],
      modes,
      key: null,
      limit: null,
      bans: [],
      mutes: [],
    });
  // Here +m was set (its event on its way); another instance set +i at the same time, and
  // the stream took this instance's first: both apply +m, then +i.
  cluster.receive({ t: "rules", k: "dev", j: state("ntm"), o: cluster.id, s: 1 });
  assertEquals(bob.take(), [], "its own change is not told twice");
  assertEquals([...hub.roomRules.get("dev")!.modes].sort().join(""), "mnt");
  cluster.receive(from("B", 1, { t: "rules", k: "dev", j: state("nti") }));
  assertEquals([...hub.roomRules.get("dev")!.modes].sort().join(""), "int");
});

test("a remote member in several rooms: enter adds one, a move to none parts one, a join re-sent says them all", async () => {
  const { hub, cluster } = clusteredHub();
  using _ = hub;
  const ann = await member(hub, "ann"); // in the lobby
  const dan = await member(hub, "dan");
  dan.say("/join dev");
  ann.take();
  dan.take();
  const k = nameKey("irene");
  const irene = { k, name: "irene" };
  cluster.receive(from("other", 1, { t: "join", ...irene, room: "" })); // IRC: in no room yet
  cluster.receive(from("other", 2, { t: "enter", ...irene, room: "lobby", rs: "lobby" }));
  cluster.receive(from("other", 3, { t: "enter", ...irene, room: "dev", rs: "lobby dev" }));
  assertEquals(ann.take(), [say.joined("irene")]);
  assertEquals(dan.take(), [say.joined("irene")]);
  assertEquals(cluster.membersIn("lobby", 5).names, ["irene"]);
  assertEquals(cluster.membersIn("dev", 5).names, ["irene"]);
  // An IRC PART of one channel: that room hears it left, the other nothing.
  cluster.receive(
    from("other", 4, { t: "move", ...irene, from: "dev", room: "", rs: "lobby", reason: "bye" }),
  );
  assertEquals(dan.take(), [say.left("irene", "bye")]);
  assertEquals(ann.take(), []);
  assertEquals(cluster.remote.get(k)?.room, "lobby");
  // Claims made again (a join with every room): what changed is told.
  cluster.receive(from("other", 5, { t: "join", ...irene, room: "dev", rs: "lobby dev" }));
  assertEquals(dan.take(), [say.joined("irene")]);
  cluster.receive(from("other", 6, { t: "join", ...irene, room: "dev" }));
  assertEquals(ann.take(), [say.left("irene")]);
  assertEquals([...cluster.remote.get(k)!.rooms.keys()], ["dev"]);
  cluster.receive(from("other", 7, { t: "enter", ...irene, room: "lobby", rs: "dev lobby" }));
  ann.take();
  cluster.receive(from("other", 8, { t: "leave", ...irene, room: "lobby", reason: "gone" }));
  assertEquals(ann.take(), [say.left("irene", "gone")]);
  assertEquals(dan.take(), [say.left("irene", "gone")]);
  assertEquals(cluster.membersIn("dev", 5).count + cluster.membersIn("lobby", 5).count, 0);
});
