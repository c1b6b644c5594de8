/**
 * Incoming webhooks in the `--db` SQLite file (the `webhooks` table, see `database.ts`):
 * each hook's id, room, bot name, maker and the SHA-256 of its token (never the token).
 *
 * @module
 */

import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { Webhook, WebhookStore } from "../core/webhooks.ts";

/** Webhooks kept in a chat database opened by `openChatDatabase`. */
export class SqliteWebhookStore implements WebhookStore {
  readonly #all: StatementSync;
  readonly #put: StatementSync;
  readonly #remove: StatementSync;

  /** Uses the open database `db` (its owner closes it). */
  constructor(readonly db: DatabaseSync) {
    this.#all = db.prepare(
      'SELECT id, hash, room, name, "by", created FROM webhooks ORDER BY created',
    );
    this.#put = db.prepare(
      'INSERT INTO webhooks (id, hash, room, name, "by", created) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.#remove = db.prepare("DELETE FROM webhooks WHERE id = ?");
  }

  load(): Webhook[] {
    return this.#all.all() as unknown as Webhook[];
  }

  save(hook: Webhook): void {
    this.#put.run(hook.id, hook.hash, hook.room, hook.name, hook.by, hook.created);
  }

  remove(id: string): void {
    this.#remove.run(id);
  }
}
