/**
 * Web sessions: how a browser stays logged in to an account without keeping its
 * password. After a login (or `/register`) over the page's WebSocket the server sends
 * a one-time **ticket** (30 s); the page trades it, same-origin, at `POST /session`
 * for a **session token** set as an `HttpOnly` cookie (see `src/web/web.ts`); a later
 * WebSocket opened with that cookie is logged in to the account without a password.
 *
 * Tickets and tokens are 32 random bytes; only their SHA-256 is kept, with the account,
 * the `Host` they were made for (a token sent to another host is refused) and their
 * expiry. They live where accounts live ({@linkcode SessionStore}: memory here, the
 * `--db` file or Redis in `src/storage/`). A logout, a password change and an
 * unregistering revoke every token of the account; an expired one is refused and
 * removed when met, and the rest are pruned as new ones are made.
 *
 * @module
 */

import { createHash, randomBytes } from "node:crypto";

/** What a ticket or token stands for. */
export interface SessionRecord {
  /** `ticket`: to be traded once for a token; `session`: the cookie's token. */
  readonly kind: "ticket" | "session";
  /** The account's key. */
  readonly account: string;
  /** The `Host` (lower case, with its port) it is valid on. */
  readonly host: string;
  /** When it stops being valid, in milliseconds since the epoch. */
  readonly expires: number;
}

/** Where tickets and tokens are kept, by the SHA-256 of each (hex). Every call may wait. */
export interface SessionStore {
  /** Keeps `record` under `hash`. */
  put(hash: string, record: SessionRecord): Promise<void>;
  /** The record kept under `hash`, or `null` (expired ones included: the caller checks). */
  get(hash: string): Promise<SessionRecord | null>;
  /** Removes the record under `hash`; `true` if this call removed it (one caller wins). */
  remove(hash: string): Promise<boolean>;
  /** Removes every record of the account `account`; how many. */
  revoke(account: string): Promise<number>;
  /** Removes the records expired at `now`; how many. */
  prune(now: number): Promise<number>;
}

/** Tickets and tokens in memory: they last until the process stops, as its accounts do. */
export class MemorySessionStore implements SessionStore {
  readonly #records = new Map<string, SessionRecord>();

  put(hash: string, record: SessionRecord): Promise<void> {
    this.#records.set(hash, record);
    return Promise.resolve();
  }

  get(hash: string): Promise<SessionRecord | null> {
    return Promise.resolve(this.#records.get(hash) ?? null);
  }

  remove(hash: string): Promise<boolean> {
    return Promise.resolve(this.#records.delete(hash));
  }

  revoke(account: string): Promise<number> {
    let removed = 0;
    for (const [hash, record] of this.#records) {
      if (record.account === account && this.#records.delete(hash)) removed++;
    }
    return Promise.resolve(removed);
  }

  prune(now: number): Promise<number> {
    let removed = 0;
    for (const [hash, record] of this.#records) {
      if (record.expires <= now && this.#records.delete(hash)) removed++;
    }
    return Promise.resolve(removed);
  }

  /** Records kept now (tests look). */
  get size(): number {
    return this.#records.size;
  }
}

/** How long tickets and tokens last, and the clock they are measured by. */
export interface SessionOptions {
  /** Milliseconds a session token (the cookie) lasts after it is made (default 30 days). */
  lifetime: number;
  /** Milliseconds a ticket may wait to be traded for a token (default 30 s). */
  ticketLifetime: number;
  /** The time now, in milliseconds since the epoch (tests move it). */
  now: () => number;
}

/** Thirty days. */
export const DEFAULT_SESSION_LIFETIME = 30 * 24 * 3600 * 1000;
const DEFAULT_TICKET_LIFETIME = 30_000;
/** Ticket and token text: base64url of 32 bytes. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** The SHA-256 of a ticket or token, as kept. */
export function tokenHash(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** Tickets made and traded, tokens checked and revoked. */
export class WebSessions {
  readonly options: SessionOptions;
  /** When each account's tokens were last revoked here (a check made before then is stale). */
  readonly #revoked = new Map<string, number>();
  /** When tickets last pruned the store: logins whose page never trades its ticket leave them. */
  #prunedAt = -Infinity;

  constructor(readonly store: SessionStore, options: Partial<SessionOptions> = {}) {
    this.options = {
      lifetime: options.lifetime ?? DEFAULT_SESSION_LIFETIME,
      ticketLifetime: options.ticketLifetime ?? DEFAULT_TICKET_LIFETIME,
      now: options.now ?? Date.now,
    };
  }

  /** A new one-time ticket for the account `account`, to be traded on `host`. */
  async ticket(account: string, host: string): Promise<string> {
    const ticket = newToken();
    const now = this.options.now();
    if (now - this.#prunedAt >= this.options.ticketLifetime) {
      this.#prunedAt = now;
      await this.store.prune(now);
    }
    const expires = now + this.options.ticketLifetime;
    await this.store.put(tokenHash(ticket), { kind: "ticket", account, host, expires });
    return ticket;
  }

  /**
   * Trades `ticket` (made for `host`, unexpired, not traded before) for a session token;
   * `null` if it is none of that. Expired records are pruned meanwhile.
   */
  async redeem(
    ticket: string,
    host: string,
  ): Promise<{ token: string; account: string; expires: number } | null> {
    const record = await this.#take(ticket, "ticket", host);
    if (record === null) return null;
    const now = this.options.now();
    await this.store.prune(now);
    const token = newToken();
    const expires = now + this.options.lifetime;
    const account = record.account;
    await this.store.put(tokenHash(token), { kind: "session", account, host, expires });
    return { token, account, expires };
  }

  /** The account whose unexpired session token `token` is, if it is one made for `host`. */
  async lookup(token: string, host: string): Promise<string | null> {
    if (!TOKEN_SHAPE.test(token)) return null;
    const hash = tokenHash(token);
    const record = await this.store.get(hash);
    if (record === null || record.kind !== "session") return null;
    if (record.expires <= this.options.now()) {
      await this.store.remove(hash); // expired: refused, and gone
      return null;
    }
    return record.host === host ? record.account : null;
  }

  /** Ends one session (the browser's logout): its token is no longer valid. */
  async end(token: string): Promise<void> {
    if (TOKEN_SHAPE.test(token)) await this.store.remove(tokenHash(token));
  }

  /** Revokes every ticket and token of the account `account` (a logout, a new password). */
  async revoke(account: string): Promise<void> {
    this.#revoked.set(account, this.options.now());
    await this.store.revoke(account);
  }

  /** Whether the account's tokens were revoked here at or after `time` (a check made then is stale). */
  revokedSince(account: string, time: number): boolean {
    const revoked = this.#revoked.get(account);
    return revoked !== undefined && revoked >= time;
  }

  /** Takes a record of `kind` for `host` out of the store, once, if valid. */
  async #take(
    text: string,
    kind: SessionRecord["kind"],
    host: string,
  ): Promise<SessionRecord | null> {
    if (!TOKEN_SHAPE.test(text)) return null;
    const hash = tokenHash(text);
    const record = await this.store.get(hash);
    if (record === null || record.kind !== kind) return null;
    // Taken whatever it is: a ticket shown on the wrong host, or late, is spent too.
    if (!(await this.store.remove(hash))) return null;
    if (record.expires <= this.options.now() || record.host !== host) return null;
    return record;
  }
}

/** 32 random bytes as base64url (43 characters). */
function newToken(): string {
  return randomBytes(32).toString("base64url");
}
