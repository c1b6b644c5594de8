/**
 * Accounts in the `--db` SQLite file (the `accounts` table, see `database.ts`), beside
 * history: they survive a restart. Each call is one short statement on the file, which
 * this process holds alone; a login's hashing, not the file, is what takes time.
 *
 * @module
 */

import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { Account, AccountStore } from "../core/accounts.ts";
import type { PasswordHash, ScramVerifier } from "../core/passwords.ts";

/** Accounts kept in a chat database opened by `openChatDatabase`. */
export class SqliteAccountStore implements AccountStore {
  readonly persistent = true;
  readonly #names: StatementSync;
  readonly #get: StatementSync;
  readonly #create: StatementSync;
  readonly #setPassword: StatementSync;
  readonly #remove: StatementSync;
  readonly #list: StatementSync;

  /** Uses the open database `db` (its owner closes it). */
  constructor(readonly db: DatabaseSync) {
    this.#names = db.prepare("SELECT key, name FROM accounts");
    this.#get = db.prepare("SELECT * FROM accounts WHERE key = ?");
    this.#create = db.prepare(
      "INSERT OR IGNORE INTO accounts (key, name, created, password, scram) VALUES (?, ?, ?, ?, ?)",
    );
    this.#setPassword = db.prepare("UPDATE accounts SET password = ?, scram = ? WHERE key = ?");
    this.#remove = db.prepare("DELETE FROM accounts WHERE key = ?");
    this.#list = db.prepare("SELECT * FROM accounts ORDER BY created, key");
  }

  names(): Promise<[string, string][]> {
    return settle(() =>
      this.#names.all().map((row) => [row.key as string, row.name as string] as [string, string])
    );
  }

  get(key: string): Promise<Account | null> {
    return settle(() => {
      const row = this.#get.get(key);
      return row ? account(row) : null;
    });
  }

  create(account: Account): Promise<boolean> {
    const { key, name, created, password, scram } = account;
    return settle(() =>
      this.#create.run(key, name, created, JSON.stringify(password), JSON.stringify(scram))
        .changes === 1
    );
  }

  setPassword(key: string, password: PasswordHash, scram: ScramVerifier): Promise<boolean> {
    return settle(() =>
      this.#setPassword.run(JSON.stringify(password), JSON.stringify(scram), key).changes === 1
    );
  }

  remove(key: string): Promise<boolean> {
    return settle(() => this.#remove.run(key).changes === 1);
  }

  list(): Promise<Account[]> {
    return settle(() => this.#list.all().map(account));
  }

  close(): Promise<void> {
    return Promise.resolve(); // the database is the history's to close
  }
}

/** A row of `accounts` as an {@linkcode Account}. */
function account(row: Record<string, unknown>): Account {
  return {
    key: row.key as string,
    name: row.name as string,
    created: row.created as number,
    password: JSON.parse(row.password as string),
    scram: JSON.parse(row.scram as string),
  };
}

/** `work`'s result as a promise (a failure too: callers handle both alike). */
function settle<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(error);
  }
}
