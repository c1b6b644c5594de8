/**
 * Accounts in Redis (`--redis`): one hash, `chat:accounts`, field the name's key, value
 * the account as JSON (name, creation time, scrypt hash and SCRAM verifier with their
 * parameters). Every server of the cluster reads and writes the same accounts; each
 * keeps the registered names in memory too, and hears of new and removed ones on the
 * cluster's bus (the `account` event), so that its name guard never waits on Redis.
 *
 * @module
 */

import type { Account, AccountStore } from "../core/accounts.ts";
import type { PasswordHash, ScramVerifier } from "../core/passwords.ts";

/** The one Redis call the store needs (the cluster's bus provides it). */
export interface RedisCommands {
  command(args: string[]): Promise<unknown>;
}

const ACCOUNTS = "chat:accounts";
/** Replaces an account's password only if the account is still there (no resurrection). */
const SET_PASSWORD = `if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) return 1 end return 0`;

/** Accounts shared by every server on one Redis. */
export class RedisAccountStore implements AccountStore {
  readonly persistent = true;

  constructor(readonly redis: RedisCommands) {}

  async names(): Promise<[string, string][]> {
    const flat = await this.redis.command(["HGETALL", ACCOUNTS]) as string[];
    const names: [string, string][] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      names.push([flat[i], JSON.parse(flat[i + 1]).name]);
    }
    return names;
  }

  async get(key: string): Promise<Account | null> {
    const value = await this.redis.command(["HGET", ACCOUNTS, key]) as string | null;
    return value === null ? null : { key, ...JSON.parse(value) };
  }

  async create(account: Account): Promise<boolean> {
    const { key, ...rest } = account;
    return await this.redis.command(["HSETNX", ACCOUNTS, key, JSON.stringify(rest)]) === 1;
  }

  async setPassword(key: string, password: PasswordHash, scram: ScramVerifier): Promise<boolean> {
    const account = await this.get(key);
    if (!account) return false;
    const { key: _, ...rest } = { ...account, password, scram };
    const set = ["EVAL", SET_PASSWORD, "1", ACCOUNTS, key, JSON.stringify(rest)];
    return await this.redis.command(set) === 1;
  }

  async remove(key: string): Promise<boolean> {
    return await this.redis.command(["HDEL", ACCOUNTS, key]) === 1;
  }

  async list(): Promise<Account[]> {
    const flat = await this.redis.command(["HGETALL", ACCOUNTS]) as string[];
    const accounts: Account[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      accounts.push({ key: flat[i], ...JSON.parse(flat[i + 1]) });
    }
    return accounts.sort((a, b) => a.created - b.created);
  }

  close(): Promise<void> {
    return Promise.resolve(); // the connection is the bus's
  }
}
