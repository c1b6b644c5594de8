/**
 * Accounts' read markers in the `--db` SQLite file (the `read_markers` table, see
 * `database.ts`): one row per account and conversation, moved only forward by the
 * statement itself, at most `MARKERS_MAX` per account (the least recently set go).
 * Reads and writes are synchronous (a marker is set by a client's request, not per
 * message), each one indexed row.
 *
 * @module
 */

import type { DatabaseSync, StatementSync } from "node:sqlite";
import { type Marker, MARKERS_MAX, type MarkerStore } from "../core/read_markers.ts";

/** A row as the file gives it back. */
interface Row {
  target: string;
  name: string;
  eid: string;
  time: number;
}

/** Read markers kept in a chat database opened by `openChatDatabase`. */
export class SqliteMarkerStore implements MarkerStore {
  readonly #get: StatementSync;
  readonly #put: StatementSync;
  readonly #list: StatementSync;
  readonly #trim: StatementSync;
  readonly #forget: StatementSync;
  readonly #count: StatementSync;
  /** Orders markers by when they were set (the file's largest, at start). */
  #seq: number;

  /** Uses the open database `db` (its owner closes it). */
  constructor(readonly db: DatabaseSync) {
    this.#get = db.prepare(
      "SELECT target, name, eid, time FROM read_markers WHERE account = ? AND target = ?",
    );
    // Forward only: an older or equal marker changes nothing.
    this.#put = db.prepare(
      "INSERT INTO read_markers (account, target, name, eid, time, seq) VALUES (?, ?, ?, ?, ?, ?) " +
        "ON CONFLICT (account, target) DO UPDATE SET name = excluded.name, eid = excluded.eid, " +
        "time = excluded.time, seq = excluded.seq WHERE excluded.eid > read_markers.eid",
    );
    this.#list = db.prepare(
      "SELECT target, name, eid, time FROM read_markers WHERE account = ? ORDER BY seq DESC LIMIT ?",
    );
    this.#count = db.prepare("SELECT count(*) AS n FROM read_markers WHERE account = ?");
    this.#trim = db.prepare(
      "DELETE FROM read_markers WHERE account = ? AND seq <= " +
        "(SELECT seq FROM read_markers WHERE account = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)",
    );
    this.#forget = db.prepare("DELETE FROM read_markers WHERE account = ?");
    const max = db.prepare("SELECT max(seq) AS seq FROM read_markers").get();
    this.#seq = (max?.seq as number | null) ?? 0;
  }

  get(account: string, key: string): Marker | undefined {
    const row = this.#get.get(account, key) as Row | undefined;
    return row === undefined ? undefined : markerOf(row);
  }

  set(account: string, marker: Marker): Marker {
    const { key, name, id, time } = marker;
    const changed = this.#put.run(account, key, name, id, time, ++this.#seq).changes;
    if (Number(changed) === 0) return this.get(account, key) ?? marker;
    const { n } = this.#count.get(account) as { n: number };
    if (n > MARKERS_MAX) this.#trim.run(account, account, MARKERS_MAX);
    return marker;
  }

  list(account: string): Marker[] {
    return (this.#list.all(account, MARKERS_MAX) as unknown as Row[]).map(markerOf);
  }

  forget(account: string): void {
    this.#forget.run(account);
  }
}

/** The marker of a row (`#…` a room's, `@…` a private conversation's). */
function markerOf({ target, name, eid, time }: Row): Marker {
  return { key: target, name, room: target.startsWith("#"), id: eid, time };
}
