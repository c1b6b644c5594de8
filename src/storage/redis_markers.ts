/**
 * Accounts' read markers in Redis (`--redis`): one hash per account,
 * `chat:markers:ACCOUNT`, field the conversation's key (`#room`, `@name`), value
 * `ID TIME NAME` (the id is 19 characters). Every server keeps them all in memory too (read
 * at start, at most `MARKERS_MAX` per account), so that a read never waits on Redis; a
 * marker set is written behind, forward only in Redis itself (a script compares ids),
 * and the cluster's bus (the `mark` event) brings the others' changes into memory.
 *
 * @module
 */

import { type Marker, MARKERS_MAX, type MarkerStore, MemoryMarkers } from "../core/read_markers.ts";
import type { RedisCommands } from "./redis_accounts.ts";

const PREFIX = "chat:markers:";
/**
 * Sets a marker if it is further than the one kept (ids sort as strings); past `MAX`
 * fields the one with the oldest time goes. KEYS[1] the hash; ARGV field, value, max.
 */
const SET_MARKER = `local old = redis.call('HGET', KEYS[1], ARGV[1])
if old and string.sub(old, 1, 19) >= string.sub(ARGV[2], 1, 19) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if redis.call('HLEN', KEYS[1]) > tonumber(ARGV[3]) then
  local all = redis.call('HGETALL', KEYS[1])
  local oldest, at = nil, nil
  for i = 1, #all, 2 do
    local t = tonumber(string.match(all[i + 1], '^%S+ (%d+)'))
    if at == nil or t < at then oldest, at = all[i], t end
  end
  redis.call('HDEL', KEYS[1], oldest)
end
return 1`;

/** Read markers shared by every server on one Redis. */
export class RedisMarkerStore implements MarkerStore {
  readonly #cache = new MemoryMarkers();

  /** Uses the cluster's Redis connection; `failed` hears of a write that did not happen. */
  constructor(readonly redis: RedisCommands, readonly failed: (error: Error) => void) {}

  /** Reads every account's markers into memory (once, at start), the oldest set first. */
  async load(): Promise<void> {
    let cursor = "0";
    do {
      const [next, keys] = await this.redis.command([
        "SCAN",
        cursor,
        "MATCH",
        `${PREFIX}*`,
        "COUNT",
        "1000",
      ]) as [string, string[]];
      cursor = next;
      for (const hash of keys) {
        const flat = await this.redis.command(["HGETALL", hash]) as string[];
        const account = hash.slice(PREFIX.length);
        const markers: Marker[] = [];
        for (let i = 0; i + 1 < flat.length; i += 2) {
          const marker = markerOf(flat[i], flat[i + 1]);
          if (marker !== null) markers.push(marker);
        }
        markers.sort((a, b) => a.time - b.time);
        for (const marker of markers.slice(-MARKERS_MAX)) this.#cache.set(account, marker);
      }
    } while (cursor !== "0");
  }

  get(account: string, key: string): Marker | undefined {
    return this.#cache.get(account, key);
  }

  set(account: string, marker: Marker): Marker {
    const kept = this.#cache.set(account, marker);
    if (kept !== marker) return kept;
    const value = `${marker.id} ${marker.time} ${marker.name}`;
    this.redis.command([
      "EVAL",
      SET_MARKER,
      "1",
      PREFIX + account,
      marker.key,
      value,
      String(MARKERS_MAX),
    ]).catch(this.failed);
    return kept;
  }

  list(account: string): Marker[] {
    return this.#cache.list(account);
  }

  forget(account: string): void {
    this.#cache.forget(account);
    this.redis.command(["DEL", PREFIX + account]).catch(this.failed);
  }
}

/** The marker of a hash field and its value, or `null` for one not of this form. */
function markerOf(key: string, value: string): Marker | null {
  const match = /^([0-9a-z]{19}) (\d+) (.+)$/s.exec(value);
  if (match === null || !/^[#@]/.test(key)) return null;
  return { key, name: match[3], room: key.startsWith("#"), id: match[1], time: Number(match[2]) };
}
