/**
 * What the hub sees of a cluster (`src/cluster/cluster.ts` implements it): the
 * events an instance publishes, the members of other instances, and the link's
 * operations. Types and one small class only: the core imports no cluster code.
 *
 * @module
 */

import type { ChatMessage } from "./protocol.ts";
import { roomKey } from "./protocol.ts";
import type { RoomMember } from "./room.ts";
import type { ModerationAction } from "./events.ts";
import type { RulesData } from "./moderation.ts";
import type { Kline } from "./klines.ts";
import type { Webhook } from "./webhooks.ts";
import type { Marker } from "./read_markers.ts";

/** What an instance publishes about its own members. */
export type ClusterEvent =
  /** A message, action or private message (`k`: the room's key). */
  | { t: "msg"; k: string; m: ChatMessage }
  /**
   * A member entered the chat (`k`: its name's key); also re-sent when claims are re-made.
   * `rs`: every room it is in, space-separated, when more than one (its current one last).
   */
  | { t: "join"; k: string; name: string; room: string; rs?: string }
  /** A member joined `room` besides the rooms it is in (IRC's JOIN). */
  | { t: "enter"; k: string; name: string; room: string; rs?: string }
  | { t: "leave"; k: string; name: string; room: string; reason?: string }
  /** Out of `from` into `room`; to `room` "" is out of `from` only (an IRC PART), for `reason`. */
  | {
    t: "move";
    k: string;
    name: string;
    from: string;
    room: string;
    rs?: string;
    reason?: string;
    /** Moved out by a kick (told as the kick, not as a move). */
    kicked?: boolean;
  }
  /** `ok`: the old name's key. */
  | { t: "rename"; k: string; ok: string; old: string; name: string; room: string; rs?: string }
  | { t: "topic"; k: string; room: string; topic: string; by: string }
  /** A name claimed but never used (its session left while the claim was on its way). */
  | { t: "drop"; k: string }
  /** A room's topic, kept again after Redis lost it (nobody is told). */
  | { t: "room"; k: string; topic: string }
  /** Every member the instance holds now (`keys`): the others forget the rest of its members. */
  | { t: "hello"; keys: string[] }
  /** An account was made (`name`) or deleted (`null`) under the name key `k`. */
  | { t: "account"; k: string; name: string | null }
  /**
   * The rules of the founded room `k` (`j`: their JSON, a `RulesData`; "" when no one holds
   * it now), kept in Redis, with the moderation that changed them (`n`) for the room's notice.
   */
  | { t: "rules"; k: string; j: string; n?: RemoteNotice }
  /** The member `k` (held by whichever instance) is kicked out of the room `r` (its key). */
  | { t: "kick"; k: string; r: string; by: string; reason?: string }
  /** The member `k` is disconnected by the server operator `by` (`/kill`). */
  | { t: "kill"; k: string; by: string; reason?: string }
  /** The member `k` is invited to the room `room` by `by`. */
  | { t: "invite"; k: string; room: string; by: string }
  /** A kline set (`j`: its JSON, a `Kline`), kept in Redis under `k` (its key). */
  | { t: "kline"; k: string; j: string }
  /** The kline kept under `k` is lifted. */
  | { t: "unkline"; k: string }
  /** The kept message `id` of the room `k` was deleted by `by` (history forgets it everywhere). */
  | { t: "delete"; k: string; id: string; by: string; reason?: string }
  /** A webhook made (kept by every server; on Redis in `chat:webhooks`), or revoked. */
  | { t: "hook"; hook: Webhook }
  | { t: "unhook"; id: string }
  /** The private messages held for the account `k` were delivered (see `private.ts`). */
  | { t: "held"; k: string }
  /**
   * The private message `id` of the conversation `p` (its pair key), from the account `a`
   * to the account `to`, was deleted by `by` (see `private_delete.ts`).
   */
  | { t: "pdelete"; p: string; id: string; by: string; a: string; to: string }
  /** The account `a` (its key) moved a read marker forward (see `read_markers.ts`). */
  | { t: "mark"; a: string; m: Marker };

/** What another server's moderation did, for its notice (see `Hub.remoteRules`). */
export interface RemoteNotice {
  readonly by: string;
  readonly action: ModerationAction;
  readonly target?: string;
  readonly reason?: string;
}

/** A member held by another instance, as this instance knows it. */
export class RemoteMember implements RoomMember {
  /** The current room's key ({@linkcode roomKey}). */
  roomKey: string;
  /** Every room it is in (an IRC user may be in several): key → name; `room` is one of them. */
  readonly rooms = new Map<string, string>();
  constructor(public name: string, public room: string, readonly instance: string) {
    this.roomKey = roomKey(room);
    if (room !== "") this.rooms.set(this.roomKey, room);
  }

  /** Every room's name, space-separated, as `rs` carries them (room names have no spaces). */
  static roomList(rooms: Iterable<{ name: string }>): string {
    let list = "";
    for (const { name } of rooms) list = list === "" ? name : `${list} ${name}`;
    return list;
  }
  /** Remote members are told nothing here: their own instance delivers to them. */
  deliver(): void {}
}

/** What the hub does with what other instances publish (see `Hub`). */
export interface ClusterHub {
  remoteMessage(message: ChatMessage, roomKey: string, sender: RemoteMember | null): void;
  remoteEntered(member: RemoteMember): void;
  /** `member` is gone, out of the rooms `rooms` (their keys). */
  remoteLeft(member: RemoteMember, rooms: Iterable<string>, reason?: string): void;
  /** `member` left the room `from` (moved to `to`, or "" if it only left: an IRC PART). */
  remoteMoved(
    member: RemoteMember,
    from: string,
    reason?: string,
    kicked?: boolean,
    to?: string,
  ): void;
  /** `member` came into the room `room` (one more of its rooms, or after a move). */
  remoteJoined(member: RemoteMember, room: string): void;
  remoteRenamed(member: RemoteMember, old: string): void;
  remoteTopic(roomKey: string, topic: string, by: RemoteMember): void;
  /** A member of another instance deleted the kept message `id` of the room `roomKey`. */
  remoteDeleted(roomKey: string, id: string, by: string, reason?: string): void;
  /** A private message was deleted on another instance (see `private_delete.ts`). */
  remotePrivateDeleted(pair: string, id: string, by: string, author: string, to: string): void;
  /** A webhook was made (`hook`) or revoked (`id`) on another instance. */
  remoteHook(hook: Webhook): void;
  remoteUnhook(id: string): void;
  /** The private messages held for the account `key` were delivered by another instance. */
  remoteHeldTaken(key: string): void;
  /** A local member's name was taken elsewhere while this instance was cut off. */
  nameLost(key: string): void;
  /** An account was made (`name`) or deleted (`null`) on another instance. */
  remoteAccount(key: string, name: string | null): void;
  /** The rules of the founded room `key` changed elsewhere (`null`: no one holds it). */
  remoteRules(key: string, data: RulesData | null, notice?: RemoteNotice): void;
  /** A member here (`key`) was kicked out of the room `roomKey` by `by` elsewhere. */
  remoteKick(key: string, roomKey: string, by: string, reason?: string): void;
  /** A member here (`key`) was killed by `by` elsewhere. */
  remoteKill(key: string, by: string, reason?: string): void;
  /** A member here (`key`) was invited to `room` by `by` elsewhere. */
  remoteInvite(key: string, room: string, by: string): void;
  /** A kline was set elsewhere (or found kept in Redis at start). */
  remoteKline(kline: Kline): void;
  /** The kline of `mask` (its key) was lifted elsewhere. */
  remoteUnkline(mask: string): void;
  /** An account moved a read marker forward on another instance. */
  remoteMarker(account: string, marker: Marker): void;
  /** Every local member, as events that (re)announce them. */
  localMembers(): { k: string; name: string; room: string }[];
  /** The topics of rooms with members here, by room key. */
  localTopics(): [string, string][];
}

/** The hub's link to the other instances of its cluster. */
export interface ClusterLink {
  /** This instance's id in the cluster (different on every start). */
  readonly id: string;
  /** Whether the link to the others is up now. */
  readonly connected: boolean;
  /** Members of other instances by name key. */
  readonly remote: ReadonlyMap<string, RemoteMember>;
  /** Publishes an event about this instance's members. */
  publish(event: ClusterEvent): void;
  /** The name held elsewhere under `key`, if any. */
  remoteName(key: string): string | undefined;
  /** Claims `name` for a member of this instance; `false` if another instance holds it. */
  claim(name: string, room: string): Promise<boolean>;
  /** Remote members in the room `key`: up to `limit` names, and how many there are. */
  membersIn(key: string, limit: number): { names: string[]; count: number; room?: string };
  /** The remote members in the room `key`. */
  membersOf(key: string): Iterable<RemoteMember>;
  /** Rooms with remote members: key → shown name and member count. */
  rooms(): Map<string, { name: string; members: number }>;
}
