/**
 * The page's login sessions in the stores that outlive a process: the `--db` file
 * (schema step 4, and a token still good after the file is opened again) and Redis
 * (the keys expire on their own; a logout revokes through the per-account set). Both
 * pass the same checks as memory (`src/core/web_sessions_test.ts`).
 *
 * @module
 */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { exerciseStore } from "../src/core/web_sessions_test.ts";
import { openChatDatabase, SCHEMA_VERSION } from "../src/storage/database.ts";
import { SqliteSessionStore } from "../src/storage/sqlite_sessions.ts";
import { RedisSessionStore } from "../src/storage/redis_sessions.ts";
import { WebSessions } from "../src/core/web_sessions.ts";
import { accountCommand } from "../src/ops/account_command.ts";
import { HAVE_REDIS, sanitized, startRedis, test } from "./test_util.ts";

test("web sessions in the --db file: the same checks, and a token outlives a restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-sessions-" });
  try {
    const path = `${dir}/chat.db`;
    let db = openChatDatabase(path);
    assertEquals(
      (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version,
      SCHEMA_VERSION,
    );
    await exerciseStore(new SqliteSessionStore(db));
    const sessions = new WebSessions(new SqliteSessionStore(db));
    const { token } = (await sessions.redeem(await sessions.ticket("ann", "h:1"), "h:1"))!;
    db.close();
    db = openChatDatabase(path);
    assertEquals(await new WebSessions(new SqliteSessionStore(db)).lookup(token, "h:1"), "ann");
    db.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "web sessions in Redis: the same checks; keys expire at the record's expiry",
  ignore: !HAVE_REDIS,
  ...sanitized,
  async fn() {
    await using redis = await startRedis();
    // redis-cli's raw answers: an integer, OK, a bulk string, or nothing for nil.
    const store = new RedisSessionStore({
      async command(args: string[]) {
        const out = await redis.cli(...args);
        return out === "" ? null : /^-?\d+$/.test(out) ? Number(out) : out;
      },
    });
    await exerciseStore(store);
    const sessions = new WebSessions(store, { lifetime: 60_000 });
    const { token } = (await sessions.redeem(await sessions.ticket("cat", "h:1"), "h:1"))!;
    const keys = (await redis.cli("KEYS", "chat:websession:*")).split("\n");
    assertEquals(keys.length, 1);
    const ttl = Number(await redis.cli("PTTL", keys[0]));
    assertEquals(ttl > 50_000 && ttl <= 60_000, true, `PTTL ${ttl}`);
    assertEquals(await sessions.lookup(token, "h:1"), "cat");
  },
});

test("web sessions: the operator's account password and account remove revoke the account's cookies", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-sessions-" });
  try {
    const path = `${dir}/chat.db`;
    const io = {
      readPassword: () => Promise.resolve("a-password"),
      interactive: false,
      out: () => {},
      err: () => {},
    };
    assertEquals(await accountCommand(["add", "ann", "--db", path], io), 0);
    const cookie = async (name: string) => {
      const db = openChatDatabase(path);
      try {
        const sessions = new WebSessions(new SqliteSessionStore(db));
        return (await sessions.redeem(await sessions.ticket(name, "h:1"), "h:1"))!.token;
      } finally {
        db.close();
      }
    };
    const lookup = async (token: string) => {
      const db = openChatDatabase(path);
      try {
        return await new WebSessions(new SqliteSessionStore(db)).lookup(token, "h:1");
      } finally {
        db.close();
      }
    };
    const first = await cookie("ann");
    assertEquals(await lookup(first), "ann");
    assertEquals(await accountCommand(["password", "ann", "--db", path], io), 0);
    assertEquals(await lookup(first), null, "revoked by account password");
    const second = await cookie("ann");
    assertEquals(await accountCommand(["remove", "ann", "--db", path], io), 0);
    assertEquals(await lookup(second), null, "revoked by account remove");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
