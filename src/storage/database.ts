/**
 * The `--db` file: one SQLite file (Deno's built-in `node:sqlite`) that keeps history,
 * topics, the IRC cloak key, accounts, the page's login sessions, founded rooms' rules and klines. Opened here once, checked (it must be this
 * server's), locked (one server at a time) and brought to the current schema by the
 * migrations below, each run once, in order, recorded in `PRAGMA user_version`. A file
 * made before a migration existed is brought up to date at its next start.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { idOf } from "../core/ids.ts";

/** "CHAT": marks the file as this server's, so that another program's database is refused. */
const APPLICATION_ID = 0x43484154;

/**
 * Gives every row an event id (`eid`): a file from before ids gets the column, and its
 * rows ids made of their time and row number (in the order they were kept), with the
 * process tag `0`, so that they sort before any id made since in the same millisecond.
 * (Files from before versions were kept may have the column already: it is looked for.)
 */
function migrateEventIds(db: DatabaseSync): void {
  const columns = db.prepare("PRAGMA table_info(messages)").all();
  if (!columns.some((column) => column.name === "eid")) {
    db.exec("ALTER TABLE messages ADD COLUMN eid TEXT");
  }
  const rows = db.prepare("SELECT id, time FROM messages WHERE eid IS NULL ORDER BY id").all();
  const update = db.prepare("UPDATE messages SET eid = ? WHERE id = ?");
  for (const row of rows) {
    update.run(idOf(row.time as number, row.id as number, "0"), row.id as number);
  }
  db.exec("CREATE INDEX IF NOT EXISTS messages_by_eid ON messages (room, eid)");
}

/** Klines: one row per folded mask, the kline as JSON, its end (NULL: for good) to prune by. */
function migrateKlines(db: DatabaseSync): void {
  db.exec(`CREATE TABLE IF NOT EXISTS klines (
     key TEXT PRIMARY KEY, kline TEXT NOT NULL, expires INTEGER)`);
}

/**
 * Private conversations between accounts, keyed by the pair of account keys
 * (`src/core/private.ts`): the messages, each account's conversations, and the messages
 * held for an account until its next login.
 */
function migratePrivateMessages(db: DatabaseSync): void {
  db.exec(`CREATE TABLE IF NOT EXISTS private_messages (
     id INTEGER PRIMARY KEY, pair TEXT NOT NULL, eid TEXT NOT NULL,
     sender TEXT NOT NULL, recipient TEXT NOT NULL, text TEXT NOT NULL, time INTEGER NOT NULL,
     account TEXT NOT NULL, to_account TEXT NOT NULL);
   CREATE INDEX IF NOT EXISTS private_by_pair ON private_messages (pair, eid);
   CREATE TABLE IF NOT EXISTS private_pairs (
     account TEXT NOT NULL, pair TEXT NOT NULL, PRIMARY KEY (account, pair));
   CREATE TABLE IF NOT EXISTS private_held (
     account TEXT NOT NULL, pair TEXT NOT NULL, eid TEXT NOT NULL, PRIMARY KEY (account, eid));`);
}

/**
 * Read markers (src/core/read_markers.ts): per account (its key) and conversation (`#room`
 * or `@name` key), the last event id read and its time; `seq` orders them by when set.
 */
function migrateReadMarkers(db: DatabaseSync): void {
  db.exec(`CREATE TABLE IF NOT EXISTS read_markers (
     account TEXT NOT NULL, target TEXT NOT NULL, name TEXT NOT NULL, eid TEXT NOT NULL,
     time INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (account, target)) WITHOUT ROWID;
   CREATE INDEX IF NOT EXISTS read_markers_by_seq ON read_markers (account, seq);`);
}

/**
 * An FTS5 index over kept lines (their text, and their room so that a search is cut to
 * the user's rooms inside the index), kept in step by triggers, and filled from the
 * lines kept before it.
 */
function migrateSearchIndex(db: DatabaseSync): void {
  db.exec(`CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(
     room, text, content='messages', content_rowid='id',
     tokenize='unicode61 remove_diacritics 2');
   CREATE TRIGGER IF NOT EXISTS messages_fts_insert AFTER INSERT ON messages BEGIN
     INSERT INTO messages_fts (rowid, room, text) VALUES (new.id, new.room, new.text);
   END;
   CREATE TRIGGER IF NOT EXISTS messages_fts_delete AFTER DELETE ON messages BEGIN
     INSERT INTO messages_fts (messages_fts, rowid, room, text)
       VALUES ('delete', old.id, old.room, old.text);
   END;
   CREATE TRIGGER IF NOT EXISTS messages_fts_update AFTER UPDATE OF room, text ON messages BEGIN
     INSERT INTO messages_fts (messages_fts, rowid, room, text)
       VALUES ('delete', old.id, old.room, old.text);
     INSERT INTO messages_fts (rowid, room, text) VALUES (new.id, new.room, new.text);
   END;
   INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');`);
}

/**
 * An FTS5 index over kept private lines (their text, and their pair of account keys so
 * that a search is cut to one account's conversations inside the index), kept in step by
 * triggers as the rooms' one is, and filled from the private lines kept before it.
 */
function migratePrivateSearchIndex(db: DatabaseSync): void {
  db.exec(`CREATE VIRTUAL TABLE IF NOT EXISTS private_fts USING fts5(
     pair, text, content='private_messages', content_rowid='id',
     tokenize='unicode61 remove_diacritics 2');
   CREATE TRIGGER IF NOT EXISTS private_fts_insert AFTER INSERT ON private_messages BEGIN
     INSERT INTO private_fts (rowid, pair, text) VALUES (new.id, new.pair, new.text);
   END;
   CREATE TRIGGER IF NOT EXISTS private_fts_delete AFTER DELETE ON private_messages BEGIN
     INSERT INTO private_fts (private_fts, rowid, pair, text)
       VALUES ('delete', old.id, old.pair, old.text);
   END;
   CREATE TRIGGER IF NOT EXISTS private_fts_update AFTER UPDATE OF pair, text ON private_messages
   BEGIN
     INSERT INTO private_fts (private_fts, rowid, pair, text)
       VALUES ('delete', old.id, old.pair, old.text);
     INSERT INTO private_fts (rowid, pair, text) VALUES (new.id, new.pair, new.text);
   END;
   INSERT INTO private_fts (private_fts) VALUES ('rebuild');`);
}

/**
 * The schema's steps (SQL, or a function for a step that computes): the file's
 * `user_version` is how many it has had. Never edit one that shipped: add the next.
 * (Files from before versions were kept have 0 and the history tables, with or
 * without event ids: no step makes again what a file has.)
 */
const MIGRATIONS: readonly (string | ((db: DatabaseSync) => void))[] = [
  // 1: history, topics and kept values (the cloak key).
  `CREATE TABLE IF NOT EXISTS messages (
     id INTEGER PRIMARY KEY, room TEXT NOT NULL, kind TEXT NOT NULL,
     sender TEXT NOT NULL, text TEXT NOT NULL, time INTEGER NOT NULL);
   CREATE INDEX IF NOT EXISTS messages_by_room ON messages (room, id);
   CREATE TABLE IF NOT EXISTS rooms (key TEXT PRIMARY KEY, topic TEXT NOT NULL);
   CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
  // 2: accounts; `password` and `scram` are JSON, with the parameters each was made with.
  `CREATE TABLE IF NOT EXISTS accounts (
     key TEXT PRIMARY KEY, name TEXT NOT NULL, created INTEGER NOT NULL,
     password TEXT NOT NULL, scram TEXT NOT NULL);`,
  // 3: event ids on history (see src/core/ids.ts); main's files had them without a version.
  migrateEventIds,
  // 4: the page's login sessions: tickets and cookie tokens, by their SHA-256 (src/core/web_sessions.ts).
  `CREATE TABLE IF NOT EXISTS web_sessions (
     hash TEXT PRIMARY KEY, kind TEXT NOT NULL, account TEXT NOT NULL,
     host TEXT NOT NULL, expires INTEGER NOT NULL);
   CREATE INDEX IF NOT EXISTS web_sessions_by_account ON web_sessions (account);
   CREATE INDEX IF NOT EXISTS web_sessions_by_expiry ON web_sessions (expires);`,
  // 5: the account each kept line's sender was logged in to (NULL: a guest, or kept before).
  "ALTER TABLE messages ADD COLUMN account TEXT;",
  // 6: founded rooms' rules (roles, modes, bans) as JSON (src/core/moderation.ts).
  `CREATE TABLE IF NOT EXISTS room_rules (key TEXT PRIMARY KEY, rules TEXT NOT NULL);`,
  // 7: klines, server-wide bans, as JSON by folded mask (src/core/klines.ts).
  migrateKlines,
  // 8: incoming webhooks, by the SHA-256 of their token
  // (src/core/webhooks.ts); kept lines posted by one are marked (`bot` 1).
  `CREATE TABLE IF NOT EXISTS webhooks (
     id TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, room TEXT NOT NULL,
     name TEXT NOT NULL, "by" TEXT NOT NULL, created INTEGER NOT NULL);
   ALTER TABLE messages ADD COLUMN bot INTEGER;`,
  // 9: private conversations between accounts (src/core/private.ts).
  migratePrivateMessages,
  // 10: read markers, how far each account has read each conversation.
  migrateReadMarkers,
  // 11: the full-text index of kept lines, for /search.
  migrateSearchIndex,
  // 12: the full-text index of kept private lines, for /search of one's own conversations.
  migratePrivateSearchIndex,
];

/** The schema version this server writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** What is wrong with a database file, said in one line. */
export class HistoryFileError extends Error {
  override name = "HistoryFileError";
}

/**
 * Opens (or makes) the chat database at `path`, locked for this process and at the
 * current schema; throws a {@linkcode HistoryFileError} if it cannot be opened, is not
 * a chat database, was made by a newer server, or another server holds it.
 */
export function openChatDatabase(path: string): DatabaseSync {
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path);
  } catch (error) {
    throw new HistoryFileError(`cannot open ${path}: ${(error as Error).message}`);
  }
  try {
    const { application_id: id } = db.prepare("PRAGMA application_id").get() as {
      application_id: number;
    };
    const tables = db.prepare("SELECT count(*) AS n FROM sqlite_master").get() as { n: number };
    if (id !== APPLICATION_ID && (id !== 0 || tables.n > 0)) {
      throw new HistoryFileError(`${path} is not a chat database`);
    }
    // Exclusive locking: the lock taken by the first write is kept until close.
    db.exec("PRAGMA locking_mode = EXCLUSIVE");
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = NORMAL");
    // SQLite checkpoints (and syncs) on its own after each 1,000 pages, inside a write:
    // on this one thread that stalls the relay. The history's pruning timer checkpoints.
    db.exec("PRAGMA wal_autocheckpoint = 0");
    db.exec(`PRAGMA application_id = ${APPLICATION_ID}`);
    db.exec("BEGIN IMMEDIATE"); // takes the lock now, or fails now
    try {
      const { user_version: version } = db.prepare("PRAGMA user_version").get() as {
        user_version: number;
      };
      if (version > SCHEMA_VERSION) {
        throw new HistoryFileError(
          `${path} was written by a newer version of the server (schema ${version}, this one knows ${SCHEMA_VERSION})`,
        );
      }
      for (const step of MIGRATIONS.slice(version)) {
        if (typeof step === "string") db.exec(step);
        else step(db);
      }
      db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
      db.exec("COMMIT");
    } catch (error) {
      db.exec("ROLLBACK");
      throw error;
    }
  } catch (error) {
    db.close();
    if (error instanceof HistoryFileError) throw error;
    const message = (error as Error).message;
    throw new HistoryFileError(
      /locked|busy/i.test(message)
        ? `${path} is in use by another server`
        : /not a database/i.test(message)
        ? `${path} is not a chat database`
        : `cannot use ${path}: ${message}`,
    );
  }
  return db;
}
