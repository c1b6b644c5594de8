/**
 * Room history: the recent messages and actions of each room, kept so that
 * whoever joins sees what was said before. {@linkcode MemoryHistory} keeps
 * them in memory; `src/storage/sqlite_history.ts` adds a SQLite file under the same
 * interface, so that they survive a restart.
 *
 * @module
 */

import type { MessageKind } from "./protocol.ts";

/** One kept message or action. */
export interface HistoryEntry {
  /**
   * Its event id (see `ids.ts`): made when it was sent, the same on every server and
   * front-end and after a restart; entries are ordered by it, and pages asked for by it.
   */
  readonly id: string;
  readonly kind: Exclude<MessageKind, "private">;
  readonly from: string;
  readonly text: string;
  /** When it was first sent, in milliseconds since the epoch. */
  readonly time: number;
  /** The account its sender was logged in to (its name as registered); absent for a guest. */
  readonly account?: string;
  /** Posted by a webhook. */
  readonly bot?: true;
}

/** What is kept of a message (a `ChatMessage` with its id may be passed as it is: the rest is left out). */
export type HistoryMessage = HistoryEntry;

/** The kept entries after an id (see {@linkcode HistoryStore.after}). */
export interface EntriesAfter {
  readonly entries: HistoryEntry[];
  /** The id was not among those kept (unknown, or trimmed): `entries` is all there is. */
  readonly gap: boolean;
}

/** What a search found: entries with the key of the room each is in, newest first. */
export interface Found {
  readonly entries: { readonly room: string; readonly entry: HistoryEntry }[];
  /** More entries matched than were given back (or the scan stopped before the end). */
  readonly more: boolean;
}

/** The most lines one search in memory looks at: a search costs at most that, whatever is kept. */
export const SEARCH_SCAN_MAX = 100_000;

/**
 * The words of a search, each a case-insensitive pattern (its characters as they are):
 * at most `max` words, the rest left out.
 */
export function searchPatterns(text: string, max = 8): RegExp[] {
  const words = text.trim().split(/\s+/u).filter((word) => word !== "").slice(0, max);
  return words.map((word) => new RegExp(word.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"), "iu"));
}

/**
 * Scans `lists` (each a key, its entries in id order, and the index of the first one kept)
 * newest first for the entries that have every word of `text` (case folded, anywhere in
 * the text): each list's newest `limit + 1` matches at most, merged newest first and cut
 * to `limit`, stopping after {@linkcode SEARCH_SCAN_MAX} entries looked at, all lists
 * together. `more`: more matched, or the scan stopped before the end. (Rooms' history in
 * memory and private conversations in memory search alike through it.)
 */
export function scanNewestFirst<K, E extends { readonly id: string; readonly text: string }>(
  lists: Iterable<readonly [K, readonly E[], number]>,
  text: string,
  limit: number,
): { found: [K, E][]; more: boolean } {
  const patterns = searchPatterns(text);
  const found: [K, E][] = [];
  if (patterns.length === 0 || limit <= 0) return { found, more: false };
  let budget = SEARCH_SCAN_MAX;
  let more = false;
  for (const [key, entries, first] of lists) {
    let inList = 0;
    let i = entries.length - 1;
    for (; i >= first && budget > 0; i--, budget--) {
      const entry = entries[i];
      if (!patterns.every((pattern) => pattern.test(entry.text))) continue;
      if (++inList > limit) break;
      found.push([key, entry]);
    }
    if (inList > limit || (budget === 0 && i >= first)) more = true;
  }
  found.sort(([, a], [, b]) => a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
  if (found.length > limit) {
    found.length = limit;
    more = true;
  }
  return { found, more };
}

/** Where rooms keep their recent past. Adding never waits on anything. */
export interface HistoryStore {
  /** Keeps a message said in the room whose key is `room`. */
  add(room: string, entry: HistoryMessage): void;
  /** Up to `limit` entries of `room` whose id sorts before `before` (all, if absent), oldest first. */
  before(room: string, limit: number, before?: string): HistoryEntry[];
  /**
   * The entries of `room` kept after the one with id `after`, oldest first; if that one is
   * not kept (unknown, or trimmed), every entry kept, and `gap`.
   */
  after(room: string, after: string): EntriesAfter;
  /** The entry of `room` with id `id`, if it is kept. */
  entry(room: string, id: string): HistoryEntry | undefined;
  /** Forgets the entry of `room` with id `id` (a deleted message); whether it was kept. */
  delete(room: string, id: string): boolean;
  /** The topic kept for `room`, or `""`. */
  topic(room: string): string;
  /** Keeps the topic of `room`. */
  setTopic(room: string, topic: string): void;
  /** Writes what is pending and lets go of the store. */
  close(): Promise<void>;
  /** Rooms with history in memory, and the lines they hold there (for `/metrics`). */
  size?(): { rooms: number; lines: number };
  /**
   * Up to `limit` entries of the rooms whose keys are `rooms` that have every word of
   * `text`, newest first (see {@linkcode MemoryHistory.search}: a bounded scan; the
   * `--db` file: its full-text index).
   */
  search(rooms: readonly string[], text: string, limit: number): Found;
}

/**
 * History in memory: the last `perRoom` entries of each room, for at most
 * `rooms` rooms (the least recently used are forgotten first), so memory stays
 * bounded whatever names rooms are given.
 */
export class MemoryHistory implements HistoryStore {
  /** Rooms' entries, least recently used first (a Map keeps insertion order). */
  readonly #rooms = new Map<string, HistoryEntry[]>();
  readonly #topics = new Map<string, string>();
  /** Entries held in all rooms together. */
  #lines = 0;

  /** Makes an empty history of `perRoom` entries for each of at most `rooms` rooms. */
  constructor(readonly perRoom: number, readonly rooms: number) {}

  add(room: string, entry: HistoryMessage): HistoryEntry {
    const { id, kind, from, text, time, account, bot } = entry; // one object kept, nothing else
    const kept: HistoryEntry = bot === true
      ? { id, kind, from, text, time, bot }
      : account === undefined
      ? { id, kind, from, text, time }
      : { id, kind, from, text, time, account };
    const entries = this.#use(room);
    // In id order: a later id comes last, but one from another server may be a little older.
    if (entries.length === 0 || entries[entries.length - 1].id < id) entries.push(kept);
    else entries.splice(indexOf(entries, id), 0, kept);
    this.#lines++;
    // Trimmed a quarter at a time, so that keeping a line costs O(1) on average.
    if (entries.length > this.perRoom + (this.perRoom >> 2)) {
      this.#lines -= entries.length - this.perRoom;
      entries.splice(0, entries.length - this.perRoom);
    }
    return kept;
  }

  before(room: string, limit: number, before?: string): HistoryEntry[] {
    const entries = this.#rooms.get(room);
    if (!entries || limit <= 0) return [];
    const end = before === undefined ? entries.length : indexOf(entries, before);
    const start = Math.max(0, end - limit, entries.length - this.perRoom);
    return entries.slice(start, end);
  }

  after(room: string, after: string): EntriesAfter {
    const entries = this.#rooms.get(room) ?? [];
    const first = Math.max(0, entries.length - this.perRoom);
    const at = indexOf(entries, after);
    if (at >= first && at < entries.length && entries[at].id === after) {
      return { entries: entries.slice(at + 1), gap: false };
    }
    return { entries: entries.slice(first), gap: true };
  }

  entry(room: string, id: string): HistoryEntry | undefined {
    const entries = this.#rooms.get(room);
    if (!entries) return undefined;
    const at = indexOf(entries, id);
    return entries[at]?.id === id ? entries[at] : undefined;
  }

  delete(room: string, id: string): boolean {
    const entries = this.#rooms.get(room);
    if (!entries) return false;
    const at = indexOf(entries, id);
    if (entries[at]?.id !== id) return false;
    entries.splice(at, 1);
    this.#lines--;
    return true;
  }

  /**
   * Scans the rooms' lines newest first for those that have every word of `text` (case
   * folded, anywhere in the line), stopping at `limit` found or after
   * {@linkcode SEARCH_SCAN_MAX} lines looked at, all rooms together.
   */
  search(rooms: readonly string[], text: string, limit: number): Found {
    const lists: [string, readonly HistoryEntry[], number][] = [];
    for (const room of new Set(rooms)) {
      const entries = this.#rooms.get(room);
      if (entries !== undefined) {
        lists.push([room, entries, Math.max(0, entries.length - this.perRoom)]);
      }
    }
    const { found, more } = scanNewestFirst(lists, text, limit);
    return { entries: found.map(([room, entry]) => ({ room, entry })), more };
  }

  /** The oldest id kept in memory for `room`, or `undefined` if none. */
  oldest(room: string): string | undefined {
    const entries = this.#rooms.get(room);
    return entries && entries.length > 0
      ? entries[Math.max(0, entries.length - this.perRoom)].id
      : undefined;
  }

  /** Whether `room` has entries in memory (a store with a file loads a room once). */
  has(room: string): boolean {
    return this.#rooms.has(room);
  }

  /** Puts entries loaded from elsewhere (oldest first) in front of what `room` holds. */
  load(room: string, entries: HistoryEntry[]): void {
    this.#use(room).unshift(...entries);
    this.#lines += entries.length;
  }

  /** Forgets the entries of `room` (a store with a file forgot the room there too). */
  forget(room: string): void {
    this.#lines -= this.#rooms.get(room)?.length ?? 0;
    this.#rooms.delete(room);
  }

  size(): { rooms: number; lines: number } {
    return { rooms: this.#rooms.size, lines: this.#lines };
  }

  topic(room: string): string {
    return this.#topics.get(room) ?? "";
  }

  setTopic(room: string, topic: string): void {
    this.#topics.delete(room);
    this.#topics.set(room, topic);
    if (this.#topics.size > this.rooms) this.#topics.delete(this.#topics.keys().next().value!);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** The entries of `room`, made the most recently used; the least recently used go past `rooms`. */
  #use(room: string): HistoryEntry[] {
    let entries = this.#rooms.get(room);
    if (entries) {
      this.#rooms.delete(room);
    } else {
      entries = [];
      if (this.#rooms.size >= this.rooms) {
        const [oldest, dropped] = this.#rooms.entries().next().value!;
        this.#rooms.delete(oldest);
        this.#lines -= dropped.length;
      }
    }
    this.#rooms.set(room, entries);
    return entries;
  }
}

/** The index of the first of `entries` (in id order) whose id is not before `id`. */
export function indexOf(entries: readonly { readonly id: string }[], id: string): number {
  let low = 0;
  let end = entries.length;
  while (low < end) {
    const middle = (low + end) >> 1;
    if (entries[middle].id < id) low = middle + 1;
    else end = middle;
  }
  return low;
}
