/**
 * A cluster: several server instances that behave as one chat. Each instance
 * publishes what happens to its own members (messages, joins, leaves, moves,
 * renames, topics) on a shared bus, and applies what the others publish to its
 * own members: a remote member is a name, a room and the instance that holds
 * it, never a connection. The bus itself (Redis) is `src/cluster/redis_bus.ts`; this
 * file is what the hub sees of the cluster, and needs no dependency.
 *
 * Every event carries its instance's id and a sequence number: an instance
 * applies each event of another once, in the order it was published, whatever
 * the bus repeats after a reconnection.
 *
 * @module
 */

import { nameKey, reasons, roomKey } from "../core/protocol.ts";
import {
  type ClusterEvent,
  type ClusterHub,
  type ClusterLink,
  RemoteMember,
} from "../core/remote.ts";

import type { RulesData } from "../core/moderation.ts";
import type { Kline } from "../core/klines.ts";

export { type ClusterEvent, type ClusterHub, RemoteMember };

/** An event as it travels: with its instance (`o`) and that instance's sequence number (`s`). */
export type Envelope = ClusterEvent & { o: string; s: number };

/** What the bus hands over when it (re)connects: the cluster as it stands. */
export interface ClusterSnapshot {
  /** Members of the live instances: name key → name, room, instance. */
  members: Map<string, { name: string; room: string; instance: string }>;
  /** The rules of founded rooms kept in Redis: room key → their JSON. */
  rules?: [string, string][];
  /** The klines kept in Redis, as JSON. */
  klines?: string[];
}

/** What the cluster needs of the bus that carries its events. */
export interface ClusterBus {
  /** Whether the bus is connected now (claims are then made at once, else later). */
  readonly connected: boolean;
  /** Sends an event (in order; kept, bounded, while the bus is down). */
  send(envelope: Envelope): void;
  /** Claims a name key for this instance; `false` if another instance holds it. */
  claim(key: string, name: string, room: string): Promise<boolean>;
}

/** Milliseconds after which what was applied of a gone instance is forgotten. */
const FORGET_AFTER = 3_600_000;
/** The longest a claim waits for the bus before the name is let in and claimed later. */
const CLAIM_WAIT = 2_000;

/** This instance's view of the others, and its link to them. */
export class Cluster implements ClusterLink {
  /** Members of other instances by name key. */
  readonly remote = new Map<string, RemoteMember>();
  /** The same members by room key. */
  readonly #rooms = new Map<string, Set<RemoteMember>>();
  /** The same members by name as shown (a message names its sender so). */
  readonly #byName = new Map<string, RemoteMember>();
  /** This instance's id: different on every start. */
  readonly id = crypto.randomUUID().slice(0, 8);
  #seq = 0;
  /** The last sequence number applied, per instance. */
  readonly #applied = new Map<string, number>();
  /** When instances were found gone: what was applied of them is forgotten an hour later. */
  readonly #gone = new Map<string, number>();
  /** When each instance was last heard of (an event, or a heartbeat listing it). */
  readonly #heard = new Map<string, number>();
  /** The bus the events travel on; it sets itself here when it is made. */
  bus: ClusterBus | null = null;

  /** Makes the cluster link of the hub that applies what other instances publish. */
  constructor(readonly hub: ClusterHub) {}

  /** Whether the bus is up. */
  get connected(): boolean {
    return this.bus?.connected ?? false;
  }

  /** Publishes an event about this instance's members. */
  publish(event: ClusterEvent): void {
    this.bus?.send({ ...event, o: this.id, s: ++this.#seq });
  }

  /** The name held elsewhere under `key`, if any. */
  remoteName(key: string): string | undefined {
    return this.remote.get(key)?.name;
  }

  /**
   * Claims `name` for a member of this instance. While the bus is down (or slow
   * past {@linkcode CLAIM_WAIT}) the claim is granted here and made when the
   * member's join is published; if the name turns out to be taken, `nameLost`.
   */
  async claim(name: string, room: string): Promise<boolean> {
    const bus = this.bus;
    if (!bus || !bus.connected) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<boolean>((resolve) => timer = setTimeout(resolve, CLAIM_WAIT, true));
    try {
      return await Promise.race([bus.claim(nameKey(name), name, room).catch(() => true), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Remote members in the room `key`: up to `limit` names, and how many there are. */
  membersIn(key: string, limit: number): { names: string[]; count: number; room?: string } {
    const members = this.#rooms.get(key);
    const names: string[] = [];
    let room: string | undefined;
    for (const member of members ?? []) {
      room ??= member.rooms.get(key);
      if (names.length >= limit) break;
      names.push(member.name);
    }
    return { names, count: members?.size ?? 0, room };
  }

  /** The remote members in the room `key`. */
  membersOf(key: string): Iterable<RemoteMember> {
    return this.#rooms.get(key) ?? [];
  }

  /** Rooms with remote members: key → shown name and member count. */
  rooms(): Map<string, { name: string; members: number }> {
    const rooms = new Map<string, { name: string; members: number }>();
    for (const [key, members] of this.#rooms) {
      const [first] = members;
      rooms.set(key, { name: first.rooms.get(key) ?? key, members: members.size });
    }
    return rooms;
  }

  /** Takes in the cluster as the bus found it on connecting (nothing is announced). */
  load(snapshot: ClusterSnapshot): void {
    const now = Date.now();
    for (const [key, { name, room, instance }] of snapshot.members) {
      if (instance === this.id) continue;
      // `room` lists every room of a member in several (space-separated), its current one last.
      const rooms = room.split(" ");
      const member = new RemoteMember(name, rooms.pop()!, instance);
      for (const other of rooms) if (other !== "") member.rooms.set(roomKey(other), other);
      this.#add(key, member);
      this.#heard.set(instance, now);
    }
    for (const [key, json] of snapshot.rules ?? []) this.hub.remoteRules(key, JSON.parse(json));
    for (const json of snapshot.klines ?? []) {
      const kline = JSON.parse(json) as Kline;
      if (kline.expires === null || kline.expires > now) this.hub.remoteKline(kline);
    }
  }

  /** Applies an event from the bus: once, in order, and never one of this instance's own. */
  receive(envelope: Envelope): void {
    const { o: instance, s: seq } = envelope;
    if (instance === this.id) {
      // A room's rules are whole states: every server applies them in the stream's one order,
      // its own included (silently), so that two changes made at once end the same everywhere.
      if (envelope.t === "rules") this.hub.remoteRules(envelope.k, rulesOf(envelope.j));
      return;
    }
    if (seq <= (this.#applied.get(instance) ?? 0)) return; // a repeat after a reconnection
    this.#applied.set(instance, seq);
    this.#heard.set(instance, Date.now());
    const hub = this.hub;
    switch (envelope.t) {
      case "msg": {
        const from = this.#byName.get(envelope.m.from);
        return hub.remoteMessage(envelope.m, envelope.k, from?.instance === instance ? from : null);
      }
      case "join":
      case "move":
      case "enter": {
        const member = this.remote.get(envelope.k);
        if (member && member.instance === instance) {
          if (envelope.t === "enter") {
            if (!this.#enter(member, envelope.room)) return; // known already
            return hub.remoteJoined(member, envelope.room);
          }
          if (envelope.t === "join") return this.#reconcile(member, envelope.rs || envelope.room);
          const { from, room } = envelope;
          if (from !== "" && this.#part(member, roomKey(from))) {
            hub.remoteMoved(member, from, envelope.reason, envelope.kicked === true, room);
          }
          if (room !== "" && this.#enter(member, room)) hub.remoteJoined(member, room);
          return;
        }
        if (member) this.#remove(envelope.k, member); // a stale claim, given away since
        const added = new RemoteMember(envelope.name, envelope.room, instance);
        for (const other of (envelope.rs ?? "").split(" ")) {
          if (other !== "" && !added.rooms.has(roomKey(other))) {
            added.rooms.set(roomKey(other), other);
          }
        }
        this.#add(envelope.k, added);
        return hub.remoteEntered(added);
      }
      case "leave": {
        const member = this.remote.get(envelope.k);
        if (!member || member.instance !== instance) return;
        this.#remove(envelope.k, member);
        return hub.remoteLeft(member, member.rooms.keys(), envelope.reason);
      }
      case "rename": {
        const member = this.remote.get(envelope.ok);
        if (!member || member.instance !== instance) return;
        const stale = this.remote.get(envelope.k);
        if (stale && stale !== member) this.#remove(envelope.k, stale);
        this.#remove(envelope.ok, member);
        member.name = envelope.name;
        this.#add(envelope.k, member);
        return hub.remoteRenamed(member, envelope.old);
      }
      case "topic":
        return hub.remoteTopic(
          envelope.k,
          envelope.topic,
          this.#byName.get(envelope.by) ?? new RemoteMember(envelope.by, envelope.room, instance),
        );
      case "hello": {
        const keep = new Set(envelope.keys);
        for (const [key, member] of this.remote) {
          if (member.instance === instance && !keep.has(key)) this.#forget(key, member);
        }
        return;
      }
      case "account":
        return hub.remoteAccount(envelope.k, envelope.name);
      case "rules":
        return hub.remoteRules(envelope.k, rulesOf(envelope.j), envelope.n);
      case "kick":
        return hub.remoteKick(envelope.k, envelope.r, envelope.by, envelope.reason);
      case "kill":
        return hub.remoteKill(envelope.k, envelope.by, envelope.reason);
      case "invite":
        return hub.remoteInvite(envelope.k, envelope.room, envelope.by);
      case "kline":
        return hub.remoteKline(JSON.parse(envelope.j) as Kline);
      case "unkline":
        return hub.remoteUnkline(envelope.k);
      case "delete":
        return hub.remoteDeleted(envelope.k, envelope.id, envelope.by, envelope.reason);
      case "pdelete":
        return hub.remotePrivateDeleted(
          envelope.p,
          envelope.id,
          envelope.by,
          envelope.a,
          envelope.to,
        );
      case "hook":
        return hub.remoteHook(envelope.hook);
      case "unhook":
        return hub.remoteUnhook(envelope.id);
      case "held":
        return hub.remoteHeldTaken(envelope.k);
      case "mark":
        return hub.remoteMarker(envelope.a, envelope.m);
      case "drop":
      case "room":
        return;
    }
  }

  /**
   * The bus's heartbeat found these instances alive (asked at `askedAt`): the
   * members of any other instance heard of before then are gone, announced as
   * having lost their server. `fresh`: this instance was not registered (Redis
   * restarted empty, or this instance was cut off for longer than its lease),
   * so its members are claimed and announced again.
   */
  alive(instances: readonly string[], askedAt: number, fresh: boolean): void {
    const live = new Set(instances);
    for (const [instance, heardAt] of this.#heard) {
      if (live.has(instance)) {
        this.#heard.set(instance, Math.max(heardAt, askedAt));
        continue;
      }
      if (heardAt >= askedAt) continue; // heard of after the heartbeat was asked
      this.#heard.delete(instance);
      this.#gone.set(instance, askedAt);
      for (const [key, member] of this.remote) {
        if (member.instance === instance) this.#forget(key, member, reasons.serverLost);
      }
    }
    // An instance reaped while alive comes back with the same sequence numbers (and may
    // repeat a batch): what was applied of it is kept for an hour after it was found gone.
    for (const [instance, goneAt] of this.#gone) {
      if (live.has(instance)) {
        this.#gone.delete(instance);
      } else if (askedAt - goneAt > FORGET_AFTER) {
        this.#gone.delete(instance);
        this.#applied.delete(instance);
      }
    }
    if (fresh) this.reannounce();
  }

  /**
   * Claims and announces every local member again, says that is all of them,
   * and keeps the topics of local rooms again where Redis has none.
   */
  reannounce(): void {
    const members = this.hub.localMembers();
    for (const member of members) this.publish({ t: "join", ...member });
    this.publish({ t: "hello", keys: members.map((member) => member.k) });
    for (const [k, topic] of this.hub.localTopics()) this.publish({ t: "room", k, topic });
  }

  /** The bus could not claim these names for local members: another instance has them. */
  refused(keys: readonly string[]): void {
    for (const key of keys) this.hub.nameLost(key);
  }

  #forget(key: string, member: RemoteMember, reason?: string): void {
    this.#remove(key, member);
    this.hub.remoteLeft(member, member.rooms.keys(), reason);
  }

  #add(key: string, member: RemoteMember): void {
    this.remote.set(key, member);
    this.#byName.set(member.name, member);
    for (const room of member.rooms.keys()) this.#index(room, member);
  }

  #remove(key: string, member: RemoteMember): void {
    this.remote.delete(key);
    if (this.#byName.get(member.name) === member) this.#byName.delete(member.name);
    for (const room of member.rooms.keys()) this.#unindex(room, member);
  }

  #index(key: string, member: RemoteMember): void {
    let members = this.#rooms.get(key);
    if (!members) this.#rooms.set(key, members = new Set());
    members.add(member);
  }

  #unindex(key: string, member: RemoteMember): void {
    const members = this.#rooms.get(key);
    members?.delete(member);
    if (members?.size === 0) this.#rooms.delete(key);
  }

  /** Adds `room` to `member`'s rooms and makes it its current one; `false` if it was in it. */
  #enter(member: RemoteMember, room: string): boolean {
    const key = roomKey(room);
    const known = member.rooms.has(key);
    member.room = room;
    member.roomKey = key;
    if (known) return false;
    member.rooms.set(key, room);
    this.#index(key, member);
    return true;
  }

  /** Takes the room `key` out of `member`'s rooms; `false` if it was not in it. */
  #part(member: RemoteMember, key: string): boolean {
    if (!member.rooms.delete(key)) return false;
    this.#unindex(key, member);
    if (member.roomKey === key) {
      let last = "";
      for (const name of member.rooms.values()) last = name;
      member.room = last;
      member.roomKey = roomKey(last);
    }
    return true;
  }

  /**
   * Makes `member`'s rooms those of `list` (space-separated, current last: a `join` re-sent
   * when claims are re-made), and tells the rooms here what changed.
   */
  #reconcile(member: RemoteMember, list: string): void {
    const names = list === "" ? [] : list.split(" ");
    const wanted = new Set(names.map(roomKey));
    for (const [key, name] of [...member.rooms]) {
      if (!wanted.has(key) && this.#part(member, key)) this.hub.remoteMoved(member, name);
    }
    for (const name of names) if (this.#enter(member, name)) this.hub.remoteJoined(member, name);
  }
}

/** The rules a `rules` event carries (`null`: no one holds the room). */
function rulesOf(json: string): RulesData | null {
  return json === "" ? null : JSON.parse(json) as RulesData;
}
