/**
 * Incoming webhooks on the cluster's Redis (`--redis`): the hash `chat:webhooks` (id →
 * the hook as JSON, its token's SHA-256 and never the token). The cluster's publish
 * script writes it as the `hook` and `unhook` events go out (`redis_bus.ts`), so every
 * server learns a new or revoked hook from the event, and a server starting later loads
 * them all from here.
 *
 * @module
 */

import type { Webhook, WebhookStore } from "../core/webhooks.ts";
import type { RedisCommands } from "./redis_accounts.ts";

/** The key of the hash of hooks. */
export const HOOKS_KEY = "chat:webhooks";

/** Hooks as Redis held them at start; later changes travel as cluster events. */
export class RedisWebhookStore implements WebhookStore {
  private constructor(readonly hooks: Webhook[]) {}

  /** Reads every hook kept in Redis. */
  static async load(redis: RedisCommands): Promise<RedisWebhookStore> {
    const pairs = await redis.command(["HGETALL", HOOKS_KEY]) as string[] | Record<string, string>;
    const values = Array.isArray(pairs)
      ? pairs.filter((_, i) => i % 2 === 1)
      : Object.values(pairs);
    return new RedisWebhookStore(values.map((value) => JSON.parse(value) as Webhook));
  }

  load(): Webhook[] {
    return this.hooks;
  }

  /** Written by the publish script with the `hook` event (see `redis_bus.ts`). */
  save(): void {}

  /** Deleted by the publish script with the `unhook` event. */
  remove(): void {}
}
