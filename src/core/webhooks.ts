/**
 * Incoming webhooks: a room's operator makes a hook (`/hook create #ci`), gets a secret
 * token once, and a CI system posts into the room with `POST /hooks/TOKEN` (see
 * `src/web/web.ts`) as a bot (`ci [bot]: build passed`). Only the token's SHA-256 is kept
 * (`WebhookStore`: memory, or the `--db` file); each hook is rate-limited on its own.
 *
 * @module
 */

import { createHash, randomBytes } from "node:crypto";
import type { Command } from "./commands.ts";
import type { Hub } from "./hub.ts";
import { checkName, checkRoomName, roomKey, roomName } from "./protocol.ts";
import type { Session } from "./session.ts";

/** One hook: where it posts, under what name by default, who made it. */
export interface Webhook {
  /** Short, public: what `/hook list` shows and `/hook delete` takes. */
  readonly id: string;
  /** The room's name as given when made (its key is `roomKey(room)`). */
  readonly room: string;
  /** The bot's name when a post gives none. */
  readonly name: string;
  readonly by: string;
  readonly created: number;
  /** The SHA-256 of its token (hex); the token itself is never kept. */
  readonly hash: string;
}

/** Where hooks are kept. */
export interface WebhookStore {
  load(): Webhook[];
  save(hook: Webhook): void;
  remove(id: string): void;
}

/** Keeps hooks while the server runs. */
export class MemoryWebhookStore implements WebhookStore {
  load(): Webhook[] {
    return [];
  }
  save(): void {}
  remove(): void {}
}

/** Hooks that may exist at once, and per room: a bound on what operators can make. */
export const MAX_HOOKS = 1000;
export const MAX_HOOKS_PER_ROOM = 20;
/** Posts per second a hook gets, and its burst. */
export const HOOK_RATE = 1;
export const HOOK_BURST = 10;

/** The SHA-256 of a token, as kept. */
export function tokenHash(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** The hooks of a hub, by id and by token hash, with each one's token bucket. */
export class Webhooks {
  readonly #byId = new Map<string, Webhook>();
  readonly #byHash = new Map<string, Webhook>();
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  /** Loads the hooks kept in `store`, which keeps them from now on. */
  constructor(readonly store: WebhookStore = new MemoryWebhookStore()) {
    for (const hook of store.load()) this.#add(hook);
  }

  /** A new hook for `room` named `name`, and its token (shown once); `null` past a bound. */
  create(room: string, name: string, by: string): { hook: Webhook; token: string } | null {
    if (this.#byId.size >= MAX_HOOKS) return null;
    if (this.list(room).length >= MAX_HOOKS_PER_ROOM) return null;
    const token = randomBytes(32).toString("base64url");
    const id = randomBytes(6).toString("hex");
    const hook = { id, room, name, by, created: Date.now(), hash: tokenHash(token) };
    this.store.save(hook);
    this.#add(hook);
    return { hook, token };
  }

  /** The hooks of `room` (every hook if absent). */
  list(room?: string): Webhook[] {
    const key = room === undefined ? undefined : roomKey(room);
    return [...this.#byId.values()].filter((hook) =>
      key === undefined || roomKey(hook.room) === key
    );
  }

  /** The hook with id `id`. */
  get(id: string): Webhook | undefined {
    return this.#byId.get(id);
  }

  /** Takes in a hook made on another server of the cluster (its store has it already). */
  adopt(hook: Webhook): void {
    if (typeof hook?.id !== "string" || typeof hook.hash !== "string") return;
    if (this.#byId.size >= MAX_HOOKS || this.#byId.has(hook.id)) return;
    this.#add(hook);
  }

  /** Revokes the hook `id`; whether there was one. */
  remove(id: string): boolean {
    if (!this.#byId.has(id)) return false;
    this.store.remove(id);
    return this.forget(id);
  }

  /** Forgets the hook `id` here (revoked on another server, whose store forgot it). */
  forget(id: string): boolean {
    const hook = this.#byId.get(id);
    if (!hook) return false;
    this.#byId.delete(id);
    this.#byHash.delete(hook.hash);
    this.#buckets.delete(id);
    return true;
  }

  /** The hook whose token is `token`, if any. */
  find(token: string): Webhook | undefined {
    return this.#byHash.get(tokenHash(token));
  }

  /** Milliseconds `hook` must wait before it may post (0: it may, and a post is counted). */
  take(hook: Webhook, now = performance.now()): number {
    let bucket = this.#buckets.get(hook.id);
    if (!bucket) this.#buckets.set(hook.id, bucket = { tokens: HOOK_BURST, at: now });
    bucket.tokens = Math.min(HOOK_BURST, bucket.tokens + (now - bucket.at) * HOOK_RATE / 1000);
    bucket.at = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - bucket.tokens) * 1000 / HOOK_RATE);
  }

  #add(hook: Webhook): void {
    this.#byId.set(hook.id, hook);
    this.#byHash.set(hook.hash, hook);
  }
}

/** Whether `session` may manage the hooks of `room`: its operators, and server operators. */
function mayManage(hub: Hub, session: Session, room: string): boolean {
  if (hub.isServerOperator(session)) return true;
  const rules = hub.roomRules.get(roomKey(room));
  // A room without rules (the lobby, or one not made yet) has no operator but the server's.
  const problem = rules === undefined
    ? { code: "notOperator" as const, room }
    : rules.check(room, session.member.account, "operate");
  if (problem === null) return true;
  hub.refuse(session, problem);
  return false;
}

/** `/hook create ROOM [NAME]`, `/hook list [ROOM]`, `/hook delete ID`. */
export const HOOK_COMMAND: Command = {
  name: "/hook",
  usage: "/hook create ROOM [NAME] | list [ROOM] | delete ID",
  summary: "incoming webhooks: a URL that posts into ROOM as a bot (room operators)",
  needsArgument: true,
  // Listed by /help to operators of the member's room and to server operators.
  mayUse(hub, session) {
    const room = session.member.room;
    return hub.isServerOperator(session) ||
      (room !== null && hub.roomRules.get(room.key)?.isOperator(session.member.account) === true);
  },
  run(hub, session, rest) {
    const [action, ...words] = rest.split(/\s+/);
    const time = Date.now();
    switch (action.toLowerCase()) {
      case "create": {
        if (words.length < 1 || words.length > 2) {
          return hub.refuse(session, { code: "usage", usage: this.usage });
        }
        const badRoom = checkRoomName(words[0]);
        if (badRoom) {
          return hub.refuse(session, { code: "badName", name: words[0], reason: badRoom });
        }
        const room = roomName(words[0]);
        const name = words[1] ?? "hook";
        const bad = checkName(name);
        if (bad) return hub.refuse(session, { code: "badName", name, reason: bad });
        if (!mayManage(hub, session, room)) return;
        const made = hub.webhooks.create(room, name, session.member.name!);
        if (made === null) {
          return hub.refuse(session, { code: "tooManyHooks", max: MAX_HOOKS_PER_ROOM });
        }
        const { hook, token } = made;
        hub.cluster?.publish({ t: "hook", hook });
        hub.log.event({
          event: "moderation",
          name: session.member.name!,
          text: "hook-create",
          target: hook.id,
          room,
        });
        hub.metrics.moderation.with("hook").inc();
        const path = `/hooks/${token}`;
        return session.tell({
          type: "hookCreated",
          time,
          id: hook.id,
          room,
          name,
          path,
          url: hub.webhookBase + path,
        });
      }
      case "list": {
        const room = words[0] ? roomName(words[0]) : session.member.room?.name;
        if (room !== undefined && !mayManage(hub, session, room)) return;
        if (room === undefined && !hub.isServerOperator(session)) {
          return hub.refuse(session, { code: "usage", usage: this.usage });
        }
        const hooks = hub.webhooks.list(room).map(({ id, room, name, by, created }) => ({
          id,
          room,
          name,
          by,
          created,
        }));
        return session.tell({ type: "hooks", time, hooks });
      }
      case "delete": {
        const hook = words[0] ? hub.webhooks.get(words[0]) : undefined;
        if (!hook) {
          return hub.refuse(session, { code: "noSuchHook", id: (words[0] ?? "").slice(0, 32) });
        }
        if (!mayManage(hub, session, hook.room)) return;
        hub.webhooks.remove(hook.id);
        hub.cluster?.publish({ t: "unhook", id: hook.id });
        hub.log.event({
          event: "moderation",
          name: session.member.name!,
          text: "hook-delete",
          target: hook.id,
          room: hook.room,
        });
        hub.metrics.moderation.with("hook").inc();
        return session.tell({ type: "hookDeleted", time, id: hook.id, room: hook.room });
      }
      default:
        return hub.refuse(session, { code: "usage", usage: this.usage });
    }
  },
};
