/**
 * The page's login sessions in the `--db` SQLite file (the `web_sessions` table, see
 * `database.ts`), beside the accounts they log in to: a browser stays logged in across
 * a restart. Only each ticket's and token's SHA-256 is kept.
 *
 * @module
 */

import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { SessionRecord, SessionStore } from "../core/web_sessions.ts";

/** Tickets and tokens kept in a chat database opened by `openChatDatabase`. */
export class SqliteSessionStore implements SessionStore {
  readonly #put: StatementSync;
  readonly #get: StatementSync;
  readonly #remove: StatementSync;
  readonly #revoke: StatementSync;
  readonly #prune: StatementSync;

  /** Uses the open database `db` (its owner closes it). */
  constructor(readonly db: DatabaseSync) {
    this.#put = db.prepare(
      "INSERT OR REPLACE INTO web_sessions (hash, kind, account, host, expires) VALUES (?, ?, ?, ?, ?)",
    );
    this.#get = db.prepare("SELECT kind, account, host, expires FROM web_sessions WHERE hash = ?");
    this.#remove = db.prepare("DELETE FROM web_sessions WHERE hash = ?");
    this.#revoke = db.prepare("DELETE FROM web_sessions WHERE account = ?");
    this.#prune = db.prepare("DELETE FROM web_sessions WHERE expires <= ?");
  }

  put(hash: string, { kind, account, host, expires }: SessionRecord): Promise<void> {
    return settle(() => void this.#put.run(hash, kind, account, host, expires));
  }

  get(hash: string): Promise<SessionRecord | null> {
    return settle(() => {
      const row = this.#get.get(hash);
      if (!row) return null;
      return {
        kind: row.kind as SessionRecord["kind"],
        account: row.account as string,
        host: row.host as string,
        expires: row.expires as number,
      };
    });
  }

  remove(hash: string): Promise<boolean> {
    return settle(() => this.#remove.run(hash).changes === 1);
  }

  revoke(account: string): Promise<number> {
    return settle(() => Number(this.#revoke.run(account).changes));
  }

  prune(now: number): Promise<number> {
    return settle(() => Number(this.#prune.run(now).changes));
  }
}

/** `work`'s result as a promise (a failure too: callers handle both alike). */
function settle<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(error);
  }
}
