/**
 * A room: its members, its topic, fan-out to them, and join/leave/move
 * notices merged when many happen at once.
 *
 * @module
 */

import { listNames, roomKey, say } from "./protocol.ts";

/** What a room needs of a member: a name and a way to queue bytes for it. */
export interface RoomMember {
  readonly name: string | null;
  deliver(bytes: Uint8Array): void;
}

type Timer = ReturnType<typeof setTimeout>;

/** A join, leave or move, waiting to be announced. */
interface RoomEvent {
  member: RoomMember;
  name: string;
  kind: "joined" | "left" | "moved";
  /** Why it left, or where it went. */
  detail?: string;
}

const encoder = new TextEncoder();
/** Members past which a room's notice interval grows in proportion to its size. */
const BIG_ROOM = 1000;

/** One room. The hub owns rooms; a room only holds its members and speaks to them. */
export class Room<M extends RoomMember = RoomMember> {
  readonly members = new Set<M>();
  readonly key: string;
  topic = "";

  // Join, leave and move notices: the first goes out at once, the ones that follow
  // within `noticeInterval` are merged, so N joins cost O(N) lines, not O(N²).
  #pending: RoomEvent[] = [];
  #timer: Timer | undefined;

  /** Makes an empty room called `name` (shown as given, compared by {@linkcode roomKey}). */
  constructor(readonly name: string, readonly noticeInterval: number) {
    this.key = roomKey(name);
  }

  /** Sends `bytes` to every member except `except`, after any notice they have not seen yet. */
  broadcast(bytes: Uint8Array, except: RoomMember | null): void {
    if (this.#pending.length > 0) this.flushNotices();
    for (const member of this.members) {
      if (member !== except) member.deliver(bytes);
    }
  }

  /** Sends one line to every member except `except`. */
  broadcastLine(line: string, except: RoomMember | null): void {
    this.broadcast(encoder.encode(line + "\n"), except);
  }

  /** Queues the announcement that `member` joined, left (`detail`: why) or moved (`detail`: where). */
  announce(member: RoomMember, kind: RoomEvent["kind"], detail?: string): void {
    this.#pending.push({ member, name: member.name!, kind, detail });
    if (this.#timer === undefined) this.flushNotices();
  }

  /** Sends the pending notices now, one line per run of the same kind. */
  flushNotices(): void {
    const events = this.#pending;
    if (events.length === 0) {
      this.#timer = undefined;
      return;
    }
    this.#pending = [];
    clearTimeout(this.#timer);
    // Each notice goes to every member, so a big room merges over a longer interval:
    // its members see a crowd arrive as a few lines, and fan-out stays O(members).
    const interval = this.noticeInterval * Math.max(1, this.members.size / BIG_ROOM);
    this.#timer = interval > 0 ? setTimeout(() => this.flushNotices(), interval) : undefined;
    for (let i = 0; i < events.length;) {
      const first = events[i];
      let j = i + 1;
      while (j < events.length && sameRun(first, events[j])) j++;
      if (j - i === 1) {
        this.broadcastLine(noticeFor(first.name, first), first.member);
      } else {
        const names = events.slice(i, j).map((event) => event.name);
        // Reasons are left out of a merged leave: each is in the log.
        const detail = first.kind === "left" ? undefined : first.detail;
        this.broadcastLine(noticeFor(listNames(names), { kind: first.kind, detail }), null);
      }
      i = j;
    }
  }

  /** Forgets pending notices and stops the timer (the room is empty, or the server stops). */
  quiet(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending = [];
  }
}

function sameRun(a: RoomEvent, b: RoomEvent): boolean {
  return a.kind === b.kind && (a.kind !== "moved" || a.detail === b.detail);
}

function noticeFor(names: string, event: Pick<RoomEvent, "kind" | "detail">): string {
  switch (event.kind) {
    case "joined":
      return say.joined(names);
    case "left":
      return say.left(names, event.detail);
    case "moved":
      return say.moved(names, event.detail!);
  }
}
