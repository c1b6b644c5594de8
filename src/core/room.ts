/**
 * A room: its members, its topic, fan-out to them, and its join, leave and
 * move notices, merged so that no storm of arrivals and departures can make
 * the room hear more than one notice line per interval.
 *
 * @module
 */

import { NAMES_IN_NOTICE, roomKey, roomName } from "./protocol.ts";
import type { Event, PresenceEvent, PresenceGroup } from "./events.ts";
import { Delivery } from "./delivery.ts";

/**
 * What a room needs of a member: a name and a way to hand it an event (see
 * {@linkcode Delivery}); a member with several connections (an account's) has the
 * others `attached`, and they get what it gets.
 */
export interface RoomMember {
  readonly name: string | null;
  readonly attached?: readonly RoomMember[] | null;
  deliver(delivery: Delivery): void;
}

/** Hands `delivery` to `member` and to each of its attached connections. */
export function deliverTo(member: RoomMember, delivery: Delivery): void {
  member.deliver(delivery);
  const attached = member.attached;
  if (attached) { for (const other of attached) other.deliver(delivery); }
}

type Timer = ReturnType<typeof setTimeout>;

/** A join, leave or move, waiting to be announced. */
interface RoomEvent {
  member: RoomMember;
  /** The member's name when it happened (a rename may follow before it is told). */
  name: string;
  kind: "joined" | "left" | "moved";
  /** Why it left, or where it went. */
  detail?: string;
  /** When it may be announced (`performance.now()` time). */
  due: number;
  /** Set when a join is cancelled by a quick leave: skipped, not spliced out (that is O(n)). */
  cancelled?: boolean;
}

/** How a room times its notices. */
export interface NoticeTiming {
  /** Milliseconds between two notice lines; what happens meanwhile is merged into one. */
  noticeInterval: number;
  /**
   * Milliseconds a join waits before it is announced: someone who leaves within it
   * costs the room no notice at all (unless they spoke, which announces them first).
   */
  joinGrace: number;
}

/** Members past which a room's notice interval grows in proportion to its size. */
const BIG_ROOM = 1000;

/** One room. The hub owns rooms; a room only holds its members and speaks to them. */
export class Room<M extends RoomMember = RoomMember> {
  readonly members = new Set<M>();
  /** The room's name as shown: as its maker wrote it, without a leading `#` ({@linkcode roomName}). */
  readonly name: string;
  readonly key: string;
  topic = "";
  /** When the room was made (ms since the epoch; IRC's 329). */
  readonly created = Date.now();
  /** The address (see `Admission.keyOf`) that made this room, counted against it while it exists. */
  owner: string | null = null;

  // Notices wait here until they are due and the interval since the last notice line has
  // passed; then all that are due go out as one line. Joins not yet announced are also
  // kept by member, so that a quick leave cancels its join instead of adding a notice.
  #pending: RoomEvent[] = [];
  #unannounced = new Map<RoomMember, RoomEvent>();
  /** The earliest `due` among the pending events (Infinity when none). */
  #earliest = Infinity;
  #lastNotice = -Infinity;
  #timer: Timer | undefined;
  #timerAt = Infinity;

  /** Makes an empty room called `name` (compared by {@linkcode roomKey}). */
  constructor(name: string, readonly timing: NoticeTiming) {
    this.name = roomName(name);
    this.key = roomKey(name);
  }

  /**
   * Hands `delivery` to every member except `sender`, who is announced first if not
   * yet; each member encodes it in its own format (once per format for all).
   */
  broadcast(delivery: Delivery, sender: RoomMember | null): void {
    if (sender !== null && this.#unannounced.size > 0) this.introduce(sender);
    for (const member of this.members) {
      if (member === sender) continue;
      member.deliver(delivery);
      // One field read for a member with one connection: no allocation, no call.
      const attached = member.attached;
      if (attached) { for (const other of attached) other.deliver(delivery); }
    }
  }

  /**
   * `next` stands for the member `old` stood for (its lead connection left, another
   * stays): in the members and in the notices still pending.
   */
  replace(old: M, next: M): void {
    if (!this.members.delete(old)) return;
    this.members.add(next);
    const join = this.#unannounced.get(old);
    if (join !== undefined) {
      this.#unannounced.delete(old);
      this.#unannounced.set(next, join);
    }
    for (const event of this.#pending) if (event.member === old) event.member = next;
  }

  /**
   * Tells every member but `except` of a change in the room (a rename, a topic); a
   * front-end that shows such changes its own way skips it.
   */
  tell(event: Event, except: RoomMember | null): void {
    this.broadcast(new Delivery(event), except);
  }

  /**
   * Before `member` is heard in the room, announces its join if that is still
   * pending, with every other pending notice; if a notice line went out less than
   * an interval ago, what `member` says introduces it instead. Before a private
   * line to one member (`privately`), a join that must wait keeps waiting.
   */
  introduce(member: RoomMember, privately = false): void {
    const join = this.#unannounced.get(member);
    if (join === undefined) return;
    if (performance.now() - this.#lastNotice >= this.#interval()) return this.flushNotices(true);
    if (privately) return;
    this.#unannounced.delete(member);
    join.cancelled = true;
  }

  /** Queues the announcement that `member` joined, left (`detail`: why) or moved (`detail`: where). */
  announce(member: RoomMember, kind: RoomEvent["kind"], detail?: string): void {
    const now = performance.now();
    const join = this.#unannounced.get(member);
    if (join !== undefined && kind !== "joined") {
      // Gone before anyone was told it came: nothing to say at all.
      this.#unannounced.delete(member);
      join.cancelled = true;
      return;
    }
    const event: RoomEvent = { member, name: member.name!, kind, detail, due: now };
    if (kind === "joined") {
      event.due += this.timing.joinGrace;
      this.#unannounced.set(member, event);
    }
    this.#pending.push(event);
    if (event.due < this.#earliest) this.#earliest = event.due;
    this.#schedule(now);
  }

  /** Sends the notices that are due (or, with `all`, every pending one) as one line. */
  flushNotices(all = false): void {
    const now = performance.now();
    const due: RoomEvent[] = [];
    const later: RoomEvent[] = [];
    let earliest = Infinity;
    for (const event of this.#pending) {
      if (event.cancelled) continue;
      if (all || event.due <= now) {
        due.push(event);
      } else {
        later.push(event);
        if (event.due < earliest) earliest = event.due;
      }
    }
    this.#pending = later;
    this.#earliest = earliest;
    if (due.length > 0) {
      for (const event of due) if (event.kind === "joined") this.#unannounced.delete(event.member);
      this.#lastNotice = now;
      this.#tellNotices(due);
    }
    this.#schedule(now);
  }

  /**
   * Sends one line for `events` to every member but their subjects; a subject still
   * here (one who joined) gets the line without itself.
   */
  #tellNotices(events: readonly RoomEvent[]): void {
    if (events.length === 1) return this.tell(noticeFor(this.name, events), events[0].member);
    const notice = new MergedNotice(this.name, events);
    const delivery = new Delivery(notice.event());
    for (const member of this.members) {
      const event = notice.without(member);
      if (event === undefined) deliverTo(member, delivery);
      else if (event !== null) deliverTo(member, new Delivery(event));
    }
  }

  /** Forgets pending notices and stops the timer (the room is empty, or the server stops). */
  quiet(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    this.#pending = [];
    this.#unannounced.clear();
    this.#earliest = Infinity;
  }

  /** The interval between notice lines: longer in a big room (each line goes to everyone). */
  #interval(): number {
    return this.timing.noticeInterval * Math.max(1, this.members.size / BIG_ROOM);
  }

  /** Flushes now if a notice is due and the interval has passed, or sets the timer for then. */
  #schedule(now: number): void {
    if (this.#earliest === Infinity) return; // nothing pending (a cancelled join may linger)
    const at = Math.max(this.#earliest, this.#lastNotice + this.#interval());
    if (at <= now) return this.flushNotices();
    if (this.#timer !== undefined && this.#timerAt <= at) return; // it fires first anyway
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(this.#onTimer, at - now);
  }

  #onTimer = (): void => {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    this.flushNotices();
  };
}

/** The notice of a single event; a lone leave keeps its reason. */
function noticeFor(room: string, [{ name, kind, detail }]: readonly RoomEvent[]): PresenceEvent {
  const names = [name];
  const group: PresenceGroup = kind === "joined"
    ? { change: kind, names, count: 1 }
    : kind === "left"
    ? { change: kind, names, count: 1, reason: detail }
    : { change: kind, names, count: 1, to: detail! };
  return { type: "presence", time: Date.now(), room, groups: [group] };
}

/**
 * One line for a run of events: each kind once, in the order first seen
 * (`-- a and b joined; c left; d went to dev`), and the same line without one of
 * its subjects, for that subject, in time independent of the number of events.
 */
class MergedNotice {
  /** Names by kind (a move by its destination), in the order first seen. */
  readonly #groups = new Map<string, string[]>();
  /** Each subject's group and place in it. */
  readonly #places = new Map<RoomMember, { key: string; index: number }>();
  /** Each group as the notice shows it (`a and b joined`). */
  readonly #shown = new Map<string, PresenceGroup>();
  readonly #time = Date.now();

  constructor(readonly room: string, readonly events: readonly RoomEvent[]) {
    for (const { member, name, kind, detail } of events) {
      const key = kind === "moved" ? `moved ${detail}` : kind;
      let names = this.#groups.get(key);
      if (!names) this.#groups.set(key, names = []);
      this.#places.set(member, { key, index: names.length });
      names.push(name);
    }
    for (const [key, names] of this.#groups) this.#shown.set(key, group(key, names, names.length));
  }

  /** The notice for everyone but its subjects. */
  event(): PresenceEvent {
    return this.#notice([...this.#shown.values()]);
  }

  #notice(groups: PresenceGroup[]): PresenceEvent {
    return { type: "presence", time: this.#time, room: this.room, groups };
  }

  /**
   * The notice as `member` is told it, without itself: `undefined` if it is no subject
   * (it gets {@linkcode event}), `null` if nothing else happened.
   */
  without(member: RoomMember): PresenceEvent | null | undefined {
    const place = this.#places.get(member);
    if (place === undefined) return undefined;
    if (this.events.length <= 3) {
      const others = this.events.filter((event) => event.member !== member);
      if (others.length < 2) {
        return others.length === 0 ? null : noticeFor(this.room, others);
      }
    }
    const groups: PresenceGroup[] = [];
    for (const [key, names] of this.#groups) {
      if (key !== place.key) {
        groups.push(this.#shown.get(key)!);
      } else if (names.length > 1) {
        // A notice lists only the first NAMES_IN_NOTICE names: one more is enough.
        const shown = names.slice(0, NAMES_IN_NOTICE + 1);
        if (place.index < shown.length) shown.splice(place.index, 1);
        groups.push(group(key, shown, names.length - 1));
      }
    }
    return this.#notice(groups);
  }
}

/** One group of names (`count` in all, `names` the first of them) by its key: `joined`, `moved dev`. */
function group(key: string, names: readonly string[], count: number): PresenceGroup {
  if (key === "joined" || key === "left") return { change: key, names, count };
  return { change: "moved", names, count, to: key.slice("moved ".length) };
}
