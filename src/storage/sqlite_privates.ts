/**
 * Private conversations in the `--db` file (see `src/core/private.ts`): kept across a
 * restart, with the messages held for accounts not connected. New messages are written in
 * batches, one transaction every few milliseconds, off the relay's path; a read first
 * writes what is pending. Each conversation keeps its last `keep` lines, the file at most
 * `total` private lines (the oldest go first), each account at most `HELD_MAX` held.
 *
 * @module
 */

import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { ServerLog } from "../ops/log.ts";
import {
  type Conversation,
  type FoundPrivate,
  HELD_MAX,
  otherOf,
  type PrivateEntry,
  type PrivateStore,
  searchEntry,
} from "../core/private.ts";
import type { HistoryEntry } from "../core/history.ts";
import type { PrivateSearch } from "../core/hub.ts";
import { ftsQuery, SEARCH_ROWS_MAX } from "./sqlite_history.ts";

/** Milliseconds new entries may wait before they are written. */
const WRITE_DELAY = 5;
/** Milliseconds between two prunings. */
const PRUNE_EVERY = 10_000;
/** Sorts after every event id (ids are `0-9a-z`). */
const AFTER_EVERY_ID = "~";

/** The columns of an entry, of the table (or alias) `m`. */
const COLUMNS = 'm.eid AS id, m.sender AS "from", m.recipient AS "to", m.text AS text, ' +
  "m.time AS time, m.account AS account, m.to_account AS toAccount";

/** Private conversations in a SQLite file (the one history and accounts live in). */
export class SqlitePrivates implements PrivateStore, PrivateSearch {
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #pairOf: StatementSync;
  readonly #hold: StatementSync;
  readonly #before: StatementSync;
  readonly #after: StatementSync;
  readonly #conversations: StatementSync;
  readonly #last: StatementSync;
  readonly #heldCount: StatementSync;
  readonly #held: StatementSync;
  readonly #unhold: StatementSync;
  readonly #trim: StatementSync;
  readonly #search: StatementSync;
  #pending: [string, PrivateEntry, string | undefined][] = [];
  #writeTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #pruneTimer: ReturnType<typeof setInterval>;
  /** Lines written to each conversation since it was last trimmed. */
  readonly #unpruned = new Map<string, number>();
  /** Lines written since the file was last brought under `total`. */
  #written = 0;

  /** Keeps conversations in `db` (migrated already: see `database.ts`). */
  constructor(
    db: DatabaseSync,
    readonly keep: number,
    readonly total: number,
    readonly log: ServerLog,
  ) {
    this.#db = db;
    this.#insert = db.prepare(
      "INSERT INTO private_messages (pair, eid, sender, recipient, text, time, account, to_account) " +
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    );
    this.#pairOf = db.prepare("INSERT OR IGNORE INTO private_pairs (account, pair) VALUES (?, ?)");
    this.#hold = db.prepare(
      "INSERT OR IGNORE INTO private_held (account, pair, eid) VALUES (?, ?, ?)",
    );
    this.#before = db.prepare(
      `SELECT ${COLUMNS} FROM private_messages m WHERE pair = ? AND eid < ? ORDER BY eid DESC LIMIT ?`,
    );
    this.#after = db.prepare(
      `SELECT ${COLUMNS} FROM private_messages m WHERE pair = ? AND eid > ? ORDER BY eid LIMIT ?`,
    );
    this.#conversations = db.prepare(
      "SELECT p.pair AS pair, (SELECT max(eid) FROM private_messages m WHERE m.pair = p.pair) AS last " +
        "FROM private_pairs p WHERE p.account = ? AND last IS NOT NULL ORDER BY last DESC LIMIT ?",
    );
    this.#last = db.prepare(`SELECT ${COLUMNS} FROM private_messages m WHERE pair = ? AND eid = ?`);
    this.#heldCount = db.prepare("SELECT count(*) AS n FROM private_held WHERE account = ?");
    this.#held = db.prepare(
      `SELECT ${COLUMNS} FROM private_held h JOIN private_messages m ` +
        "ON m.pair = h.pair AND m.eid = h.eid WHERE h.account = ? ORDER BY h.eid LIMIT ?",
    );
    this.#unhold = db.prepare("DELETE FROM private_held WHERE account = ?");
    this.#trim = db.prepare(
      "DELETE FROM private_messages WHERE pair = ? AND id <= " +
        "(SELECT id FROM private_messages WHERE pair = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
    );
    // Newest first in the index's own order (its rowid is the line's): no sort, LIMIT stops it.
    this.#search = db.prepare(
      `SELECT m.pair AS pair, ${COLUMNS} FROM private_fts f JOIN private_messages m ` +
        "ON m.id = f.rowid WHERE private_fts MATCH ? ORDER BY f.rowid DESC LIMIT ?",
    );
    this.#pruneTimer = setInterval(() => this.prune(), PRUNE_EVERY);
    Deno.unrefTimer(this.#pruneTimer as unknown as number);
  }

  add(pair: string, entry: PrivateEntry, heldFor?: string): void {
    this.#pending.push([pair, entry, heldFor]);
    this.#writeTimer ??= setTimeout(() => this.#write(), WRITE_DELAY);
  }

  before(pair: string, limit: number, before?: string): PrivateEntry[] {
    return this.#rows(this.#before, pair, before ?? AFTER_EVERY_ID, limit).reverse();
  }

  after(pair: string, limit: number, after: string): PrivateEntry[] {
    return this.#rows(this.#after, pair, after, limit);
  }

  conversations(key: string, limit: number): Conversation[] {
    this.#write();
    try {
      const found: Conversation[] = [];
      for (const { pair, last } of this.#conversations.all(key, limit)) {
        const entry = this.#last.get(pair as string, last as string) as PrivateEntry | undefined;
        if (entry) found.push({ with: otherOf(entry, key), last: { ...entry, kind: "private" } });
      }
      return found;
    } catch (error) {
      this.#failed(error);
      return [];
    }
  }

  /**
   * The full-text index's newest `limit` lines of the account `key`'s own conversations
   * with every word of `text` (as rooms' search on the file matches them).
   */
  search(key: string, text: string, limit: number): {
    entries: { with: string; entry: HistoryEntry }[];
    more: boolean;
  } {
    const query = ftsQuery([key], text, 8, "pair");
    if (query === null || limit <= 0) return { entries: [], more: false };
    this.#write();
    try {
      // The index matches the key's words (`ann` in `ann-b zed`): only pairs that have the
      // key itself are kept, asked again for more rows while that leaves too few (bounded).
      for (let asked = limit + 1;; asked *= 4) {
        const rows = this.#search.all(query, asked) as unknown as (PrivateEntry & {
          pair: string;
        })[];
        const entries = [];
        for (const { pair, ...row } of rows) {
          if (pair.split(" ").includes(key)) entries.push(searchEntry(row, key));
        }
        const more = entries.length > limit;
        if (more || rows.length < asked || asked >= SEARCH_ROWS_MAX) {
          if (more) entries.length = limit;
          return { entries, more: more || rows.length === asked };
        }
      }
    } catch (error) {
      this.#failed(error);
      return { entries: [], more: false };
    }
  }

  heldCount(key: string): number {
    this.#write();
    try {
      return (this.#heldCount.get(key) as { n: number }).n;
    } catch (error) {
      this.#failed(error);
      return HELD_MAX; // unknown: hold no more
    }
  }

  takeHeld(key: string): PrivateEntry[] {
    this.#write();
    try {
      const rows = this.#held.all(key, HELD_MAX) as unknown as PrivateEntry[];
      this.#unhold.run(key);
      return rows.map((row) => ({ ...row, kind: "private" }));
    } catch (error) {
      this.#failed(error);
      return [];
    }
  }

  forgetAccount(key: string): void {
    this.#write();
    try {
      this.#db.exec("BEGIN");
      const pairs = "SELECT pair FROM private_pairs WHERE account = ?";
      this.#db.prepare(`DELETE FROM private_held WHERE account = ? OR pair IN (${pairs})`).run(
        key,
        key,
      );
      this.#db.prepare(`DELETE FROM private_messages WHERE pair IN (${pairs})`).run(key);
      this.#db.prepare(`DELETE FROM private_pairs WHERE pair IN (${pairs})`).run(key);
      this.#db.exec("COMMIT");
    } catch (error) {
      try {
        this.#db.exec("ROLLBACK");
      } catch {
        // no transaction left to roll back
      }
      this.#failed(error);
    }
  }

  find(key: string, id: string): FoundPrivate | undefined {
    this.#write();
    try {
      // Through the account's pairs: each looked up by (pair, eid), the index's order.
      const row = this.#db.prepare(
        `SELECT p.pair AS pair, ${COLUMNS} FROM private_pairs p ` +
          "JOIN private_messages m ON m.pair = p.pair AND m.eid = ? WHERE p.account = ? LIMIT 1",
      ).get(id, key) as (PrivateEntry & { pair: string }) | undefined;
      if (row === undefined) return undefined;
      const { pair, ...entry } = row;
      return { pair, entry: { ...entry, kind: "private" } };
    } catch (error) {
      this.#failed(error);
      return undefined;
    }
  }

  remove(pair: string, id: string): boolean {
    this.#write();
    try {
      // By the primary key (account, eid): either side of the pair may be the one waiting.
      const [a, b] = pair.split(" ");
      this.#db.prepare("DELETE FROM private_held WHERE account IN (?, ?) AND eid = ?").run(
        a,
        b,
        id,
      );
      return this.#db.prepare("DELETE FROM private_messages WHERE pair = ? AND eid = ?")
        .run(pair, id).changes > 0;
    } catch (error) {
      this.#failed(error);
      return false;
    }
  }

  close(): Promise<void> {
    clearInterval(this.#pruneTimer);
    this.#write();
    return Promise.resolve();
  }

  #rows(statement: StatementSync, pair: string, id: string, limit: number): PrivateEntry[] {
    if (limit <= 0) return [];
    this.#write();
    try {
      const rows = statement.all(pair, id, limit) as unknown as PrivateEntry[];
      return rows.map((row) => ({ ...row, kind: "private" }));
    } catch (error) {
      this.#failed(error);
      return [];
    }
  }

  /** Writes every pending entry in one transaction; a failure is logged, and chat goes on. */
  #write(): void {
    clearTimeout(this.#writeTimer);
    this.#writeTimer = undefined;
    const pending = this.#pending;
    if (pending.length === 0) return;
    this.#pending = [];
    try {
      this.#db.exec("BEGIN");
      for (const [pair, entry, heldFor] of pending) {
        const { id, from, to, text, time, account, toAccount } = entry;
        this.#insert.run(pair, id, from, to, text, time, account, toAccount);
        for (const key of pair.split(" ")) this.#pairOf.run(key, pair);
        if (heldFor !== undefined) this.#hold.run(heldFor, pair, id);
        this.#unpruned.set(pair, (this.#unpruned.get(pair) ?? 0) + 1);
      }
      this.#written += pending.length;
      this.#db.exec("COMMIT");
    } catch (error) {
      try {
        this.#db.exec("ROLLBACK");
      } catch {
        // no transaction left to roll back
      }
      this.#failed(error);
    }
  }

  /**
   * Trims each conversation that had a tenth of `keep` new lines to `keep`, the file to
   * `total` lines; forgets what is held or listed of lines no longer kept.
   */
  prune(): void {
    this.#write();
    const slack = Math.max(1, Math.floor(this.keep / 10));
    try {
      for (const [pair, written] of this.#unpruned) {
        if (written < slack) continue;
        this.#unpruned.delete(pair);
        this.#trim.run(pair, pair, this.keep);
      }
      // The whole file's bound walks `total` rows: once per hundredth of it written.
      if (this.#written < Math.max(1, this.total / 100)) return;
      this.#written = 0;
      this.#db.prepare(
        "DELETE FROM private_messages WHERE id <= " +
          "(SELECT id FROM private_messages ORDER BY id DESC LIMIT 1 OFFSET ?)",
      ).run(this.total);
      this.#db.exec(
        "DELETE FROM private_held WHERE NOT EXISTS (SELECT 1 FROM private_messages m " +
          "WHERE m.pair = private_held.pair AND m.eid = private_held.eid)",
      );
      this.#db.exec(
        "DELETE FROM private_pairs WHERE NOT EXISTS (SELECT 1 FROM private_messages m " +
          "WHERE m.pair = private_pairs.pair)",
      );
    } catch (error) {
      this.#failed(error);
    }
  }

  #failed(error: unknown): void {
    this.log.event({ event: "internal-error", text: `private: ${(error as Error).message}` });
  }
}
