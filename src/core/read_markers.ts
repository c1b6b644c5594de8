/**
 * Read markers: how far each account has read each conversation, kept across its
 * devices (JSON `markRead`/`readMarker`, IRCv3 `draft/read-marker`). A marker is the id
 * of the last event read and its time; it only ever moves forward. Markers belong to
 * accounts and are kept in a {@linkcode MarkerStore} (memory, the `--db` file, Redis);
 * a guest's are kept on its connection only, and go with it (IRC clients expect
 * MARKREAD to answer whoever asks). Every connection of the account that takes markers
 * (a JSON client, an IRC client with the capability) is told each change, on this
 * server and, through the cluster, on the others.
 *
 * @module
 */

import { idOf, isId } from "./ids.ts";
import { checkName, checkRoomName, nameKey, roomKey, roomName } from "./protocol.ts";
import type { Session } from "./session.ts";
import type { ReadMarkerEvent } from "./events.ts";

/** One conversation's marker. */
export interface Marker {
  /** The conversation's key: `#` and the room's key, or `@` and the other person's name key. */
  readonly key: string;
  /** The room's or person's name, as it was given when the marker was set. */
  readonly name: string;
  /** Whether the conversation is a room (else a private conversation). */
  readonly room: boolean;
  /** The id of the last event read (for a marker set by time: the last id of that millisecond). */
  readonly id: string;
  /** When that event was sent, in milliseconds since the epoch. */
  readonly time: number;
}

/** Where accounts' markers are kept; reads are synchronous (a cache or a local file). */
export interface MarkerStore {
  /** The marker of `account` (a key) for the conversation `key`, if any. */
  get(account: string, key: string): Marker | undefined;
  /** Keeps `marker` for `account` unless the one kept is as far or further; gives back the one kept now. */
  set(account: string, marker: Marker): Marker;
  /** Up to {@linkcode MARKERS_MAX} markers of `account`, the most recently set first. */
  list(account: string): Marker[];
  /** Forgets every marker of `account` (it was deleted). */
  forget(account: string): void;
}

/** The most conversations one account (or guest connection) keeps markers for: the oldest set go. */
export const MARKERS_MAX = 200;
/** How far in the future a marker may be set (clocks differ a little), in ms. */
const FUTURE_SLACK = 60_000;
/** The last sequence number and tag of a millisecond: the id that sorts after its every id. */
const LAST_SEQ = 36 ** 4 - 1;
const LAST_TAG = "zzzzzz";

/** The marker's conversation, as a client names it. */
export type Target = { readonly room: string } | { readonly with: string };

/** The id that sorts after every id made at `time` (a marker set by time stands there). */
export function lastIdAt(time: number): string {
  return idOf(time, LAST_SEQ, LAST_TAG);
}

/** The time an id was made at. */
export function timeOfId(id: string): number {
  return parseInt(id.slice(0, 9), 36);
}

/** The conversation a client named (`#dev` or `dev` a room with `room`; a name with `with`), or why not. */
export function markerTarget(
  target: Target,
): { key: string; name: string; room: boolean } | string {
  if ("room" in target) {
    const bad = checkRoomName(target.room);
    if (bad) return bad;
    const name = roomName(target.room.normalize("NFC"));
    return { key: "#" + roomKey(name), name, room: true };
  }
  const name = target.with.normalize("NFC");
  const bad = checkName(name);
  if (bad) return bad;
  return { key: "@" + nameKey(name), name, room: false };
}

/**
 * The marker made of what a client sent: an id (JSON) or a time (IRC), checked; `null`
 * if it is no id, or a time not finite, before 1970 or more than a minute ahead.
 */
export function markerAt(
  target: { key: string; name: string; room: boolean },
  at: { id: string } | { time: number },
  now = Date.now(),
): Marker | null {
  let id: string;
  let time: number;
  if ("id" in at) {
    if (!isId(at.id)) return null;
    id = at.id;
    time = timeOfId(id);
  } else {
    time = at.time;
    if (!Number.isInteger(time) || time < 0) return null;
    id = lastIdAt(time);
  }
  if (time > now + FUTURE_SLACK) return null;
  return { ...target, id, time };
}

/** Markers in memory: per account, at most {@linkcode MARKERS_MAX}, the oldest set forgotten first. */
export class MemoryMarkers implements MarkerStore {
  readonly #accounts = new Map<string, Map<string, Marker>>();

  get(account: string, key: string): Marker | undefined {
    return this.#accounts.get(account)?.get(key);
  }

  set(account: string, marker: Marker): Marker {
    let markers = this.#accounts.get(account);
    if (markers === undefined) this.#accounts.set(account, markers = new Map());
    const kept = markers.get(marker.key);
    if (kept !== undefined && kept.id >= marker.id) return kept;
    markers.delete(marker.key); // to the end: the most recently set
    markers.set(marker.key, marker);
    if (markers.size > MARKERS_MAX) markers.delete(markers.keys().next().value!);
    return marker;
  }

  list(account: string): Marker[] {
    return [...this.#accounts.get(account)?.values() ?? []].reverse();
  }

  forget(account: string): void {
    this.#accounts.delete(account);
  }
}

/** The hub's read markers: the store, guests' markers, and telling every device. */
export class ReadMarkers {
  /** Guests' markers, by connection: theirs only while connected. */
  readonly #guests = new WeakMap<Session, MemoryMarkers>();

  /** Markers kept in `store`; `publish` tells the other servers of the cluster (if any). */
  constructor(
    public store: MarkerStore = new MemoryMarkers(),
    public publish: ((account: string, marker: Marker) => void) | null = null,
  ) {}

  /** The marker `session` has for `target` (its account's, or a guest's own). */
  get(session: Session, target: { key: string }): Marker | undefined {
    const account = session.account;
    if (account === null) return this.#guests.get(session)?.get("", target.key);
    return this.store.get(account, target.key);
  }

  /**
   * Moves `session`'s marker for `marker`'s conversation forward to it (never back); every
   * connection of the account that takes markers is told the marker kept (the one that
   * set it too: a marker further on wins), on this server and the others. Gives it back.
   */
  mark(session: Session, marker: Marker): Marker {
    const account = session.account;
    if (account === null) {
      let own = this.#guests.get(session);
      if (own === undefined) this.#guests.set(session, own = new MemoryMarkers());
      const kept = own.set("", marker);
      session.tell(markerEvent(kept));
      return kept;
    }
    const kept = this.store.set(account, marker);
    this.tellAccount(session.member.connections(), account, kept);
    if (kept === marker) this.publish?.(account, kept);
    return kept;
  }

  /** Tells those of `connections` logged in to `account` (and taking markers) of `marker`. */
  tellAccount(connections: readonly Session[], account: string, marker: Marker): void {
    const event = markerEvent(marker);
    for (const connection of connections) {
      if (connection.account === account && connection.takesMarkers) connection.tell(event);
    }
  }

  /** Every marker of `session`'s account (bounded) but `except`'s, told to it: after a login. */
  tellAll(session: Session, except?: string): void {
    const account = session.account;
    if (account === null || !session.takesMarkers) return;
    for (const marker of this.store.list(account)) {
      if (marker.key !== except) session.tell(markerEvent(marker));
    }
  }
}

/** The event telling a marker. */
export function markerEvent(marker: Marker): ReadMarkerEvent {
  const { name, room, id, time } = marker;
  return room
    ? { type: "readMarker", time: Date.now(), room: name, id, read: time }
    : { type: "readMarker", time: Date.now(), with: name, id, read: time };
}
