/**
 * The operator's account command, on the server's own entry point:
 *
 * ```sh
 * deno run -A server.ts account add NAME --db FILE       # asks the password twice, unechoed
 * deno run -A server.ts account password NAME --db FILE  # a new password
 * deno run -A server.ts account remove NAME --db FILE
 * deno run -A server.ts account list --db FILE
 * printf '%s\n' "$PASSWORD" | deno run -A server.ts account add bot --db FILE   # from stdin
 * ```
 *
 * It opens the `--db` file as the server does, so it runs while the server is stopped
 * (the server holds the file locked while it runs). The password is read from the
 * terminal without echo, or as the first line of stdin when stdin is not a terminal;
 * it is never an argument (`ps` would show it).
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { parseArgs } from "node:util";
import { AccountError, newAccount } from "../core/accounts.ts";
import { checkName, nameKey } from "../core/protocol.ts";
import { hashPassword, normalizePassword } from "../core/passwords.ts";
import { openChatDatabase } from "../storage/database.ts";
import { SqliteAccountStore } from "../storage/sqlite_accounts.ts";
import { SqliteRulesStore } from "../storage/sqlite_rooms.ts";
import { SqliteSessionStore } from "../storage/sqlite_sessions.ts";
import { SqlitePrivates } from "../storage/sqlite_privates.ts";
import { ServerLog } from "./log.ts";

/** Where the command reads the password and writes its words (tests replace them). */
export interface AccountIo {
  /** Reads one password, asked with `prompt`; `null` at the end of input. */
  readPassword(prompt: string): Promise<string | null>;
  /** Whether a person types the password (then it is asked twice). */
  interactive: boolean;
  out(line: string): void;
  err(line: string): void;
}

const USAGE = `USAGE:
  deno run -A server.ts account add NAME --db FILE
  deno run -A server.ts account password NAME --db FILE
  deno run -A server.ts account remove NAME --db FILE
  deno run -A server.ts account list --db FILE

The password is asked without echo, or read as the first line of stdin when it is
not a terminal. The server must be stopped: it holds the --db file while it runs.`;

/** Runs `server.ts account ARGS`; returns the exit code (0 done, 1 failed, 2 bad usage). */
export async function accountCommand(args: string[], io: AccountIo): Promise<number> {
  let values: { db?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { db: { type: "string" }, help: { type: "boolean", short: "h" } },
    }));
  } catch (error) {
    io.err(`server account: ${(error as Error).message}`);
    io.err(USAGE);
    return 2;
  }
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  const [action, name, ...extra] = positionals;
  const needsName = action === "add" || action === "password" || action === "remove";
  const usage = (why: string) => {
    io.err(`server account: ${why}`);
    io.err(USAGE);
    return 2;
  };
  if (!needsName && action !== "list") return usage(`unknown action "${action ?? ""}"`);
  if (needsName && name === undefined) return usage(`${action} needs a NAME`);
  if (extra.length > 0 || (action === "list" && name !== undefined)) {
    return usage("too many arguments (the password is never an argument)");
  }
  if (values.db === undefined) {
    return usage("--db FILE is needed: without it accounts live in the server's memory");
  }
  const bad = needsName ? checkName(name.normalize("NFC")) : null;
  if (bad) return usage(bad);

  let db;
  try {
    db = openChatDatabase(values.db);
  } catch (error) {
    io.err(`server account: ${(error as Error).message}`);
    return 1;
  }
  try {
    const store = new SqliteAccountStore(db);
    const display = name?.normalize("NFC");
    const key = display === undefined ? "" : nameKey(display);
    switch (action) {
      case "list": {
        const accounts = await store.list();
        for (const account of accounts) {
          io.out(`${account.name}\tsince ${new Date(account.created).toISOString()}`);
        }
        io.err(`${accounts.length} account${accounts.length === 1 ? "" : "s"}`);
        return 0;
      }
      case "remove": {
        if (!(await store.remove(key))) {
          io.err(`server account: there is no account ${display}`);
          return 1;
        }
        await new SqliteSessionStore(db).revoke(key); // and the browsers logged in to it
        forgetRoles(db, key); // and its rooms and roles: a new account of the name inherits none
        // and its private conversations: a new account of the name reads none
        const privates = new SqlitePrivates(db, 1, 1, new ServerLog(() => {}));
        privates.forgetAccount(key);
        await privates.close();
        io.err(`removed the account ${display}`);
        return 0;
      }
      case "add": {
        const existing = await store.get(key);
        if (existing) {
          io.err(`server account: ${existing.name} is an account already`);
          return 1;
        }
        const password = await askPassword(io);
        if (password === null) return 1;
        await store.create(await newAccount(display!, password));
        io.err(`added the account ${display}`);
        return 0;
      }
      case "password": {
        const existing = await store.get(key);
        if (!existing) {
          io.err(`server account: there is no account ${display}`);
          return 1;
        }
        const password = await askPassword(io);
        if (password === null) return 1;
        const { password: hash, scram } = await hashPassword(password);
        await store.setPassword(key, hash, scram);
        await new SqliteSessionStore(db).revoke(key); // browsers log in again, with the new one
        io.err(`changed the password of ${existing.name}`);
        return 0;
      }
    }
    return 2;
  } catch (error) {
    if (!(error instanceof AccountError)) throw error;
    io.err(`server account: ${error.message}`);
    return 1;
  } finally {
    db.close();
  }
}

/** The new password, normalised (asked twice at a terminal), or `null` (told why). */
async function askPassword(io: AccountIo): Promise<string | null> {
  const first = await io.readPassword("Password: ");
  if (first === null) {
    io.err("server account: no password given");
    return null;
  }
  const normal = normalizePassword(first.trim());
  if ("reason" in normal) {
    io.err(`server account: ${normal.reason}`);
    return null;
  }
  if (io.interactive) {
    const again = await io.readPassword("Again: ");
    const second = again === null ? null : normalizePassword(again.trim());
    if (second === null || !("password" in second) || second.password !== normal.password) {
      io.err("server account: the two passwords differ; nothing changed");
      return null;
    }
  }
  return normal.password;
}

/** The process's terminal or stdin, for {@linkcode accountCommand}. */
export function processIo(): AccountIo {
  const interactive = Deno.stdin.isTerminal();
  return {
    interactive,
    readPassword: (prompt) => interactive ? readHidden(prompt) : readFirstLine(),
    out: (line) => console.log(line),
    err: (line) => console.error(line),
  };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Reads a line from the terminal without echo (raw mode: Enter ends, Ctrl-C or Ctrl-D gives up). */
export async function readHidden(prompt: string): Promise<string | null> {
  Deno.stderr.writeSync(encoder.encode(prompt));
  Deno.stdin.setRaw(true);
  const bytes: number[] = [];
  const buffer = new Uint8Array(256);
  try {
    for (;;) {
      const n = await Deno.stdin.read(buffer);
      if (n === null) return null;
      for (const byte of buffer.subarray(0, n)) {
        if (byte === 3 || (byte === 4 && bytes.length === 0)) return null; // Ctrl-C, Ctrl-D
        if (byte === 13 || byte === 10) return decoder.decode(new Uint8Array(bytes));
        if (byte === 127 || byte === 8) {
          // Backspace: drop a whole UTF-8 character.
          while (bytes.length > 0 && (bytes.pop()! & 0xc0) === 0x80);
          continue;
        }
        if (byte >= 32) bytes.push(byte);
      }
    }
  } finally {
    Deno.stdin.setRaw(false);
    Deno.stderr.writeSync(encoder.encode("\n"));
  }
}

/** The first line of stdin (a pipe or a file), or `null` if it is empty. */
async function readFirstLine(): Promise<string | null> {
  const reader = Deno.stdin.readable.getReader();
  let text = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      if (text.includes("\n")) break;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const line = text.split("\n")[0].replace(/\r$/, "");
  return line === "" && !text.includes("\n") ? null : line;
}

/** Takes the roles of the removed account `key` out of the kept rooms' rules (see `moderation.ts`). */
function forgetRoles(db: DatabaseSync, key: string): void {
  const store = new SqliteRulesStore(db);
  for (const [room, data] of store.load()) {
    if (data.founder !== key && !data.ops.includes(key) && !data.voices.includes(key)) continue;
    const founder = data.founder === key ? null : data.founder;
    const ops = data.ops.filter((op) => op !== key);
    const voices = data.voices.filter((voice) => voice !== key);
    store.save(room, founder === null ? null : { ...data, founder, ops, voices });
  }
}
