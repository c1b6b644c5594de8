/**
 * Klines (server-wide bans, `src/core/klines.ts`) in the `--db` SQLite file (the `klines`
 * table, see `database.ts`): they outlive a restart. One row per mask, the kline as JSON;
 * ended ones are dropped when loaded.
 *
 * @module
 */

import type { DatabaseSync, StatementSync } from "node:sqlite";
import { type Kline, klineKey, type KlineStore } from "../core/klines.ts";

/** Klines kept in a chat database opened by `openChatDatabase`. */
export class SqliteKlineStore implements KlineStore {
  readonly #all: StatementSync;
  readonly #put: StatementSync;
  readonly #remove: StatementSync;
  readonly #ended: StatementSync;

  /** Uses the open database `db` (its owner closes it). */
  constructor(readonly db: DatabaseSync) {
    this.#all = db.prepare("SELECT kline FROM klines");
    this.#put = db.prepare(
      "INSERT OR REPLACE INTO klines (key, kline, expires) VALUES (?, ?, ?)",
    );
    this.#remove = db.prepare("DELETE FROM klines WHERE key = ?");
    this.#ended = db.prepare("DELETE FROM klines WHERE expires IS NOT NULL AND expires <= ?");
  }

  load(): Kline[] {
    this.#ended.run(Date.now());
    return this.#all.all().map((row) => JSON.parse(row.kline as string) as Kline);
  }

  save(kline: Kline): void {
    this.#put.run(klineKey(kline.mask), JSON.stringify(kline), kline.expires);
  }

  remove(key: string): void {
    this.#remove.run(key);
  }
}
