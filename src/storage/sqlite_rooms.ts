/**
 * The rules of founded rooms (founder, operators, voice, modes, bans, mutes) in the
 * `--db` SQLite file (the `room_rules` table, see `database.ts`): a room's roles and
 * bans outlive a restart. One row per room, its rules as JSON.
 *
 * @module
 */

import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { RulesData, RulesStore } from "../core/moderation.ts";

/** Rooms' rules kept in a chat database opened by `openChatDatabase`. */
export class SqliteRulesStore implements RulesStore {
  readonly #all: StatementSync;
  readonly #put: StatementSync;
  readonly #remove: StatementSync;

  /** Uses the open database `db` (its owner closes it). */
  constructor(readonly db: DatabaseSync) {
    this.#all = db.prepare("SELECT key, rules FROM room_rules");
    this.#put = db.prepare("INSERT OR REPLACE INTO room_rules (key, rules) VALUES (?, ?)");
    this.#remove = db.prepare("DELETE FROM room_rules WHERE key = ?");
  }

  load(): [string, RulesData][] {
    return this.#all.all().map((row) => [
      row.key as string,
      JSON.parse(row.rules as string) as RulesData,
    ]);
  }

  save(key: string, data: RulesData | null): void {
    if (data === null) this.#remove.run(key);
    else this.#put.run(key, JSON.stringify(data));
  }
}
