/**
 * Passwords: checked and normalised (NFKC), hashed with scrypt (memory-hard, run by
 * `node:crypto` on libuv's thread pool, off the event loop), compared in constant
 * time, and turned into SCRAM-SHA-256 verifiers (RFC 5802, RFC 7677) for IRC's SASL.
 * Every hash carries its parameters, so that they can be raised later and old hashes
 * still verify. {@linkcode HashQueue} bounds how much hashing may wait at once.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createHash, createHmac, pbkdf2, randomBytes, scrypt, timingSafeEqual } from "node:crypto";

/** The most bytes a password may have (UTF-8, after normalisation). */
export const PASSWORD_MAX_BYTES = 1024;

/** A scrypt hash and the parameters it was made with (`salt` and `hash` in base64). */
export interface PasswordHash {
  readonly scheme: "scrypt";
  readonly n: number;
  readonly r: number;
  readonly p: number;
  readonly salt: string;
  readonly hash: string;
}

/** What a SCRAM-SHA-256 server keeps of a password (RFC 5802 §3; keys in base64). */
export interface ScramVerifier {
  readonly salt: string;
  readonly iterations: number;
  readonly storedKey: string;
  readonly serverKey: string;
}

/** How costly new hashes are. */
export interface HashCost {
  /** scrypt's CPU/memory cost, a power of two. */
  readonly n: number;
  readonly r: number;
  readonly p: number;
  /** PBKDF2 iterations of the SCRAM verifier (4096 at least, RFC 7677). */
  readonly scramIterations: number;
}

/** N = 2^15, r = 8, p = 1: 32 MiB and about 110–160 ms per hash here; SCRAM at RFC 7677's 4096. */
export const DEFAULT_COST: HashCost = { n: 1 << 15, r: 8, p: 1, scramIterations: 4096 };

const SALT_BYTES = 16;
const KEY_BYTES = 32;
const encoder = new TextEncoder();

/**
 * `raw` as a password: NFKC-normalised (so that the same characters typed on two
 * keyboards are one password), or why it cannot be one.
 */
export function normalizePassword(raw: string): { password: string } | { reason: string } {
  const password = raw.normalize("NFKC");
  if (password === "") return { reason: "a password cannot be empty" };
  if (encoder.encode(password).length > PASSWORD_MAX_BYTES) {
    return { reason: `a password is at most ${PASSWORD_MAX_BYTES} bytes` };
  }
  return { password };
}

/** scrypt's memory need for `n` and `r`, with room to spare (Node refuses above `maxmem`). */
function maxmem(n: number, r: number): number {
  return 256 * n * r;
}

function scryptAsync(password: string, salt: Buffer, n: number, r: number, p: number) {
  return new Promise<Buffer>((resolve, reject) => {
    scrypt(password, salt, KEY_BYTES, { N: n, r, p, maxmem: maxmem(n, r) }, (error, key) => {
      if (error) reject(error);
      else resolve(key);
    });
  });
}

function pbkdf2Async(password: string, salt: Buffer, iterations: number) {
  return new Promise<Buffer>((resolve, reject) => {
    pbkdf2(password, salt, iterations, KEY_BYTES, "sha256", (error, key) => {
      if (error) reject(error);
      else resolve(key);
    });
  });
}

/** A new hash of `password` (normalised already) and its SCRAM-SHA-256 verifier. */
export async function hashPassword(
  password: string,
  cost: HashCost = DEFAULT_COST,
): Promise<{ password: PasswordHash; scram: ScramVerifier }> {
  const salt = randomBytes(SALT_BYTES);
  const [hash, scram] = await Promise.all([
    scryptAsync(password, salt, cost.n, cost.r, cost.p),
    scramVerifier(password, randomBytes(SALT_BYTES), cost.scramIterations),
  ]);
  return {
    password: {
      scheme: "scrypt",
      n: cost.n,
      r: cost.r,
      p: cost.p,
      salt: salt.toString("base64"),
      hash: hash.toString("base64"),
    },
    scram,
  };
}

/**
 * The SCRAM-SHA-256 verifier of `password` (RFC 5802 §3): SaltedPassword is PBKDF2 of
 * it with `salt` and `iterations`; StoredKey = SHA-256(HMAC(SaltedPassword, "Client
 * Key")), ServerKey = HMAC(SaltedPassword, "Server Key").
 */
export async function scramVerifier(
  password: string,
  salt: Uint8Array,
  iterations: number,
): Promise<ScramVerifier> {
  const salted = await pbkdf2Async(password, Buffer.from(salt), iterations);
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  return {
    salt: Buffer.from(salt).toString("base64"),
    iterations,
    storedKey: createHash("sha256").update(clientKey).digest("base64"),
    serverKey: createHmac("sha256", salted).update("Server Key").digest("base64"),
  };
}

/** Whether `password` (normalised already) is the one `stored` was made from; constant time. */
export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  const expected = Buffer.from(stored.hash, "base64");
  const salt = Buffer.from(stored.salt, "base64");
  const actual = await scryptAsync(password, salt, stored.n, stored.r, stored.p);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** Why {@linkcode HashQueue.run} did not take a job: the queue, or this address's share, is full. */
export class QueueFull extends Error {
  override name = "QueueFull";
}

/**
 * How far ahead a hashing job waits: `trusted` (its address logged in lately), `clean`
 * (no recent failure), `suspect` (recent failures). A flood delays its own attempts,
 * not those of addresses that have not failed, and least those of known users.
 */
export type HashRank = "trusted" | "clean" | "suspect";

/**
 * A bounded queue for hashing: at most `concurrency` hashes run at once (each takes a
 * thread and 32 MiB), at most `limit` wait in each rank's line (see {@linkcode HashRank}:
 * a full line of suspect jobs shuts no one else out), and at most `perAddress` (running
 * or waiting) come from one address. A flood of logins is refused at the door instead
 * of queueing without end, and the event loop (chat) never waits on it.
 */
export class HashQueue {
  #running = 0;
  readonly #lines: Record<HashRank, (() => void)[]> = { trusted: [], clean: [], suspect: [] };
  readonly #byAddress = new Map<string, number>();
  /** Jobs refused because the queue or an address's share was full (for tests and metrics). */
  refused = 0;

  constructor(readonly concurrency = 2, readonly limit = 64, readonly perAddress = 4) {}

  /** Jobs running or waiting now. */
  get size(): number {
    const { trusted, clean, suspect } = this.#lines;
    return this.#running + trusted.length + clean.length + suspect.length;
  }

  /** Runs `job` when a slot is free; rejects with {@linkcode QueueFull} at once if it cannot wait. */
  async run<T>(address: string, job: () => Promise<T>, rank: HashRank = "clean"): Promise<T> {
    const mine = this.#byAddress.get(address) ?? 0;
    const line = this.#lines[rank];
    const full = this.#running >= this.concurrency && line.length >= this.limit;
    if (full || mine >= this.perAddress) {
      this.refused++;
      throw new QueueFull("hash queue full");
    }
    this.#byAddress.set(address, mine + 1);
    try {
      if (this.#running >= this.concurrency) {
        await new Promise<void>((resolve) => line.push(resolve));
      } else {
        this.#running++;
      }
      return await job();
    } finally {
      const left = this.#byAddress.get(address)! - 1;
      if (left > 0) this.#byAddress.set(address, left);
      else this.#byAddress.delete(address);
      // The slot passes to the next job waiting, best rank first (#running stays the same).
      const { trusted, clean, suspect } = this.#lines;
      const next = trusted.shift() ?? clean.shift() ?? suspect.shift();
      if (next) next();
      else this.#running--;
    }
  }
}

/** Addresses that logged in lately (at most `max`, for `forget` ms): their hashes go first. */
export class TrustedAddresses {
  readonly #since = new Map<string, number>();

  constructor(readonly forget = 7 * 24 * 3_600_000, readonly max = 100_000) {}

  /** Notes a login from `address`. */
  add(address: string, now = Date.now()): void {
    this.#since.delete(address); // moved to the end: the map is kept oldest first
    this.#since.set(address, now);
    if (this.#since.size > this.max) this.#since.delete(this.#since.keys().next().value!);
  }

  /** Whether `address` logged in within `forget` ms. */
  has(address: string, now = Date.now()): boolean {
    const since = this.#since.get(address);
    return since !== undefined && now - since <= this.forget;
  }
}

/**
 * Failed attempts by key (an account, an address): the first `free` failures cost
 * nothing; each one after doubles the wait before the next attempt, from 1 s up to
 * `maxWait`. A success clears the key; keys idle for `forget` ms are dropped, and at
 * most `maxKeys` are kept (the oldest go first), so that memory stays bounded.
 */
export class FailureThrottle {
  readonly #keys = new Map<string, { failures: number; until: number; last: number }>();

  constructor(
    readonly free: number,
    readonly maxWait: number,
    readonly forget = 15 * 60_000,
    readonly maxKeys = 100_000,
  ) {}

  /** Milliseconds `key` must wait before its next attempt (0: it may try now). */
  wait(key: string, now = Date.now()): number {
    const entry = this.#keys.get(key);
    if (!entry) return 0;
    if (now - entry.last > this.forget) {
      this.#keys.delete(key);
      return 0;
    }
    return Math.max(0, entry.until - now);
  }

  /** Counts a failed attempt of `key`. */
  failed(key: string, now = Date.now()): void {
    let entry = this.#keys.get(key);
    if (entry && now - entry.last > this.forget) entry = undefined;
    const failures = (entry?.failures ?? 0) + 1;
    const over = failures - this.free;
    const until = over > 0 ? now + Math.min(this.maxWait, 1000 * 2 ** (over - 1)) : now;
    this.#keys.delete(key); // moved to the end: the map is kept oldest first
    this.#keys.set(key, { failures, until, last: now });
    if (this.#keys.size > this.maxKeys) this.#keys.delete(this.#keys.keys().next().value!);
  }

  /** Whether `key` has failed lately (its attempts are suspect). */
  suspect(key: string, now = Date.now()): boolean {
    const entry = this.#keys.get(key);
    return entry !== undefined && now - entry.last <= this.forget;
  }

  /** Forgets the failures of `key` (it proved itself). */
  succeeded(key: string): void {
    this.#keys.delete(key);
  }
}
