/**
 * A room: its members, its topic, fan-out to them, and its join, leave and
 * move notices, merged so that no storm of arrivals and departures can make
 * the room hear more than one notice line per interval.
 *
 * @module
 */

import { type Delivery, NAMES_IN_NOTICE, ROOM_NOTICE, roomKey, roomName } from "./protocol.ts";
import type { Event, PresenceGroup } from "./events.ts";
import { renderText } from "../text/render.ts";

/** What a room needs of a member: a name and a way to queue bytes for it. */
export interface RoomMember {
  readonly name: string | null;
  deliver(bytes: Uint8Array, what?: Delivery): void;
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

const encoder = new TextEncoder();
/** Members past which a room's notice interval grows in proportion to its size. */
const BIG_ROOM = 1000;

/** One room. The hub owns rooms; a room only holds its members and speaks to them. */
export class Room<M extends RoomMember = RoomMember> {
  readonly members = new Set<M>();
  /** The room's name as shown: as its maker wrote it, without a leading `#` ({@linkcode roomName}). */
  readonly name: string;
  readonly key: string;
  topic = "";
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
   * Sends `bytes` to every member except `sender`, who is announced first if not
   * yet; `what` says what the bytes show, for members that render it their own way.
   */
  broadcast(bytes: Uint8Array, sender: RoomMember | null, what?: Delivery): void {
    if (sender !== null && this.#unannounced.size > 0) this.introduce(sender);
    for (const member of this.members) {
      if (member !== sender) member.deliver(bytes, what);
    }
  }

  /** Sends one line to every member except `sender`. */
  broadcastLine(line: string, sender: RoomMember | null, what?: Delivery): void {
    this.broadcast(encoder.encode(line + "\n"), sender, what);
  }

  /**
   * Tells every member but `except` of a change in the room (a rename, a topic), rendered
   * as text once for all; a front-end that shows such changes its own way skips the line.
   */
  tell(event: Event, except: RoomMember | null): void {
    this.broadcastLine(renderText(event), except, ROOM_NOTICE);
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
    const bytes = encoder.encode(notice.line() + "\n");
    for (const member of this.members) {
      const line = notice.without(member);
      if (line === null) member.deliver(bytes, ROOM_NOTICE);
      else if (line !== "") member.deliver(encoder.encode(line + "\n"), ROOM_NOTICE);
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
function noticeFor(room: string, [{ name, kind, detail }]: readonly RoomEvent[]): Event {
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

  /** The line for everyone but its subjects. */
  line(): string {
    return this.#render([...this.#shown.values()]);
  }

  #render(groups: PresenceGroup[]): string {
    return renderText({ type: "presence", time: this.#time, room: this.room, groups });
  }

  /**
   * The line as `member` is told it, without itself: `null` if it is no subject
   * (it gets {@linkcode line}), `""` if nothing else happened.
   */
  without(member: RoomMember): string | null {
    const place = this.#places.get(member);
    if (place === undefined) return null;
    if (this.events.length <= 3) {
      const others = this.events.filter((event) => event.member !== member);
      if (others.length < 2) {
        return others.length === 0 ? "" : renderText(noticeFor(this.room, others));
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
    return this.#render(groups);
  }
}

/** One group of names (`count` in all, `names` the first of them) by its key: `joined`, `moved dev`. */
function group(key: string, names: readonly string[], count: number): PresenceGroup {
  if (key === "joined" || key === "left") return { change: key, names, count };
  return { change: "moved", names, count, to: key.slice("moved ".length) };
}
