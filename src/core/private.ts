/**
 * Private conversations: the private messages between two accounts, kept (with event ids)
 * so that either side can page back through them and so that a message to an account
 * that is not connected waits ("held") until it next logs in. A conversation between two
 * accounts is keyed by the pair of account keys, and is never shown to anyone but those two
 * accounts. One between an account and a guest is kept one-sided, in the account's own
 * history with the guest's name ({@linkcode guestKey}): the guest never reads it, nor a
 * later account of that name (a guest's name is no identity). {@linkcode MemoryPrivates} keeps them in
 * memory; `src/storage/sqlite_privates.ts` keeps them in the `--db` file.
 *
 * @module
 */

import { nameKey } from "./protocol.ts";
import { type HistoryEntry, indexOf, scanNewestFirst } from "./history.ts";
import type { PrivateSearch } from "./hub.ts";

/** One kept private message. */
export interface PrivateEntry {
  readonly id: string;
  readonly kind: "private";
  /** The sender's name and the recipient's name, as they were when it was sent. */
  readonly from: string;
  readonly to: string;
  readonly text: string;
  /** When it was sent, in milliseconds since the epoch. */
  readonly time: number;
  /** The sender's account (its name as registered); `""` for a guest. */
  readonly account: string;
  /** The recipient's account (its name as registered); `""` for a guest. */
  readonly toAccount: string;
}

/** A conversation of an account: the other account's name and the newest entry. */
export interface Conversation {
  readonly with: string;
  readonly last: PrivateEntry;
}

/** Messages one account may have waiting for it: one sender cannot fill memory or disk. */
export const HELD_MAX = 1_000;
/** Conversations listed at once (the JSON `conversations` event). */
export const CONVERSATIONS_LISTED = 100;

/** The key of the conversation between the accounts whose keys are `a` and `b`. */
export function pairKey(a: string, b: string): string {
  return a < b ? `${a} ${b}` : `${b} ${a}`;
}

/**
 * The key of the account `account`'s (its key) one-sided conversation with the guest called
 * `guest`: never an account pair's key, since no name has a `~`.
 */
export function guestKey(account: string, guest: string): string {
  return `${account} ~${nameKey(guest)}`;
}

/** The key of the conversation `entry` is kept in: an account pair's, or a guest one's. */
export function entryKey(entry: PrivateEntry): string {
  if (!entry.toAccount) return guestKey(nameKey(entry.account), entry.to);
  if (!entry.account) return guestKey(nameKey(entry.toAccount), entry.from);
  return pairKey(nameKey(entry.account), nameKey(entry.toAccount));
}

/** Where private conversations are kept. Adding never waits on anything. */
export interface PrivateStore {
  /**
   * Keeps `entry` in the conversation `pair` (see {@linkcode pairKey}); `heldFor`: the
   * key of the recipient's account, if it is to be delivered at its next login.
   */
  add(pair: string, entry: PrivateEntry, heldFor?: string): void;
  /** Up to `limit` entries of `pair` whose id sorts before `before` (all, if absent), oldest first. */
  before(pair: string, limit: number, before?: string): PrivateEntry[];
  /** Up to `limit` entries of `pair` whose id sorts after `after`, oldest first. */
  after(pair: string, limit: number, after: string): PrivateEntry[];
  /** The conversations of the account `key`, newest first, at most `limit`. */
  conversations(key: string, limit: number): Conversation[];
  /** How many messages wait for the account `key`. */
  heldCount(key: string): number;
  /** The messages waiting for the account `key`, oldest first; they wait no more. */
  takeHeld(key: string): PrivateEntry[];
  /** Forgets every conversation of the account `key` and what waits for it (it was deleted). */
  forgetAccount(key: string): void;
  /** Writes what is pending and lets go of the store. */
  close(): Promise<void>;
  // Deleting a private message (see `private_delete.ts`).
  /** The kept entry `id` of one of the conversations of the account `key`, with its pair. */
  find(key: string, id: string): FoundPrivate | undefined;
  /** Forgets the entry `id` of `pair`, and the wait of it if it was held; whether it was kept. */
  remove(pair: string, id: string): boolean;
}

/** A kept entry found by id, and the conversation it is in. */
export interface FoundPrivate {
  readonly pair: string;
  readonly entry: PrivateEntry;
}

/**
 * Private conversations in memory: the last `perConversation` entries of each, for at
 * most `maxConversations` conversations (the least recently active are forgotten first),
 * and at most {@linkcode HELD_MAX} messages waiting per account.
 */
export class MemoryPrivates implements PrivateStore, PrivateSearch {
  /** Entries by pair, least recently active first (a Map keeps insertion order). */
  readonly #pairs = new Map<string, PrivateEntry[]>();
  /** The pairs of each account key. */
  readonly #byAccount = new Map<string, Set<string>>();
  /** What waits for each account key, oldest first. */
  readonly #held = new Map<string, PrivateEntry[]>();

  /** An empty store of `perConversation` entries in each of at most `maxConversations`. */
  constructor(readonly perConversation: number, readonly maxConversations: number) {}

  add(pair: string, entry: PrivateEntry, heldFor?: string): void {
    let entries = this.#pairs.get(pair);
    if (entries) {
      this.#pairs.delete(pair);
    } else {
      entries = [];
      if (this.#pairs.size >= this.maxConversations) this.#forget(this.#pairs.keys().next().value!);
      for (const key of pair.split(" ")) {
        let pairs = this.#byAccount.get(key);
        if (!pairs) this.#byAccount.set(key, pairs = new Set());
        pairs.add(pair);
      }
    }
    this.#pairs.set(pair, entries);
    const at = indexOf(entries, entry.id);
    // The same message twice (a cluster's repeat, or loaded and held) is kept once.
    if (entries[at]?.id !== entry.id) {
      entries.splice(at, 0, entry);
      // Trimmed a quarter at a time, so that keeping a line costs O(1) on average.
      if (entries.length > this.perConversation + (this.perConversation >> 2)) {
        entries.splice(0, entries.length - this.perConversation);
      }
    }
    if (heldFor !== undefined) {
      let held = this.#held.get(heldFor);
      if (!held) {
        // As many accounts with messages waiting as conversations: bounded the same way.
        if (this.#held.size >= this.maxConversations) {
          this.#held.delete(this.#held.keys().next().value!);
        }
        this.#held.set(heldFor, held = []);
      }
      if (held.length < HELD_MAX && held[held.length - 1]?.id !== entry.id) held.push(entry);
    }
  }

  before(pair: string, limit: number, before?: string): PrivateEntry[] {
    const entries = this.#pairs.get(pair);
    if (!entries || limit <= 0) return [];
    const end = before === undefined ? entries.length : indexOf(entries, before);
    const start = Math.max(0, end - limit, entries.length - this.perConversation);
    return entries.slice(start, end);
  }

  after(pair: string, limit: number, after: string): PrivateEntry[] {
    const entries = this.#pairs.get(pair);
    if (!entries || limit <= 0) return [];
    let start = indexOf(entries, after);
    if (entries[start]?.id === after) start++;
    start = Math.max(start, entries.length - this.perConversation);
    return entries.slice(start, start + limit);
  }

  conversations(key: string, limit: number): Conversation[] {
    const found: Conversation[] = [];
    for (const pair of this.#byAccount.get(key) ?? []) {
      const entries = this.#pairs.get(pair)!;
      const last = entries[entries.length - 1];
      found.push({ with: otherOf(last, key), last });
    }
    found.sort((a, b) => a.last.id < b.last.id ? 1 : -1);
    return found.slice(0, limit);
  }

  /**
   * The entries of the account `key`'s own conversations (never another pair's) that have
   * every word of `text`, newest first: the same bounded scan as rooms' history in memory.
   */
  search(key: string, text: string, limit: number): {
    entries: { with: string; entry: HistoryEntry }[];
    more: boolean;
  } {
    const lists: [string, readonly PrivateEntry[], number][] = [];
    for (const pair of this.#byAccount.get(key) ?? []) {
      const entries = this.#pairs.get(pair)!;
      lists.push([pair, entries, Math.max(0, entries.length - this.perConversation)]);
    }
    const { found, more } = scanNewestFirst(lists, text, limit);
    return { entries: found.map(([, entry]) => searchEntry(entry, key)), more };
  }

  heldCount(key: string): number {
    return this.#held.get(key)?.length ?? 0;
  }

  takeHeld(key: string): PrivateEntry[] {
    const held = this.#held.get(key) ?? [];
    this.#held.delete(key);
    return held;
  }

  forgetAccount(key: string): void {
    for (const pair of [...this.#byAccount.get(key) ?? []]) this.#forget(pair);
    this.#held.delete(key);
    // What it sent and waits for others goes too.
    for (const [other, held] of this.#held) {
      const kept = held.filter((entry) => nameKey(entry.account) !== key);
      if (kept.length === 0) this.#held.delete(other);
      else if (kept.length < held.length) this.#held.set(other, kept);
    }
  }

  /** Conversations and entries in memory (for tests and `/metrics`). */
  size(): { conversations: number; lines: number } {
    let lines = 0;
    for (const entries of this.#pairs.values()) lines += entries.length;
    return { conversations: this.#pairs.size, lines };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  find(key: string, id: string): FoundPrivate | undefined {
    // One binary search per conversation of the account: bounded by `maxConversations`.
    for (const pair of this.#byAccount.get(key) ?? []) {
      const entries = this.#pairs.get(pair)!;
      const at = indexOf(entries, id);
      if (entries[at]?.id === id) return { pair, entry: entries[at] };
    }
    return undefined;
  }

  remove(pair: string, id: string): boolean {
    for (const key of pair.split(" ")) {
      const held = this.#held.get(key);
      const at = held?.findIndex((entry) => entry.id === id) ?? -1;
      if (at !== -1) held!.splice(at, 1);
      if (held?.length === 0) this.#held.delete(key);
    }
    const entries = this.#pairs.get(pair);
    if (!entries) return false;
    const at = indexOf(entries, id);
    if (entries[at]?.id !== id) return false;
    entries.splice(at, 1);
    if (entries.length === 0) this.#forget(pair);
    return true;
  }

  #forget(pair: string): void {
    this.#pairs.delete(pair);
    for (const key of pair.split(" ")) {
      const pairs = this.#byAccount.get(key);
      pairs?.delete(pair);
      if (pairs?.size === 0) this.#byAccount.delete(key);
    }
  }
}

/** The name of the account (or guest) on the other side of `entry` from the account `key`. */
export function otherOf(entry: PrivateEntry, key: string): string {
  return entry.account !== "" && nameKey(entry.account) === key
    ? entry.toAccount || entry.to
    : entry.account || entry.from;
}

/** A private entry as a search result of the account `key`: `with` the other account. */
export function searchEntry(
  entry: PrivateEntry,
  key: string,
): { with: string; entry: HistoryEntry } {
  const { id, from, text, time, account } = entry;
  return { with: otherOf(entry, key), entry: { id, kind: "message", from, text, time, account } };
}
