/**
 * History in a SQLite file (`--db FILE`), through Deno's built-in
 * `node:sqlite`: rooms' messages and topics survive a restart. Recent entries
 * stay in memory, so a replay never reads the disk; new ones are written in
 * batches, one transaction every few milliseconds, off the fan-out path; old
 * ones are pruned in the background to `keep` per room. At most `rooms` rooms
 * keep history, in the file as in memory: when one more room is spoken in, the
 * least recently active one is forgotten (its rows deleted), so that making
 * rooms cannot fill the disk.
 *
 * The file is opened in WAL mode with an exclusive lock, so a second server on
 * the same file is refused at start instead of corrupting it later.
 *
 * @module
 */

import type { DatabaseSync, StatementSync } from "node:sqlite";
import { HistoryFileError, openChatDatabase } from "./database.ts";
import type { ServerLog } from "../ops/log.ts";
import {
  type EntriesAfter,
  type Found,
  type HistoryEntry,
  type HistoryMessage,
  type HistoryStore,
  MemoryHistory,
} from "../core/history.ts";

/** Milliseconds new entries may wait before they are written. */
const WRITE_DELAY = 5;
/** Lines deleted in one statement, and the most milliseconds of deleting at once. */
const TRIM_BATCH = 500;
const TRIM_SLICE = 5;
/** Milliseconds between two prunings. */
const PRUNE_EVERY = 10_000;

/** The most rows one search reads from the index (rooms with like names left out). */
export const SEARCH_ROWS_MAX = 10_000;

/** Sorts after every event id (ids are `0-9a-z`). */
const AFTER_EVERY_ID = "~";

export { HistoryFileError };

/** A kept line as the file gives it back (a guest's `account` is `NULL`; `bot` 1 or `NULL`). */
type Row = Omit<HistoryEntry, "account" | "bot"> & {
  account?: string | null;
  bot?: number | boolean | null;
};

/** A row as an entry: absent fields left out (never `null`), as in memory. */
function entryOf(row: Row): HistoryEntry {
  if (row.account === null) delete row.account;
  if (row.bot) row.bot = true;
  else delete row.bot;
  return row as HistoryEntry;
}

/** History kept in memory and in a SQLite file. */
export class SqliteHistory implements HistoryStore {
  readonly #db: DatabaseSync;
  readonly #memory: MemoryHistory;
  readonly #insert: StatementSync;
  readonly #page: StatementSync;
  readonly #setTopic: StatementSync;
  readonly #forgetTopics: StatementSync;
  readonly #cut: StatementSync;
  readonly #trimById: StatementSync;
  readonly #trimByEid: StatementSync;
  /** Deletions under way, a batch at a time: a room's lines up to a row id (`keep`) or an event id (forgotten). */
  #trims: { room: string; cut: number | string }[] = [];
  #trimTimer: ReturnType<typeof setTimeout> | undefined;
  /**
   * Rooms forgotten whose lines are still being deleted, and the newest id to delete:
   * reads of the file leave those out, as if they were gone already.
   */
  readonly #floors = new Map<string, string>();
  readonly #search: StatementSync;
  readonly #one: StatementSync;
  readonly #deleteOne: StatementSync;
  /** Deleted messages (room, id) to delete in the file, after the lines pending. */
  #deleted: [string, string][] = [];
  readonly #topics = new Map<string, string>();
  #pending: [string, HistoryEntry][] = [];
  #writeTimer: ReturnType<typeof setTimeout> | undefined;
  #pruneTimer: ReturnType<typeof setInterval> | undefined;
  /** Lines written to each room since it was last trimmed. */
  #unpruned = new Map<string, number>();
  /** Rooms with lines in the file and the id of their newest, least recently active first. */
  readonly #active = new Map<string, string>();
  /** Rooms forgotten, with the newest id to delete: deleted after the lines pending. */
  #forgotten: [string, string][] = [];

  /**
   * Opens (or makes) the database at `path`; throws a {@linkcode HistoryFileError}
   * if it cannot be opened, is not a chat database, or another server holds it.
   */
  constructor(
    readonly path: string,
    readonly perRoom: number,
    readonly rooms: number,
    readonly keep: number,
    readonly log: ServerLog,
  ) {
    const db = openChatDatabase(path);
    this.#db = db;
    this.#memory = new MemoryHistory(perRoom, rooms);
    this.#insert = db.prepare(
      "INSERT INTO messages (eid, room, kind, sender, text, time, account, bot) " +
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    );
    this.#page = db.prepare(
      'SELECT eid AS id, kind, sender AS "from", text, time, account, bot FROM messages ' +
        "WHERE room = ? AND eid < ? AND eid > ? ORDER BY eid DESC LIMIT ?",
    );
    // A topic set is moved to the end (a new rowid): the oldest are the least recently set.
    this.#setTopic = db.prepare("INSERT OR REPLACE INTO rooms (key, topic) VALUES (?, ?)");
    this.#forgetTopics = db.prepare(
      "DELETE FROM rooms WHERE rowid IN (SELECT rowid FROM rooms ORDER BY rowid LIMIT ?)",
    );
    // Deletions go a batch at a time (each line's index entry goes with it: see `#trimSome`).
    this.#cut = db.prepare(
      "SELECT id FROM messages WHERE room = ? ORDER BY id DESC LIMIT 1 OFFSET ?",
    );
    this.#trimById = db.prepare(
      "DELETE FROM messages WHERE id IN " +
        "(SELECT id FROM messages WHERE room = ? AND id <= ? ORDER BY id LIMIT ?)",
    );
    this.#trimByEid = db.prepare(
      "DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE room = ? AND eid <= ? LIMIT ?)",
    );
    // Newest first in the index's own order (its rowid is the line's): no sort, LIMIT stops it.
    this.#search = db.prepare(
      'SELECT m.eid AS id, m.room AS room, m.kind AS kind, m.sender AS "from", m.text AS text, ' +
        "m.time AS time, m.account AS account, m.bot AS bot FROM messages_fts f JOIN messages m ON m.id = f.rowid " +
        "WHERE messages_fts MATCH ? ORDER BY f.rowid DESC LIMIT ?",
    );
    this.#one = db.prepare(
      'SELECT eid AS id, kind, sender AS "from", text, time, account, bot FROM messages ' +
        "WHERE room = ? AND eid = ?",
    );
    this.#deleteOne = db.prepare("DELETE FROM messages WHERE room = ? AND eid = ?");
    const active = db.prepare(
      "SELECT room, max(eid) AS last FROM messages GROUP BY room ORDER BY last",
    ).all();
    for (const row of active) this.#active.set(row.room as string, row.last as string);
    // A file from before the bound (or kept under a larger --max-rooms) is brought under it.
    this.#bound();
    const kept = this.#topicsKept();
    const rows = db.prepare("SELECT key, topic FROM rooms ORDER BY rowid DESC LIMIT ?").all(kept);
    for (const row of rows.reverse()) this.#topics.set(row.key as string, row.topic as string);
    this.#pruneTimer = setInterval(() => this.prune(), PRUNE_EVERY);
    Deno.unrefTimer(this.#pruneTimer as unknown as number);
  }

  /** The open file, for the other stores kept in it (accounts). */
  get database(): DatabaseSync {
    return this.#db;
  }

  /**
   * The value kept in the file under `key` (in the `meta` table, such as the IRC cloak
   * key), or `fresh`, kept there now, if there is none: the first start decides it.
   */
  kept(key: string, fresh: string): string {
    try {
      this.#db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)").run(key, fresh);
      const row = this.#db.prepare("SELECT value FROM meta WHERE key = ?").get(key);
      return row!.value as string;
    } catch (error) {
      throw new HistoryFileError(`cannot keep ${key} in ${this.path}: ${(error as Error).message}`);
    }
  }

  add(room: string, entry: HistoryMessage): void {
    this.#load(room);
    const kept = this.#memory.add(room, entry);
    this.#pending.push([room, kept]);
    const known = this.#active.delete(room);
    this.#active.set(room, kept.id);
    if (!known) this.#bound();
    this.#writeTimer ??= setTimeout(() => this.#write(), WRITE_DELAY);
  }

  /**
   * Forgets the least recently active rooms past `rooms`, in memory and in the file, at
   * once: a room spoken in again must not load the lines it had from the file.
   */
  #bound(): void {
    for (const [room, last] of this.#active) {
      if (this.#active.size <= this.rooms) break;
      this.#active.delete(room);
      this.#unpruned.delete(room);
      this.#memory.forget(room);
      this.#forgotten.push([room, last]);
    }
    if (this.#forgotten.length > 0) this.#write();
  }

  before(room: string, limit: number, before?: string): HistoryEntry[] {
    this.#load(room);
    const kept = this.#memory.before(room, limit, before);
    if (kept.length >= limit) return kept;
    // Older than what memory holds: read the file (a command's answer, never the relay's).
    const from = kept.length > 0 ? kept[0].id : before ?? AFTER_EVERY_ID;
    const older = this.#rows(room, from, limit - kept.length);
    return [...older, ...kept];
  }

  after(room: string, after: string): EntriesAfter {
    this.#load(room);
    return this.#memory.after(room, after);
  }

  topic(room: string): string {
    return this.#topics.get(room) ?? "";
  }

  setTopic(room: string, topic: string): void {
    // At most ten rooms' worth of topics per room that may exist are kept, in memory and in
    // the file: the least recently set go first, so making rooms cannot fill either.
    this.#topics.delete(room);
    this.#topics.set(room, topic);
    const excess = this.#topics.size - this.#topicsKept();
    for (let i = 0; i < excess; i++) this.#topics.delete(this.#topics.keys().next().value!);
    try {
      this.#setTopic.run(room, topic);
      if (excess > 0) this.#forgetTopics.run(excess);
    } catch (error) {
      this.log.event({ event: "internal-error", text: `history: ${(error as Error).message}` });
    }
  }

  #topicsKept(): number {
    return 10 * this.rooms;
  }

  /** What memory holds (the file keeps more: up to `keep` lines per room). */
  size(): { rooms: number; lines: number } {
    return this.#memory.size();
  }

  entry(room: string, id: string): HistoryEntry | undefined {
    this.#load(room);
    const kept = this.#memory.entry(room, id);
    if (kept !== undefined) return kept;
    if (id <= (this.#floors.get(room) ?? "")) return undefined; // forgotten, being deleted
    // Older than memory holds (or written already and trimmed from memory): the file.
    try {
      const row = this.#one.get(room, id) as unknown as Row | undefined;
      return row === undefined ? undefined : entryOf(row);
    } catch (error) {
      this.log.event({ event: "internal-error", text: `history: ${(error as Error).message}` });
      return undefined;
    }
  }

  delete(room: string, id: string): boolean {
    const known = this.entry(room, id) !== undefined;
    this.#memory.delete(room, id);
    // Written now, after the lines pending (it may be one of them): deletions are rare, and
    // the line must not be found in the file once it is gone from memory.
    this.#deleted.push([room, id]);
    this.#write();
    return known;
  }

  /**
   * The full-text index's newest `limit` lines of `rooms` with every word of `text` (at
   * the start of a word if it has three characters or more, else the whole word; case and
   * accents folded); lines not yet written are written first.
   */
  search(rooms: readonly string[], text: string, limit: number): Found {
    const query = ftsQuery(rooms, text);
    if (query === null || limit <= 0) return { entries: [], more: false };
    this.#write();
    const wanted = new Set(rooms);
    try {
      // A room whose name has the same words (`dev-ops` for `dev`) matches in the index and
      // is left out here: asked again for more rows while that leaves too few (bounded).
      for (let asked = limit + 1;; asked *= 4) {
        const rows = this.#search.all(query, asked) as unknown as (Row & { room: string })[];
        const entries = [];
        for (const { room, ...row } of rows) {
          if (!wanted.has(room)) continue;
          if (row.id <= (this.#floors.get(room) ?? "")) continue; // forgotten, being deleted
          entries.push({ room, entry: entryOf(row) });
        }
        const more = entries.length > limit;
        if (more || rows.length < asked || asked >= SEARCH_ROWS_MAX) {
          if (more) entries.length = limit;
          return { entries, more: more || rows.length === asked };
        }
      }
    } catch (error) {
      this.log.event({ event: "internal-error", text: `search: ${(error as Error).message}` });
      return { entries: [], more: false };
    }
  }

  close(): Promise<void> {
    clearInterval(this.#pruneTimer);
    this.#write();
    this.#trimSome(true); // what is forgotten stays forgotten after a restart
    this.#db.close();
    return Promise.resolve();
  }

  /** Fills memory with the last entries of `room` from the file, the first time it is asked. */
  #load(room: string): void {
    if (this.#memory.has(room)) return;
    this.#memory.load(room, this.#rows(room, AFTER_EVERY_ID, this.perRoom));
  }

  /** Up to `limit` entries of `room` whose id sorts before `before`, oldest first. */
  #rows(room: string, before: string, limit: number): HistoryEntry[] {
    if (limit <= 0) return [];
    try {
      const floor = this.#floors.get(room) ?? "";
      const rows = this.#page.all(room, before, floor, limit) as unknown as Row[];
      // A guest's line has no account: left out, as in memory (never `null`).
      return rows.map(entryOf).reverse();
    } catch (error) {
      this.log.event({ event: "internal-error", text: `history: ${(error as Error).message}` });
      return [];
    }
  }

  /** Writes every pending entry in one transaction; a failure is logged, and chat goes on. */
  #write(): void {
    clearTimeout(this.#writeTimer);
    this.#writeTimer = undefined;
    const pending = this.#pending;
    const forgotten = this.#forgotten;
    const deleted = this.#deleted;
    if (pending.length === 0 && forgotten.length === 0 && deleted.length === 0) return;
    this.#pending = [];
    this.#forgotten = [];
    this.#deleted = [];
    try {
      this.#db.exec("BEGIN");
      for (const [room, { id, kind, from, text, time, account, bot }] of pending) {
        this.#insert.run(id, room, kind, from, text, time, account ?? null, bot ? 1 : null);
        this.#unpruned.set(room, (this.#unpruned.get(room) ?? 0) + 1);
      }
      for (const [room, id] of deleted) this.#deleteOne.run(room, id);
      this.#db.exec("COMMIT");
      // Up to the newest line it had when it was forgotten: it may have been spoken in since.
      for (const [room, last] of forgotten) {
        if (last > (this.#floors.get(room) ?? "")) this.#floors.set(room, last);
        this.#trims.push({ room, cut: last });
      }
      if (forgotten.length > 0) this.#trimSome();
    } catch (error) {
      try {
        this.#db.exec("ROLLBACK");
      } catch {
        // no transaction left to roll back
      }
      const text = `history: ${pending.length} lines not written: ${(error as Error).message}`;
      this.log.event({ event: "internal-error", text });
    }
  }

  /**
   * Deletes what is past `keep` in each room that has had a tenth of `keep` new lines
   * since its last trim (also on a timer): finding the cut walks `keep` index entries,
   * so it is done once per many lines, not for every room every time.
   */
  prune(): void {
    this.#write();
    try {
      this.#db.exec("PRAGMA wal_checkpoint(PASSIVE)");
    } catch (error) {
      this.log.event({ event: "internal-error", text: `history: ${(error as Error).message}` });
    }
    const slack = Math.max(1, Math.floor(this.keep / 10));
    for (const [room, written] of this.#unpruned) {
      if (written < slack) continue;
      this.#unpruned.delete(room);
      try {
        const cut = this.#cut.get(room, this.keep)?.id as number | undefined;
        if (cut !== undefined) this.#trims.push({ room, cut });
      } catch (error) {
        this.log.event({ event: "internal-error", text: `history: ${(error as Error).message}` });
      }
    }
    this.#trimSome();
  }

  /**
   * Deletes a batch of lines at a time, for at most {@linkcode TRIM_SLICE} ms, then lets
   * the relay run before the next (a line's deletion also deletes its index entry:
   * 10,000 at once held the thread 170 ms); with `all`, everything (at close).
   */
  #trimSome(all = false): void {
    clearTimeout(this.#trimTimer);
    this.#trimTimer = undefined;
    const start = performance.now();
    while (this.#trims.length > 0 && (all || performance.now() - start < TRIM_SLICE)) {
      const { room, cut } = this.#trims[0];
      let done = true;
      try {
        const statement = typeof cut === "number" ? this.#trimById : this.#trimByEid;
        done = Number(statement.run(room, cut, TRIM_BATCH).changes) < TRIM_BATCH;
      } catch (error) {
        this.log.event({ event: "internal-error", text: `history: ${(error as Error).message}` });
      }
      if (!done) continue;
      this.#trims.shift();
      if (typeof cut === "string" && this.#floors.get(room) === cut) this.#floors.delete(room);
    }
    if (this.#trims.length > 0) {
      this.#trimTimer = setTimeout(() => this.#trimSome(), 0);
      Deno.unrefTimer(this.#trimTimer as unknown as number);
    }
  }
}

/** A word or room name as an FTS5 string (its quotes doubled). */
function quoted(text: string): string {
  return `"${text.replaceAll('"', '""')}"`;
}

/** The shortest word a search matches as the start of longer words. */
const PREFIX_MIN = 3;

/** Letters or digits: what the index's tokenizer keeps of a word. */
const WORDY = /[\p{L}\p{N}]/u;

/**
 * The FTS5 query for the words of `text` (each the start of a word) in the rooms `rooms`
 * (or what the index's `column` holds: the private one's account pairs), or `null` if
 * `text` has no word the index knows (only punctuation).
 */
export function ftsQuery(
  rooms: readonly string[],
  text: string,
  max = 8,
  column = "room",
): string | null {
  const words = text.trim().split(/\s+/u).filter((word) => WORDY.test(word)).slice(0, max);
  const named = rooms.filter((room) => WORDY.test(room));
  if (words.length === 0 || named.length === 0) return null;
  const where = named.map((room) => `${column} : ${quoted(room)}`).join(" OR ");
  // A word of three or more characters matches words it starts; a shorter one only itself
  // (a one-letter prefix would merge the lists of thousands of words: slow, and no help).
  const what = words.map((word) =>
    [...word].length >= PREFIX_MIN ? `text : ${quoted(word)} *` : `text : ${quoted(word)}`
  ).join(" AND ");
  return `(${where}) AND ${what}`;
}
