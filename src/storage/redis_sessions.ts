/**
 * The page's login sessions in Redis (`--redis`), shared by every server of the
 * cluster: a cookie made on one server opens a socket on any. Each ticket or token is
 * a key `chat:websession:HASH` (its record as JSON) that Redis expires on its own at
 * the record's expiry; `chat:websessions:ACCOUNT` lists an account's hashes, so that a
 * logout or a new password revokes them all at once.
 *
 * @module
 */

import type { SessionRecord, SessionStore } from "../core/web_sessions.ts";
import type { RedisCommands } from "./redis_accounts.ts";

const PREFIX = "chat:websession:";
const BY_ACCOUNT = "chat:websessions:";
/** Deletes every key listed in the set KEYS[1], then the set; how many keys went. */
const REVOKE = `local hashes = redis.call('SMEMBERS', KEYS[1]) local n = 0
for _, hash in ipairs(hashes) do n = n + redis.call('DEL', ARGV[1] .. hash) end
redis.call('DEL', KEYS[1]) return n`;

/** Tickets and tokens on the cluster's Redis. */
export class RedisSessionStore implements SessionStore {
  constructor(readonly redis: RedisCommands) {}

  async put(hash: string, record: SessionRecord): Promise<void> {
    const at = String(Math.max(1, Math.ceil(record.expires)));
    await this.redis.command(["SET", PREFIX + hash, JSON.stringify(record), "PXAT", at]);
    await this.redis.command(["SADD", BY_ACCOUNT + record.account, hash]);
  }

  async get(hash: string): Promise<SessionRecord | null> {
    const value = await this.redis.command(["GET", PREFIX + hash]) as string | null;
    return value === null ? null : JSON.parse(value);
  }

  async remove(hash: string): Promise<boolean> {
    return await this.redis.command(["DEL", PREFIX + hash]) === 1;
  }

  async revoke(account: string): Promise<number> {
    return Number(await this.redis.command(["EVAL", REVOKE, "1", BY_ACCOUNT + account, PREFIX]));
  }

  prune(_now: number): Promise<number> {
    return Promise.resolve(0); // Redis expires each key itself
  }
}
